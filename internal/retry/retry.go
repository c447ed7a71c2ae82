// Package retry is the one retry loop (full-jitter exponential backoff, no
// wait the deadline cannot afford) and the one retryable-status rule.
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
	MaxAttempts int // tries in all, retries included
	// Base is the backoff ceiling before the first retry; it doubles for
	// each later retry up to Max.
	Base, Max time.Duration
	Reserve   time.Duration // the least time a wait must leave before the deadline
	// Jitter picks the wait in [0, limit] (nil: uniformly at random);
	// results outside [0, limit] are clamped.
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
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < wait+p.Reserve {
			return n, err, ErrNoTimeLeft
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return n, err, context.Cause(ctx)
		case <-t.C:
		}
	}
}

// Status reports whether an HTTP status is worth another attempt: 408, 429
// and 5xx except 501.
func Status(code int) bool {
	return code == http.StatusRequestTimeout || code == http.StatusTooManyRequests ||
		code >= 500 && code <= 599 && code != http.StatusNotImplemented
}

// backoff returns the wait after failed attempt n: full jitter below
// min(Max, Base·2^(n-1)).
func (p Policy) backoff(n int) time.Duration {
	limit := p.Base
	for i := 1; i < n && limit < p.Max; i++ {
		limit *= 2
	}
	limit = min(limit, p.Max)
	if p.Jitter == nil {
		return rand.N(limit + 1)
	}
	return min(max(p.Jitter(limit), 0), limit)
}
