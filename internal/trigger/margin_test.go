package trigger

import (
	"context"
	"testing"
	"time"
)

func TestMargin(t *testing.T) {
	for _, tc := range []struct{ left, want time.Duration }{
		{0, minMargin},
		{time.Second, 200 * time.Millisecond},
		{2 * time.Second, 200 * time.Millisecond},
		{3 * time.Second, 300 * time.Millisecond},
		{5 * time.Second, 500 * time.Millisecond},
		{10 * time.Second, time.Second},
		{15 * time.Minute, time.Second},
	} {
		if got := margin(tc.left); got != tc.want {
			t.Errorf("margin(%v) = %v, want %v", tc.left, got, tc.want)
		}
	}
}

func TestWithMarginMovesTheDeadline(t *testing.T) {
	for _, tc := range []struct{ timeout, margin time.Duration }{
		{time.Second, minMargin},                         // the floor applies
		{time.Minute, maxMargin},                         // the ceiling applies
		{100 * time.Millisecond, 200 * time.Millisecond}, // already past: done at once
	} {
		parent, cancel := context.WithTimeout(context.Background(), tc.timeout)
		dl, _ := parent.Deadline()
		ctx, stop := withMargin(parent)
		got, ok := ctx.Deadline()
		if !ok || !got.Equal(dl.Add(-tc.margin)) {
			t.Errorf("timeout %v: deadline %v, want %v", tc.timeout, got, dl.Add(-tc.margin))
		}
		if tc.margin > tc.timeout && ctx.Err() == nil {
			t.Errorf("timeout %v shorter than the margin: the context should be done", tc.timeout)
		}
		stop()
		cancel()
	}
}

func TestWithMarginWithoutDeadline(t *testing.T) {
	ctx, stop := withMargin(context.Background())
	defer stop()
	if _, ok := ctx.Deadline(); ok {
		t.Fatal("a context without deadline got one")
	}
}
