package obs

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// nxdomainResolver answers every query NXDOMAIN over an in-memory
// connection: a real lookup failure without any DNS traffic.
func nxdomainResolver() *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: func(context.Context, string, string) (net.Conn, error) {
		client, server := net.Pipe()
		go func() {
			defer server.Close()
			var n uint16
			if binary.Read(server, binary.BigEndian, &n) != nil {
				return
			}
			msg := make([]byte, n)
			if _, err := io.ReadFull(server, msg); err != nil || n < 12 {
				return
			}
			msg[2], msg[3] = 0x81, 0x83 // response, recursion desired and available, NXDOMAIN
			binary.Write(server, binary.BigEndian, n)
			server.Write(msg)
		}()
		return client, nil
	}}
}

// listen serves each loopback connection with handle and returns the address.
func listen(t *testing.T, handle func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
			handle(c)
		}
	}()
	return ln.Addr().String()
}

func TestNetCauseOnLoopback(t *testing.T) {
	tlsSrv := httptest.NewUnstartedServer(http.NotFoundHandler())
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake
	tlsSrv.StartTLS()                                   // its certificate is in no default pool
	defer tlsSrv.Close()
	plain := httptest.NewServer(http.NotFoundHandler())
	defer plain.Close()
	refused := closedPort(t)
	hang := listen(t, func(net.Conn) {}) // never answers
	junk := listen(t, func(c net.Conn) { c.Write([]byte("neither a TLS record nor HTTP\n")) })
	lookup := &http.Client{Transport: &http.Transport{DialContext: (&net.Dialer{Resolver: nxdomainResolver()}).DialContext}}
	untrusted := &http.Client{Transport: &http.Transport{}}
	for _, tc := range []struct {
		name, url, cause string
		client           *http.Client
	}{
		{"closed port", "http://" + refused + "/x", "refused", http.DefaultClient},
		{"unresolvable", "https://nowhere.invalid/x", "lookup", lookup},
		{"no address (.onion, never queried)", "https://nowhere.onion/x", "lookup", lookup},
		{"untrusted certificate", tlsSrv.URL, "TLS", untrusted},
		{"plain HTTP", strings.Replace(plain.URL, "http:", "https:", 1), "TLS", untrusted},
		{"not TLS nor HTTP", "https://" + junk + "/x", "TLS", untrusted},
		{"no answer", "http://" + hang + "/x", "timeout", http.DefaultClient},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, tc.url, nil)
			resp, err := tc.client.Do(req)
			if err == nil {
				resp.Body.Close()
				t.Fatal("round trip succeeded")
			}
			if cause := netCause(err); cause != tc.cause {
				t.Errorf("netCause(%v) = %q, want %q", err, cause, tc.cause)
			}
		})
	}
	if cause := netCause(errors.New("boom")); cause != "other" {
		t.Errorf("netCause(plain error) = %q, want other", cause)
	}
}

func TestLogUnreachable(t *testing.T) {
	var buf bytes.Buffer
	log := NewLogger(&buf, slog.LevelInfo)
	ok := httptest.NewServer(http.NotFoundHandler())
	defer ok.Close()
	refused := closedPort(t)
	get := func(ctx context.Context, u string) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err == nil {
			resp.Body.Close()
		}
		LogUnreachable(log, "Secrets Manager", req, err)
	}
	get(context.Background(), ok.URL)
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	get(canceled, "http://"+refused+"/")
	if buf.Len() != 0 {
		t.Fatalf("an answer or the caller's own cancellation was logged: %s", buf.String())
	}
	get(context.Background(), "http://"+refused+"/")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("want one line, got %q", buf.String())
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &got); err != nil {
		t.Fatal(err)
	}
	if got["message"] != "cannot reach Secrets Manager" || got["host"] != refused || got["cause"] != "refused" || got["level"] != "WARN" {
		t.Errorf("log line = %v", got)
	}
}
