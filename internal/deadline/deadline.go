// Package deadline keeps an invocation's work ahead of Lambda's deadline.
//
// Lambda stops the runtime at the deadline: whatever the handler has not
// returned by then is lost, and so are its answer, its log line and its
// metrics. The trigger router therefore calls WithMargin once per
// invocation, and every step below it (credentials, SignalWire, webhook
// processing, the retry queue, the SQS consumer) works against that
// earlier deadline, as returned by ctx.Deadline(). Reserve splits what is
// left between a step and the steps that must still run after it.
package deadline

import (
	"context"
	"time"
)

// The margin kept before Lambda's deadline: a tenth of the time the
// invocation has, at least MinMargin and at most MaxMargin.
//
// After its work is cut off, an invocation still maps the error to its
// answer, writes one log line and one EMF line to stdout and posts the
// answer to the runtime API on loopback: well under a millisecond on an
// idle CPU, but a 128 MB function gets a small slice of a vCPU and may be
// throttled for tens of milliseconds, and a GC cycle or a busy host adds
// more. 200 ms covers that several times over while leaving a 1 s function
// 800 ms of work; longer timeouts can afford a larger cushion, up to 1 s.
const (
	MinMargin = 200 * time.Millisecond
	MaxMargin = time.Second
)

// Margin returns the time to keep before a deadline that is left away.
func Margin(left time.Duration) time.Duration {
	return min(max(left/10, MinMargin), MaxMargin)
}

// WithMargin returns a context whose deadline is ctx's deadline minus
// Margin of the time left. A context without a deadline is returned as is
// (with a no-op cancel). Call it once per invocation: calling it again on
// its result would take a second margin.
func WithMargin(ctx context.Context) (context.Context, context.CancelFunc) {
	dl, ok := ctx.Deadline()
	if !ok {
		return ctx, func() {}
	}
	return context.WithDeadline(ctx, dl.Add(-Margin(time.Until(dl))))
}

// Reserve returns a context that ends reserve before ctx's deadline, or
// after budget, whichever comes first, so that what must run after the
// step (with ctx) keeps reserve. A non-positive budget means no limit but
// the reserve. Without a deadline on ctx only the budget applies.
func Reserve(ctx context.Context, budget, reserve time.Duration) (context.Context, context.CancelFunc) {
	dl, ok := ctx.Deadline()
	if !ok {
		if budget <= 0 {
			return context.WithCancel(ctx)
		}
		return context.WithTimeout(ctx, budget)
	}
	end := dl.Add(-reserve)
	if budget > 0 {
		if b := time.Now().Add(budget); b.Before(end) {
			end = b
		}
	}
	return context.WithDeadline(ctx, end)
}

// Left returns the time until ctx's deadline, and false when it has none.
func Left(ctx context.Context) (time.Duration, bool) {
	dl, ok := ctx.Deadline()
	if !ok {
		return 0, false
	}
	return time.Until(dl), true
}
