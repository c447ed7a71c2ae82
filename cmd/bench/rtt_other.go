//go:build !linux

package main

import (
	"net"
	"time"
)

// stampListener does nothing: receive timestamps are read on Linux only.
func stampListener(net.Listener) {}

// stampedReader is plainReader: the kernel's receive time is read on Linux
// only.
func stampedReader(c net.Conn) func([]byte) (int, time.Time, error) { return plainReader(c) }

// waitUntil returns at t, or a little later (time.Sleep's precision).
func waitUntil(t time.Time) { time.Sleep(time.Until(t)) }
