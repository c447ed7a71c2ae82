package forward_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/signalwire-lambda/participants/internal/forward"
	"github.com/signalwire-lambda/participants/internal/obs"
)

// testSecret is the Standard Webhooks specification's published test secret.
const testSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// fixedUnix is the time, in unix seconds, of the clock signing tests use.
const fixedUnix = 1_700_000_000

// fixedClock is the clock signing tests use.
func fixedClock() time.Time { return time.Unix(fixedUnix, 0) }

// captured is one request an httptest endpoint received.
type captured struct {
	Method string
	Header http.Header
	Body   []byte
}

// endpoint is an httptest server that records requests and answers with the
// statuses it is given in turn (200 once they run out).
type endpoint struct {
	srv *httptest.Server

	mu       sync.Mutex
	statuses []int
	requests []captured
}

func newEndpoint(t *testing.T, statuses ...int) *endpoint {
	t.Helper()
	e := &endpoint{statuses: statuses}
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		e.mu.Lock()
		e.requests = append(e.requests, captured{Method: r.Method, Header: r.Header.Clone(), Body: body})
		status := http.StatusOK
		if len(e.statuses) > 0 {
			status, e.statuses = e.statuses[0], e.statuses[1:]
		}
		e.mu.Unlock()
		if status >= 300 && status < 400 {
			w.Header().Set("Location", "/elsewhere")
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	t.Cleanup(e.srv.Close)
	return e
}

// client is an in-memory client that serves requests with e's handler, so
// that a test can run in a synctest bubble (see at).
func (e *endpoint) client() *http.Client {
	return &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		w := httptest.NewRecorder()
		e.srv.Config.Handler.ServeHTTP(w, r)
		return w.Result(), nil
	})}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// at runs f in a synctest bubble whose clock reads when.
func at(t *testing.T, when time.Time, f func(t *testing.T)) {
	t.Helper()
	synctest.Test(t, func(t *testing.T) {
		time.Sleep(time.Until(when))
		f(t)
	})
}

func (e *endpoint) got() []captured {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]captured(nil), e.requests...)
}

// expectedSignature computes base64(HMAC-SHA256(key, id.timestamp.body)) from
// first principles, independently of the package under test.
func expectedSignature(t *testing.T, secret, id, timestamp string, body []byte) []byte {
	t.Helper()
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		t.Fatalf("test secret is not base64: %v", err)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + timestamp + "." + string(body)))
	return mac.Sum(nil)
}

// verifyStandardWebhook is an independent Standard Webhooks verifier: it
// checks the timestamp against now within tolerance and accepts the request
// when any "v1,<base64>" entry of the space-separated signature list matches.
func verifyStandardWebhook(t *testing.T, secret string, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	t.Helper()
	id, ts, sigs := h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
	if id == "" || ts == "" || sigs == "" {
		return errors.New("missing webhook headers")
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("bad timestamp %q: %w", ts, err)
	}
	if skew := now.Sub(time.Unix(sec, 0)); skew > tolerance || skew < -tolerance {
		return fmt.Errorf("timestamp %s outside tolerance (skew %s)", ts, skew)
	}
	want := expectedSignature(t, secret, id, ts, body)
	for _, entry := range strings.Split(sigs, " ") {
		version, sig, ok := strings.Cut(entry, ",")
		if !ok || version != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(sig)
		if err != nil {
			continue
		}
		if hmac.Equal(got, want) {
			return nil
		}
	}
	return errors.New("no matching v1 signature")
}

// fixedSecrets is a SecretSource whose secrets never change.
type fixedSecrets forward.Secrets

func (f fixedSecrets) Secrets(context.Context) (forward.Secrets, error) {
	return forward.Secrets(f), nil
}
func (f fixedSecrets) RefreshSecrets(context.Context, uint64) (forward.Secrets, error) {
	return forward.Secrets(f), nil
}

// newHTTPS is the HTTPS destination signing with s (client nil: a default one).
func newHTTPS(endpoint string, client *http.Client, s forward.Secrets) forward.Destination {
	if client == nil {
		client = &http.Client{}
	}
	return forward.NewHTTPS(endpoint, client, fixedSecrets(s), "")
}

// canceled returns a context already canceled.
func canceled(t *testing.T) context.Context {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	return ctx
}

func testMessage() forward.Message {
	return forward.Message{
		ID:            "evt_01HZX3",
		Type:          "signalwire.conference.participant-join",
		ConferenceSID: "CF0123456789abcdef0123456789abcdef",
		Body:          []byte(`{"id":"evt_01HZX3","type":"participant-join","data":{"muted":false, "name":"Ann \u00e9"}}`),
	}
}

