// Package trigger adapts Lambda events (HTTP API, REST API, Function URL,
// SQS, direct invocation) to the processing core and renders its answers in
// each trigger's shape.
package trigger

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/signalwire-lambda/participants/internal/app"
	"github.com/signalwire-lambda/participants/internal/obs"
	"github.com/signalwire-lambda/participants/internal/participant"
	"github.com/signalwire-lambda/participants/internal/signalwire"
	"github.com/valyala/fastjson"
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

// core is what the adapters need from the processing core (app.Routes).
type core interface {
	Handle(ctx context.Context, r app.Request) app.Response
	Participant(ctx context.Context, ref signalwire.ParticipantRef) (participant.Participant, error)
	Participants(ctx context.Context, ref signalwire.ParticipantRef, f signalwire.ListFilter) (app.List, error)
}

// processor is what the SQS and direct adapters need from the webhook processor.
type processor interface {
	Accept(ctx context.Context, job app.DirectWebhook) ([]byte, app.Outcome, error)
	ProcessRetry(ctx context.Context, body string, receiveCount int) error
}

// Router is the Lambda handler: it implements lambda.Handler, so the
// runtime hands it raw bytes and no reflection runs per invocation.
type Router struct {
	core    core
	hooks   processor
	log     *slog.Logger
	metrics *obs.Metrics
	warm    atomic.Bool
	// mayForward runs on each invocation that may forward (BeforeFirstWebhook).
	mayForward func()
}

// BeforeFirstWebhook sets f to run once, in the background, when the first
// invocation that may forward arrives (a POST, a direct webhook, an SQS
// batch): a cold read never pays for the destinations' connections and a
// cold webhook finds them open. Call it before the first Invoke; nil: nothing.
func (r *Router) BeforeFirstWebhook(f func()) {
	if f != nil {
		r.mayForward = sync.OnceFunc(func() { go f() })
	}
}

// NewRouter returns the handler. hooks may be nil when webhooks are not processed.
func NewRouter(c core, hooks processor, log *slog.Logger, metrics *obs.Metrics) *Router {
	return &Router{core: c, hooks: hooks, log: log, metrics: metrics, mayForward: func() {}}
}

// event is any payload decoded once: what the payload 2.0 adapters read,
// and the fields that tell the other triggers apart. It is not
// events.APIGatewayV2HTTPRequest: json.Unmarshal of that type was a fifth
// of a warm webhook's CPU, and a field nothing reads is neither decoded nor
// type-checked.
type event struct {
	Version         string            `json:"version"`
	RawPath         string            `json:"rawPath"`
	RawQueryString  string            `json:"rawQueryString"`
	Headers         map[string]string `json:"headers"`
	PathParameters  map[string]string `json:"pathParameters"`
	Body            string            `json:"body"`
	IsBase64Encoded bool              `json:"isBase64Encoded"`
	RequestContext  struct {
		DomainName string `json:"domainName"`
		HTTP       struct {
			Method string `json:"method"`
		} `json:"http"`
	} `json:"requestContext"`
	HTTPMethod string `json:"httpMethod"`
	Records    []struct {
		EventSource string `json:"eventSource"`
	} `json:"Records"`
	AccountSID *string         `json:"account_sid"`
	WebhookJob json.RawMessage `json:"signalwire_webhook"`
}

