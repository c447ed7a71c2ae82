// Package trigger adapts Lambda events to the processing core: it detects
// which trigger sent an event (HTTP API, REST API, Function URL, SQS, direct
// invocation), translates it into the core's neutral request, and renders
// the answer in the shape that trigger expects. It uses aws-lambda-go's
// events types throughout.
package trigger

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/signalwire-lambda/participants/internal/app"
	"github.com/signalwire-lambda/participants/internal/obs"
	"github.com/signalwire-lambda/participants/internal/participant"
	"github.com/signalwire-lambda/participants/internal/signalwire"
)

// The triggers decode tells apart, by the name logged in the `trigger` field.
const (
	httpAPI       = "http-api"
	restAPI       = "rest-api"
	functionURL   = "function-url"
	direct        = "direct"
	directWebhook = "direct-webhook"
	sqsTrigger    = "sqs"
	unknown       = "unknown"
)

// Core is what the adapters need from the processing core.
type Core interface {
	// Handle answers an HTTP request (app.Routes.Handle).
	Handle(ctx context.Context, r app.Request) app.Response
	Participant(ctx context.Context, ref signalwire.ParticipantRef) (participant.Participant, error)
}

// Webhooks is what the SQS and direct adapters need from the webhook processor.
type Webhooks interface {
	// Accept processes a verified webhook, queueing it for retry on
	// failure, and returns its envelope.
	Accept(ctx context.Context, job app.DirectWebhook) ([]byte, app.Outcome, error)
	// ProcessRetry handles one retry-queue message; nil error deletes it.
	ProcessRetry(ctx context.Context, body string, receiveCount int) error
}

// Router is the Lambda handler: it implements lambda.Handler, so the
// runtime hands it raw bytes and no reflection runs per invocation.
type Router struct {
	core    Core
	hooks   Webhooks
	log     *slog.Logger
	metrics *obs.Metrics
	warm    atomic.Bool

	// beforeFirstWebhook runs once, when the first invocation that may
	// forward (a POST, a direct webhook job, an SQS batch) arrives.
	beforeFirstWebhook     func()
	beforeFirstWebhookOnce sync.Once
}

// BeforeFirstWebhook sets f to run once, in the background, as soon as the
// first invocation that may forward a webhook arrives (an HTTP POST, a
// direct webhook job, an SQS batch), before it is processed: the function
// opens its destinations' connections then, so that a cold read never pays
// for them and a cold webhook finds them open. Call it before the first
// Invoke.
func (r *Router) BeforeFirstWebhook(f func()) { r.beforeFirstWebhook = f }

// mayForward runs beforeFirstWebhook once, when set.
func (r *Router) mayForward() {
	if r.beforeFirstWebhook != nil {
		r.beforeFirstWebhookOnce.Do(func() { go r.beforeFirstWebhook() })
	}
}

// NewRouter returns the handler. hooks may be nil when webhooks are not processed.
func NewRouter(core Core, hooks Webhooks, log *slog.Logger, metrics *obs.Metrics) *Router {
	return &Router{core: core, hooks: hooks, log: log, metrics: metrics}
}

// event is any payload decoded once: a payload 2.0 event (HTTP API,
// Function URL: the common case) in full, and the fields that tell the
// other triggers apart, whose adapters decode the payload into their own
// events type.
type event struct {
	events.APIGatewayV2HTTPRequest
	HTTPMethod string `json:"httpMethod"`
	Records    []struct {
		EventSource string `json:"eventSource"`
	} `json:"Records"`
	AccountSID *string         `json:"account_sid"`
	WebhookJob json.RawMessage `json:"signalwire_webhook"`
}

