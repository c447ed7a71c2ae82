package main

import (
	"bytes"
	"crypto/rand"
	"io"
	"net"
	"testing"
	"time"
)

// TestLatencyProxyRelaysInOrder: the relay delivers every byte, in order,
// both ways, and half-closes like the peer did.
func TestLatencyProxyRelaysInOrder(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() { // echo server
		c, err := ln.Accept()
		if err != nil {
			return
		}
		_, _ = io.Copy(c, c)
		_ = c.(*net.TCPConn).CloseWrite()
	}()
	p, err := startLatencyProxy(ln.Addr().String(), 2*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	want := make([]byte, 1<<20)
	_, _ = rand.Read(want)
	go func() {
		for i := 0; i < len(want); i += 7919 {
			_, _ = c.Write(want[i:min(i+7919, len(want))])
		}
		_ = c.(*net.TCPConn).CloseWrite()
	}()
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("relayed %d bytes, want the %d sent, in order", len(got), len(want))
	}
	if p.Conns() != 1 {
		t.Errorf("connections %d", p.Conns())
	}
}
