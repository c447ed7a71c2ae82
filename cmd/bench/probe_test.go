package main

import (
	"context"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// The probe sends GetSecretValue and the participant GET (cold, then warm on
// the same connection) through the relay.
func TestNetProbe(t *testing.T) {
	var mu sync.Mutex
	var got []string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _, _ := r.BasicAuth()
		mu.Lock()
		got = append(got, r.Method+" "+r.URL.Path+" "+r.Header.Get("X-Amz-Target")+" "+u)
		mu.Unlock()
		_, _ = w.Write([]byte("{}"))
	}))
	defer srv.Close()
	target := strings.TrimPrefix(srv.URL, "https://")
	relay, err := startLatencyProxy(target, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer relay.Close()
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	p := netProbe{sm: relay.Addr(), space: relay.Addr(), secretID: "s", getPath: "/p.json", user: "proj", roots: roots}
	if _, _, err := p.run(context.Background(), 2); err != nil {
		t.Fatal(err)
	}
	want := []string{"POST / secretsmanager.GetSecretValue ", "GET /p.json  proj", "GET /p.json  proj", "GET /p.json  proj"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("requests %q, want %q", got, want)
	}
	if relay.Conns() != 2 {
		t.Errorf("%d connections, want 2", relay.Conns())
	}
}
