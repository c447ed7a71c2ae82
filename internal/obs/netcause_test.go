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

// hangingResolver's queries never get an answer.
func hangingResolver() *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}}
}

func client(r *net.Resolver) *http.Client {
	return &http.Client{Transport: &http.Transport{DialContext: (&net.Dialer{Resolver: r}).DialContext}}
}

// Every failure is real and on loopback (or in memory): Reach logs one line
// naming the host and the cause, as the round trip fails.
func TestReachNamesHostAndCause(t *testing.T) {
	tlsSrv := httptest.NewUnstartedServer(http.NotFoundHandler())
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake
	tlsSrv.StartTLS()                                   // its certificate is in no default pool
	defer tlsSrv.Close()
	plain := httptest.NewServer(http.NotFoundHandler())
	defer plain.Close()
	refused := closedPort(t)
	hang := listen(t, func(net.Conn) {}) // accepts, never answers
	junk := listen(t, func(c net.Conn) { c.Write([]byte("neither a TLS record nor HTTP\n")) })
	nx := client(nxdomainResolver())
	host := func(u string) string { return strings.SplitN(strings.SplitN(u, "://", 2)[1], "/", 2)[0] }
	for _, tc := range []struct {
		name, url, cause string
		client           *http.Client
	}{
		{"closed port", "http://" + refused + "/x", "refused", nx},
		{"NXDOMAIN", "https://nowhere.invalid/x", "lookup", nx},
		{"no answer to DNS", "https://nowhere.invalid/x", "lookup", client(hangingResolver())},
		{"no address (.onion, never queried)", "https://nowhere.onion/x", "lookup", nx},
		{"untrusted certificate", tlsSrv.URL, "TLS", nx},
		{"plain HTTP", strings.Replace(plain.URL, "http:", "https:", 1), "TLS", nx},
		{"not TLS nor HTTP", "https://" + junk + "/x", "TLS", nx},
		{"no TLS handshake", "https://" + hang + "/x", "TLS", nx},
		{"no answer", "http://" + hang + "/x", "timeout", nx},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, tc.url, nil)
			resp, err := Reach(NewLogger(&buf, slog.LevelInfo), "Secrets Manager", req, tc.client.Do)
			if err == nil {
				resp.Body.Close()
				t.Fatal("round trip succeeded")
			}
			var got map[string]any
			if lines := strings.Split(strings.TrimSpace(buf.String()), "\n"); len(lines) != 1 || json.Unmarshal([]byte(lines[0]), &got) != nil {
				t.Fatalf("want one JSON line, got %q", buf.String())
			}
			if got["message"] != "cannot reach Secrets Manager" || got["host"] != host(tc.url) || got["cause"] != tc.cause || got["level"] != "WARN" {
				t.Errorf("%v: logged %v, want host %s, cause %s", err, got, host(tc.url), tc.cause)
			}
		})
	}
	if cause := netCause(errors.New("boom")); cause != "other" {
		t.Errorf("netCause(plain error) = %q, want other", cause)
	}
}

// An answer, whatever its status, and the caller's own cancellation are
// not failures to reach anything.
func TestReachLogsNothingForAnAnswerOrACancellation(t *testing.T) {
	var buf bytes.Buffer
	log := NewLogger(&buf, slog.LevelInfo)
	ok := httptest.NewServer(http.NotFoundHandler())
	defer ok.Close()
	req, _ := http.NewRequest(http.MethodGet, ok.URL, nil)
	if resp, err := Reach(log, "SignalWire", req, http.DefaultClient.Do); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
	}
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	req, _ = http.NewRequestWithContext(canceled, http.MethodGet, "http://"+closedPort(t)+"/", nil)
	if _, err := Reach(log, "SignalWire", req, http.DefaultClient.Do); err == nil {
		t.Fatal("canceled request succeeded")
	}
	if buf.Len() != 0 {
		t.Errorf("logged: %s", buf.String())
	}
}
