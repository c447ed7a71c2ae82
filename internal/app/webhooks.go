package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/signalwire-lambda/participants/internal/credentials"
	"github.com/signalwire-lambda/participants/internal/deadline"
	"github.com/signalwire-lambda/participants/internal/forward"
	"github.com/signalwire-lambda/participants/internal/obs"
	"github.com/signalwire-lambda/participants/internal/problem"
	"github.com/signalwire-lambda/participants/internal/webhook"
)

// Enqueuer parks a verified webhook on the retry queue.
type Enqueuer interface {
	Enqueue(ctx context.Context, body []byte, attrs map[string]string) error
}

// WebhookOptions configures the webhook processor.
type WebhookOptions struct {
	// PublicBaseURL is the URL prefix SignalWire calls (PUBLIC_BASE_URL).
	PublicBaseURL string
	// PublicWebhookURL is the full URL SignalWire calls, without query
	// (PUBLIC_WEBHOOK_URL), for proxies that rewrite the path; it wins over
	// PublicBaseURL.
	PublicWebhookURL string
	// Verify turns signature verification on (off only in local runs).
	Verify bool
	// DeferUnverified parks webhooks whose well-formed signature matches no
	// known key on the retry queue, verified again later (deferred.go),
	// instead of answering 403.
	DeferUnverified bool
	// Destinations receive every envelope; none means the HTTP answer carries it.
	Destinations []forward.Destination
	// Retry parks webhooks whose processing failed; nil means answer 503 instead.
	Retry Enqueuer
	// DeadLetter receives a destination's permanent failure at once, with
	// the reason (the retry queue's dead-letter queue); nil leaves such
	// failures to the retry queue and its redrive.
	DeadLetter Enqueuer
	// InlineBudget bounds the fetch+forward work done before answering
	// SignalWire; what does not finish in it goes to the retry queue.
	InlineBudget time.Duration
	// MaxReceiveCount is the retry queue's redrive maxReceiveCount.
	MaxReceiveCount int
	// Policy bounds the retries of each destination.
	Policy forward.Policy
	// Now is the clock (tests).
	Now func() time.Time
}

// Webhooks verifies, processes and forwards SignalWire status callbacks.
type Webhooks struct {
	app       *App
	opts      WebhookOptions
	deferrals deferralBudget
}

