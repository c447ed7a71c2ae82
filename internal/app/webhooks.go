package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

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
	w := &Webhooks{app: a, opts: opts}
	a.webhooks = w
	return w
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

// ServeHTTP handles POST /webhooks/signalwire.
func (w *Webhooks) ServeHTTP(ctx context.Context, r Request) Response {
	received := w.opts.Now().UTC()
	body, err := webhook.DecodeBody(r.Body, r.Base64)
	switch {
	case errors.Is(err, webhook.ErrBodyTooLarge):
		return w.reject(ctx, problem.New(KindPayloadTooLarge, http.StatusRequestEntityTooLarge, fmt.Sprintf("webhook bodies are limited to %d bytes", webhook.MaxBodyBytes)), "body too large")
	case err != nil:
		return w.reject(ctx, BadRequest("the body is not valid base64"), "bad base64")
	}
	ct := mediaType(r.Header("Content-Type"))
	isJSON := ct == webhook.JSONContentType || strings.HasSuffix(ct, "+json")
	if ct != webhook.FormContentType && !isJSON {
		return w.reject(ctx, problem.New(KindUnsupportedMediaType, http.StatusUnsupportedMediaType, "SignalWire callbacks are "+webhook.FormContentType+" or "+webhook.JSONContentType), "unsupported media type")
	}
	var form url.Values
	if !isJSON {
		if form, err = webhook.ParseForm(body); err != nil {
			return w.reject(ctx, BadRequest("the body is not valid form encoding"), "malformed form")
		}
	}
	if w.opts.Verify {
		// The signature is checked on the raw body before any JSON parsing.
		creds, version, err := w.app.creds.Get(ctx)
		if err != nil {
			// Not the caller's fault: SignalWire will retry on a 5xx.
			return w.app.errorResponse(ctx, err)
		}
		candidates := w.candidates(r)
		signed := webhook.SignedRequest{CandidateURLs: candidates, ContentType: ct, Body: body, Form: form, Signature: webhook.SignatureFromHeaders(r.Header)}
		verified, err := verifyWithKeys(creds.SigningKeys(), signed.Verify)
		if errors.Is(err, webhook.ErrInvalidSignature) {
			// The signing key may have been rotated since the secret was
			// cached: SignalWire does not retry a 403, so check against a
			// fresh secret. The cache rate-limits forced refreshes (one per
			// credentials.RefreshInterval, whatever their cause), so forged
			// requests cannot drive Secrets Manager calls.
			if fresh, v, rerr := w.app.creds.Refresh(ctx, version); rerr == nil && v != version {
				obs.InvocationFrom(ctx).Batch().Add(obs.MetricCredentialsRefresh, obs.UnitCount, 1)
				verified, err = verifyWithKeys(fresh.SigningKeys(), signed.Verify)
			}
		}
		if errors.Is(err, webhook.ErrInvalidSignature) {
			// Maybe signed with a key the secret does not hold yet: park it
			// unverified, to be verified again later (see deferred.go).
			if resp, ok := w.deferVerification(ctx, UnverifiedWebhook{Body: body, ContentType: ct, CandidateURLs: candidates,
				Signature: signed.Signature, Query: r.RawQuery, ReceivedAt: received}); ok {
				return resp
			}
		}
		if err != nil {
			obs.InvocationFrom(ctx).Batch().Add(obs.MetricWebhookRejected, obs.UnitCount, 1)
			w.app.log.WarnContext(ctx, "webhook rejected", "reason", redactQueries(err.Error(), candidates), "candidate_urls", redactedURLs(candidates))
			return ProblemResponse(problem.New(KindInvalidSignature, http.StatusForbidden, "missing or invalid X-SignalWire-Signature"))
		}
		if verified.Form != nil && !sameValues(verified.Form, form) {
			// Only the values the signature covers go on (see
			// webhook.FormOrderings); the others were never signed.
			form, body = verified.Form, []byte(verified.Form.Encode())
		}
		w.app.log.DebugContext(ctx, "webhook verified", "scheme", string(verified.Scheme))
	}
	return w.acceptVerified(ctx, body, form, isJSON, r.RawQuery, received)
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
		p := problem.New(KindUnavailable, http.StatusServiceUnavailable, "the webhook could not be processed or queued; retry later")
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

// sameValues reports whether a and b hold the same values in the same order.
func sameValues(a, b url.Values) bool {
	if len(a) != len(b) {
		return false
	}
	for k, va := range a {
		if !slices.Equal(va, b[k]) {
			return false
		}
	}
	return true
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
