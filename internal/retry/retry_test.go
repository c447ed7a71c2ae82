package retry

import (
	"context"
	"errors"
	"slices"
	"testing"
	"testing/synctest"
	"time"
)

func TestBackoffCeilingDoublesUpToMax(t *testing.T) {
	p := Policy{Base: 100 * time.Millisecond, Max: time.Second, Jitter: func(d time.Duration) time.Duration { return d }}
	want := []time.Duration{100, 200, 400, 800, 1000, 1000}
	for n, w := range want {
		if got := p.backoff(n + 1); got != w*time.Millisecond {
			t.Errorf("backoff(n=%d) = %v, want %v", n+1, got, w*time.Millisecond)
		}
	}
	if got := p.backoff(0); got != p.Base {
		t.Errorf("n=0: %v", got)
	}
}

var errTransient, errFatal = errors.New("transient"), errors.New("fatal")

func isTransient(err error) bool { return errors.Is(err, errTransient) }

// failing returns a try that fails with errs in turn, then succeeds, and
// records when each attempt started.
func failing(starts *[]time.Time, errs ...error) func(int) (time.Duration, error) {
	return func(n int) (time.Duration, error) {
		*starts = append(*starts, time.Now())
		if n <= len(errs) {
			return -1, errs[n-1]
		}
		return -1, nil
	}
}

func gaps(starts []time.Time) []time.Duration {
	var out []time.Duration
	for i := 1; i < len(starts); i++ {
		out = append(out, starts[i].Sub(starts[i-1]))
	}
	return out
}

func TestDoWaitsTheJitteredCeiling(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var starts []time.Time
		var limits []time.Duration
		p := Policy{MaxAttempts: 5, Base: 10 * time.Millisecond, Max: 25 * time.Millisecond,
			Jitter: func(d time.Duration) time.Duration { limits = append(limits, d); return d / 2 }}
		n, last, stop := Do(t.Context(), p, isTransient, failing(&starts, errTransient, errTransient, errTransient, errTransient))
		if n != 5 || last != nil || stop != nil {
			t.Fatalf("Do = %d, %v, %v; want success on attempt 5", n, last, stop)
		}
		if want := []time.Duration{10, 20, 25, 25}; !slices.Equal(limits, scale(want, time.Millisecond)) {
			t.Errorf("limits %v, want %v ms", limits, want)
		}
		if want := []time.Duration{5000, 10000, 12500, 12500}; !slices.Equal(gaps(starts), scale(want, time.Microsecond)) {
			t.Errorf("waits %v, want %v µs", gaps(starts), want)
		}
	})
}

func scale(ds []time.Duration, unit time.Duration) []time.Duration {
	out := make([]time.Duration, len(ds))
	for i, d := range ds {
		out[i] = d * unit
	}
	return out
}

func TestDoJitterClampedAndDefault(t *testing.T) {
	p := Policy{Base: time.Second, Max: time.Second, Jitter: func(time.Duration) time.Duration { return time.Hour }}
	if got := p.backoff(1); got != time.Second {
		t.Errorf("clamped high: %v", got)
	}
	p.Jitter = func(time.Duration) time.Duration { return -time.Hour }
	if got := p.backoff(1); got != 0 {
		t.Errorf("clamped low: %v", got)
	}
	p.Jitter = nil
	for range 100 {
		if got := p.backoff(1); got < 0 || got > time.Second {
			t.Fatalf("default jitter %v outside [0, 1s]", got)
		}
	}
}

func TestDoHonoursTheAttemptsWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var starts []time.Time
		try := func(n int) (time.Duration, error) {
			starts = append(starts, time.Now())
			if n == 1 {
				return 3 * time.Second, errTransient
			}
			return -1, nil
		}
		p := Policy{MaxAttempts: 2, Base: time.Millisecond, Max: time.Millisecond}
		if n, _, stop := Do(t.Context(), p, isTransient, try); n != 2 || stop != nil {
			t.Fatalf("Do = %d, %v", n, stop)
		}
		if g := gaps(starts); !slices.Equal(g, []time.Duration{3 * time.Second}) {
			t.Errorf("waits %v, want [3s]", g)
		}
	})
}

func TestDoStops(t *testing.T) {
	p := Policy{MaxAttempts: 3, Base: time.Millisecond, Max: time.Millisecond}
	t.Run("permanent", func(t *testing.T) {
		var starts []time.Time
		n, last, stop := Do(t.Context(), p, isTransient, failing(&starts, errFatal))
		if n != 1 || last != errFatal || stop != nil {
			t.Errorf("Do = %d, %v, %v", n, last, stop)
		}
	})
	t.Run("attempts exhausted", func(t *testing.T) {
		var starts []time.Time
		n, last, stop := Do(t.Context(), p, isTransient, failing(&starts, errTransient, errTransient, errTransient, errTransient))
		if n != 3 || last != errTransient || stop != nil {
			t.Errorf("Do = %d, %v, %v", n, last, stop)
		}
	})
	t.Run("no time left", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			long := Policy{MaxAttempts: 3, Base: time.Minute, Max: time.Minute, Jitter: func(d time.Duration) time.Duration { return d }}
			var starts []time.Time
			n, last, stop := Do(ctx, long, isTransient, failing(&starts, errTransient))
			if n != 1 || last != errTransient || !errors.Is(stop, ErrNoTimeLeft) {
				t.Errorf("Do = %d, %v, %v", n, last, stop)
			}
		})
	})
	t.Run("reserve counts", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			r := Policy{MaxAttempts: 3, Base: time.Second, Max: time.Second, Reserve: 4500 * time.Millisecond,
				Jitter: func(d time.Duration) time.Duration { return d }}
			var starts []time.Time
			if _, _, stop := Do(ctx, r, isTransient, failing(&starts, errTransient)); !errors.Is(stop, ErrNoTimeLeft) {
				t.Errorf("stop = %v, want ErrNoTimeLeft", stop)
			}
		})
	})
	t.Run("canceled before the first attempt", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		var starts []time.Time
		n, last, stop := Do(ctx, p, isTransient, failing(&starts))
		if n != 0 || last != nil || !errors.Is(stop, context.Canceled) || len(starts) != 0 {
			t.Errorf("Do = %d, %v, %v after %d calls", n, last, stop, len(starts))
		}
	})
	t.Run("canceled with a zero wait", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		try := func(int) (time.Duration, error) { cancel(); return 0, errTransient }
		n, last, stop := Do(ctx, p, isTransient, try)
		if n != 1 || last != errTransient || !errors.Is(stop, context.Canceled) {
			t.Errorf("Do = %d, %v, %v", n, last, stop)
		}
	})
	t.Run("canceled during the wait", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			cause := errors.New("invocation over")
			ctx, cancel := context.WithCancelCause(t.Context())
			hour := Policy{MaxAttempts: 3, Base: time.Hour, Max: time.Hour, Jitter: func(d time.Duration) time.Duration { cancel(cause); return d }}
			var starts []time.Time
			n, last, stop := Do(ctx, hour, isTransient, failing(&starts, errTransient))
			if n != 1 || last != errTransient || !errors.Is(stop, cause) {
				t.Errorf("Do = %d, %v, %v", n, last, stop)
			}
		})
	})
}

func TestStatus(t *testing.T) {
	for code, want := range map[int]bool{200: false, 400: false, 404: false, 408: true, 429: true, 500: true, 501: false, 502: true, 503: true, 599: true, 600: false} {
		if got := Status(code); got != want {
			t.Errorf("Status(%d) = %v, want %v", code, got, want)
		}
	}
}
