package credentials

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// TestPrefetchDoesNotBlockAndIsJoined: Prefetch returns while Secrets
// Manager has not answered; a caller arriving meanwhile waits for that
// fetch instead of starting its own.
func TestPrefetchDoesNotBlockAndIsJoined(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(validSecret)
		f.gate = make(chan struct{})
		c := New(f, "sw", ttl(time.Hour))
		c.Prefetch() // returns with the fetch blocked
		got := make(chan error, 1)
		go func() { _, _, err := c.Get(context.Background()); got <- err }()
		synctest.Wait()
		close(f.gate)
		if err := <-got; err != nil || f.calls.Load() != 1 {
			t.Fatalf("first Get: %v, %d calls; want the init fetch's set", err, f.calls.Load())
		}
	})
}

// TestFailedPrefetchDoesNotFailTheFirstInvocation: the init fetch fails
// (Secrets Manager throttling or unreachable at init); the callers waiting
// for it fetch again at once (one fetch for all), within their own
// deadline, and succeed.
func TestFailedPrefetchDoesNotFailTheFirstInvocation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(validSecret)
		release := make(chan struct{})
		var n atomic.Int64
		initFails := func(context.Context) error {
			if n.Add(1) == 1 {
				<-release
				return throttled
			}
			return nil
		}
		f.during.Store(&initFails)
		c := New(f, "sw", ttl(time.Hour))
		c.Prefetch()
		errs := make(chan error, 3)
		for range 3 {
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
				defer cancel()
				_, _, err := c.Get(ctx)
				errs <- err
			}()
		}
		synctest.Wait()
		close(release)
		for range 3 {
			if err := <-errs; err != nil {
				t.Fatalf("a first invocation inherited the init fetch's failure: %v", err)
			}
		}
		if got := f.calls.Load(); got != 2 {
			t.Fatalf("GetSecretValue calls %d, want 2 (init, then one for the waiting invocations)", got)
		}
	})
}

// TestDeadlineWhileWaitingForThePrefetch: a caller whose deadline ends
// while the init fetch still hangs gets credentials-unavailable (not a
// bare timeout), counted.
func TestDeadlineWhileWaitingForThePrefetch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(validSecret)
		f.gate = make(chan struct{})
		defer close(f.gate)
		c := New(f, "sw", ttl(time.Hour))
		c.Prefetch()
		m := newMeter()
		var err error
		m.invoke(func(ctx context.Context) {
			ctx, cancel := context.WithTimeout(ctx, time.Second)
			defer cancel()
			_, _, err = c.Get(ctx)
		})
		if !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "fetched at init") {
			t.Fatalf("err = %v, want ErrUnavailable naming the init fetch", err)
		}
		if n := m.sum(t, metricUnavailable); n != 1 {
			t.Fatalf("%s = %v, want 1", metricUnavailable, n)
		}
	})
}

// TestSpaceHostMismatchIsRefused: with SIGNALWIRE_SPACE_HOST set, a secret
// whose space_host differs is refused by Get and Refresh, naming both hosts
// (not secrets), and counted; the same host in another letter case or with
// :443 is accepted.
func TestSpaceHostMismatchIsRefused(t *testing.T) {
	f := newFake(validSecret)
	c := New(f, "sw", Options{TTL: time.Hour, SpaceHost: "other.signalwire.com"})
	m := newMeter()
	var err error
	m.invoke(func(ctx context.Context) { _, _, err = c.Get(ctx) })
	if !errors.Is(err, errMalformed) || !strings.Contains(err.Error(), "is not SIGNALWIRE_SPACE_HOST") ||
		!strings.Contains(err.Error(), "other.signalwire.com") || !strings.Contains(err.Error(), "example.signalwire.com") {
		t.Fatalf("err = %v", err)
	}
	if m.sum(t, metricUnavailable) != 1 {
		t.Fatalf("not counted: %s", m.out.String())
	}
	if _, _, err := c.Refresh(context.Background(), 1); !errors.Is(err, errMalformed) {
		t.Fatalf("Refresh: err = %v", err)
	}
	ok := New(f, "sw", Options{TTL: time.Hour, SpaceHost: "Example.SignalWire.com:443"})
	if cr, _, err := ok.Get(context.Background()); err != nil || cr.SpaceHost != "example.signalwire.com" {
		t.Fatalf("same host: %v", err)
	}
	if !sameHost("Example.signalwire.com:443", "example.signalwire.com") || sameHost("a.signalwire.com", "b.signalwire.com") {
		t.Error("sameHost")
	}
}
