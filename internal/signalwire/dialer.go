package signalwire

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

// A connection dialed ahead is handed over only while young: servers close
// idle connections (often after 10 s), and net/http does not retry a request
// on a dead, never-used one. On a cold start the first request follows init
// within milliseconds; after a longer proactive init a new one is dialed.
const (
	preconnectTimeout = 5 * time.Second
	maxPreconnectAge  = 5 * time.Second
	handshakeTimeout  = 10 * time.Second
)

// preconnector is a DialTLSContext that can open one connection per address
// ahead (Preconnect). Never with a proxy: net/http would dial the proxy.
type preconnector struct {
	tcp  net.Dialer
	conf *tls.Config // its NextProtos match the transport's

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

// PreconnectingClient returns an HTTP client (http.DefaultTransport's
// settings, TLS 1.2+, trusting roots, nil: the system's) and the function
// that opens one TLS connection to a host[:port] (port 443 by default)
// ahead of its first request; that function is nil when the environment
// configures a proxy.
func PreconnectingClient(roots *x509.CertPool) (*http.Client, func(host string)) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 10 // as the AWS SDK's own client
	tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: roots}
	client := &http.Client{Transport: tr}
	if proxyConfigured() {
		return client, nil
	}
	conf := tr.TLSClientConfig.Clone()
	conf.NextProtos = []string{"h2", "http/1.1"} // tr.ForceAttemptHTTP2
	d := &preconnector{tcp: net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}, conf: conf, pending: map[string]*predial{}}
	tr.DialTLSContext = d.DialTLSContext
	return client, func(host string) { d.Preconnect(hostPort(host)) }
}

// proxyConfigured reports whether the environment sets an HTTP(S) proxy.
func proxyConfigured() bool {
	for _, k := range []string{"HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"} {
		if os.Getenv(k) != "" {
			return true
		}
	}
	return false
}

// hostPort adds the https port to a host without one.
func hostPort(host string) string {
	if _, _, err := net.SplitHostPort(host); err == nil {
		return host
	}
	return net.JoinHostPort(strings.Trim(host, "[]"), "443")
}

// Preconnect starts opening a TLS connection to addr (host:port) unless one
// is pending; a failed one is replaced by an ordinary dial.
func (d *preconnector) Preconnect(addr string) {
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
		p.at = time.Now()
		close(p.done)
	}()
}

// DialTLSContext returns the connection opened ahead for addr (waiting for
// its handshake), or a new one when there is none or it failed or is stale.
func (d *preconnector) DialTLSContext(ctx context.Context, network, addr string) (net.Conn, error) {
	d.mu.Lock()
	p := d.pending[addr]
	delete(d.pending, addr)
	d.mu.Unlock()
	if p != nil {
		select {
		case <-p.done:
			if p.err == nil {
				if time.Since(p.at) < maxPreconnectAge {
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

// dial opens a TCP connection and completes the TLS handshake.
func (d *preconnector) dial(ctx context.Context, addr string) (net.Conn, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("dialing %s: %w", addr, err)
	}
	raw, err := d.tcp.DialContext(ctx, "tcp", addr)
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
