package obs

import "context"

type traceIDKey struct{}

// WithTraceID returns ctx carrying traceID as the X-Ray trace header the
// invocation propagates downstream (the HTTPS destination's
// X-Amzn-Trace-Id, a parked webhook): a retried webhook sets the trace of
// the invocation that accepted it.
func WithTraceID(ctx context.Context, traceID string) context.Context {
	return context.WithValue(ctx, traceIDKey{}, traceID)
}

// TraceID returns the trace header set by WithTraceID, else the one
// aws-lambda-go stored for the invocation (under its plain string key
// "x-amzn-trace-id"), else "".
func TraceID(ctx context.Context) string {
	if v, ok := ctx.Value(traceIDKey{}).(string); ok {
		return v
	}
	//lint:ignore SA1029 aws-lambda-go's own string key
	v, _ := ctx.Value("x-amzn-trace-id").(string)
	return v
}
