package trigger

import (
	"context"
	"testing"

	"github.com/signalwire-lambda/participants/internal/app"
	"github.com/signalwire-lambda/participants/internal/obs"
)

// traceCore records the trace the core is handed to propagate downstream.
type traceCore struct {
	fakeCore
	trace string
}

func (c *traceCore) Handle(ctx context.Context, r app.Request) app.Response {
	c.trace = obs.TraceID(ctx)
	return c.fakeCore.Handle(ctx, r)
}

// TestTriggerSetsTheTraceOnce: the trace aws-lambda-go stores for the
// invocation is what the core sees as obs.TraceID (what the HTTPS
// destination forwards and a parked webhook keeps).
func TestTriggerSetsTheTraceOnce(t *testing.T) {
	const trace = "Root=1-6745f0a1-0123456789abcdef01234567;Sampled=1"
	core := &traceCore{}
	r, _ := newRouter(core, nil)
	//lint:ignore SA1029 aws-lambda-go stores the trace id under this string key
	r.Invoke(context.WithValue(context.Background(), "x-amzn-trace-id", trace), readEvent(t, "http-api-read.json"))
	if core.trace != trace {
		t.Fatalf("core sees trace %q, want %q", core.trace, trace)
	}
}
