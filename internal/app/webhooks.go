package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/signalwire-lambda/participants/internal/forward"
	"github.com/signalwire-lambda/participants/internal/obs"
	"github.com/signalwire-lambda/participants/internal/retry"
	"github.com/signalwire-lambda/participants/internal/webhook"
)

// enqueuer parks a verified webhook on the retry queue.
type enqueuer interface {
	Enqueue(ctx context.Context, m forward.Message) error
}

// WebhookOptions configures the webhook processor (docs/CONFIGURATION.md).
type WebhookOptions struct {
	PublicBaseURL    string // PUBLIC_BASE_URL
	PublicWebhookURL string // PUBLIC_WEBHOOK_URL; wins over PublicBaseURL
	Verify           bool   // off only in local runs
	// Local (AWS_SAM_LOCAL=true only, never deployed) adds the URL the
	// client called to the candidates: headers a client controls.
	Local           bool
	Destinations    []forward.Destination // none: the answer carries the envelope
	Retry           enqueuer              // nil: answer 503 instead of parking
	DeadLetter      enqueuer              // nil: permanent refusals go to the retry queue
	InlineBudget    time.Duration         // work before answering; the rest is parked
	MaxReceiveCount int                   // the retry queue's redrive maxReceiveCount
	Policy          retry.Policy
	MaxAge          time.Duration // WEBHOOK_MAX_AGE, the replay window; 0: off
}

// webhooks verifies, processes and forwards SignalWire status callbacks.
type webhooks struct {
	app  *App
	opts WebhookOptions
}

// NewWebhooks returns the webhook processor for the core a.
func NewWebhooks(a *App, opts WebhookOptions) *webhooks {
	if opts.InlineBudget <= 0 {
		opts.InlineBudget = 3 * time.Second
	}
	if opts.MaxReceiveCount <= 0 {
		opts.MaxReceiveCount = 5
	}
	return &webhooks{app: a, opts: opts}
}

// Outcome says what happened to an accepted webhook.
type Outcome string

const (
	outcomeDelivered Outcome = "delivered" // every destination has it
	outcomeReturned  Outcome = "returned"  // no destination: the answer carries it
	outcomeQueued    Outcome = "queued"    // parked on the retry queue
	// outcomeDeadLettered: every destination has it except those that
	// refused it permanently, whose copy is on the dead-letter queue.
	outcomeDeadLettered Outcome = "dead_lettered"
)

// Handle answers POST /webhooks/signalwire.
func (w *webhooks) Handle(ctx context.Context, r Request) Response {
	in, rejected, ok := w.readCallback(ctx, r)
	if !ok {
		return rejected
	}
	if w.opts.Verify {
		if answer, ok := w.verify(ctx, r, &in); !ok {
			return answer
		}
	}
	src, err := in.source()
	if err != nil {
		p := ProblemFor(err)
		return w.reject(ctx, p, p.Detail)
	}
	if answer, expired := w.expired(ctx, src, in.receivedAt); expired {
		return answer
	}
	return w.answer(ctx, w.process(ctx, in, src, false))
}

// readCallback decodes r's body and parses it by its media type, else answers 4xx.
func (w *webhooks) readCallback(ctx context.Context, r Request) (in inbound, rejected Response, ok bool) {
	body, err := webhook.DecodeBody(r.Body, r.Base64)
	switch {
	case errors.Is(err, webhook.ErrBodyTooLarge):
		return in, w.reject(ctx, bodyTooLarge(), "body too large"), false
	case err != nil:
		return in, w.reject(ctx, BadRequest("the body is not valid base64"), "bad base64"), false
	}
	in = inbound{body: body, query: r.RawQuery, receivedAt: time.Now().UTC(), traceID: obs.TraceID(ctx)}
	if mt, _, err := mime.ParseMediaType(r.Header("Content-Type")); err == nil {
		in.contentType = mt
	}
	in.isJSON = in.contentType == webhook.JSONContentType || strings.HasSuffix(in.contentType, "+json")
	if in.contentType != webhook.FormContentType && !in.isJSON {
		return in, w.reject(ctx, newProblem(problemUnsupportedMediaType, http.StatusUnsupportedMediaType, "SignalWire callbacks are "+webhook.FormContentType+" or "+webhook.JSONContentType), "unsupported media type"), false
	}
	if !in.isJSON {
		if in.form, err = webhook.ParseForm(body); err != nil {
			return in, w.reject(ctx, BadRequest("the body is not valid form encoding"), "malformed form"), false
		}
	}
	return in, Response{}, true
}

