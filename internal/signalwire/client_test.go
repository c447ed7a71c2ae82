package signalwire

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

const (
	testProjectID = testAccountSID
	testToken     = "PTsecret-api-token-do-not-leak-0123456789"
)

// fakeAPI stands in for a SignalWire Space: a loopback TLS server, or an
// in-memory handler (newMemAPI).
type fakeAPI struct {
	srv      *httptest.Server // nil in memory
	handler  http.Handler
	requests atomic.Int64
	newConns atomic.Int64
}

// newFakeAPI starts a TLS server; handler sees the 1-based request number.
func newFakeAPI(t *testing.T, handler func(w http.ResponseWriter, r *http.Request, n int)) *fakeAPI {
	t.Helper()
	f := newMemAPI(handler)
	f.srv = httptest.NewUnstartedServer(f.handler)
	f.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			f.newConns.Add(1)
		}
	}
	f.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // handshakes cut by srv.Close are expected
	f.srv.StartTLS()
	t.Cleanup(f.srv.Close)
	return f
}

// newMemAPI serves handler in memory, without a network, so that a test can
// run in a synctest bubble, where backoff waits take no real time and can be
// measured exactly.
func newMemAPI(handler func(w http.ResponseWriter, r *http.Request, n int)) *fakeAPI {
	f := &fakeAPI{}
	f.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handler(w, r, int(f.requests.Add(1)))
	})
	return f
}

func (f *fakeAPI) auth() Auth {
	host := "space.example.com"
	if f.srv != nil {
		host = f.srv.Listener.Addr().String()
	}
	return Auth{ProjectID: testProjectID, APIToken: testToken, SpaceHost: host}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// recorder is a transport recording each HTTP attempt's status (0 when no
// response was received) and start.
type recorder struct {
	mu     sync.Mutex
	status []int
	starts []time.Time
}

func (r *recorder) wrap(base http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		start := time.Now()
		resp, err := base.RoundTrip(req)
		r.mu.Lock()
		defer r.mu.Unlock()
		r.starts = append(r.starts, start)
		if err != nil {
			r.status = append(r.status, 0)
		} else {
			r.status = append(r.status, resp.StatusCode)
		}
		return resp, err
	})
}

func (r *recorder) statuses() []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]int(nil), r.status...)
}

func (r *recorder) attempts() int { return len(r.statuses()) }

// waits are the times between attempts: the backoff waits, in a bubble.
func (r *recorder) waits() []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []time.Duration
	for i := 1; i < len(r.starts); i++ {
		out = append(out, r.starts[i].Sub(r.starts[i-1]))
	}
	return out
}

// client builds a Client talking to f, its attempts recorded by rec when
// it is not nil, with no jitter (tests may change c.retry).
func (f *fakeAPI) client(opts Options, rec *recorder) *Client {
	var tr http.RoundTripper = roundTripFunc(func(r *http.Request) (*http.Response, error) {
		w := httptest.NewRecorder()
		f.handler.ServeHTTP(w, r)
		return w.Result(), nil
	})
	if f.srv != nil {
		tr = f.srv.Client().Transport
	}
	if rec != nil {
		tr = rec.wrap(tr)
	}
	opts.HTTPClient = &http.Client{Transport: tr}
	c := NewClient(opts)
	c.retry.Jitter = noJitter
	return c
}

func noJitter(time.Duration) time.Duration { return 0 }

func fullJitter(d time.Duration) time.Duration { return d }

// bubble runs a test in a synctest bubble.
func bubble(f func(t *testing.T)) func(t *testing.T) {
	return func(t *testing.T) { synctest.Test(t, f) }
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func asAPIError(t *testing.T, err error) *APIError {
	t.Helper()
	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("error %v (%T) is not an *APIError", err, err)
	}
	return apiErr
}

func equalInts(a, b []int) bool {
	return fmt.Sprint(a) == fmt.Sprint(b)
}

func TestGetParticipantRequestShape(t *testing.T) {
	fixture := readFixture(t, "participant.json")
	type seen struct {
		method, path, rawURI, user, pass, accept, ua string
		basicOK                                      bool
	}
	var got seen
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		user, pass, ok := r.BasicAuth()
		got = seen{r.Method, r.URL.Path, r.RequestURI, user, pass, r.Header.Get("Accept"), r.Header.Get("User-Agent"), ok}
		writeJSON(w, http.StatusOK, fixture)
	})
	rec := &recorder{}
	c := f.client(Options{UserAgent: "participants-test/1.0"}, rec)
	p, err := c.GetParticipant(context.Background(), f.auth(), testRef())
	if err != nil {
		t.Fatalf("GetParticipant: %v", err)
	}
	wantPath := "/api/laml/2010-04-01/Accounts/" + testAccountSID + "/Conferences/" + testConferenceSID + "/Participants/" + testCallSID + ".json"
	want := seen{http.MethodGet, wantPath, wantPath, testProjectID, testToken, "application/json", "participants-test/1.0", true}
	if got != want {
		t.Errorf("request:\n got %+v\nwant %+v", got, want)
	}
	if str(p.CallSID) != testCallSID || str(p.Status) != "in-progress" || boolStr(p.Muted) != "true" {
		t.Errorf("participant = %+v", p)
	}
	if str(p.URI) != wantPath {
		t.Errorf("uri %q should equal the request path %q", str(p.URI), wantPath)
	}
	if !equalInts(rec.statuses(), []int{200}) {
		t.Errorf("attempts = %v, want one successful attempt", rec.statuses())
	}
}

