package signalwire

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// server is a TLS server recording the remote address of every accepted
// connection and of every request.
type server struct {
	srv      *httptest.Server
	mu       sync.Mutex
	conns    []string
	requests []string
	accepted chan string
}

func newServer(t *testing.T, wrap func(net.Listener) net.Listener) *server {
	t.Helper()
	s := &server{accepted: make(chan string, 16)}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests = append(s.requests, r.RemoteAddr)
		s.mu.Unlock()
		_, _ = io.WriteString(w, "ok")
	}))
	s.srv.Config.ConnState = func(c net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.mu.Lock()
			s.conns = append(s.conns, c.RemoteAddr().String())
			s.mu.Unlock()
			s.accepted <- c.RemoteAddr().String()
		}
	}
	if wrap != nil {
		s.srv.Listener = wrap(s.srv.Listener)
	}
	s.srv.StartTLS()
	t.Cleanup(s.srv.Close)
	return s
}

func (s *server) addr() string { return s.srv.Listener.Addr().String() }

// client returns a preconnector trusting the server and an HTTP client using it.
func (s *server) client() (*preconnector, *http.Client) {
	pool := x509.NewCertPool()
	pool.AddCert(s.srv.Certificate())
	d := &preconnector{conf: &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool, NextProtos: []string{"h2", "http/1.1"}}, pending: map[string]*predial{}}
	return d, &http.Client{Transport: &http.Transport{DialTLSContext: d.DialTLSContext, ForceAttemptHTTP2: true}}
}

func (s *server) get(t *testing.T, c *http.Client) {
	t.Helper()
	resp, err := c.Get("https://" + s.addr() + "/")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
}

func (s *server) waitAccepted(t *testing.T) string {
	t.Helper()
	select {
	case a := <-s.accepted:
		return a
	case <-time.After(10 * time.Second):
		t.Fatal("no connection was opened")
		return ""
	}
}

// waitHandshake waits until the pending preconnection to addr has finished.
func waitHandshake(t *testing.T, d *preconnector, addr string) *predial {
	t.Helper()
	d.mu.Lock()
	p := d.pending[addr]
	d.mu.Unlock()
	if p == nil {
		t.Fatal("no preconnection pending")
	}
	<-p.done
	return p
}

func TestPreconnectionCarriesTheFirstRequests(t *testing.T) {
	s := newServer(t, nil)
	d, c := s.client()
	d.Preconnect(s.addr())
	first := s.waitAccepted(t) // opened before any request
	waitHandshake(t, d, s.addr())
	s.get(t, c)
	s.get(t, c)
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.conns) != 1 || len(s.requests) != 2 || s.requests[0] != first || s.requests[1] != first {
		t.Errorf("connections %v, requests from %v; want both on the preconnection %s", s.conns, s.requests, first)
	}
}

func TestStalePreconnectionIsReplaced(t *testing.T) {
	s := newServer(t, nil)
	d, c := s.client()
	d.Preconnect(s.addr())
	first := s.waitAccepted(t)
	p := waitHandshake(t, d, s.addr())
	p.at = p.at.Add(-maxPreconnectAge - time.Second) // as if init were long ago
	s.get(t, c)
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.requests) != 1 || s.requests[0] == first {
		t.Errorf("request from %v on the stale preconnection %s", s.requests, first)
	}
}

// failFirst closes the first accepted connection before any handshake.
type failFirst struct {
	net.Listener
	once sync.Once
}

func (l *failFirst) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		cut := false
		l.once.Do(func() { _ = c.Close(); cut = true })
		if !cut {
			return c, nil
		}
	}
}

func TestFailedPreconnectionDoesNotFailTheRequest(t *testing.T) {
	s := newServer(t, func(l net.Listener) net.Listener { return &failFirst{Listener: l} })
	d, c := s.client()
	d.Preconnect(s.addr())
	if p := waitHandshake(t, d, s.addr()); p.err == nil {
		t.Fatal("the preconnection did not fail")
	}
	s.get(t, c)
	if len(d.pending) != 0 {
		t.Errorf("pending preconnections left: %v", d.pending)
	}
}

func TestHostPortAndProxy(t *testing.T) {
	for in, want := range map[string]string{
		"example.signalwire.com": "example.signalwire.com:443",
		"[::1]":                  "[::1]:443",
		"127.0.0.1:8443":         "127.0.0.1:8443",
	} {
		if got := hostPort(in); got != want {
			t.Errorf("hostPort(%q) = %q, want %q", in, got, want)
		}
	}
	for _, k := range []string{"HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"} {
		t.Setenv(k, "")
	}
	if proxyConfigured() {
		t.Error("no proxy set, proxyConfigured is true")
	}
	t.Setenv("HTTPS_PROXY", "http://127.0.0.1:3128")
	if !proxyConfigured() {
		t.Error("HTTPS_PROXY set, proxyConfigured is false")
	}
}
