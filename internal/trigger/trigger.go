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

	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/signalwire-lambda/participants/internal/app"
	"github.com/signalwire-lambda/participants/internal/deadline"
	"github.com/signalwire-lambda/participants/internal/obs"
	"github.com/signalwire-lambda/participants/internal/participant"
	"github.com/signalwire-lambda/participants/internal/problem"
	"github.com/signalwire-lambda/participants/internal/signalwire"
	"github.com/signalwire-lambda/participants/internal/webhook"
)

// The triggers Detect tells apart, by the name logged in the `trigger` field.
const (
	HTTPAPI       = "http-api"
	RESTAPI       = "rest-api"
	FunctionURL   = "function-url"
	Direct        = "direct"
	DirectWebhook = "direct-webhook"
	SQS           = "sqs"
	Unknown       = "unknown"
)

// Core is what the adapters need from the processing core.
type Core interface {
	// Handle answers an HTTP request (app.Routes.Handle).
	Handle(ctx context.Context, r app.Request) app.Response
	Participant(ctx context.Context, ref signalwire.ParticipantRef) (participant.Participant, error)
}

// Webhooks is what the SQS and direct adapters need from the webhook processor.
type Webhooks interface {
	// Accept processes a verified webhook, queueing it for retry on failure.
	Accept(ctx context.Context, job app.Job) (webhook.Envelope, app.Outcome, error)
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

// probe holds just enough of any event to tell the triggers apart.
type probe struct {
	Version        string `json:"version"`
	HTTPMethod     string `json:"httpMethod"`
	RequestContext struct {
		DomainName string          `json:"domainName"`
		HTTP       json.RawMessage `json:"http"`
	} `json:"requestContext"`
	Records []struct {
		EventSource string `json:"eventSource"`
	} `json:"Records"`
	AccountSID *string         `json:"account_sid"`
	WebhookJob json.RawMessage `json:"signalwire_webhook"`
}

// Detect names the trigger that produced payload, or Unknown.
func Detect(payload []byte) string {
	var p probe
	if json.Unmarshal(payload, &p) != nil {
		return Unknown
	}
	switch {
	case len(p.Records) > 0 && p.Records[0].EventSource == "aws:sqs":
		return SQS
	case p.Version == "2.0" && len(p.RequestContext.HTTP) > 0:
		if strings.Contains(p.RequestContext.DomainName, ".lambda-url.") {
			return FunctionURL
		}
		return HTTPAPI
	case p.HTTPMethod != "":
		return RESTAPI
	case p.AccountSID != nil:
		return Direct
	case len(p.WebhookJob) > 0:
		return DirectWebhook
	}
	return Unknown
}

// Invoke handles one invocation of any trigger.
func (r *Router) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	start := time.Now()
	inv := &obs.Invocation{FunctionName: lambdacontext.FunctionName, ColdStart: !r.warm.Swap(true), Metrics: r.metrics.NewBatch()}
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		inv.RequestID = lc.AwsRequestID
	}
	inv.TraceID = obs.TraceIDFromLambda(ctx)
	ctx = obs.WithTraceID(obs.WithInvocation(ctx, inv), inv.TraceID)
	if inv.ColdStart {
		inv.Metrics.Add(obs.MetricColdStart, obs.UnitCount, 1)
	}
	// Every step works against the deadline minus a margin, so that the
	// answer, this log line and the metrics are written before Lambda's
	// deadline even when an upstream hangs.
	work, cancel := deadline.WithMargin(ctx)
	var out []byte
	var outcome any
	var err error
	if e, kind := decodeV2(payload); e != nil {
		// The common case, decoded once: an HTTP API or Function URL event.
		inv.SetTrigger(kind)
		out, outcome, err = r.serveV2(work, kind, e)
	} else {
		kind := Detect(payload)
		inv.SetTrigger(kind)
		if kind == SQS || kind == DirectWebhook {
			r.mayForward()
		}
		out, outcome, err = r.dispatch(work, kind, payload)
	}
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

// dispatch runs the adapter for kind and returns its output, a short
// outcome for the log line, and the Lambda error (direct invocations only).
func (r *Router) dispatch(ctx context.Context, kind string, payload []byte) ([]byte, any, error) {
	switch kind {
	case HTTPAPI:
		return r.httpAPI(ctx, payload)
	case FunctionURL:
		return r.functionURL(ctx, payload)
	case RESTAPI:
		return r.restAPI(ctx, payload)
	case SQS:
		return r.sqs(ctx, payload)
	case Direct:
		return r.direct(ctx, payload)
	case DirectWebhook:
		return r.webhookJob(ctx, payload)
	}
	err := lambdaError(app.BadRequest("unrecognised event: expected an API Gateway (HTTP or REST API), Function URL or SQS event, {\"account_sid\":..,\"conference_sid\":..,\"call_sid\":..} or {\"signalwire_webhook\":{\"form\":..}}"))
	return nil, "rejected", err
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

// webhookJob handles {"signalwire_webhook":{"form":"AccountSid=...","query":"..."}}:
// a webhook handed over by a trusted (IAM-authorised) caller, processed by
// the same core as the HTTP route. It returns the envelope.
func (r *Router) webhookJob(ctx context.Context, payload []byte) ([]byte, any, error) {
	var in struct {
		Job app.Job `json:"signalwire_webhook"`
	}
	if err := json.Unmarshal(payload, &in); err != nil || in.Job.Empty() {
		return nil, "rejected", lambdaError(app.BadRequest("signalwire_webhook must be {\"form\":\"<form-encoded status callback>\",\"query\":\"<optional query string>\"} or {\"body\":\"<JSON callback>\",\"content_type\":\"application/json\",\"query\":\"…\"}"))
	}
	if r.hooks == nil {
		return nil, "rejected", lambdaError(app.BadRequest("webhook processing is not configured"))
	}
	if in.Job.ReceivedAt.IsZero() {
		in.Job.ReceivedAt = time.Now().UTC()
	}
	env, outcome, err := r.hooks.Accept(ctx, in.Job)
	if err != nil {
		prob := app.ProblemFor(err)
		level := slog.LevelError
		if prob.Status < 500 {
			level = slog.LevelInfo // the caller's form can never be processed
		}
		r.log.Log(ctx, level, "direct webhook failed", "status", prob.Status, "error", err.Error())
		return nil, prob.Status, lambdaError(prob)
	}
	out, err := app.EncodeEnvelope(env)
	if err == nil && len(out) > app.MaxAnswerBytes {
		prob := app.AnswerTooLarge(len(out))
		r.log.ErrorContext(ctx, "direct webhook failed", "error", prob.Detail)
		return nil, prob.Status, lambdaError(prob)
	}
	return out, outcome, err
}

// lambdaError is the error a direct invocation returns for p: aws-lambda-go
// answers it as {"errorType": app.ErrorType(p), "errorMessage": p.Detail}.
func lambdaError(p problem.Problem) error {
	return messages.InvokeResponse_Error{Type: app.ErrorType(p), Message: p.Detail}
}