func TestGetParticipantDefaultUserAgent(t *testing.T) {
	var ua string
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		ua = r.Header.Get("User-Agent")
		writeJSON(w, http.StatusOK, []byte(`{}`))
	})
	if _, err := f.client(Options{}, nil).GetParticipant(context.Background(), f.auth(), testRef()); err != nil {
		t.Fatal(err)
	}
	if ua != defaultUserAgent {
		t.Errorf("User-Agent = %q, want %q", ua, defaultUserAgent)
	}
}

func TestGetParticipantInvalidSIDsNeverReachServer(t *testing.T) {
	f := newFakeAPI(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
		writeJSON(w, http.StatusOK, []byte(`{}`))
	})
	rec := &recorder{}
	c := f.client(Options{}, rec)
	for name, bad := range invalidSIDs() {
		for _, field := range []string{fieldAccountSID, fieldConferenceSID, fieldCallSID} {
			ref := testRef()
			switch field {
			case fieldAccountSID:
				ref.AccountSID = bad
			case fieldConferenceSID:
				ref.ConferenceSID = bad
			case fieldCallSID:
				ref.CallSID = bad
			}
			p, err := c.GetParticipant(context.Background(), f.auth(), ref)
			var sidErr *InvalidSIDError
			if p != nil || !errors.As(err, &sidErr) || sidErr.Field != field {
				t.Errorf("%s in %s: got %v, %v; want *InvalidSIDError for %s", name, field, p, err, field)
			}
			if _, ok := kindOf(err); ok {
				t.Errorf("%s: kindOf(%v) reports a kind for invalid input", name, err)
			}
		}
	}
	if n := f.requests.Load(); n != 0 {
		t.Errorf("server saw %d requests, want 0", n)
	}
	if n := f.newConns.Load(); n != 0 {
		t.Errorf("server saw %d connections, want 0", n)
	}
	if rec.attempts() != 0 {
		t.Errorf("observer saw %d attempts, want 0", rec.attempts())
	}
}

func TestGetParticipantInvalidAuthNeverSent(t *testing.T) {
	f := newFakeAPI(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
		writeJSON(w, http.StatusOK, []byte(`{}`))
	})
	c := f.client(Options{}, nil)
	good := f.auth()
	cases := map[string]Auth{
		"scheme in host":    {ProjectID: good.ProjectID, APIToken: good.APIToken, SpaceHost: "https://" + good.SpaceHost},
		"path in host":      {ProjectID: good.ProjectID, APIToken: good.APIToken, SpaceHost: good.SpaceHost + "/x"},
		"userinfo in host":  {ProjectID: good.ProjectID, APIToken: good.APIToken, SpaceHost: "u:p@" + good.SpaceHost},
		"empty host":        {ProjectID: good.ProjectID, APIToken: good.APIToken},
		"empty token":       {ProjectID: good.ProjectID, SpaceHost: good.SpaceHost},
		"empty project":     {APIToken: good.APIToken, SpaceHost: good.SpaceHost},
		"colon in project":  {ProjectID: "a:b", APIToken: good.APIToken, SpaceHost: good.SpaceHost},
		"query in host":     {ProjectID: good.ProjectID, APIToken: good.APIToken, SpaceHost: good.SpaceHost + "?a=b"},
		"bad port in host":  {ProjectID: good.ProjectID, APIToken: good.APIToken, SpaceHost: "127.0.0.1:99999"},
		"whitespace suffix": {ProjectID: good.ProjectID, APIToken: good.APIToken, SpaceHost: good.SpaceHost + " "},
	}
	if _, err := c.GetParticipant(context.Background(), good, testRef()); err != nil { // the host validated last is good
		t.Fatal(err)
	}
	for name, auth := range cases {
		p, err := c.GetParticipant(context.Background(), auth, testRef())
		if err == nil || p != nil {
			t.Errorf("%s: got %v, %v; want an error", name, p, err)
			continue
		}
		if strings.Contains(err.Error(), testToken) {
			t.Errorf("%s: error %q contains the token", name, err)
		}
	}
	if n := f.requests.Load(); n != 1 {
		t.Errorf("server saw %d requests, want the good one only", n)
	}
}

