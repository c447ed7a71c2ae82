package backoff

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestCeilingDoublesUpToMax(t *testing.T) {
	base, max := 100*time.Millisecond, time.Second
	want := []time.Duration{100, 200, 400, 800, 1000, 1000}
	for n, w := range want {
		if got := Ceiling(base, max, n+1); got != w*time.Millisecond {
			t.Errorf("Ceiling(n=%d) = %v, want %v", n+1, got, w*time.Millisecond)
		}
	}
	if got := Ceiling(base, max, 0); got != base {
		t.Errorf("n=0: %v", got)
	}
}

func TestLeaves(t *testing.T) {
	if !Leaves(context.Background(), time.Hour) {
		t.Fatal("no deadline must leave room")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if !Leaves(ctx, time.Second) || Leaves(ctx, time.Hour) {
		t.Fatal("a one-minute deadline leaves a second but not an hour")
	}
}

func TestSleepStopsWithTheContext(t *testing.T) {
	cause := errors.New("invocation over")
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(cause)
	if err := Sleep(ctx, time.Hour); !errors.Is(err, cause) {
		t.Fatalf("err = %v, want the cause", err)
	}
	if err := Sleep(context.Background(), time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if err := Sleep(ctx, 0); !errors.Is(err, context.Canceled) {
		t.Fatalf("zero wait on a done context: %v", err)
	}
}
