package forward

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/signalwire-lambda/participants/internal/backoff"
)

// Policy defaults, used for zero (or negative) Policy fields.
const (
	// DefaultMaxAttempts is Policy.MaxAttempts' default.
	DefaultMaxAttempts = 3
	// DefaultBaseBackoff is Policy.BaseBackoff's default.
	DefaultBaseBackoff = 50 * time.Millisecond
	// DefaultMaxBackoff is Policy.MaxBackoff's default.
	DefaultMaxBackoff = 500 * time.Millisecond
	// DefaultAttemptReserve is Policy.AttemptReserve's default.
	DefaultAttemptReserve = 100 * time.Millisecond
)

// ErrNoTimeLeft is wrapped in a failure given up because the context deadline
// leaves no room for another attempt.
var ErrNoTimeLeft = errors.New("context deadline leaves no room for another attempt")

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

// withDefaults fills the zero fields of p.
func (p Policy) withDefaults() Policy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = DefaultMaxAttempts
	}
	if p.BaseBackoff <= 0 {
		p.BaseBackoff = DefaultBaseBackoff
	}
	if p.MaxBackoff <= 0 {
		p.MaxBackoff = DefaultMaxBackoff
	}
	if p.MaxBackoff < p.BaseBackoff {
		p.MaxBackoff = p.BaseBackoff
	}
	if p.AttemptReserve <= 0 {
		p.AttemptReserve = DefaultAttemptReserve
	}
	if p.Jitter == nil {
		p.Jitter = func(limit time.Duration) time.Duration {
			if limit <= 0 {
				return 0
			}
			return rand.N(limit + 1)
		}
	}
	return p
}

// backoff returns the delay after the given (1-based) failed attempt.
func (p Policy) backoff(attempt int) time.Duration {
	limit := backoff.Ceiling(p.BaseBackoff, p.MaxBackoff, attempt)
	return min(max(p.Jitter(limit), 0), limit)
}

// Outcome is what happened at one destination.
type Outcome struct {
	// Destination is the destination's Name.
	Destination string
	// Attempts is how many times Send was called.
	Attempts int
	// Err is nil when delivered, else the final failure.
	Err error
}

// Result lists, in the order destinations were given, where a message was
// delivered and where it was not.
type Result struct {
	// Delivered names the destinations that accepted the message.
	Delivered []string
	// Failed names the destinations that did not.
	Failed []string
	// Outcomes has one entry per destination.
	Outcomes []Outcome
}

// Deliver sends m to every destination concurrently. Each destination is
// tried up to p.MaxAttempts times, retrying only Retryable failures, with full
// jitter exponential backoff, and only while ctx's deadline leaves room for
// the backoff plus p.AttemptReserve. It returns nil when every destination
// accepted m, else an error joining one failure per failed destination, each
// naming it; Retryable on that error reports whether any failure was
// transient. The Result is complete either way.
func Deliver(ctx context.Context, dests []Destination, m Message, p Policy) (Result, error) {
	p = p.withDefaults()
	outcomes := make([]Outcome, len(dests))
	var wg sync.WaitGroup
	for i, d := range dests {
		wg.Go(func() {
			attempts, err := deliverOne(ctx, d, m, p)
			outcomes[i] = Outcome{Destination: d.Name(), Attempts: attempts, Err: err}
		})
	}
	wg.Wait()

	res := Result{Outcomes: outcomes}
	var errs []error
	for _, o := range outcomes {
		if o.Err == nil {
			res.Delivered = append(res.Delivered, o.Destination)
			continue
		}
		res.Failed = append(res.Failed, o.Destination)
		errs = append(errs, fmt.Errorf("forward to %s: %w", o.Destination, o.Err))
	}
	return res, errors.Join(errs...)
}

// deliverOne tries one destination under the policy and returns how many
// attempts it made and the final error.
func deliverOne(ctx context.Context, d Destination, m Message, p Policy) (int, error) {
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return attempt - 1, fmt.Errorf("not attempted: %w", context.Cause(ctx))
		}
		err := d.Send(ctx, m)
		if err == nil {
			return attempt, nil
		}
		if !Retryable(err) {
			return attempt, fmt.Errorf("permanent failure on attempt %d: %w", attempt, err)
		}
		if attempt >= p.MaxAttempts {
			return attempt, fmt.Errorf("gave up after %d attempts: %w", attempt, err)
		}
		delay := p.backoff(attempt)
		if !backoff.Leaves(ctx, delay+p.AttemptReserve) {
			return attempt, fmt.Errorf("gave up after %d attempt(s): %w: %w", attempt, ErrNoTimeLeft, err)
		}
		if waitErr := backoff.Sleep(ctx, delay); waitErr != nil {
			return attempt, fmt.Errorf("gave up after %d attempt(s), backoff interrupted (%w): %w", attempt, waitErr, err)
		}
	}
}