// decode reads payload once and names its trigger (unknown when it is not
// JSON). err is set only for a payload 2.0 event that does not match its
// type.
func decode(payload []byte) (e *event, kind string, err error) {
	e = &event{}
	err = json.Unmarshal(payload, e)
	var typeErr *json.UnmarshalTypeError
	if err != nil && !errors.As(err, &typeErr) {
		return e, unknown, nil
	}
	switch {
	case len(e.Records) > 0 && e.Records[0].EventSource == "aws:sqs":
		return e, sqsTrigger, nil
	case e.Version == "2.0" && e.RequestContext.HTTP.Method != "":
		if strings.Contains(e.RequestContext.DomainName, ".lambda-url.") {
			return e, functionURL, err
		}
		return e, httpAPI, err
	case e.HTTPMethod != "":
		return e, restAPI, nil
	case e.AccountSID != nil:
		return e, direct, nil
	case len(e.WebhookJob) > 0:
		return e, directWebhook, nil
	}
	return e, unknown, nil
}

// Invoke handles one invocation of any trigger.
func (r *Router) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	start := time.Now()
	inv := &obs.Invocation{FunctionName: lambdacontext.FunctionName, ColdStart: !r.warm.Swap(true), Metrics: r.metrics.NewBatch()}
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		inv.RequestID = lc.AwsRequestID
	}
	inv.TraceID = obs.TraceID(ctx)
	ctx = obs.WithTraceID(obs.WithInvocation(ctx, inv), inv.TraceID)
	if inv.ColdStart {
		inv.Metrics.Add(obs.MetricColdStart, obs.UnitCount, 1)
	}
	// Every step works against the deadline minus a margin, so that the
	// answer, this log line and the metrics are written before Lambda's
	// deadline even when an upstream hangs.
	work, cancel := withMargin(ctx)
	e, kind, err := decode(payload)
	inv.SetTrigger(kind)
	if kind == sqsTrigger || kind == directWebhook {
		r.mayForward()
	}
	out, outcome, err := r.dispatch(work, kind, payload, e, err)
	cancel()

	attrs := []any{"outcome", outcome, "duration_ms", float64(time.Since(start).Microseconds()) / 1000}
	if err != nil {
		attrs = append(attrs, "error", err.Error())
	}
	r.log.InfoContext(ctx, "invocation", attrs...)
	if ferr := r.metrics.Flush(inv.Metrics); ferr != nil {
		r.log.WarnContext(ctx, "writing metrics failed", "error", ferr.Error())
	}
	return out, err
}

// dispatch runs the adapter for kind on payload (e is its decoding, err
// the decoding error of a payload 2.0 event) and returns its output, a
// short outcome for the log line, and the Lambda error (direct
// invocations only).
func (r *Router) dispatch(ctx context.Context, kind string, payload []byte, e *event, err error) ([]byte, any, error) {
	switch kind {
	case httpAPI, functionURL:
		if err != nil {
			return r.badEvent(ctx, err)
		}
		return r.serveV2(ctx, kind, &e.APIGatewayV2HTTPRequest)
	case restAPI:
		return r.restAPI(ctx, payload)
	case sqsTrigger:
		return r.sqs(ctx, payload)
	case direct:
		return r.direct(ctx, payload)
	case directWebhook:
		return r.webhookJob(ctx, e.WebhookJob)
	}
	return nil, "rejected", lambdaError(app.BadRequest("unrecognised event: expected an API Gateway (HTTP or REST API), Function URL or SQS event, {\"account_sid\":..,\"conference_sid\":..,\"call_sid\":..} or {\"signalwire_webhook\":{\"form\":..}}"))
}

// direct handles {"account_sid":..,"conference_sid":..,"call_sid":..}.
func (r *Router) direct(ctx context.Context, payload []byte) ([]byte, any, error) {
	var in struct {
		AccountSID    string `json:"account_sid"`
		ConferenceSID string `json:"conference_sid"`
		CallSID       string `json:"call_sid"`
	}
	if err := json.Unmarshal(payload, &in); err != nil {
		return nil, "rejected", lambdaError(app.BadRequest("the direct invocation payload must be {\"account_sid\":string,\"conference_sid\":string,\"call_sid\":string}"))
	}
	p, err := r.core.Participant(ctx, signalwire.ParticipantRef{AccountSID: in.AccountSID, ConferenceSID: in.ConferenceSID, CallSID: in.CallSID})
	if err != nil {
		prob := app.ProblemFor(err)
		level := slog.LevelInfo
		if prob.Status >= 500 {
			level = slog.LevelError
		}
		r.log.Log(ctx, level, "direct invocation failed", "status", prob.Status, "problem", prob.Type, "error", err.Error())
		return nil, prob.Status, lambdaError(prob)
	}
	out, err := app.EncodeJSON(p)
	if err != nil {
		r.log.ErrorContext(ctx, "encoding the participant failed", "error", err.Error())
		return nil, 500, errors.New("encoding the participant failed")
	}
	if len(out) > app.MaxAnswerBytes {
		prob := app.AnswerTooLarge(len(out))
		r.log.ErrorContext(ctx, "direct invocation failed", "status", prob.Status, "problem", prob.Type, "error", prob.Detail)
		return nil, prob.Status, lambdaError(prob)
	}
	return out, 200, nil
}