func TestHTTPSRequestShapeAndSignature(t *testing.T) {
	for _, secret := range []string{testSecret, strings.TrimPrefix(testSecret, "whsec_")} {
		t.Run(secret[:6], func(t *testing.T) {
			at(t, fixedClock(), func(t *testing.T) {
				ep := newEndpoint(t)
				dest := newHTTPS(ep.srv.URL+"/hook?token=abc", ep.client(), forward.Secrets{Current: secret})
				m := testMessage()
				if err := dest.Send(t.Context(), m); err != nil {
					t.Fatalf("Send: %v", err)
				}
				reqs := ep.got()
				if len(reqs) != 1 {
					t.Fatalf("endpoint got %d requests, want 1", len(reqs))
				}
				r := reqs[0]
				if r.Method != http.MethodPost {
					t.Errorf("method = %s, want POST", r.Method)
				}
				if ct := r.Header.Get("Content-Type"); ct != "application/json" {
					t.Errorf("Content-Type = %q", ct)
				}
				if string(r.Body) != string(m.Body) {
					t.Errorf("body changed:\n got %s\nwant %s", r.Body, m.Body)
				}
				if id := r.Header.Get("webhook-id"); id != m.ID {
					t.Errorf("webhook-id = %q, want %q", id, m.ID)
				}
				if ts := r.Header.Get("webhook-timestamp"); ts != "1700000000" {
					t.Errorf("webhook-timestamp = %q, want 1700000000", ts)
				}
				if !strings.HasPrefix(r.Header.Get("webhook-signature"), "v1,") {
					t.Errorf("webhook-signature = %q, want v1,<sig>", r.Header.Get("webhook-signature"))
				}
				if err := verifyStandardWebhook(t, testSecret, r.Header, r.Body, fixedClock().Add(2*time.Minute), 5*time.Minute); err != nil {
					t.Errorf("independent verification failed: %v", err)
				}
				if err := verifyStandardWebhook(t, testSecret, r.Header, r.Body, fixedClock().Add(time.Hour), 5*time.Minute); err == nil {
					t.Error("verifier accepted a stale timestamp")
				}
				tampered := append([]byte(nil), r.Body...)
				tampered[len(tampered)-2] = ' '
				if err := verifyStandardWebhook(t, testSecret, r.Header, tampered, fixedClock(), 5*time.Minute); err == nil {
					t.Error("verifier accepted a tampered body")
				}
				if r.Header.Get("X-Amzn-Trace-Id") != "" {
					t.Errorf("unexpected trace header %q", r.Header.Get("X-Amzn-Trace-Id"))
				}
			})
		})
	}
}

// The Standard Webhooks specification publishes this vector; reproducing it
// is what says receivers' libraries will accept our signatures.
func TestHTTPSMatchesPublishedVector(t *testing.T) {
	at(t, time.Unix(1614265330, 0), func(t *testing.T) {
		ep := newEndpoint(t)
		dest := newHTTPS(ep.srv.URL, ep.client(), forward.Secrets{Current: testSecret})
		m := forward.Message{ID: "msg_p5jXN8AQM9LWM0D4loKWxJek", Body: []byte(`{"test": 2432232314}`)}
		if err := dest.Send(t.Context(), m); err != nil {
			t.Fatalf("Send: %v", err)
		}
		const want = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
		if got := ep.got()[0].Header.Get("webhook-signature"); got != want {
			t.Errorf("webhook-signature = %q, want %q", got, want)
		}
	})
}

func TestHTTPSOverTLS(t *testing.T) {
	var got http.Header
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	dest := newHTTPS(srv.URL, srv.Client(), forward.Secrets{Current: testSecret})
	if err := dest.Send(t.Context(), testMessage()); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if got.Get("webhook-id") != testMessage().ID {
		t.Errorf("webhook-id = %q", got.Get("webhook-id"))
	}
}