func TestGetParticipantErrorStatuses(t *testing.T) {
	const moreInfo = "https://developer.signalwire.com/compatibility-api/reference/error-codes"
	cases := []struct {
		name        string
		status      int
		contentType string
		body        []byte
		kind        Kind
		code        int
		message     string
		moreInfo    string
		inError     string
	}{
		{"404 signalwire body", 404, "application/json", readFixture(t, "error_404.json"), KindNotFound, 20404,
			"The requested resource /Accounts/" + testAccountSID + "/Conferences/" + testConferenceSID + "/Participants/" + testCallSID + " was not found",
			moreInfo, `404 not found (code 20404: "The requested resource /Accounts/`},
		{"404 empty body", 404, "", nil, KindNotFound, 0, "Not Found", "", "404 not found"},
		{"404 html", 404, "text/html", []byte("<html><body>Not here</body></html>"), KindNotFound, 0, "Not Found", "", "404 not found"},
		{"410", 410, "application/json", []byte(`{}`), KindNotFound, 0, "Gone", "", "410 gone"},
		{"401", 401, "application/json", readFixture(t, "error_401.json"), KindUnauthorized, 20003, "Authentication Failure", moreInfo,
			`401 unauthorized (code 20003: "Authentication Failure")`},
		{"403 errors array", 403, "application/json", readFixture(t, "error_errors_array.json"), KindUnauthorized, 20003,
			"Missing Voice scope for this token", moreInfo, "403 forbidden (code 20003"},
		{"400 string code", 400, "application/json", readFixture(t, "error_400_strings.json"), kindBadRequest, 21220,
			"Invalid call state for this operation", moreInfo, "400 bad request (code 21220"},
		{"405 other 4xx", 405, "text/plain", []byte("method not allowed"), kindBadRequest, 0, "Method Not Allowed", "", "405 method not allowed"},
		{"302 without location", 302, "text/html", nil, KindBadResponse, 0, "Found", "", "bad response (HTTP 302)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeAPI(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
				if tc.contentType != "" {
					w.Header().Set("Content-Type", tc.contentType)
				}
				w.WriteHeader(tc.status)
				_, _ = w.Write(tc.body)
			})
			rec := &recorder{}
			p, err := f.client(Options{}, rec).GetParticipant(context.Background(), f.auth(), testRef())
			if p != nil {
				t.Fatalf("got participant %+v, want nil", p)
			}
			e := asAPIError(t, err)
			if e.Kind != tc.kind || e.StatusCode != tc.status || e.Code != tc.code || e.Message != tc.message || e.MoreInfo != tc.moreInfo || e.Attempts != 1 {
				t.Errorf("got %+v\nwant kind=%v status=%d code=%d message=%q more_info=%q attempts=1", e, tc.kind, tc.status, tc.code, tc.message, tc.moreInfo)
			}
			if k, ok := kindOf(fmt.Errorf("wrapped: %w", err)); !ok || k != tc.kind {
				t.Errorf("KindOf = %v, %v; want %v", k, ok, tc.kind)
			}
			if !strings.Contains(err.Error(), tc.inError) {
				t.Errorf("Error() = %q, want it to contain %q", err, tc.inError)
			}
			if n := f.requests.Load(); n != 1 {
				t.Errorf("server saw %d requests, want 1 (no retry)", n)
			}
			if !equalInts(rec.statuses(), []int{tc.status}) {
				t.Errorf("attempts = %v", rec.statuses())
			}
		})
	}
}

func TestAPIErrorMessage(t *testing.T) {
	cases := []struct {
		err  *APIError
		want string
	}{
		{&APIError{Kind: KindNotFound, StatusCode: 404, Code: 20404, Message: "The requested resource was not found", Attempts: 1},
			`signalwire: GET participant: 404 not found (code 20404: "The requested resource was not found")`},
		{&APIError{Kind: KindUpstream, StatusCode: 503, Message: "Service Unavailable", Attempts: 4},
			`signalwire: GET participant: 503 service unavailable after 4 attempts`},
		{&APIError{Kind: KindRateLimited, StatusCode: 429, Code: 20429, Attempts: 2},
			`signalwire: GET participant: 429 too many requests (code 20429) after 2 attempts`},
		{&APIError{Kind: KindNetwork, Attempts: 3, Err: errors.New("connection refused")},
			`signalwire: GET participant: network error after 3 attempts: connection refused`},
		{&APIError{Kind: KindTimeout, Attempts: 1, Err: context.DeadlineExceeded},
			`signalwire: GET participant: timeout: context deadline exceeded`},
		{&APIError{Kind: KindBadResponse, StatusCode: 200, Attempts: 1, Err: errors.New("response exceeds 10 bytes")},
			`signalwire: GET participant: bad response (HTTP 200): response exceeds 10 bytes`},
		{&APIError{Kind: kindBadRequest, StatusCode: 400, Message: "odd"},
			`signalwire: GET participant: 400 bad request ("odd")`},
		{&APIError{Kind: KindUpstream, StatusCode: 599},
			`signalwire: GET participant: 599 upstream`},
	}
	for _, c := range cases {
		if got := c.err.Error(); got != c.want {
			t.Errorf("got  %s\nwant %s", got, c.want)
		}
	}
}

func TestKindString(t *testing.T) {
	want := map[Kind]string{
		KindNotFound: "not_found", KindUnauthorized: "unauthorized", KindRateLimited: "rate_limited",
		KindUpstream: "upstream", KindTimeout: "timeout", KindNetwork: "network",
		KindBadResponse: "bad_response", kindBadRequest: "bad_request", Kind(0): "unknown(0)",
	}
	for k, s := range want {
		if k.String() != s {
			t.Errorf("Kind(%d).String() = %q, want %q", int(k), k.String(), s)
		}
	}
	if _, ok := kindOf(errors.New("plain")); ok {
		t.Error("kindOf(plain error) reports a kind")
	}
	if _, ok := kindOf(nil); ok {
		t.Error("kindOf(nil) reports a kind")
	}
}