// NewWebhooks returns the webhook processor for the core a.
func NewWebhooks(a *App, opts WebhookOptions) *Webhooks {
	if opts.InlineBudget <= 0 {
		opts.InlineBudget = 3 * time.Second
	}
	if opts.MaxReceiveCount <= 0 {
		opts.MaxReceiveCount = 5
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Webhooks{app: a, opts: opts}
}

// Outcome says what happened to an accepted webhook.
type Outcome string

// Outcomes of processing a webhook.
const (
	OutcomeDelivered Outcome = "delivered" // every destination has it
	OutcomeReturned  Outcome = "returned"  // no destination: the answer carries it
	OutcomeQueued    Outcome = "queued"    // parked on the retry queue
	// OutcomeDeadLettered: every destination has it except those that
	// refused it permanently, whose copy is on the dead-letter queue.
	OutcomeDeadLettered Outcome = "dead_lettered"
)

// Handle answers POST /webhooks/signalwire: read the callback, verify its
// signature (unless verification is off), then accept it.
func (w *Webhooks) Handle(ctx context.Context, r Request) Response {
	received := w.opts.Now().UTC()
	cb, rejected, ok := w.readCallback(ctx, r)
	if !ok {
		return rejected
	}
	if w.opts.Verify {
		if answer, ok := w.verify(ctx, r, &cb, received); !ok {
			return answer
		}
	}
	return w.acceptVerified(ctx, cb.body, cb.form, cb.isJSON, r.RawQuery, received)
}

// callback is a webhook request's body as read.
type callback struct {
	body        []byte     // decoded from base64 when API Gateway encoded it
	contentType string     // the media type, without parameters
	isJSON      bool       // a JSON callback (else a form)
	form        url.Values // the parsed form; nil for JSON
}

// readCallback decodes r's body and parses it by its media type. A body
// that cannot be read is answered (ok false) with its 4xx problem.
func (w *Webhooks) readCallback(ctx context.Context, r Request) (cb callback, rejected Response, ok bool) {
	body, err := webhook.DecodeBody(r.Body, r.Base64)
	switch {
	case errors.Is(err, webhook.ErrBodyTooLarge):
		return cb, w.reject(ctx, problem.New(ProblemPayloadTooLarge, http.StatusRequestEntityTooLarge, fmt.Sprintf("webhook bodies are limited to %d bytes", webhook.MaxBodyBytes)), "body too large"), false
	case err != nil:
		return cb, w.reject(ctx, BadRequest("the body is not valid base64"), "bad base64"), false
	}
	cb.body, cb.contentType = body, mediaType(r.Header("Content-Type"))
	cb.isJSON = cb.contentType == webhook.JSONContentType || strings.HasSuffix(cb.contentType, "+json")
	if cb.contentType != webhook.FormContentType && !cb.isJSON {
		return cb, w.reject(ctx, problem.New(ProblemUnsupportedMediaType, http.StatusUnsupportedMediaType, "SignalWire callbacks are "+webhook.FormContentType+" or "+webhook.JSONContentType), "unsupported media type"), false
	}
	if !cb.isJSON {
		if cb.form, err = webhook.ParseForm(body); err != nil {
			return cb, w.reject(ctx, BadRequest("the body is not valid form encoding"), "malformed form"), false
		}
	}
	return cb, Response{}, true
}

// verify checks cb's signature on the raw body, before any JSON parsing.
// Verified, cb keeps only what the signature covers and ok is true.
// Otherwise the answer is a 5xx when the secret cannot be read (SignalWire
// retries those), the deferral's answer when a mismatch may be a key the
// secret does not hold yet (deferred.go), else a 403.
func (w *Webhooks) verify(ctx context.Context, r Request, cb *callback, received time.Time) (answer Response, ok bool) {
	creds, version, err := w.app.creds.Get(ctx)
	if err != nil {
		return w.app.errorResponse(ctx, err), false
	}
	signed := webhook.SignedRequest{CandidateURLs: w.candidates(r), ContentType: cb.contentType, Body: cb.body, Form: cb.form, Signature: webhook.SignatureFromHeaders(r.Header)}
	verified, err := w.verifySignature(ctx, signed, creds, version)
	if errors.Is(err, webhook.ErrInvalidSignature) {
		if answer, ok := w.deferVerification(ctx, UnverifiedWebhook{Body: cb.body, ContentType: cb.contentType, CandidateURLs: signed.CandidateURLs,
			Signature: signed.Signature, Query: r.RawQuery, ReceivedAt: received}); ok {
			return answer, false
		}
	}
	if err != nil {
		obs.InvocationFrom(ctx).Batch().Add(obs.MetricWebhookRejected, obs.UnitCount, 1)
		w.app.log.WarnContext(ctx, "webhook rejected", "reason", redactQueries(err.Error(), signed.CandidateURLs), "candidate_urls", redactedURLs(signed.CandidateURLs))
		return ProblemResponse(problem.New(ProblemInvalidSignature, http.StatusForbidden, "missing or invalid X-SignalWire-Signature")), false
	}
	if verified.Form != nil && !webhook.SameForm(verified.Form, cb.form) {
		// Only the values the signature covers go on (see
		// webhook.FormOrderings); the others were never signed.
		cb.form, cb.body = verified.Form, []byte(verified.Form.Encode())
	}
	w.app.log.DebugContext(ctx, "webhook verified", "scheme", string(verified.Scheme))
	return Response{}, true
}

// verifySignature checks signed against the signing keys of creds (whose
// cache version is version) and, when none matches, once more against a
// fresh secret: the key may have been rotated since the secret was cached,
// and SignalWire does not retry a 403. The cache rate-limits forced
// refreshes (one per credentials.RefreshInterval, whatever their cause), so
// forged requests cannot drive Secrets Manager calls. A failed refresh is
// logged; the cached keys then decide.
func (w *Webhooks) verifySignature(ctx context.Context, signed webhook.SignedRequest, creds credentials.Credentials, version uint64) (webhook.Verified, error) {
	verified, err := verifyWithKeys(creds.SigningKeys(), signed.Verify)
	if !errors.Is(err, webhook.ErrInvalidSignature) {
		return verified, err
	}
	fresh, v, rerr := w.app.creds.Refresh(ctx, version)
	switch {
	case rerr != nil:
		w.app.log.WarnContext(ctx, "refreshing the secret after a signature mismatch failed; the cached signing keys decide", "error", rerr.Error())
	case v != version:
		obs.InvocationFrom(ctx).Batch().Add(obs.MetricCredentialsRefresh, obs.UnitCount, 1)
		verified, err = verifyWithKeys(fresh.SigningKeys(), signed.Verify)
	}
	return verified, err
}

// acceptVerified processes a webhook whose signature was verified (or
// verification is off): body and form as signed, the callback URL's raw
// query, and when it was first received.
func (w *Webhooks) acceptVerified(ctx context.Context, body []byte, form url.Values, isJSON bool, rawQuery string, received time.Time) Response {
	var err error
	query, _ := url.ParseQuery(rawQuery) // a bad query string only loses the optional ConferenceSid
	var src webhook.Source
	var job Job
	if isJSON {
		if src, err = webhook.ParseJSON(body, query); err != nil {
			return w.reject(ctx, BadRequest("the body is not well-formed JSON: "+err.Error()), "malformed JSON")
		}
		job = Job{Body: string(body), ContentType: webhook.JSONContentType, Query: rawQuery, ReceivedAt: received}
	} else {
		if src, err = webhook.Normalize(form, query); err != nil {
			return w.reject(ctx, BadRequest("not a usable status callback: "+err.Error()), "not a status callback")
		}
		job = Job{Form: string(body), Query: rawQuery, ReceivedAt: received}
	}
	if err := w.check(job, src); err != nil {
		p := ProblemFor(err)
		return w.reject(ctx, p, p.Detail)
	}
	env, outcome, err := w.accept(ctx, job, src)
	if err != nil {
		// Even the retry queue failed: a 503 makes SignalWire send it again.
		w.app.log.ErrorContext(ctx, "webhook not accepted; SignalWire will retry", "error", err.Error())
		p := problem.New(ProblemUnavailable, http.StatusServiceUnavailable, "the webhook could not be processed or queued; retry later")
		p.RetryAfterSeconds = 5
		return ProblemResponse(p)
	}
	if outcome == OutcomeReturned {
		b, err := EncodeEnvelope(env)
		if err != nil {
			return w.app.errorResponse(ctx, err)
		}
		return Response{Status: http.StatusOK, Headers: map[string]string{"Content-Type": "application/json"}, Body: b}
	}
	b, _ := json.Marshal(map[string]string{"id": env.ID, "outcome": string(outcome)})
	return Response{Status: http.StatusOK, Headers: map[string]string{"Content-Type": "application/json"}, Body: b}
}

// verifyWithKeys checks a signature against every known signing key (the
// current one and, during a rotation, the previous one). Every key is tried
// (each comparison is constant time), so the time taken does not say which
// key matched. It returns the first match, else the current key's error.
func verifyWithKeys(keys []string, verify func(key string) (webhook.Verified, error)) (webhook.Verified, error) {
	if len(keys) == 0 {
		return verify("")
	}
	var match webhook.Verified
	var first error
	matched := false
	for i, k := range keys {
		v, err := verify(k)
		switch {
		case err == nil && !matched:
			match, matched = v, true
		case err != nil && i == 0:
			first = err
		}
	}
	if matched {
		return match, nil
	}
	return webhook.Verified{}, first
}

// candidates returns the URLs SignalWire may have called for r.
func (w *Webhooks) candidates(r Request) []string {
	return webhook.RequestURL{
		PublicURL: w.opts.PublicWebhookURL, PublicBaseURL: w.opts.PublicBaseURL,
		Host: r.Host, Paths: r.URLPaths, RawQuery: r.RawQuery, QueryVariants: r.QueryVariants, Route: WebhookRoute,
	}.Candidates()
}

func (w *Webhooks) reject(ctx context.Context, p problem.Problem, reason string) Response {
	obs.InvocationFrom(ctx).Batch().Add(obs.MetricWebhookRejected, obs.UnitCount, 1)
	w.app.log.InfoContext(ctx, "webhook rejected", "reason", reason, "status", p.Status)
	return ProblemResponse(p)
}

// maxEnqueueReserve is the most of the deadline kept for parking a webhook
// on the retry queue (one SendMessage, usually tens of milliseconds).
const maxEnqueueReserve = time.Second

// enqueueReserve is what inline processing leaves of ctx's deadline (the
// deadline minus the invocation's margin) for the enqueue: a second, or
// half of what is left for short function timeouts, so that a 1 s function
// still tries to deliver before it queues.
func enqueueReserve(ctx context.Context) time.Duration {
	left, ok := deadline.Left(ctx)
	if !ok {
		return 0
	}
	return min(maxEnqueueReserve, max(left, 0)/2)
}

// source parses a stored job: a form callback, or a JSON one.
func (j Job) source() (webhook.Source, error) {
	query, _ := url.ParseQuery(j.Query)
	switch {
	case j.Form != "" && j.Body == "":
		form, err := webhook.ParseForm([]byte(j.Form))
		if err != nil {
			return webhook.Source{}, fmt.Errorf("stored webhook form: %w", err)
		}
		src, err := webhook.Normalize(form, query)
		if err != nil {
			return webhook.Source{}, fmt.Errorf("stored webhook: %w", err)
		}
		return src, nil
	case j.Form == "" && j.Body != "" && j.ContentType == webhook.JSONContentType:
		src, err := webhook.ParseJSON([]byte(j.Body), query)
		if err != nil {
			return webhook.Source{}, fmt.Errorf("stored JSON webhook: %w", err)
		}
		return src, nil
	}
	return webhook.Source{}, fmt.Errorf("stored webhook: want a form, or a body with content type %s: %w", webhook.JSONContentType, webhook.ErrInvalidWebhook)
}

// Empty reports whether the job carries no callback.
func (j Job) Empty() bool { return j.Form == "" && j.Body == "" }
