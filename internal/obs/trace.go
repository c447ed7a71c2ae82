package obs

import "context"

// lambdaTraceIDKey is the context key aws-lambda-go stores the invocation's
// X-Ray trace header under: a plain string, so it is matched as one. Only
// the trigger reads it (TraceIDFromLambda); everything else asks TraceID.
const lambdaTraceIDKey = "x-amzn-trace-id"

type traceIDKey struct{}

// WithTraceID returns a copy of ctx carrying traceID as the X-Ray trace
// header the invocation propagates downstream (the HTTPS destination's
// X-Amzn-Trace-Id, a parked webhook's job). The trigger sets the
// invocation's own; a retried webhook sets the trace of the invocation that
// accepted it, which then wins.
func WithTraceID(ctx context.Context, traceID string) context.Context {
	return context.WithValue(ctx, traceIDKey{}, traceID)
}

// TraceID returns the trace header set by WithTraceID, or "".
func TraceID(ctx context.Context) string {
	v, _ := ctx.Value(traceIDKey{}).(string)
	return v
}

// TraceIDFromLambda returns the trace header aws-lambda-go stored in ctx
// for the invocation, or "" (none, or not a string).
func TraceIDFromLambda(ctx context.Context) string {
	v, _ := ctx.Value(lambdaTraceIDKey).(string)
	return v
}
