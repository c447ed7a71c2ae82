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

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
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

// garbage answers every connection with bytes that are neither TLS nor HTTP.
func garbage(t *testing.T) string {
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
			c.Write([]byte("garbage, not a TLS record\n"))
			c.Close()
		}
	}()
	return ln.Addr().String()
}

// silent accepts connections and never answers.
func silent(t *testing.T) string {
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
		}
	}()
	return ln.Addr().String()
}

func TestNetCause(t *testing.T) {
	tlsSrv := httptest.NewUnstartedServer(http.NotFoundHandler())
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake
	tlsSrv.StartTLS()                                   // its certificate is in no default pool
	defer tlsSrv.Close()
	plain := httptest.NewServer(http.NotFoundHandler())
	defer plain.Close()
	refused, hang, junk := closedPort(t), silent(t), garbage(t)
	lookup := &http.Client{Transport: &http.Transport{DialContext: (&net.Dialer{Resolver: nxdomainResolver()}).DialContext}}
	untrusted := &http.Client{Transport: &http.Transport{}}
	for _, tc := range []struct {
		name, url, host, cause string
		client                 *http.Client
	}{
		{"closed port", "http://" + refused + "/x", refused, "refused", http.DefaultClient},
		{"unresolvable", "https://nowhere.invalid/x", "nowhere.invalid", "lookup", lookup},
		{"untrusted certificate", tlsSrv.URL, strings.TrimPrefix(tlsSrv.URL, "https://"), "TLS", untrusted},
		{"plain HTTP", strings.Replace(plain.URL, "http:", "https:", 1), strings.TrimPrefix(plain.URL, "http://"), "TLS", untrusted},
		{"not TLS nor HTTP", "https://" + junk + "/x", junk, "TLS", untrusted},
		{"no answer", "http://" + hang + "/x", hang, "timeout", http.DefaultClient},
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
			if host, cause := NetCause(err); host != tc.host || cause != tc.cause {
				t.Errorf("NetCause(%v) = %q, %q; want %q, %q", err, host, cause, tc.host, tc.cause)
			}
		})
	}
	if _, cause := NetCause(context.Canceled); cause != "other" {
		t.Errorf("NetCause(context.Canceled) cause = %q, want other", cause)
	}
	if _, cause := NetCause(errors.New("boom")); cause != "other" {
		t.Errorf("NetCause(plain error) cause = %q, want other", cause)
	}
}

// The AWS SDK wraps the transport error (operation error, retries
// exhausted, request send error); the cause and host still come through.
func TestNetCauseThroughAWSSDK(t *testing.T) {
	refused := closedPort(t)
	sm := secretsmanager.New(secretsmanager.Options{
		Region: "us-east-1", BaseEndpoint: aws.String("http://" + refused), RetryMaxAttempts: 1,
		Credentials: aws.AnonymousCredentials{},
	})
	_, err := sm.GetSecretValue(context.Background(), &secretsmanager.GetSecretValueInput{SecretId: aws.String("s")})
	if err == nil {
		t.Fatal("GetSecretValue succeeded")
	}
	if host, cause := NetCause(err); host != refused || cause != "refused" {
		t.Errorf("NetCause(%v) = %q, %q; want %q, refused", err, host, cause, refused)
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