// webhookJob handles {"signalwire_webhook":{"form":"AccountSid=...","query":"..."}}
// (job is the object): a webhook handed over by a trusted (IAM-authorised)
// caller, processed by the same core as the HTTP route. It returns the
// envelope.
func (r *Router) webhookJob(ctx context.Context, job []byte) ([]byte, any, error) {
	var in app.DirectWebhook
	if err := json.Unmarshal(job, &in); err != nil || (in.Form == "" && in.Body == "") {
		return nil, "rejected", lambdaError(app.BadRequest("signalwire_webhook must be {\"form\":\"<form-encoded status callback>\",\"query\":\"<optional query string>\"} or {\"body\":\"<JSON callback>\",\"content_type\":\"application/json\",\"query\":\"…\"}"))
	}
	if r.hooks == nil {
		return nil, "rejected", lambdaError(app.BadRequest("webhook processing is not configured"))
	}
	if in.ReceivedAt.IsZero() {
		in.ReceivedAt = time.Now().UTC()
	}
	out, outcome, err := r.hooks.Accept(ctx, in)
	if err != nil {
		prob := app.ProblemFor(err)
		level := slog.LevelError
		if prob.Status < 500 {
			level = slog.LevelInfo // the caller's form can never be processed
		}
		r.log.Log(ctx, level, "direct webhook failed", "status", prob.Status, "error", err.Error())
		return nil, prob.Status, lambdaError(prob)
	}
	if len(out) > app.MaxAnswerBytes {
		prob := app.AnswerTooLarge(len(out))
		r.log.ErrorContext(ctx, "direct webhook failed", "error", prob.Detail)
		return nil, prob.Status, lambdaError(prob)
	}
	return out, outcome, nil
}

// lambdaError is the error a direct invocation returns for p: aws-lambda-go
// answers it as {"errorType": app.ErrorType(p), "errorMessage": p.Detail}.
func lambdaError(p app.Problem) error {
	return messages.InvokeResponse_Error{Type: app.ErrorType(p), Message: p.Detail}
}

// The margin kept before Lambda's deadline: a tenth of the time the
// invocation has, at least minMargin and at most maxMargin.
//
// Lambda stops the runtime at the deadline: whatever the handler has not
// returned by then is lost, and so are its answer, its log line and its
// metrics. Invoke therefore works against the deadline minus the margin.
// After its work is cut off, an invocation still maps the error to its
// answer, writes one log line and one EMF line and posts the answer on
// loopback: well under a millisecond on an idle CPU, but a 128 MB function
// gets a small slice of a vCPU and may be throttled for tens of
// milliseconds. 200 ms covers that several times over while leaving a 1 s
// function 800 ms of work; longer timeouts can afford up to 1 s.
const (
	minMargin = 200 * time.Millisecond
	maxMargin = time.Second
)

// margin returns the time to keep before a deadline that is left away.
func margin(left time.Duration) time.Duration {
	return min(max(left/10, minMargin), maxMargin)
}

// withMargin returns a context whose deadline is ctx's minus the margin of
// the time left (ctx itself when it has none).
func withMargin(ctx context.Context) (context.Context, context.CancelFunc) {
	dl, ok := ctx.Deadline()
	if !ok {
		return ctx, func() {}
	}
	return context.WithDeadline(ctx, dl.Add(-margin(time.Until(dl))))
}
