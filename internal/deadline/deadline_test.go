package deadline

import (
	"context"
	"testing"
	"time"
)

func TestMargin(t *testing.T) {
	for _, tc := range []struct{ left, want time.Duration }{
		{0, MinMargin},
		{time.Second, 200 * time.Millisecond},
		{2 * time.Second, 200 * time.Millisecond},
		{3 * time.Second, 300 * time.Millisecond},
		{5 * time.Second, 500 * time.Millisecond},
		{10 * time.Second, time.Second},
		{15 * time.Minute, time.Second},
	} {
		if got := Margin(tc.left); got != tc.want {
			t.Errorf("Margin(%v) = %v, want %v", tc.left, got, tc.want)
		}
	}
}

func TestWithMarginMovesTheDeadline(t *testing.T) {
	for _, tc := range []struct{ timeout, margin time.Duration }{
		{time.Second, MinMargin},                         // the floor applies
		{time.Minute, MaxMargin},                         // the ceiling applies
		{100 * time.Millisecond, 200 * time.Millisecond}, // already past: done at once
	} {
		parent, cancel := context.WithTimeout(context.Background(), tc.timeout)
		dl, _ := parent.Deadline()
		ctx, stop := WithMargin(parent)
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
	ctx, stop := WithMargin(context.Background())
	defer stop()
	if _, ok := ctx.Deadline(); ok {
		t.Fatal("a context without deadline got one")
	}
}

func TestReserve(t *testing.T) {
	parent, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	dl, _ := parent.Deadline()

	// The reserve decides when the budget reaches past it.
	ctx, stop := Reserve(parent, 2*time.Hour, 10*time.Minute)
	if got, _ := ctx.Deadline(); !got.Equal(dl.Add(-10 * time.Minute)) {
		t.Errorf("reserve: deadline %v, want %v", got, dl.Add(-10*time.Minute))
	}
	stop()

	// The budget decides when it ends first.
	before := time.Now()
	ctx, stop = Reserve(parent, time.Minute, 10*time.Minute)
	got, _ := ctx.Deadline()
	if got.Before(before.Add(time.Minute)) || got.After(time.Now().Add(time.Minute)) {
		t.Errorf("budget: deadline %v not a minute from now", got)
	}
	stop()

	// No budget: only the reserve.
	ctx, stop = Reserve(parent, 0, time.Minute)
	if got, _ := ctx.Deadline(); !got.Equal(dl.Add(-time.Minute)) {
		t.Errorf("no budget: deadline %v, want %v", got, dl.Add(-time.Minute))
	}
	stop()

	// Without a deadline, only the budget.
	ctx, stop = Reserve(context.Background(), 0, time.Minute)
	if _, ok := ctx.Deadline(); ok {
		t.Error("no deadline and no budget gave a deadline")
	}
	stop()
}

func TestLeft(t *testing.T) {
	if _, ok := Left(context.Background()); ok {
		t.Fatal("Left without a deadline")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	if d, ok := Left(ctx); !ok || d <= 0 || d > time.Hour {
		t.Fatalf("Left = %v, %v", d, ok)
	}
}