func TestGetParticipantRateLimited(t *testing.T) {
	fixture := readFixture(t, "participant.json")
	rateLimitedThenOK := func(retryAfter string, failures int) func(http.ResponseWriter, *http.Request, int) {
		return func(w http.ResponseWriter, _ *http.Request, n int) {
			if n <= failures {
				if retryAfter != "" {
					w.Header().Set("Retry-After", retryAfter)
				}
				writeJSON(w, http.StatusTooManyRequests, readFixture(t, "error_429.json"))
				return
			}
			writeJSON(w, http.StatusOK, fixture)
		}
	}

	t.Run("retry-after seconds honoured", bubble(func(t *testing.T) {
		f := newMemAPI(rateLimitedThenOK("2", 1))
		rec := &recorder{}
		p, err := f.client(Options{}, rec).GetParticipant(context.Background(), f.auth(), testRef())
		if err != nil || str(p.CallSID) != testCallSID {
			t.Fatalf("got %+v, %v", p, err)
		}
		if !equalInts(rec.statuses(), []int{429, 200}) || fmt.Sprint(rec.waits()) != "[2s]" {
			t.Errorf("statuses %v waits %v, want [429 200] [2s]", rec.statuses(), rec.waits())
		}
	}))

	t.Run("retry-after 0: no wait", bubble(func(t *testing.T) {
		f := newMemAPI(rateLimitedThenOK("0", 1))
		rec := &recorder{}
		c := f.client(Options{}, rec)
		c.retry.Base, c.retry.Max, c.retry.Jitter = time.Hour, time.Hour, fullJitter
		if _, err := c.GetParticipant(context.Background(), f.auth(), testRef()); err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(rec.waits()) != "[0s]" {
			t.Errorf("waits %v, want [0s]", rec.waits())
		}
	}))

	t.Run("retry-after HTTP-date honoured", bubble(func(t *testing.T) {
		f := newMemAPI(rateLimitedThenOK(time.Now().Add(3*time.Second).Format(http.TimeFormat), 1))
		rec := &recorder{}
		c := f.client(Options{}, rec)
		if _, err := c.GetParticipant(context.Background(), f.auth(), testRef()); err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(rec.waits()) != "[3s]" || f.requests.Load() != 2 {
			t.Errorf("waits %v requests %d, want [3s] 2", rec.waits(), f.requests.Load())
		}
	}))

	t.Run("retry-after capped at 5s", bubble(func(t *testing.T) {
		f := newMemAPI(rateLimitedThenOK("3600", 2))
		rec := &recorder{}
		if _, err := f.client(Options{}, rec).GetParticipant(context.Background(), f.auth(), testRef()); err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(rec.waits()) != "[5s 5s]" {
			t.Errorf("waits %v, want [5s 5s]", rec.waits())
		}
	}))

	t.Run("without retry-after: jittered exponential backoff, then give up", bubble(func(t *testing.T) {
		f := newMemAPI(rateLimitedThenOK("", 100))
		rec := &recorder{}
		c := f.client(Options{}, rec)
		c.retry.Jitter = func(d time.Duration) time.Duration { return d / 2 }
		p, err := c.GetParticipant(context.Background(), f.auth(), testRef())
		e := asAPIError(t, err)
		if p != nil || e.Kind != KindRateLimited || e.StatusCode != 429 || e.Code != 20429 || e.Attempts != 4 || e.RetryAfter != 0 {
			t.Errorf("got %+v", e)
		}
		if fmt.Sprint(rec.waits()) != "[50ms 100ms 200ms]" {
			t.Errorf("waits %v, want [50ms 100ms 200ms]", rec.waits())
		}
		if f.requests.Load() != 4 || !equalInts(rec.statuses(), []int{429, 429, 429, 429}) {
			t.Errorf("requests %d, statuses %v", f.requests.Load(), rec.statuses())
		}
		if !strings.Contains(err.Error(), "after 4 attempts") {
			t.Errorf("Error() = %q", err)
		}
	}))

	t.Run("last retry-after carried", bubble(func(t *testing.T) {
		f := newMemAPI(rateLimitedThenOK("1", 100))
		e := asAPIError(t, func() error {
			c := f.client(Options{}, nil)
			c.retry.MaxAttempts = 2
			_, err := c.GetParticipant(context.Background(), f.auth(), testRef())
			return err
		}())
		if e.RetryAfter != time.Second || e.Attempts != 2 {
			t.Errorf("got %+v, want RetryAfter 1s after 2 attempts", e)
		}
	}))

	t.Run("real sleep", func(t *testing.T) {
		f := newFakeAPI(t, rateLimitedThenOK("", 1))
		rec := &recorder{}
		c := f.client(Options{}, rec)
		c.retry.Base, c.retry.Jitter = time.Millisecond, fullJitter
		if _, err := c.GetParticipant(context.Background(), f.auth(), testRef()); err != nil {
			t.Fatal(err)
		}
		if !equalInts(rec.statuses(), []int{429, 200}) {
			t.Errorf("statuses %v", rec.statuses())
		}
	})
}

