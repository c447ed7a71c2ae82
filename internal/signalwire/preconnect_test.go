package signalwire

import (
	"context"
	"crypto/x509"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// preconnectAPI is a TLS server that records the remote address of every
// accepted connection and of every request.
type preconnectAPI struct {
	srv      *httptest.Server
	mu       sync.Mutex
	conns    []string
	requests []string
	accepted chan string
}

func newPreconnectAPI(t *testing.T, wrap func(net.Listener) net.Listener) *preconnectAPI {
	t.Helper()
	fixture := readFixture(t, "participant.json")
	a := &preconnectAPI{accepted: make(chan string, 16)}
	a.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		a.requests = append(a.requests, r.RemoteAddr)
		a.mu.Unlock()
		writeJSON(w, http.StatusOK, fixture)
	}))
	a.srv.Config.ConnState = func(c net.Conn, s http.ConnState) {
		if s == http.StateNew {
			a.mu.Lock()
			a.conns = append(a.conns, c.RemoteAddr().String())
			a.mu.Unlock()
			a.accepted <- c.RemoteAddr().String()
		}
	}
	if wrap != nil {
		a.srv.Listener = wrap(a.srv.Listener)
	}
	a.srv.StartTLS()
	t.Cleanup(a.srv.Close)
	return a
}

// client is the default client (NewClient without HTTPClient) trusting the
// server's certificate.
func (a *preconnectAPI) client(t *testing.T) *Client {
	t.Helper()
	c := NewClient(Options{Jitter: func() float64 { return 0 }})
	if c.dialer == nil {
		t.Fatal("the default client has no preconnecting dialer")
	}
	pool := x509.NewCertPool()
	pool.AddCert(a.srv.Certificate())
	c.dialer.conf.RootCAs = pool
	return c
}

func (a *preconnectAPI) auth() Auth {
	return Auth{ProjectID: testProjectID, APIToken: testToken, SpaceHost: a.srv.Listener.Addr().String()}
}

func (a *preconnectAPI) waitAccepted(t *testing.T) string {
	t.Helper()
	select {
	case addr := <-a.accepted:
		return addr
	case <-time.After(10 * time.Second):
		t.Fatal("no connection was opened")
		return ""
	}
}

// waitHandshake waits until the preconnection's handshake finished.
func waitHandshake(t *testing.T, c *Client, addr string) {
	t.Helper()
	c.dialer.mu.Lock()
	p := c.dialer.pending[addr]
	c.dialer.mu.Unlock()
	if p == nil {
		t.Fatal("no preconnection pending")
	}
	<-p.done
}

func TestPreconnectOpensTheConnectionTheFirstRequestUses(t *testing.T) {
	a := newPreconnectAPI(t, nil)
	c := a.client(t)
	c.Preconnect(a.auth().SpaceHost)
	// The connection is opened before any request is made.
	first := a.waitAccepted(t)
	waitHandshake(t, c, a.auth().SpaceHost)
	if _, err := c.GetParticipant(context.Background(), a.auth(), testRef()); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetParticipant(context.Background(), a.auth(), testRef()); err != nil {
		t.Fatal(err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.conns) != 1 || len(a.requests) != 2 || a.requests[0] != first || a.requests[1] != first {
		t.Errorf("connections %v, requests from %v; want both requests on the preconnection %s", a.conns, a.requests, first)
	}
}

func TestPreconnectStaleConnectionIsReplaced(t *testing.T) {
	a := newPreconnectAPI(t, nil)
	c := a.client(t)
	now := time.Now()
	var mu sync.Mutex
	c.dialer.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	c.Preconnect(a.auth().SpaceHost)
	first := a.waitAccepted(t)
	waitHandshake(t, c, a.auth().SpaceHost)
	mu.Lock()
	now = now.Add(maxPreconnectAge + time.Second)
	mu.Unlock()
	if _, err := c.GetParticipant(context.Background(), a.auth(), testRef()); err != nil {
		t.Fatal(err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.requests) != 1 || a.requests[0] == first {
		t.Errorf("request from %v on the stale preconnection %s", a.requests, first)
	}
}

// failFirst closes the first accepted connection before any handshake.
type failFirst struct {
	net.Listener
	once sync.Once
	cut  chan struct{}
}

func (l *failFirst) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		done := false
		l.once.Do(func() { _ = c.Close(); close(l.cut); done = true })
		if !done {
			return c, nil
		}
	}
}

func TestPreconnectFailureDoesNotFailTheRequest(t *testing.T) {
	ff := &failFirst{cut: make(chan struct{})}
	a := newPreconnectAPI(t, func(l net.Listener) net.Listener { ff.Listener = l; return ff })
	c := a.client(t)
	c.Preconnect(a.auth().SpaceHost)
	<-ff.cut
	waitHandshake(t, c, a.auth().SpaceHost)
	c.dialer.mu.Lock()
	p := c.dialer.pending[a.auth().SpaceHost]
	c.dialer.mu.Unlock()
	if p.err == nil {
		t.Fatal("the preconnection did not fail")
	}
	if _, err := c.GetParticipant(context.Background(), a.auth(), testRef()); err != nil {
		t.Fatalf("request after a failed preconnection: %v", err)
	}
	if got := c.dialer.pending; len(got) != 0 {
		t.Errorf("pending preconnections left: %v", got)
	}
}

func TestPreconnectIgnoresInvalidHostsAndForeignClients(t *testing.T) {
	c := NewClient(Options{})
	c.Preconnect("bad host/with path")
	if len(c.dialer.pending) != 0 {
		t.Errorf("preconnecting an invalid host: %v", c.dialer.pending)
	}
	foreign := NewClient(Options{HTTPClient: http.DefaultClient})
	foreign.Preconnect("example.signalwire.com") // must not panic
	if foreign.dialer != nil {
		t.Error("a client with its own HTTPClient has a dialer")
	}
	if got := hostPort("example.signalwire.com"); got != "example.signalwire.com:443" {
		t.Errorf("hostPort %q", got)
	}
	if got := hostPort("[::1]"); got != "[::1]:443" {
		t.Errorf("hostPort %q", got)
	}
	if got := hostPort("127.0.0.1:8443"); got != "127.0.0.1:8443" {
		t.Errorf("hostPort %q", got)
	}
}
