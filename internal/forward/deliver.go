package forward

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/signalwire-lambda/participants/internal/retry"
)

// Outcome is what happened at one destination (Err nil: delivered).
type Outcome struct {
	Destination string
	Err         error
}

// Deliver sends m to every destination concurrently and returns their
// Outcomes, in order. Only transient failures are retried, under p (zero
// or negative fields default to 3 attempts, backoff 50ms doubling to 500ms,
// 100ms reserve), while ctx's deadline leaves room.
func Deliver(ctx context.Context, dests []Destination, m Message, p retry.Policy) []Outcome {
	p.MaxAttempts = cmp.Or(max(p.MaxAttempts, 0), 3)
	p.Base = cmp.Or(max(p.Base, 0), 50*time.Millisecond)
	p.Max = max(cmp.Or(max(p.Max, 0), 500*time.Millisecond), p.Base)
	p.Reserve = cmp.Or(max(p.Reserve, 0), 100*time.Millisecond)
	outcomes := make([]Outcome, len(dests))
	var wg sync.WaitGroup
	for i, d := range dests {
		wg.Go(func() {
			outcomes[i] = Outcome{Destination: d.Name(), Err: deliverOne(ctx, d, m, p)}
		})
	}
	wg.Wait()
	return outcomes
}

// deliverOne tries one destination; the error says how many attempts and why it stopped.
func deliverOne(ctx context.Context, d Destination, m Message, p retry.Policy) error {
	n, err, stop := retry.Do(ctx, p, retryable, func(int) (time.Duration, error) { return -1, d.Send(ctx, m) })
	switch {
	case err == nil && stop == nil:
		return nil
	case err == nil:
		return fmt.Errorf("not attempted: %w", stop)
	case errors.Is(stop, retry.ErrNoTimeLeft):
		return fmt.Errorf("gave up after %d attempt(s): %w: %w", n, stop, err)
	case stop != nil:
		return fmt.Errorf("gave up after %d attempt(s), backoff interrupted (%w): %w", n, stop, err)
	case !retryable(err):
		return fmt.Errorf("permanent failure on attempt %d: %w", n, err)
	}
	return fmt.Errorf("gave up after %d attempts: %w", n, err)
}