func TestGetParticipantServerErrorsThenSuccess(t *testing.T) {
	fixture := readFixture(t, "participant.json")
	statuses := []int{500, 502, 503}
	f := newFakeAPI(t, func(w http.ResponseWriter, _ *http.Request, n int) {
		if n <= len(statuses) {
			if n == 2 {
				w.Header().Set("Content-Type", "text/html")
				w.WriteHeader(statuses[n-1])
				_, _ = w.Write(readFixture(t, "error_proxy.html"))
				return
			}
			writeJSON(w, statuses[n-1], []byte(`{"code":20504,"message":"Internal error","status":`+strconv.Itoa(statuses[n-1])+`}`))
			return
		}
		writeJSON(w, http.StatusOK, fixture)
	})
	rec := &recorder{}
	p, err := f.client(Options{}, rec).GetParticipant(context.Background(), f.auth(), testRef())
	if err != nil || str(p.ConferenceSID) != testConferenceSID {
		t.Fatalf("got %+v, %v", p, err)
	}
	if !equalInts(rec.statuses(), []int{500, 502, 503, 200}) {
		t.Errorf("statuses %v", rec.statuses())
	}
}

func TestGetParticipantExhaustsRetries(t *testing.T) {
	for _, maxAttempts := range []int{0, 1, 2, 5} {
		t.Run("max "+strconv.Itoa(maxAttempts), func(t *testing.T) {
			f := newFakeAPI(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
				writeJSON(w, http.StatusServiceUnavailable, []byte(`{"code":20504,"message":"Internal error","status":503}`))
			})
			rec := &recorder{}
			c := f.client(Options{}, rec)
			want := 4 // the default
			if maxAttempts > 0 {
				c.retry.MaxAttempts, want = maxAttempts, maxAttempts
			}
			_, err := c.GetParticipant(context.Background(), f.auth(), testRef())
			e := asAPIError(t, err)
			if e.Kind != KindUpstream || e.StatusCode != 503 || e.Code != 20504 || e.Attempts != want {
				t.Errorf("got %+v, want upstream 503 after %d attempts", e, want)
			}
			if int(f.requests.Load()) != want || rec.attempts() != want {
				t.Errorf("requests %d attempts %d, want %d", f.requests.Load(), rec.attempts(), want)
			}
		})
	}
}

func TestGetParticipantDeadlineTooShortToRetry(t *testing.T) {
	cases := map[string]struct {
		retryAfter string
		backoff    time.Duration
	}{
		"retry-after beyond deadline": {"3600", 0}, // capped at 5s
		"backoff beyond deadline":     {"", time.Hour},
	}
	for name, tc := range cases {
		t.Run(name, bubble(func(t *testing.T) {
			f := newMemAPI(func(w http.ResponseWriter, _ *http.Request, _ int) {
				if tc.retryAfter != "" {
					w.Header().Set("Retry-After", tc.retryAfter)
				}
				writeJSON(w, http.StatusServiceUnavailable, []byte(`{"code":20504,"message":"busy","status":503}`))
			})
			rec := &recorder{}
			c := f.client(Options{}, rec)
			if tc.backoff > 0 {
				c.retry.Base, c.retry.Max, c.retry.Jitter = tc.backoff, tc.backoff, fullJitter
			}
			start := time.Now()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_, err := c.GetParticipant(ctx, f.auth(), testRef())
			e := asAPIError(t, err)
			if e.Kind != KindUpstream || e.StatusCode != 503 || e.Message != "busy" || e.Attempts != 1 {
				t.Errorf("got %+v, want the last (503) error after 1 attempt", e)
			}
			if slept := time.Since(start); slept != 0 || f.requests.Load() != 1 || rec.attempts() != 1 {
				t.Errorf("slept %v, requests %d, attempts %d; want no wait and no further attempt", slept, f.requests.Load(), rec.attempts())
			}
		}))
	}
}

// hijackPartial answers 200 with a Content-Length larger than the body it
// writes, then closes the connection (reset when rst is set).
func hijackPartial(t *testing.T, w http.ResponseWriter, rst bool) {
	conn, buf, err := w.(http.Hijacker).Hijack()
	if err != nil {
		t.Errorf("hijack: %v", err)
		return
	}
	_, _ = buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{\"account_sid\":\"b3877c40-")
	_ = buf.Flush()
	if rst {
		if tc, ok := conn.(*tls.Conn); ok {
			if tcp, ok := tc.NetConn().(*net.TCPConn); ok {
				_ = tcp.SetLinger(0)
			}
		}
	}
	_ = conn.Close()
}

func TestGetParticipantConnectionDroppedMidBodyIsRetried(t *testing.T) {
	fixture := readFixture(t, "participant.json")
	for _, rst := range []bool{false, true} {
		t.Run("rst="+strconv.FormatBool(rst), func(t *testing.T) {
			f := newFakeAPI(t, func(w http.ResponseWriter, _ *http.Request, n int) {
				if n == 1 {
					hijackPartial(t, w, rst)
					return
				}
				writeJSON(w, http.StatusOK, fixture)
			})
			rec := &recorder{}
			p, err := f.client(Options{}, rec).GetParticipant(context.Background(), f.auth(), testRef())
			if err != nil || str(p.CallSID) != testCallSID {
				t.Fatalf("got %+v, %v", p, err)
			}
			// A 200 is retried only when its body was cut short.
			if got := rec.statuses(); len(got) != 2 || !rst && got[0] != 200 {
				t.Fatalf("attempts = %v, want 2, the first a 200 cut short (headers were read)", got)
			}
		})
	}
}

