// Package backoff holds the retry arithmetic shared by the SignalWire
// client and the destinations: the exponential ceiling for full jitter, the
// "does the deadline leave room" test, and a context-aware sleep.
package backoff

import (
	"context"
	"time"
)

// Ceiling returns the full-jitter ceiling before the retry that follows
// failed attempt n (1-based): min(max, base·2^(n-1)).
func Ceiling(base, max time.Duration, n int) time.Duration {
	c := base
	for i := 1; i < n && c < max; i++ {
		c *= 2
	}
	return min(c, max)
}

// Leaves reports whether ctx's deadline, if it has one, is at least d away.
func Leaves(ctx context.Context, d time.Duration) bool {
	deadline, ok := ctx.Deadline()
	return !ok || time.Until(deadline) >= d
}

// Sleep waits for d or until ctx is done, whichever comes first; it returns
// the context's cause when ctx ended the wait.
func Sleep(ctx context.Context, d time.Duration) error {
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