// decode reads payload once and names its trigger (unknown when it is not
// JSON); err is set only for a payload 2.0 event that does not match its type.
func decode(payload []byte) (e *event, kind string, err error) {
	e, ok := decodeV2(payload)
	if !ok {
		e = &event{}
		err = json.Unmarshal(payload, e)
		var typeErr *json.UnmarshalTypeError
		if err != nil && !errors.As(err, &typeErr) {
			return e, unknown, nil
		}
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

// parsers serve decodeV2.
var parsers fastjson.ParserPool

// decodeV2 is decode's fast path, for the common case: a payload 2.0
// event, read by fastjson's parser and its strict validator in a quarter of
// json.Unmarshal's time. It fills e as json.Unmarshal would (keys matched
// exactly, else by case folding; a repeated object merged; FuzzDecodeV2
// holds it to that) and is not ok for anything the two could read
// differently: invalid UTF-8, surrogate escapes, a null, a value of another
// type, the other triggers' fields. json.Unmarshal decides those.
func decodeV2(payload []byte) (e *event, ok bool) {
	if !utf8.Valid(payload) || bytes.Contains(payload, []byte(`\ud`)) || bytes.Contains(payload, []byte(`\uD`)) ||
		bytes.IndexByte(payload, '\\') >= 0 && rawControl(payload) {
		return nil, false
	}
	p := parsers.Get()
	defer parsers.Put(p)
	v, err := p.ParseBytes(payload) // depth at most fastjson.MaxDepth: then validating is safe
	if err != nil || v.Type() != fastjson.TypeObject || fastjson.ValidateBytes(payload) != nil {
		return nil, false
	}
	d := &v2Decoder{ok: true}
	d.visit(v, d.top, "version", "rawPath", "rawQueryString", "body", "isBase64Encoded", "headers", "pathParameters",
		"requestContext", "httpMethod", "Records", "account_sid", "signalwire_webhook")
	return &d.e, d.ok
}

// v2Decoder fills e from fastjson values; ok turns false at the first
// value decodeV2 leaves to json.Unmarshal.
type v2Decoder struct {
	e  event
	ok bool
}

func (d *v2Decoder) top(name string, v *fastjson.Value) {
	switch e := &d.e; name {
	case "version":
		d.str(v, &e.Version)
	case "rawPath":
		d.str(v, &e.RawPath)
	case "rawQueryString":
		d.str(v, &e.RawQueryString)
	case "body":
		d.str(v, &e.Body)
	case "isBase64Encoded":
		b, err := v.Bool()
		e.IsBase64Encoded, d.ok = b, d.ok && err == nil
	case "headers":
		d.strs(v, &e.Headers)
	case "pathParameters":
		d.strs(v, &e.PathParameters)
	case "requestContext":
		d.visit(v, func(name string, v *fastjson.Value) {
			if name == "domainName" {
				d.str(v, &e.RequestContext.DomainName)
				return
			}
			d.visit(v, func(_ string, v *fastjson.Value) { d.str(v, &e.RequestContext.HTTP.Method) }, "method")
		}, "domainName", "http")
	default: // another trigger's field
		d.ok = false
	}
}

func (d *v2Decoder) str(v *fastjson.Value, dst *string) {
	b, err := v.StringBytes()
	*dst, d.ok = string(b), d.ok && err == nil
}

// strs merges object v of strings into *dst, as json.Unmarshal does.
func (d *v2Decoder) strs(v *fastjson.Value, dst *map[string]string) {
	if o, err := v.Object(); err == nil && *dst == nil {
		*dst = make(map[string]string, o.Len())
	}
	d.visit(v, func(key string, v *fastjson.Value) {
		var s string
		d.str(v, &s)
		(*dst)[key] = s
	})
}

// rawControl reports whether a string in JSON text b holds a control
// character as is, which fastjson.ValidateBytes misses before an escape
// (only: without a backslash, it finds them all).
func rawControl(b []byte) bool {
	in, escaped := false, false
	for _, c := range b {
		switch {
		case escaped:
			escaped = false
		case c == '\\':
			escaped = in
		case c == '"':
			in = !in
		case c < 0x20 && in:
			return true
		}
	}
	return false
}

// visit calls f with each key of object v that is one of names (every key
// when there are none), matched as json.Unmarshal matches a struct's
// fields, and its value; it clears d.ok when v is not an object.
func (d *v2Decoder) visit(v *fastjson.Value, f func(name string, v *fastjson.Value), names ...string) {
	o, err := v.Object()
	if err != nil {
		d.ok = false
		return
	}
	o.Visit(func(k []byte, v *fastjson.Value) {
		if len(names) == 0 {
			f(string(k), v)
			return
		}
		for _, name := range names {
			if bytes.EqualFold(k, []byte(name)) {
				f(name, v)
				return
			}
		}
	})
}

// Invoke handles one invocation of any trigger.
func (r *Router) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	start := time.Now()
	inv := &obs.Invocation{FunctionName: lambdacontext.FunctionName, ColdStart: !r.warm.Swap(true), Metrics: r.metrics.NewBatch(), TraceID: obs.TraceID(ctx)}
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		inv.RequestID = lc.AwsRequestID
	}
	ctx = obs.WithTraceID(obs.WithInvocation(ctx, inv), inv.TraceID)
	if inv.ColdStart {
		inv.Metrics.Add(obs.MetricColdStart, obs.UnitCount, 1)
	}
	work, cancel := withMargin(ctx)
	e, kind, err := decode(payload)
	inv.SetTrigger(kind)
	if kind == sqsTrigger || kind == directWebhook || e.RequestContext.HTTP.Method == http.MethodPost || e.HTTPMethod == http.MethodPost {
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

// dispatch runs kind's adapter and returns its output, an outcome for the
// log line and the Lambda error (direct invocations only).
func (r *Router) dispatch(ctx context.Context, kind string, payload []byte, e *event, err error) ([]byte, any, error) {
	switch kind {
	case httpAPI, functionURL:
		if err != nil {
			return r.badEvent(ctx, err)
		}
		return r.serveV2(ctx, kind, e)
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

// direct handles {"account_sid":..,"conference_sid":..,"call_sid":..}, and
// without call_sid the list, filtered by the optional booleans muted and hold.
func (r *Router) direct(ctx context.Context, payload []byte) ([]byte, any, error) {
	var in struct {
		AccountSID    string  `json:"account_sid"`
		ConferenceSID string  `json:"conference_sid"`
		CallSID       *string `json:"call_sid"`
		Muted         *bool   `json:"muted"`
		Hold          *bool   `json:"hold"`
	}
	if err := json.Unmarshal(payload, &in); err != nil {
		return r.fail(ctx, "direct invocation failed", app.BadRequest("the direct invocation payload must be {\"account_sid\":string,\"conference_sid\":string,\"call_sid\":string}, or without call_sid (the list) with optional \"muted\" and \"hold\" booleans"))
	}
	ref := signalwire.ParticipantRef{AccountSID: in.AccountSID, ConferenceSID: in.ConferenceSID}
	var p any
	var err error
	if in.CallSID == nil {
		p, err = r.core.Participants(ctx, ref, signalwire.ListFilter{Muted: in.Muted, Hold: in.Hold})
	} else {
		ref.CallSID = *in.CallSID
		p, err = r.core.Participant(ctx, ref)
	}
	if err != nil {
		return r.fail(ctx, "direct invocation failed", err)
	}
	out, err := app.EncodeJSON(p)
	if err != nil {
		r.log.ErrorContext(ctx, "encoding the participant failed", "error", err.Error())
		return nil, 500, errors.New("encoding the participant failed")
	}
	if len(out) > app.MaxAnswerBytes {
		return r.fail(ctx, "direct invocation failed", app.AnswerTooLarge(len(out)))
	}
	return out, 200, nil
}

// webhookJob handles {"signalwire_webhook":{...}} (job is the object), a
// webhook handed over by an IAM-authorised caller, and returns the envelope.
func (r *Router) webhookJob(ctx context.Context, job []byte) ([]byte, any, error) {
	var in app.DirectWebhook
	if err := json.Unmarshal(job, &in); err != nil || (in.Form == "" && in.Body == "") {
		return r.fail(ctx, "direct webhook failed", app.BadRequest("signalwire_webhook must be {\"form\":\"<form-encoded status callback>\",\"query\":\"<optional query string>\"} or {\"body\":\"<JSON callback>\",\"content_type\":\"application/json\",\"query\":\"…\"}"))
	}
	if r.hooks == nil {
		return r.fail(ctx, "direct webhook failed", app.BadRequest("webhook processing is not configured"))
	}
	if in.ReceivedAt.IsZero() {
		in.ReceivedAt = time.Now().UTC()
	}
	out, outcome, err := r.hooks.Accept(ctx, in)
	if err == nil && len(out) > app.MaxAnswerBytes {
		err = app.AnswerTooLarge(len(out))
	}
	if err != nil {
		return r.fail(ctx, "direct webhook failed", err)
	}
	return out, outcome, nil
}

// fail logs a direct invocation's failure and returns its Lambda error.
func (r *Router) fail(ctx context.Context, msg string, err error) ([]byte, any, error) {
	p := app.LogProblem(ctx, r.log, msg, err)
	return nil, p.Status, lambdaError(p)
}

// lambdaError is the error a direct invocation returns for p: aws-lambda-go
// answers it as {"errorType": app.ErrorType(p), "errorMessage": p.Detail}.
func lambdaError(p app.Problem) error {
	return messages.InvokeResponse_Error{Type: app.ErrorType(p), Message: p.Detail}
}

// The margin Invoke keeps before Lambda's deadline (a tenth of the time
// left, within these bounds) to write the answer, log line and metrics even
// when an upstream hangs: a 128 MB function's slice of a vCPU may be
// throttled for tens of milliseconds; a 1 s function keeps 800 ms of work.
const (
	minMargin = 200 * time.Millisecond
	maxMargin = time.Second
)

func margin(left time.Duration) time.Duration {
	return min(max(left/10, minMargin), maxMargin)
}

// withMargin returns ctx with its deadline (if any) moved earlier by the margin.
func withMargin(ctx context.Context) (context.Context, context.CancelFunc) {
	dl, ok := ctx.Deadline()
	if !ok {
		return ctx, func() {}
	}
	return context.WithDeadline(ctx, dl.Add(-margin(time.Until(dl))))
}
