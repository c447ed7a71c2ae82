package main

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// latencyProxy simulates the network between the function and one upstream
// on loopback: a TCP relay that delays every chunk by half a round trip in
// each direction, and the first chunk the client sends on a connection by
// one more round trip (the TCP handshake, which the kernel completes at
// once on loopback: a client sends its first bytes, e.g. its TLS
// ClientHello, one round trip after it called connect). So a new connection
// costs one RTT for TCP, one for a TLS 1.3 handshake, and each HTTP request
// one more, whatever the client is.
type latencyProxy struct {
	ln     net.Listener
	target string
	rtt    time.Duration
	conns  atomic.Int64
	wg     sync.WaitGroup
}

// startLatencyProxy listens on 127.0.0.1 and relays to target.
func startLatencyProxy(target string, rtt time.Duration) (*latencyProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("bench: latency proxy: %w", err)
	}
	stampListener(ln)
	p := &latencyProxy{ln: ln, target: target, rtt: rtt}
	p.wg.Add(1)
	go p.serve()
	return p, nil
}

// Addr is the proxy's host:port.
func (p *latencyProxy) Addr() string { return p.ln.Addr().String() }

// Conns is the number of connections accepted so far.
func (p *latencyProxy) Conns() int64 { return p.conns.Load() }

// Close stops accepting; open relays end when either side closes.
func (p *latencyProxy) Close() {
	_ = p.ln.Close()
	p.wg.Wait()
}

func (p *latencyProxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.conns.Add(1)
		go p.relay(c)
	}
}

func (p *latencyProxy) relay(client net.Conn) {
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		_ = client.Close()
		return
	}
	done := make(chan struct{}, 2)
	go func() { delayCopy(server, client, p.rtt/2, p.rtt); done <- struct{}{} }()
	go func() { delayCopy(client, server, p.rtt/2, 0); done <- struct{}{} }()
	<-done
	<-done
	_ = client.Close()
	_ = server.Close()
}

// delayCopy copies src to dst, each chunk written oneWay after it was sent
// (the first one firstExtra later still), keeping order, then half-closes dst.
func delayCopy(dst, src net.Conn, oneWay, firstExtra time.Duration) {
	type chunk struct {
		b  []byte
		at time.Time
	}
	ch := make(chan chunk, 4096)
	go func() {
		defer close(ch)
		extra := firstExtra
		read := stampedReader(src)
		for {
			buf := make([]byte, 32<<10)
			n, sent, err := read(buf)
			if n > 0 {
				ch <- chunk{buf[:n], sent.Add(oneWay + extra)}
				extra = 0
			}
			if err != nil {
				return
			}
		}
	}()
	for c := range ch {
		waitUntil(c.at)
		if _, err := dst.Write(c.b); err != nil {
			for range ch { // drain so the reader ends
			}
			break
		}
	}
	if cw, ok := dst.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	} else {
		_ = dst.Close()
	}
}

// plainReader returns a read of c that gives the time of the read.
func plainReader(c net.Conn) func([]byte) (int, time.Time, error) {
	return func(b []byte) (int, time.Time, error) {
		n, err := c.Read(b)
		return n, time.Now(), err
	}
}

// tlsFront terminates TLS (with cert) on 127.0.0.1 and relays the plain
// bytes to target: Secrets Manager and SQS over TLS, as the real services
// are, in front of kumo's plain HTTP. HTTP/1.1 only, like the AWS JSON
// endpoints the SDK talks to.
type tlsFront struct {
	ln net.Listener
	wg sync.WaitGroup
}

func startTLSFront(target string, cert tls.Certificate) (*tlsFront, error) {
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"http/1.1"}})
	if err != nil {
		return nil, fmt.Errorf("bench: TLS front: %w", err)
	}
	f := &tlsFront{ln: ln}
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				s, err := net.Dial("tcp", target)
				if err != nil {
					return
				}
				defer s.Close()
				done := make(chan struct{}, 2)
				go func() { _, _ = io.Copy(s, c); closeWrite(s); done <- struct{}{} }()
				go func() { _, _ = io.Copy(c, s); _ = c.(*tls.Conn).CloseWrite(); done <- struct{}{} }()
				<-done
				<-done
			}()
		}
	}()
	return f, nil
}

func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
}

// Addr is the front's host:port.
func (f *tlsFront) Addr() string { return f.ln.Addr().String() }

// Close stops accepting.
func (f *tlsFront) Close() {
	_ = f.ln.Close()
	f.wg.Wait()
}

// upstreams is the simulated network at one RTT: a proxy in front of the
// SignalWire sandbox, and TLS-fronted proxies in front of kumo for Secrets
// Manager and for SQS (separate hosts, as on AWS).
type upstreams struct {
	rtt                 time.Duration
	signalwire, sm, sqs *latencyProxy
	fronts              []*tlsFront
}

func startUpstreams(rtt time.Duration, sandboxAddr, kumoAddr string, cert tls.Certificate) (_ *upstreams, err error) {
	u := &upstreams{rtt: rtt}
	defer func() {
		if err != nil {
			u.Close()
		}
	}()
	if u.signalwire, err = startLatencyProxy(sandboxAddr, rtt); err != nil {
		return nil, err
	}
	for _, dst := range []**latencyProxy{&u.sm, &u.sqs} {
		f, err := startTLSFront(kumoAddr, cert)
		if err != nil {
			return nil, err
		}
		u.fronts = append(u.fronts, f)
		if *dst, err = startLatencyProxy(f.Addr(), rtt); err != nil {
			return nil, err
		}
	}
	return u, nil
}

func (u *upstreams) Close() {
	for _, p := range []*latencyProxy{u.signalwire, u.sm, u.sqs} {
		if p != nil {
			p.Close()
		}
	}
	for _, f := range u.fronts {
		f.Close()
	}
}
