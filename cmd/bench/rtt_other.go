//go:build !linux

package main

import (
	"net"
	"time"
)

// stampListener does nothing: receive timestamps are read on Linux only.
func stampListener(net.Listener) {}

// stampedReader returns a read of c giving the time of the read (the
// kernel's receive time is read on Linux only).
func stampedReader(c net.Conn) func([]byte) (int, time.Time, error) {
	return func(b []byte) (int, time.Time, error) {
		n, err := c.Read(b)
		return n, time.Now(), err
	}
}

// waitUntil returns at t, or a little later (time.Sleep's precision).
func waitUntil(t time.Time) { time.Sleep(time.Until(t)) }
