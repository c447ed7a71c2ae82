// Package obs holds the function's observability: JSON logs through log/slog
// that carry the invocation's identity, and CloudWatch Embedded Metric
// Format (EMF) lines written to stdout, so metrics cost no API call.
package obs

import (
	"context"
	"io"
	"log/slog"
	"sync"
)

// Invocation is what every log line of one invocation carries. Fields are
// filled as they become known (the SIDs after routing, the upstream status
// after the call); the handler reads them at each Handle.
type Invocation struct {
	mu            sync.Mutex
	RequestID     string
	FunctionName  string
	ColdStart     bool
	Trigger       string
	TraceID       string
	AccountSID    string
	ConferenceSID string
	CallSID       string
	// MessageID is the SQS message a batch record's lines are about.
	MessageID string
	// UpstreamStatus and UpstreamLatencyMs describe the last SignalWire call
	// (status 0: a transport error).
	UpstreamStatus    int
	UpstreamLatencyMs float64
	upstreamCalled    bool
	// Metrics collects the invocation's metrics; flushed once at its end.
	Metrics *Batch
}

type invocationKey struct{}

// WithInvocation returns ctx carrying inv.
func WithInvocation(ctx context.Context, inv *Invocation) context.Context {
	return context.WithValue(ctx, invocationKey{}, inv)
}

// InvocationFrom returns the invocation carried by ctx, or nil.
func InvocationFrom(ctx context.Context) *Invocation {
	inv, _ := ctx.Value(invocationKey{}).(*Invocation)
	return inv
}

// Batch returns the invocation's metric batch (nil-safe: a nil batch ignores metrics).
func (i *Invocation) Batch() *Batch {
	if i == nil {
		return nil
	}
	return i.Metrics
}

// Record returns the invocation as seen by one record of a batch (an SQS
// message): the same identity and metrics batch, its own message id, and
// its own SIDs and upstream fields, so that records processed concurrently
// never log each other's SIDs.
func (i *Invocation) Record(messageID string) *Invocation {
	if i == nil {
		return &Invocation{MessageID: messageID}
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	return &Invocation{RequestID: i.RequestID, FunctionName: i.FunctionName, ColdStart: i.ColdStart, Trigger: i.Trigger,
		TraceID: i.TraceID, MessageID: messageID, Metrics: i.Metrics}
}

// SetTrigger records the trigger's name (trigger.Detect's answer: http-api,
// rest-api, function-url, direct, direct-webhook, sqs or unknown).
func (i *Invocation) SetTrigger(name string) {
	if i == nil {
		return
	}
	i.mu.Lock()
	i.Trigger = name
	i.mu.Unlock()
}

// SetSIDs records the SIDs the invocation is about.
func (i *Invocation) SetSIDs(account, conference, call string) {
	if i == nil {
		return
	}
	i.mu.Lock()
	i.AccountSID, i.ConferenceSID, i.CallSID = account, conference, call
	i.mu.Unlock()
}

// SetUpstream records the outcome of a SignalWire call.
func (i *Invocation) SetUpstream(status int, latencyMs float64) {
	if i == nil {
		return
	}
	i.mu.Lock()
	i.UpstreamStatus, i.UpstreamLatencyMs, i.upstreamCalled = status, latencyMs, true
	i.mu.Unlock()
}

func (i *Invocation) attrs() []slog.Attr {
	i.mu.Lock()
	defer i.mu.Unlock()
	a := make([]slog.Attr, 0, 8)
	add := func(k, v string) {
		if v != "" {
			a = append(a, slog.String(k, v))
		}
	}
	add("requestId", i.RequestID)
	add("function_name", i.FunctionName)
	a = append(a, slog.Bool("cold_start", i.ColdStart))
	add("trigger", i.Trigger)
	add("trace_id", i.TraceID)
	add("account_sid", i.AccountSID)
	add("conference_sid", i.ConferenceSID)
	add("call_sid", i.CallSID)
	add("message_id", i.MessageID)
	if i.upstreamCalled {
		a = append(a, slog.Int("upstream_status", i.UpstreamStatus), slog.Float64("upstream_latency_ms", i.UpstreamLatencyMs))
	}
	return a
}

// NewLogger returns a JSON logger whose lines follow Lambda's JSON log
// format (timestamp, level, message) and carry the invocation's fields.
func NewLogger(w io.Writer, level slog.Leveler) *slog.Logger {
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) > 0 {
				return a
			}
			switch a.Key {
			case slog.TimeKey:
				a.Key = "timestamp"
			case slog.MessageKey:
				a.Key = "message"
			}
			return a
		},
	})
	return slog.New(invocationHandler{h})
}

type invocationHandler struct{ slog.Handler }

func (h invocationHandler) Handle(ctx context.Context, r slog.Record) error {
	if inv := InvocationFrom(ctx); inv != nil {
		r.AddAttrs(inv.attrs()...)
	}
	return h.Handler.Handle(ctx, r)
}

func (h invocationHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return invocationHandler{h.Handler.WithAttrs(as)}
}

func (h invocationHandler) WithGroup(name string) slog.Handler {
	return invocationHandler{h.Handler.WithGroup(name)}
}