func TestGetParticipantNetworkErrorsExhausted(t *testing.T) {
	f := newFakeAPI(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
		hijackPartial(t, w, false)
	})
	rec := &recorder{}
	_, err := f.client(Options{}, rec).GetParticipant(context.Background(), f.auth(), testRef())
	e := asAPIError(t, err)
	if e.Kind != KindNetwork || e.Attempts != 4 || e.Err == nil || f.requests.Load() != 4 {
		t.Errorf("got %+v after %d requests, want a network error after 4", e, f.requests.Load())
	}
}

func TestGetParticipantConnectionRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	host := l.Addr().String()
	_ = l.Close() // nothing listens there now
	c := NewClient(Options{})
	c.retry.MaxAttempts, c.retry.Jitter = 2, noJitter
	_, err = c.GetParticipant(context.Background(), Auth{ProjectID: testProjectID, APIToken: testToken, SpaceHost: host}, testRef())
	e := asAPIError(t, err)
	if e.Kind != KindNetwork || e.Attempts != 2 || e.StatusCode != 0 {
		t.Errorf("got %+v", e)
	}
	if strings.Contains(err.Error(), testToken) {
		t.Errorf("error %q contains the token", err)
	}
}

func TestGetParticipantBadResponses(t *testing.T) {
	cases := []struct {
		name, contentType, body, inError string
	}{
		{"truncated JSON", "application/json", `{"account_sid":"b3877c40-da60-4998-90ad-b792e98472af","status":"in-pro`, "not a JSON object"},
		{"HTML page with 200", "text/html; charset=utf-8", "<!DOCTYPE html><html><body>Maintenance</body></html>", `content type "text/html; charset=utf-8"`},
		{"wrong content type, non-JSON body", "text/plain", "status=in-progress", `content type "text/plain"`},
		{"JSON array", "application/json", `[{"status":"in-progress"}]`, "got a JSON array"},
		{"JSON null", "application/json", `null`, "got null"},
		{"empty body", "application/json", "", "not a JSON object"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeAPI(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
				w.Header().Set("Content-Type", tc.contentType)
				_, _ = w.Write([]byte(tc.body))
			})
			rec := &recorder{}
			p, err := f.client(Options{}, rec).GetParticipant(context.Background(), f.auth(), testRef())
			if p != nil {
				t.Fatalf("got %+v, want nil", p)
			}
			e := asAPIError(t, err)
			if e.Kind != KindBadResponse || e.StatusCode != 200 || e.Attempts != 1 || f.requests.Load() != 1 {
				t.Errorf("got %+v after %d requests, want bad_response after 1", e, f.requests.Load())
			}
			if !strings.Contains(err.Error(), tc.inError) {
				t.Errorf("Error() = %q, want it to contain %q", err, tc.inError)
			}
		})
	}
}

func TestGetParticipantWrongContentTypeWithJSONObjectIsAccepted(t *testing.T) {
	f := newFakeAPI(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write(readFixture(t, "participant.json"))
	})
	p, err := f.client(Options{}, nil).GetParticipant(context.Background(), f.auth(), testRef())
	if err != nil || str(p.Status) != "in-progress" {
		t.Fatalf("got %+v, %v", p, err)
	}
}

func TestGetParticipantBodyOverCap(t *testing.T) {
	const size = 10 << 20
	f := newFakeAPI(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(size))
		bw := bufio.NewWriterSize(w, 64<<10)
		_, _ = bw.WriteString(`{"label":"`)
		chunk := []byte(strings.Repeat("x", 64<<10))
		for written := 10; written < size-2; written += len(chunk) {
			if rest := size - 2 - written; rest < len(chunk) {
				chunk = chunk[:rest]
			}
			if _, err := bw.Write(chunk); err != nil {
				return // the client hung up, as expected
			}
		}
		_, _ = bw.WriteString(`"}`)
		_ = bw.Flush()
	})
	p, err := f.client(Options{}, nil).GetParticipant(context.Background(), f.auth(), testRef())
	if p != nil {
		t.Fatalf("got %+v, want nil", p)
	}
	e := asAPIError(t, err)
	if e.Kind != KindBadResponse || e.Attempts != 1 || !strings.Contains(err.Error(), "response exceeds 1048576 bytes") {
		t.Errorf("got %v (%+v), want bad_response over 1 MiB", err, e)
	}
	if f.requests.Load() != 1 {
		t.Errorf("server saw %d requests, want 1 (no retries)", f.requests.Load())
	}
}

func TestGetParticipantContextDeadlineExceeded(t *testing.T) {
	f := newFakeAPI(t, func(_ http.ResponseWriter, r *http.Request, _ int) {
		<-r.Context().Done() // never answer; the client gives up
	})
	rec := &recorder{}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := f.client(Options{}, rec).GetParticipant(ctx, f.auth(), testRef())
	e := asAPIError(t, err)
	if e.Kind != KindTimeout || e.Attempts != 1 || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v (%+v), want a timeout wrapping context.DeadlineExceeded after 1 attempt", err, e)
	}
	if rec.attempts() != 1 {
		t.Errorf("attempts %v, want 1 attempt and no retry", rec.statuses())
	}
}

