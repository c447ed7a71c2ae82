package main

import (
	"io"
	"net"
	"runtime"
	"syscall"
	"time"
	"unsafe"
)

// stampListener turns on receive timestamps (SO_TIMESTAMPNS) for every
// connection ln accepts. Set on the listener, the kernel's timestamping
// stays on while it is open: it is switched on a moment after the first
// socket asks for it and off after the last one closes, so a connection
// asking only for itself gets none for its first bytes.
func stampListener(ln net.Listener) {
	if tl, ok := ln.(*net.TCPListener); ok {
		if raw, err := tl.SyscallConn(); err == nil {
			timestampsOn(raw)
		}
	}
}

// timestampsOn asks for receive timestamps on raw's socket.
func timestampsOn(raw syscall.RawConn) bool {
	var serr error
	err := raw.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_TIMESTAMPNS, 1) })
	return err == nil && serr == nil
}

// stampedReader returns a read of c that also gives when the data reached
// the kernel (SO_TIMESTAMPNS): on loopback, when the peer wrote it. A chunk
// read late (the relay's goroutine waiting for a CPU while the function
// under test starts on both cores) is still delayed from the moment it was
// sent, as a network would. Without a timestamp, the time of the read.
func stampedReader(c net.Conn) func([]byte) (int, time.Time, error) {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return plainReader(c)
	}
	raw, err := tc.SyscallConn()
	if err != nil || !timestampsOn(raw) {
		return plainReader(c)
	}
	oob := make([]byte, syscall.CmsgSpace(int(unsafe.Sizeof(syscall.Timespec{}))))
	return func(b []byte) (int, time.Time, error) {
		var n, oobn int
		var rerr error
		err := raw.Read(func(fd uintptr) bool {
			n, oobn, _, _, rerr = syscall.Recvmsg(int(fd), b, oob, 0)
			return rerr != syscall.EAGAIN
		})
		now := time.Now()
		switch {
		case err != nil:
			return 0, now, err
		case rerr != nil:
			return 0, now, rerr
		case n == 0:
			return 0, now, io.EOF
		}
		return n, now.Add(-kernelAge(oob[:oobn], now)), nil
	}
}

// kernelAge is how long before now the kernel received the data, from a
// recvmsg's SCM_TIMESTAMPNS (a wall-clock time; the result keeps now's
// monotonic reading); 0 without one.
func kernelAge(oob []byte, now time.Time) time.Duration {
	msgs, err := syscall.ParseSocketControlMessage(oob)
	if err != nil {
		return 0
	}
	for _, m := range msgs {
		if m.Header.Level == syscall.SOL_SOCKET && m.Header.Type == syscall.SCM_TIMESTAMPNS && len(m.Data) >= int(unsafe.Sizeof(syscall.Timespec{})) {
			ts := (*syscall.Timespec)(unsafe.Pointer(&m.Data[0]))
			if age := now.Sub(time.Unix(ts.Unix())); age > 0 {
				return age
			}
		}
	}
	return 0
}

// spinWindow is how long before a chunk is due waitUntil stops sleeping and
// spins. A 10 ms time.Sleep woke 0.2-0.7 ms late here, nanosleep(2) about
// 0.1 ms: an overshoot each hop would add to the simulated network, and so
// to every peer and the measured floor but not to the nominal one.
const spinWindow = 200 * time.Microsecond

// waitUntil returns at t, within microseconds on an idle machine.
func waitUntil(t time.Time) {
	for w := time.Until(t) - spinWindow; w > 0; w = time.Until(t) - spinWindow {
		ts := syscall.NsecToTimespec(int64(w))
		_ = syscall.Nanosleep(&ts, nil) // blocks this thread only; EINTR: sleep the rest
	}
	for time.Now().Before(t) {
		runtime.Gosched()
	}
}
