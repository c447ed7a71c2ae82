package obs

import (
	"context"
	"testing"
)

func TestTraceID(t *testing.T) {
	const trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"
	//lint:ignore SA1029 reproduces aws-lambda-go's own string key on purpose
	lambda := func(v any) context.Context { return context.WithValue(t.Context(), "x-amzn-trace-id", v) }
	cases := []struct {
		name    string
		ctx     context.Context
		traceID string
	}{
		{"lambda context", lambda(trace), trace},
		{"empty lambda value", lambda(""), ""},
		{"non-string lambda value", lambda(42), ""},
		{"set", WithTraceID(t.Context(), trace), trace},
		{"later wins", WithTraceID(WithTraceID(t.Context(), "Root=1-old"), trace), trace},
		{"set wins over lambda's", WithTraceID(lambda("Root=1-lambda"), trace), trace},
	}
	for _, tc := range cases {
		if got := TraceID(tc.ctx); got != tc.traceID {
			t.Errorf("%s: TraceID = %q, want %q", tc.name, got, tc.traceID)
		}
	}
}