func TestGetParticipantContextCanceled(t *testing.T) {
	t.Run("during the request", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		f := newFakeAPI(t, func(_ http.ResponseWriter, r *http.Request, _ int) {
			cancel()
			<-r.Context().Done()
		})
		_, err := f.client(Options{}, nil).GetParticipant(ctx, f.auth(), testRef())
		if k, _ := kindOf(err); k != KindTimeout || !errors.Is(err, context.Canceled) {
			t.Errorf("got %v, want a timeout wrapping context.Canceled", err)
		}
		if f.requests.Load() != 1 {
			t.Errorf("requests %d, want 1", f.requests.Load())
		}
	})
	t.Run("before the call", func(t *testing.T) {
		f := newFakeAPI(t, func(w http.ResponseWriter, _ *http.Request, _ int) { writeJSON(w, 200, []byte(`{}`)) })
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := f.client(Options{}, nil).GetParticipant(ctx, f.auth(), testRef())
		e := asAPIError(t, err)
		if e.Kind != KindTimeout || e.Attempts != 0 || !errors.Is(err, context.Canceled) || f.requests.Load() != 0 {
			t.Errorf("got %+v after %d requests, want a timeout and no request", e, f.requests.Load())
		}
	})
	t.Run("during the backoff wait", bubble(func(t *testing.T) {
		f := newMemAPI(func(w http.ResponseWriter, _ *http.Request, _ int) {
			writeJSON(w, http.StatusBadGateway, nil)
		})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		// Cancel as the wait is drawn, just before it starts.
		c := f.client(Options{}, nil)
		c.retry.Base, c.retry.Max, c.retry.Jitter = time.Hour, time.Hour, func(d time.Duration) time.Duration { cancel(); return d / 2 }
		start := time.Now()
		_, err := c.GetParticipant(ctx, f.auth(), testRef())
		e := asAPIError(t, err)
		if e.Kind != KindTimeout || e.Attempts != 1 || !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "502 bad gateway") {
			t.Errorf("got %v (%+v), want a timeout naming the last 502", err, e)
		}
		if f.requests.Load() != 1 || time.Since(start) != 0 {
			t.Errorf("requests %d after %v, want 1 and the wait cut short", f.requests.Load(), time.Since(start))
		}
	}))
}

func TestGetParticipantTokenNeverInErrors(t *testing.T) {
	echo := []byte(`{"code":20003,"message":"token ` + testToken + ` rejected","more_info":"https://x/?t=` + testToken + `","status":401}`)
	handlers := map[string]func(http.ResponseWriter, *http.Request, int){
		"401 echoing the token": func(w http.ResponseWriter, _ *http.Request, _ int) { writeJSON(w, 401, echo) },
		"404": func(w http.ResponseWriter, _ *http.Request, _ int) {
			writeJSON(w, 404, readFixture(t, "error_404.json"))
		},
		"503 echoing the token": func(w http.ResponseWriter, _ *http.Request, _ int) { writeJSON(w, 503, echo) },
		"429":                   func(w http.ResponseWriter, _ *http.Request, _ int) { writeJSON(w, 429, nil) },
		"HTML 200 echoing the token": func(w http.ResponseWriter, _ *http.Request, _ int) {
			w.Header().Set("Content-Type", "text/html")
			_, _ = w.Write([]byte("<html>" + testToken + "</html>"))
		},
		"dropped connection": func(w http.ResponseWriter, _ *http.Request, _ int) { hijackPartial(t, w, false) },
		"too big": func(w http.ResponseWriter, _ *http.Request, _ int) {
			writeJSON(w, 200, []byte(`{"label":"`+strings.Repeat(testToken, 30000)+`"}`)) // over 1 MiB
		},
	}
	for name, h := range handlers {
		t.Run(name, func(t *testing.T) {
			f := newFakeAPI(t, h)
			rec := &recorder{}
			_, err := f.client(Options{}, rec).GetParticipant(context.Background(), f.auth(), testRef())
			if err == nil {
				t.Fatal("want an error")
			}
			texts := []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)}
			var e *APIError
			if errors.As(err, &e) {
				texts = append(texts, fmt.Sprintf("%+v", *e), e.Message, e.MoreInfo)
			}
			for _, s := range texts {
				if strings.Contains(s, testToken) {
					t.Errorf("the token leaked: %q", s)
				}
			}
		})
	}
	t.Run("timeout", func(t *testing.T) {
		f := newFakeAPI(t, func(_ http.ResponseWriter, r *http.Request, _ int) { <-r.Context().Done() })
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		_, err := f.client(Options{}, nil).GetParticipant(ctx, f.auth(), testRef())
		if err == nil || strings.Contains(err.Error(), testToken) {
			t.Errorf("got %v", err)
		}
	})
	if s := fmt.Sprintf("%v %+v %#v", Auth{APIToken: testToken}, Auth{APIToken: testToken}, Auth{APIToken: testToken}); strings.Contains(s, testToken) {
		t.Errorf("Auth formatting leaks the token: %s", s)
	}
}

