// Package retry is the one retry loop of the SignalWire client and the
// destinations (bounded, full-jitter exponential backoff, no wait the
// deadline cannot afford) and the one retryable-status rule.
package retry

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"time"
)

// ErrNoTimeLeft is Do's stop reason when the context's deadline leaves no
// room for the wait and another attempt.
var ErrNoTimeLeft = errors.New("context deadline leaves no room for another attempt")

// Policy bounds Do.
type Policy struct {
	// MaxAttempts is the total number of tries, retries included.
	MaxAttempts int
	// Base is the backoff ceiling before the first retry; it doubles for
	// each later retry up to Max.
	Base, Max time.Duration
	// Reserve is the least time that must remain before the deadline after
	// a wait for another attempt to start.
	Reserve time.Duration
	// Jitter picks the wait in [0, limit] (full jitter); nil picks
	// uniformly at random. Results outside [0, limit] are clamped.
	Jitter func(limit time.Duration) time.Duration
}

// Do calls try with n = 1, 2, ... until it returns nil or one of these
// stops it: retryable refuses its error, p.MaxAttempts were made, the wait
// plus p.Reserve does not fit before ctx's deadline (stop is ErrNoTimeLeft),
// or ctx ends before an attempt or during a wait (stop is its cause). A wait
// try returns that is not negative (a Retry-After) replaces the backoff. Do
// returns the attempts made and the last attempt's error.
func Do(ctx context.Context, p Policy, retryable func(error) bool, try func(n int) (time.Duration, error)) (attempts int, last, stop error) {
	for n := 1; ; n++ {
		if ctx.Err() != nil {
			return n - 1, last, context.Cause(ctx)
		}
		wait, err := try(n)
		if err == nil {
			return n, nil, nil
		}
		last = err
		if !retryable(err) || n >= p.MaxAttempts {
			return n, err, nil
		}
		if wait < 0 {
			wait = p.backoff(n)
		}
		if !leaves(ctx, wait+p.Reserve) {
			return n, err, ErrNoTimeLeft
		}
		if err := sleep(ctx, wait); err != nil {
			return n, last, err
		}
	}
}

// Status reports whether an HTTP status is worth another attempt: 408, 429
// and 5xx except 501.
func Status(code int) bool {
	switch {
	case code == http.StatusRequestTimeout, code == http.StatusTooManyRequests:
		return true
	case code == http.StatusNotImplemented:
		return false
	}
	return code >= 500 && code <= 599
}

// backoff returns the wait after failed attempt n: full jitter below
// min(Max, Base·2^(n-1)).
func (p Policy) backoff(n int) time.Duration {
	limit := ceiling(p.Base, p.Max, n)
	if p.Jitter == nil {
		return rand.N(limit + 1)
	}
	return min(max(p.Jitter(limit), 0), limit)
}

// ceiling returns min(max, base·2^(n-1)) for failed attempt n (1-based).
func ceiling(base, max time.Duration, n int) time.Duration {
	c := base
	for i := 1; i < n && c < max; i++ {
		c *= 2
	}
	return min(c, max)
}

// leaves reports whether ctx's deadline, if it has one, is at least d away.
func leaves(ctx context.Context, d time.Duration) bool {
	deadline, ok := ctx.Deadline()
	return !ok || time.Until(deadline) >= d
}

// sleep waits for d or until ctx is done; it returns the context's cause
// when ctx ended the wait.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-t.C:
		return nil
	}
}
