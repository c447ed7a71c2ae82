package main

import (
	"net"
	"testing"
	"time"
)

// TestStampedReaderGivesTheSendTime: data read late is stamped with when it
// was written (the kernel's receive time on loopback), not with the read.
func TestStampedReaderGivesTheSendTime(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	stampListener(ln)
	time.Sleep(100 * time.Millisecond) // the kernel switches timestamping on a moment later
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	read := stampedReader(s)
	if _, err := c.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	written := time.Now()
	time.Sleep(20 * time.Millisecond) // the relay busy elsewhere
	buf := make([]byte, 16)
	n, sent, err := read(buf)
	if err != nil || string(buf[:n]) != "hello" {
		t.Fatalf("read %q, %v", buf[:n], err)
	}
	if sent.After(written) {
		t.Errorf("stamped %v after the write returned, want the send time", sent.Sub(written))
	}
	_ = c.Close()
	if n, _, err := read(buf); n != 0 || err == nil {
		t.Errorf("after close: %d bytes, err %v; want EOF", n, err)
	}
}
