// Package obs holds the function's observability: JSON logs that carry the
// invocation's identity with every secret redacted, and CloudWatch Embedded
// Metric Format (EMF) lines.
package obs

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"unicode/utf8"
)

// Invocation is what every log line of one invocation carries, filled as it
// becomes known (UpstreamStatus 0: a transport error), and its metrics.
type Invocation struct {
	mu                                            sync.Mutex
	RequestID, FunctionName                       string
	ColdStart                                     bool
	Trigger, TraceID                              string
	AccountSID, ConferenceSID, CallSID, MessageID string // MessageID: the SQS record's
	UpstreamStatus                                int
	UpstreamLatencyMs                             float64
	upstreamCalled                                bool
	Metrics                                       *Batch
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

// Batch returns the invocation's metric batch (nil on a nil invocation).
func (i *Invocation) Batch() *Batch {
	if i == nil {
		return nil
	}
	return i.Metrics
}

// Record returns the invocation as seen by one SQS record: the same identity
// and metrics, its own message id, SIDs and upstream fields.
func (i *Invocation) Record(messageID string) *Invocation {
	if i == nil {
		return &Invocation{MessageID: messageID}
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	return &Invocation{RequestID: i.RequestID, FunctionName: i.FunctionName, ColdStart: i.ColdStart, Trigger: i.Trigger,
		TraceID: i.TraceID, MessageID: messageID, Metrics: i.Metrics}
}

// SetTrigger records the trigger's name.
func (i *Invocation) SetTrigger(name string) { i.update(func() { i.Trigger = name }) }

// SetSIDs records the SIDs the invocation is about.
func (i *Invocation) SetSIDs(account, conference, call string) {
	i.update(func() { i.AccountSID, i.ConferenceSID, i.CallSID = account, conference, call })
}

// SetUpstream records the outcome of a SignalWire call.
func (i *Invocation) SetUpstream(status int, latencyMs float64) {
	i.update(func() { i.UpstreamStatus, i.UpstreamLatencyMs, i.upstreamCalled = status, latencyMs, true })
}

func (i *Invocation) update(f func()) {
	if i != nil {
		i.mu.Lock()
		f()
		i.mu.Unlock()
	}
}

func (i *Invocation) attrs() []slog.Attr {
	i.mu.Lock()
	defer i.mu.Unlock()
	a := make([]slog.Attr, 0, 12)
	for _, kv := range [...][2]string{{"requestId", i.RequestID}, {"function_name", i.FunctionName}, {"trigger", i.Trigger},
		{"trace_id", i.TraceID}, {"account_sid", i.AccountSID}, {"conference_sid", i.ConferenceSID}, {"call_sid", i.CallSID}, {"message_id", i.MessageID}} {
		if kv[1] != "" {
			a = append(a, slog.String(kv[0], kv[1]))
		}
	}
	a = append(a, slog.Bool("cold_start", i.ColdStart))
	if i.upstreamCalled {
		a = append(a, slog.Int("upstream_status", i.UpstreamStatus), slog.Float64("upstream_latency_ms", i.UpstreamLatencyMs))
	}
	return a
}

// NewLogger returns a logger in Lambda's JSON log format (timestamp, level,
// message) whose lines carry the invocation's fields.
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

type traceIDKey struct{}

// WithTraceID returns ctx carrying the X-Ray trace header propagated
// downstream: a retried webhook's is that of the invocation that accepted it.
func WithTraceID(ctx context.Context, traceID string) context.Context {
	return context.WithValue(ctx, traceIDKey{}, traceID)
}

// TraceID returns the trace header set by WithTraceID, else the one
// aws-lambda-go stored (under the plain string key "x-amzn-trace-id").
func TraceID(ctx context.Context) string {
	if v, ok := ctx.Value(traceIDKey{}).(string); ok {
		return v
	}
	v, _ := ctx.Value("x-amzn-trace-id").(string)
	return v
}

// Truncate cuts s to at most n bytes, on a rune boundary.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