func TestGetParticipantReusesConnection(t *testing.T) {
	fixture := readFixture(t, "participant.json")
	f := newFakeAPI(t, func(w http.ResponseWriter, _ *http.Request, n int) {
		switch n {
		case 2:
			writeJSON(w, http.StatusNotFound, readFixture(t, "error_404.json"))
		case 3:
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadGateway)
			_, _ = w.Write(readFixture(t, "error_proxy.html"))
		case 5:
			w.Header().Set("Retry-After", "0")
			writeJSON(w, http.StatusTooManyRequests, readFixture(t, "error_429.json"))
		case 7:
			w.Header().Set("Content-Type", "text/html")
			_, _ = w.Write([]byte("<html>not json</html>"))
		default:
			writeJSON(w, http.StatusOK, fixture)
		}
	})
	c := f.client(Options{}, nil)
	for i := 0; i < 6; i++ {
		_, _ = c.GetParticipant(context.Background(), f.auth(), testRef())
	}
	if got := f.requests.Load(); got != 8 {
		t.Errorf("server saw %d requests, want 8", got)
	}
	if got := f.newConns.Load(); got != 1 {
		t.Errorf("server saw %d new connections over 6 calls, want 1", got)
	}
}

func TestGetParticipantConcurrentUse(t *testing.T) {
	fixture := readFixture(t, "participant.json")
	f := newFakeAPI(t, func(w http.ResponseWriter, _ *http.Request, n int) {
		if n%3 == 0 {
			writeJSON(w, http.StatusServiceUnavailable, nil)
			return
		}
		writeJSON(w, http.StatusOK, fixture)
	})
	c := f.client(Options{}, &recorder{})
	c.retry.MaxAttempts = 10
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.GetParticipant(context.Background(), f.auth(), testRef()); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	cases := map[string]time.Duration{
		"":                      -1,
		"0":                     0,
		"1":                     time.Second,
		" 7 ":                   7 * time.Second,
		"99999999999":           24 * time.Hour,
		"999999999999999999999": -1,
		"-1":                    -1,
		"1.5":                   -1,
		"soon":                  -1,
		now.Add(90 * time.Second).Format(http.TimeFormat): 90 * time.Second,
		now.Add(-time.Hour).Format(http.TimeFormat):       0,
		"Sunday, 01-Mar-26 12:00:10 GMT":                  10 * time.Second,
	}
	for in, want := range cases {
		if got := parseRetryAfter(in, now); got != want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestNewClientDefaults(t *testing.T) {
	c := NewClient(Options{})
	if p := c.retry; p.MaxAttempts != 4 || p.Base != 100*time.Millisecond || p.Max != 2*time.Second || p.Reserve != 50*time.Millisecond || p.Jitter != nil {
		t.Errorf("default retry policy: %+v", p)
	}
	if c.http.Timeout != 0 {
		t.Errorf("default client has a Timeout %v; the context bounds calls", c.http.Timeout)
	}
	tr, ok := c.http.Transport.(*http.Transport)
	if !ok {
		t.Fatalf("default transport is %T", c.http.Transport)
	}
	if tr.MaxIdleConnsPerHost < 2 || tr.IdleConnTimeout != 90*time.Second || tr.TLSHandshakeTimeout == 0 || !tr.ForceAttemptHTTP2 || tr.DisableKeepAlives {
		t.Errorf("default transport: %+v", tr)
	}
	if err := c.http.CheckRedirect(nil, nil); !errors.Is(err, http.ErrUseLastResponse) {
		t.Errorf("default client follows redirects: %v", err)
	}
}

// TestGetParticipantDerivedTokenFormsNeverInErrors (issue 10 §6): an
// upstream echoing the request's Authorization header, or the token in any
// encoding, gets none of those forms into the error.
func TestGetParticipantDerivedTokenFormsNeverInErrors(t *testing.T) {
	var basic string
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		basic = r.Header.Get("Authorization")
		pair := testProjectID + ":" + testToken
		forms := []string{
			basic,
			base64.RawStdEncoding.EncodeToString([]byte(pair)),
			base64.URLEncoding.EncodeToString([]byte(pair)),
			base64.StdEncoding.EncodeToString([]byte(testToken)),
			base64.RawURLEncoding.EncodeToString([]byte(testToken)),
			url.QueryEscape(basic),
		}
		body, _ := json.Marshal(map[string]any{"code": 20003, "message": "rejected " + strings.Join(forms, " | "), "more_info": "https://x/?a=" + url.QueryEscape(basic)})
		writeJSON(w, 401, body)
	})
	_, err := f.client(Options{}, nil).GetParticipant(context.Background(), f.auth(), testRef())
	if err == nil || !strings.HasPrefix(basic, "Basic ") {
		t.Fatalf("want a 401 error, got %v (auth %q)", err, basic)
	}
	b64 := strings.TrimPrefix(basic, "Basic ")
	pair := testProjectID + ":" + testToken
	for _, form := range []string{b64, strings.TrimRight(b64, "="), base64.URLEncoding.EncodeToString([]byte(pair)),
		base64.StdEncoding.EncodeToString([]byte(testToken)), base64.RawURLEncoding.EncodeToString([]byte(testToken)), url.QueryEscape(b64)} {
		if strings.Contains(err.Error(), form) {
			t.Errorf("error contains a derived form of the token %q: %v", form, err)
		}
	}
	if !strings.Contains(err.Error(), "[redacted]") {
		t.Errorf("nothing was redacted: %v", err)
	}
}

// kindOf returns the Kind of the *APIError in err's chain, if there is one.
func kindOf(err error) (Kind, bool) {
	var e *APIError
	if errors.As(err, &e) {
		return e.Kind, true
	}
	return 0, false
}