// verify checks in's signature on the raw body, before any JSON parsing;
// verified, in keeps only what the signature covers. An unreadable secret is
// a 5xx (SignalWire retries those), a bad signature a 403, after one try with
// a fresh secret: the key may have been rotated since it was cached (forced
// refreshes are rate limited, so forged requests cannot drive them).
func (w *webhooks) verify(ctx context.Context, r Request, in *inbound) (answer Response, ok bool) {
	creds, version, err := w.app.creds.Get(ctx)
	if err != nil {
		return w.app.errorResponse(ctx, err), false
	}
	signed := webhook.SignedRequest{CandidateURLs: w.candidates(r), Body: in.body, Form: in.form, Signature: webhook.SignatureFromHeaders(r.Header)}
	verified, err := verifyWithKeys(creds.SigningKeys(), signed.Verify)
	if errors.Is(err, webhook.ErrInvalidSignature) {
		fresh, v, rerr := w.app.creds.Refresh(ctx, version)
		switch {
		case rerr != nil:
			w.app.log.WarnContext(ctx, "refreshing the secret after a signature mismatch failed; the cached signing keys decide", "error", rerr.Error())
		case v != version:
			obs.InvocationFrom(ctx).Batch().Add(obs.MetricCredentialsRefresh, obs.UnitCount, 1)
			verified, err = verifyWithKeys(fresh.SigningKeys(), signed.Verify)
		}
	}
	if err != nil {
		obs.InvocationFrom(ctx).Batch().Add(obs.MetricWebhookRejected, obs.UnitCount, 1)
		w.app.log.WarnContext(ctx, "webhook rejected", "reason", err.Error(), "candidate_urls", redactedURLs(signed.CandidateURLs))
		return ProblemResponse(newProblem(problemInvalidSignature, http.StatusForbidden, "missing or invalid X-SignalWire-Signature")), false
	}
	if verified.Form != nil {
		in.form, in.body = verified.Form, []byte(verified.Form.Encode())
	}
	w.app.log.DebugContext(ctx, "webhook verified", "scheme", verified.Scheme)
	return Response{}, true
}

// candidates are the URLs SignalWire may have called for r (Local: and the client's).
func (w *webhooks) candidates(r Request) []string {
	u := webhook.RequestURL{
		PublicURL: w.opts.PublicWebhookURL, PublicBaseURL: w.opts.PublicBaseURL,
		Host: r.Host, Paths: r.URLPaths, RawQuery: r.RawQuery, QueryVariants: r.QueryVariants, Route: webhookRoute,
	}
	out := u.Candidates()
	if !w.opts.Local {
		return out
	}
	u.PublicURL, u.PublicBaseURL, u.Scheme, u.Host = "", "", r.Header("X-Forwarded-Proto"), r.Header("Host")
	out = append(out, u.Candidates()...)
	if _, _, err := net.SplitHostPort(u.Host); err != nil && u.Host != "" && r.Header("X-Forwarded-Port") != "" {
		u.Host += ":" + r.Header("X-Forwarded-Port") // a Host header without its port
		out = append(out, u.Candidates()...)
	}
	return out
}

// expired refuses (403) a callback signed more than MaxAge from its arrival,
// either way (a replay, or a clock that is off); one without a time passes.
func (w *webhooks) expired(ctx context.Context, src webhook.Source, received time.Time) (Response, bool) {
	env := webhook.NewEnvelope(src, received)
	age := received.Sub(env.OccurredAt)
	if w.opts.MaxAge <= 0 || age.Abs() <= w.opts.MaxAge {
		return Response{}, false
	}
	inv := obs.InvocationFrom(ctx)
	inv.SetSIDs(src.AccountSID(), src.ConferenceSID(), src.CallSID())
	inv.Batch().Add("WebhookExpired", obs.UnitCount, 1)
	signed := env.OccurredAt.Format(time.RFC3339)
	w.app.log.WarnContext(ctx, "webhook refused: its signed timestamp is outside the replay window", "type", env.Type,
		"signed_at", signed, "age_seconds", int(age.Seconds()), "max_age_seconds", int(w.opts.MaxAge.Seconds()))
	return ProblemResponse(newProblem(problemWebhookExpired, http.StatusForbidden, fmt.Sprintf(
		"the callback was signed at %s, %s from its arrival: more than the %s WEBHOOK_MAX_AGE allows (a replay, or a clock that is off)",
		signed, age.Abs().Round(time.Second), w.opts.MaxAge))), true
}

// verifyWithKeys tries all signing keys, current then previous (the time
// taken does not say which matched): the first match, else the current's error.
func verifyWithKeys(keys []string, verify func(key string) (webhook.Verified, error)) (webhook.Verified, error) {
	verified, err := verify(keys[0])
	for _, k := range keys[1:] {
		if v, kerr := verify(k); kerr == nil && err != nil {
			verified, err = v, nil
		}
	}
	return verified, err
}

// answer renders a processed webhook: the envelope when no destination takes
// it, else its id and outcome; a 503, which SignalWire retries, when it was
// neither processed nor queued.
func (w *webhooks) answer(ctx context.Context, r result) Response {
	var p Problem
	switch {
	case errors.As(r.err, &p):
		return w.reject(ctx, p, p.Detail)
	case r.err != nil:
		w.app.log.ErrorContext(ctx, "webhook not accepted; SignalWire will retry", "error", r.err.Error())
		p := newProblem(problemUnavailable, http.StatusServiceUnavailable, "the webhook could not be processed or queued; retry later")
		p.RetryAfterSeconds = 5
		return ProblemResponse(p)
	case r.outcome == outcomeReturned:
		return Response{Status: http.StatusOK, Headers: map[string]string{"Content-Type": "application/json"}, Body: r.envelope}
	}
	b, _ := json.Marshal(map[string]string{"id": r.id, "outcome": string(r.outcome)})
	return Response{Status: http.StatusOK, Headers: map[string]string{"Content-Type": "application/json"}, Body: b}
}

func (w *webhooks) reject(ctx context.Context, p Problem, reason string) Response {
	obs.InvocationFrom(ctx).Batch().Add(obs.MetricWebhookRejected, obs.UnitCount, 1)
	w.app.log.InfoContext(ctx, "webhook rejected", "reason", reason, "status", p.Status)
	return ProblemResponse(p)
}

func bodyTooLarge() Problem {
	return newProblem(problemPayloadTooLarge, http.StatusRequestEntityTooLarge, fmt.Sprintf("webhook bodies are limited to %d bytes", webhook.MaxBodyBytes))
}
