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

// TestPreconnectOpensTheConnectionTheFirstCallUses: Client.Preconnect opens
// the connection to the Space before any call, and the first calls use it.
func TestPreconnectOpensTheConnectionTheFirstCallUses(t *testing.T) {
	fixture := readFixture(t, "participant.json")
	var mu sync.Mutex
	var conns, requests []string
	accepted := make(chan struct{}, 4)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		requests = append(requests, r.RemoteAddr)
		mu.Unlock()
		writeJSON(w, http.StatusOK, fixture)
	}))
	srv.Config.ConnState = func(c net.Conn, s http.ConnState) {
		if s == http.StateNew {
			mu.Lock()
			conns = append(conns, c.RemoteAddr().String())
			mu.Unlock()
			accepted <- struct{}{}
		}
	}
	srv.StartTLS()
	defer srv.Close()
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	t.Setenv("HTTPS_PROXY", "")
	t.Setenv("https_proxy", "")
	c := NewClient(Options{})
	c.http, c.preconnect = PreconnectingClient(pool) // the default client, trusting srv
	auth := Auth{ProjectID: testProjectID, APIToken: testToken, SpaceHost: srv.Listener.Addr().String()}
	c.Preconnect(auth.SpaceHost)
	select {
	case <-accepted:
	case <-time.After(10 * time.Second):
		t.Fatal("Preconnect opened no connection")
	}
	for range 2 {
		if _, err := c.GetParticipant(context.Background(), auth, testRef()); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(conns) != 1 || len(requests) != 2 || requests[0] != conns[0] || requests[1] != conns[0] {
		t.Errorf("connections %v, requests from %v; want both calls on the preconnection", conns, requests)
	}
}

func TestPreconnectIgnoresInvalidHostsAndForeignClients(t *testing.T) {
	NewClient(Options{}).Preconnect("bad host/with path") // must not panic or dial
	foreign := NewClient(Options{HTTPClient: http.DefaultClient})
	foreign.Preconnect("example.signalwire.com")
	if foreign.preconnect != nil {
		t.Error("a client with its own HTTPClient has a dialer")
	}
	t.Setenv("HTTPS_PROXY", "http://127.0.0.1:3128")
	if NewClient(Options{}).preconnect != nil {
		t.Error("with a proxy configured, the client replaces the transport's dialing")
	}
}
