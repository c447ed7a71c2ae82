// Package fake holds the test doubles shared by the tests and tools under
// test/ and by the product packages' own tests: a log sink safe for
// concurrent writers, and a forward destination and a retry queue that
// accept and count.
package fake

import (
	"bytes"
	"context"
	"sync"
	"sync/atomic"

	"github.com/signalwire-lambda/participants/internal/forward"
)

// Buffer is a bytes.Buffer safe for concurrent use: the function's loggers
// write to it from several goroutines while a test reads it.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Destination is a forward.Destination that accepts every message, counts
// the sends and keeps the last message.
type Destination struct {
	sends atomic.Int64
	mu    sync.Mutex
	last  forward.Message
}

// Name implements forward.Destination.
func (d *Destination) Name() string { return "fake" }

// Send implements forward.Destination: it records m and succeeds.
func (d *Destination) Send(_ context.Context, m forward.Message) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.last = m
	d.sends.Add(1)
	return nil
}

// Sends returns how many messages were sent.
func (d *Destination) Sends() int64 { return d.sends.Load() }

// Last returns the last message sent and whether there was one.
func (d *Destination) Last() (forward.Message, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.last, d.sends.Load() > 0
}

// Queue is a retry queue (the retry queue interface of package app) that accepts and counts.
type Queue struct{ enqueued atomic.Int64 }

// Enqueue implements the retry queue: it counts and succeeds.
func (q *Queue) Enqueue(context.Context, forward.Message) error {
	q.enqueued.Add(1)
	return nil
}

// Enqueued returns how many webhooks were parked.
func (q *Queue) Enqueued() int64 { return q.enqueued.Load() }