func TestValidateSigningSecret(t *testing.T) {
	valid := []string{testSecret, strings.TrimPrefix(testSecret, "whsec_"), "whsec_" + base64.StdEncoding.EncodeToString(make([]byte, 64))}
	for _, s := range valid {
		if err := forward.ValidateSigningSecret(s); err != nil {
			t.Errorf("ValidateSigningSecret(%q) = %v, want nil", s, err)
		}
	}
	invalid := map[string]string{
		"empty":        "",
		"prefix only":  "whsec_",
		"not base64":   "whsec_not*base64*at*all!!!!!!!!!!",
		"url alphabet": "whsec_" + base64.URLEncoding.EncodeToString([]byte{0xfb, 0xff, 0xfe, 0xfb, 0xff, 0xfe, 0xfb, 0xff, 0xfe, 0xfb, 0xff, 0xfe, 0xfb, 0xff, 0xfe, 0xfb, 0xff, 0xfe, 0xfb, 0xff, 0xfe, 0xfb, 0xff, 0xfe}),
		"too short":    "whsec_" + base64.StdEncoding.EncodeToString([]byte("short-key")),
		"too long":     base64.StdEncoding.EncodeToString(make([]byte, 65)),
	}
	for name, s := range invalid {
		t.Run(name, func(t *testing.T) {
			err := forward.ValidateSigningSecret(s)
			if !errors.Is(err, forward.ErrInvalidSigningSecret) {
				t.Fatalf("ValidateSigningSecret = %v, want ErrInvalidSigningSecret", err)
			}
			if body := strings.TrimPrefix(s, "whsec_"); body != "" && strings.Contains(err.Error(), body) {
				t.Errorf("error %q reveals the secret", err)
			}
			err = newHTTPS("https://example.com/hook", nil, forward.Secrets{Current: s}).Send(canceled(t), testMessage())
			if !errors.Is(err, forward.ErrInvalidSigningSecret) {
				t.Errorf("Send = %v, want ErrInvalidSigningSecret", err)
			}
		})
	}
}

func TestNewHTTPSEndpointValidation(t *testing.T) {
	for _, ok := range []string{"https://hooks.example.com/x", "http://127.0.0.1:8080/x", "http://localhost/x", "http://[::1]:9/x"} {
		// A valid endpoint gets as far as the request, which the canceled
		// context stops before any traffic.
		if err := newHTTPS(ok, nil, forward.Secrets{Current: testSecret}).Send(canceled(t), testMessage()); !errors.Is(err, context.Canceled) {
			t.Errorf("NewHTTPS(%q): Send = %v, want context.Canceled", ok, err)
		}
	}
	for _, bad := range []string{"", "http://hooks.example.com/x", "ftp://hooks.example.com/x", "https:///nohost", "://bad"} {
		if err := newHTTPS(bad, nil, forward.Secrets{Current: testSecret}).Send(canceled(t), testMessage()); err == nil || errors.Is(err, context.Canceled) {
			t.Errorf("NewHTTPS(%q): Send = %v, want rejection", bad, err)
		}
	}
}

func TestHTTPSForwardsTraceHeader(t *testing.T) {
	const lambdaTrace = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
	const explicit = "Root=1-67891233-abcdef012345678912345678;Sampled=0"
	cases := []struct {
		name string
		ctx  context.Context
		want string
	}{
		{"invocation trace", obs.WithTraceID(t.Context(), lambdaTrace), lambdaTrace},
		{"later trace wins", obs.WithTraceID(obs.WithTraceID(t.Context(), lambdaTrace), explicit), explicit},
		{"no trace", t.Context(), ""},
		{"empty trace", obs.WithTraceID(t.Context(), ""), ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ep := newEndpoint(t)
			dest := newHTTPS(ep.srv.URL, nil, forward.Secrets{Current: testSecret})
			if err := dest.Send(tc.ctx, testMessage()); err != nil {
				t.Fatalf("Send: %v", err)
			}
			reqs := ep.got()
			if got := reqs[0].Header.Get("X-Amzn-Trace-Id"); got != tc.want {
				t.Errorf("X-Amzn-Trace-Id = %q, want %q", got, tc.want)
			}
			if _, present := reqs[0].Header["X-Amzn-Trace-Id"]; tc.want == "" && present {
				t.Error("trace header sent although there is no trace")
			}
		})
	}
}

func TestHTTPSStatusClassification(t *testing.T) {
	cases := []struct {
		status    int
		retryable bool
	}{
		{http.StatusInternalServerError, true},
		{http.StatusBadGateway, true},
		{http.StatusServiceUnavailable, true},
		{http.StatusRequestTimeout, true},
		{http.StatusTooManyRequests, true},
		{http.StatusNotImplemented, false},
		{http.StatusBadRequest, false},
		{http.StatusUnauthorized, false},
		{http.StatusNotFound, false},
		{http.StatusFound, false},
	}
	for _, tc := range cases {
		t.Run(strconv.Itoa(tc.status), func(t *testing.T) {
			ep := newEndpoint(t, tc.status)
			dest := newHTTPS(ep.srv.URL+"/hook", nil, forward.Secrets{Current: testSecret})
			err := dest.Send(t.Context(), testMessage())
			var se *forward.StatusError
			if !errors.As(err, &se) || se.StatusCode != tc.status {
				t.Fatalf("Send = %v, want *StatusError %d", err, tc.status)
			}
			if got := forward.Retryable(err); got != tc.retryable {
				t.Errorf("Retryable = %v, want %v", got, tc.retryable)
			}
			if n := len(ep.got()); n != 1 {
				t.Errorf("endpoint got %d requests, want 1 (redirects must not be followed)", n)
			}
		})
	}
}

