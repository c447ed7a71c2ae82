package signalwire

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"
)

// Preconnection bounds. A connection dialed ahead is handed to the first
// request only while it is young: an idle TLS connection that old may have
// been closed by the server (and a request on a dead, never-used connection
// is not retried by net/http).
const (
	preconnectTimeout = 5 * time.Second
	maxPreconnectAge  = 30 * time.Second
	handshakeTimeout  = 10 * time.Second
)

// tlsDialer opens the client's TLS connections itself (the transport's
// DialTLSContext), so that one connection can be opened ahead of the first
// request (Preconnect) and handed to it. Every other dial is an ordinary
// TCP + TLS handshake with the same settings the transport would use.
type tlsDialer struct {
	net  net.Dialer
	conf *tls.Config
	now  func() time.Time

	mu      sync.Mutex
	pending map[string]*predial // by "host:port"
}

// predial is one connection being opened ahead.
type predial struct {
	done chan struct{}
	conn net.Conn
	err  error
	at   time.Time // when the handshake finished
}

func newTLSDialer() *tlsDialer {
	return &tlsDialer{
		net: net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second},
		// h2 first, as the transport offers it (ForceAttemptHTTP2).
		conf:    &tls.Config{MinVersion: tls.VersionTLS12, NextProtos: []string{"h2", "http/1.1"}},
		now:     time.Now,
		pending: map[string]*predial{},
	}
}

// hostPort adds the https port to a host without one.
func hostPort(host string) string {
	if _, _, err := net.SplitHostPort(host); err == nil {
		return host
	}
	return net.JoinHostPort(strings.Trim(host, "[]"), "443")
}

// preconnect starts opening one TLS connection to addr in the background,
// bounded by preconnectTimeout; it never blocks. A second call for the same
// address while one is pending does nothing.
func (d *tlsDialer) preconnect(addr string) {
	d.mu.Lock()
	if _, ok := d.pending[addr]; ok {
		d.mu.Unlock()
		return
	}
	p := &predial{done: make(chan struct{})}
	d.pending[addr] = p
	d.mu.Unlock()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), preconnectTimeout)
		defer cancel()
		p.conn, p.err = d.dial(ctx, addr)
		p.at = d.now()
		close(p.done)
	}()
}

// DialTLSContext returns the connection opened ahead for addr when there is
// one (waiting for its handshake to finish), or dials a new one. A failed or
// stale preconnection is discarded and a new connection dialed, so the
// preconnection never makes a request fail.
func (d *tlsDialer) DialTLSContext(ctx context.Context, network, addr string) (net.Conn, error) {
	d.mu.Lock()
	p := d.pending[addr]
	delete(d.pending, addr)
	d.mu.Unlock()
	if p != nil {
		select {
		case <-p.done:
			if p.err == nil {
				if d.now().Sub(p.at) < maxPreconnectAge {
					return p.conn, nil
				}
				_ = p.conn.Close()
			}
		case <-ctx.Done():
			go func() {
				<-p.done
				if p.conn != nil {
					_ = p.conn.Close()
				}
			}()
			return nil, ctx.Err()
		}
	}
	return d.dial(ctx, addr)
}

// dial opens a TCP connection and completes the TLS handshake, verifying
// the server's certificate for the host against the system roots.
func (d *tlsDialer) dial(ctx context.Context, addr string) (net.Conn, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("dialing %s: %w", addr, err)
	}
	raw, err := d.net.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	conf := d.conf.Clone()
	conf.ServerName = host
	c := tls.Client(raw, conf)
	hctx, cancel := context.WithTimeout(ctx, handshakeTimeout)
	defer cancel()
	if err := c.HandshakeContext(hctx); err != nil {
		_ = raw.Close()
		return nil, err
	}
	return c, nil
}

// Preconnect starts opening the TLS connection to the Space host in the
// background, so that the first request finds it ready (the function calls
// it at init, while the secret is being fetched). It returns at once and
// never fails: an invalid host, an unreachable Space or a client built with
// Options.HTTPClient (whose transport is not the client's own) make it do
// nothing, and the first request then dials as usual.
func (c *Client) Preconnect(spaceHost string) {
	if c.dialer == nil || ValidateSpaceHost(spaceHost) != nil {
		return
	}
	c.dialer.preconnect(hostPort(spaceHost))
}
