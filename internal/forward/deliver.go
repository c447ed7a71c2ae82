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

// Policy defaults, used for zero (or negative) Policy fields.
const (
	defaultMaxAttempts    = 3
	defaultBaseBackoff    = 50 * time.Millisecond
	defaultMaxBackoff     = 500 * time.Millisecond
	defaultAttemptReserve = 100 * time.Millisecond
)

// Policy bounds Deliver's retries. The zero value uses the defaults.
type Policy struct {
	// MaxAttempts is the most times one destination is tried (default 3).
	MaxAttempts int
	// BaseBackoff is the backoff cap before the second attempt; it doubles per
	// attempt up to MaxBackoff (default 50ms).
	BaseBackoff time.Duration
	// MaxBackoff caps the backoff (default 500ms).
	MaxBackoff time.Duration
	// AttemptReserve is the least time that must remain before the context
	// deadline after a backoff for another attempt to start (default 100ms).
	AttemptReserve time.Duration
	// Jitter picks the actual backoff in [0, limit] ("full jitter"); nil picks
	// uniformly at random. Results outside [0, limit] are clamped.
	Jitter func(limit time.Duration) time.Duration
}

// retryPolicy is p with the defaults filled in.
func (p Policy) retryPolicy() retry.Policy {
	r := retry.Policy{
		MaxAttempts: cmp.Or(max(p.MaxAttempts, 0), defaultMaxAttempts),
		Base:        cmp.Or(max(p.BaseBackoff, 0), defaultBaseBackoff),
		Max:         cmp.Or(max(p.MaxBackoff, 0), defaultMaxBackoff),
		Reserve:     cmp.Or(max(p.AttemptReserve, 0), defaultAttemptReserve),
		Jitter:      p.Jitter,
	}
	r.Max = max(r.Max, r.Base)
	return r
}

// Outcome is what happened at one destination.
type Outcome struct {
	// Destination is the destination's Name.
	Destination string
	// Err is nil when delivered, else the final failure.
	Err error
}

// Deliver sends m to every destination concurrently and returns one Outcome
// per destination, in their order. Each destination is tried up to
// p.MaxAttempts times, retrying only transient failures, with full jitter
// exponential backoff, and only while ctx's deadline leaves room for the
// backoff plus p.AttemptReserve.
func Deliver(ctx context.Context, dests []Destination, m Message, p Policy) []Outcome {
	rp := p.retryPolicy()
	outcomes := make([]Outcome, len(dests))
	var wg sync.WaitGroup
	for i, d := range dests {
		wg.Go(func() {
			outcomes[i] = Outcome{Destination: d.Name(), Err: deliverOne(ctx, d, m, rp)}
		})
	}
	wg.Wait()
	return outcomes
}

// deliverOne tries one destination under the policy and returns the final
// error, saying after how many attempts and why it stopped.
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