func TestHTTPSSlowEndpointBoundedByContext(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)

	dest := newHTTPS(srv.URL, nil, forward.Secrets{Current: testSecret})
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	err := dest.Send(ctx, testMessage())
	if err == nil {
		t.Fatal("Send to a hanging endpoint returned nil")
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Send = %v, want it to wrap context.DeadlineExceeded", err)
	}
}

func TestHTTPSTransportErrorRetryableAndRedacted(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there any more: connection refused

	dest := newHTTPS(url+"/hook?token=s3cr3t-token", nil, forward.Secrets{Current: testSecret})
	err := dest.Send(t.Context(), testMessage())
	if err == nil {
		t.Fatal("Send to a closed port returned nil")
	}
	if !forward.Retryable(err) {
		t.Errorf("Retryable(%v) = false, want true for a transport error", err)
	}
	if strings.Contains(err.Error(), "s3cr3t-token") {
		t.Errorf("error %q reveals the endpoint's query string", err)
	}
	if strings.Contains(err.Error(), strings.TrimPrefix(testSecret, "whsec_")) {
		t.Errorf("error %q reveals the signing secret", err)
	}
}

func TestHTTPSRejectsMessageWithoutID(t *testing.T) {
	ep := newEndpoint(t)
	dest := newHTTPS(ep.srv.URL, nil, forward.Secrets{Current: testSecret})
	m := testMessage()
	m.ID = ""
	err := dest.Send(t.Context(), m)
	if err == nil || forward.Retryable(err) {
		t.Fatalf("Send without id = %v, want a permanent error", err)
	}
	if n := len(ep.got()); n != 0 {
		t.Errorf("endpoint got %d requests, want 0", n)
	}
}

// TestHTTPSSignsWithPreviousSecretDuringRotation (issue 14 §4): with a
// previous secret, webhook-signature carries both signatures, so a
// receiver verifying with either the old or the new secret accepts it.
func TestHTTPSSignsWithPreviousSecretDuringRotation(t *testing.T) {
	newSecret := "whsec_" + base64.StdEncoding.EncodeToString([]byte("a-brand-new-24-byte-key!"))
	at(t, fixedClock(), func(t *testing.T) {
		e := newEndpoint(t)
		h := newHTTPS(e.srv.URL, e.client(), forward.Secrets{Current: newSecret, Previous: testSecret})
		m := testMessage()
		if err := h.Send(context.Background(), m); err != nil {
			t.Fatal(err)
		}
		req := e.got()[0]
		if n := len(strings.Split(req.Header.Get("webhook-signature"), " ")); n != 2 {
			t.Fatalf("webhook-signature has %d entries, want 2", n)
		}
		for _, secret := range []string{newSecret, testSecret} {
			if err := verifyStandardWebhook(t, secret, req.Header, req.Body, fixedClock(), time.Minute); err != nil {
				t.Errorf("a receiver verifying with one of the secrets rejects: %v", err)
			}
		}
		// The same secret twice, or none, signs once.
		for _, prev := range []string{testSecret, ""} {
			if err := newHTTPS(e.srv.URL, e.client(), forward.Secrets{Current: testSecret, Previous: prev}).Send(context.Background(), m); err != nil {
				t.Fatal(err)
			}
			if sig := e.got()[len(e.got())-1].Header.Get("webhook-signature"); strings.Contains(sig, " ") {
				t.Errorf("previous %q: two signatures %q", prev, sig)
			}
		}
		bad := "whsec_" + base64.StdEncoding.EncodeToString([]byte("sixteen-byte-key"))
		if err := newHTTPS(e.srv.URL, nil, forward.Secrets{Current: testSecret, Previous: bad}).Send(context.Background(), m); !errors.Is(err, forward.ErrInvalidSigningSecret) || strings.Contains(err.Error(), bad) {
			t.Fatalf("invalid previous secret: err = %v", err)
		}
	})
}
