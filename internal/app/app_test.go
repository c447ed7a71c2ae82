package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signalwire-lambda/participants/internal/credentials"
	"github.com/signalwire-lambda/participants/internal/obs"
	"github.com/signalwire-lambda/participants/internal/signalwire"
)

const (
	acct = "5a3e1c2b-7d4f-4e8a-9b6c-0d1e2f3a4b5c"
	conf = "cf000001-5a4d-4b0c-9a11-000000000001"
	call = "ca110001-5a4d-4b0c-9a11-000000000001"
)

// fakeCreds hands out numbered credential sets and counts fetches.
type fakeCreds struct {
	mu        sync.Mutex
	version   uint64
	gets      int
	refreshes int
	err       error
	// signingKeys[v-1] is the signing key of version v (default "PSK_key").
	signingKeys []string
}

func (f *fakeCreds) creds() credentials.Credentials {
	key := "PSK_key"
	if int(f.version) <= len(f.signingKeys) {
		key = f.signingKeys[f.version-1]
	}
	return credentials.Credentials{ProjectID: acct, APIToken: fmt.Sprintf("PTtoken-v%d", f.version), SpaceHost: "example.signalwire.com", SigningKey: key}
}

func (f *fakeCreds) Get(ctx context.Context) (credentials.Credentials, uint64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gets++
	if f.err != nil {
		return credentials.Credentials{}, 0, f.err
	}
	if f.version == 0 {
		f.version = 1
	}
	return f.creds(), f.version, nil
}

func (f *fakeCreds) Refresh(ctx context.Context, stale uint64) (credentials.Credentials, uint64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refreshes++
	if f.version == stale {
		f.version++
	}
	return f.creds(), f.version, nil
}

// fakeUpstream answers with a scripted error per call, then a participant.
type fakeUpstream struct {
	mu     sync.Mutex
	errs   []error
	tokens []string
}

func (f *fakeUpstream) GetParticipant(ctx context.Context, auth signalwire.Auth, ref signalwire.ParticipantRef) (*signalwire.Participant, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tokens = append(f.tokens, auth.APIToken)
	if len(f.errs) > 0 {
		err := f.errs[0]
		f.errs = f.errs[1:]
		if err != nil {
			return nil, err
		}
	}
	status, date := "in-progress", "Mon, 24 Sep 2018 21:00:00 +0000"
	muted := true
	return &signalwire.Participant{AccountSID: &ref.AccountSID, ConferenceSID: &ref.ConferenceSID, CallSID: &ref.CallSID, Status: &status, Muted: &muted, DateCreated: &date}, nil
}

// ListParticipants lists one participant, answered as GetParticipant
// answers call.
func (f *fakeUpstream) ListParticipants(ctx context.Context, auth signalwire.Auth, ref signalwire.ParticipantRef, _ signalwire.ListFilter) ([]*signalwire.Participant, error) {
	ref.CallSID = call
	p, err := f.GetParticipant(ctx, auth, ref)
	if err != nil {
		return nil, err
	}
	return []*signalwire.Participant{p}, nil
}

func newTestApp(up participantGetter, cr CredentialSource) (*App, *bytes.Buffer) {
	var buf bytes.Buffer
	return New(cr, up, obs.NewLogger(&buf, slog.LevelDebug)), &buf
}

func get(path string) Request {
	return Request{Method: "GET", Path: path, Headers: map[string]string{}}
}

func readPath(a, c, p string) string {
	return "/accounts/" + a + "/conferences/" + c + "/participants/" + p
}

func decodeProblem(t *testing.T, r Response) map[string]any {
	t.Helper()
	if r.Headers["Content-Type"] != "application/problem+json" {
		t.Fatalf("content type %q, body %s", r.Headers["Content-Type"], r.Body)
	}
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatal(err)
	}
	if m["status"] != float64(r.Status) || m["type"] == "" || m["title"] == "" {
		t.Fatalf("problem body %v does not match status %d", m, r.Status)
	}
	return m
}

func TestReadRouteReturnsNormalizedParticipant(t *testing.T) {
	up := &fakeUpstream{}
	a, _ := newTestApp(up, &fakeCreds{})
	for _, path := range []string{readPath(acct, conf, call), "/Prod" + readPath(acct, conf, call), readPath(acct, conf, call) + "/"} {
		r := NewRoutes(a, nil).Handle(context.Background(), get(path))
		if r.Status != 200 || r.Headers["Content-Type"] != "application/json" {
			t.Fatalf("%s: %d %s", path, r.Status, r.Body)
		}
		var p map[string]any
		json.Unmarshal(r.Body, &p)
		if p["date_created"] != "2018-09-24T21:00:00Z" || p["muted"] != true || p["hold"] != nil || p["schema_version"] != float64(1) {
			t.Fatalf("body %s", r.Body)
		}
	}
	// API Gateway's path parameters win over the path.
	req := get("/anything")
	req.PathParams = map[string]string{"account_sid": acct, "conference_sid": conf, "call_sid": call}
	if r := NewRoutes(a, nil).Handle(context.Background(), req); r.Status != 200 {
		t.Fatalf("path params: %d %s", r.Status, r.Body)
	}
}

func TestInvalidSIDsNeverReachUpstreamOrSecrets(t *testing.T) {
	up, cr := &fakeUpstream{}, &fakeCreds{}
	a, _ := newTestApp(up, cr)
	bad := []struct{ path, field string }{
		{readPath("not-a-uuid", conf, call), "account_sid"},
		{readPath(acct, "..", call), "conference_sid"},
		{readPath(acct, conf, "ca110001-5a4d-4b0c-9a11-..%2F..%2Fx"), "call_sid"},
		{readPath(acct, conf, "ca110001%2F5a4d-4b0c-9a11-000000000001"), "call_sid"},
		{readPath(acct, conf, strings.Repeat("a", 5000)), "call_sid"},
		{readPath(acct, conf, "ca110001-5a4d-4b0c-9a11-00000000000１"), "call_sid"}, // fullwidth digit one
	}
	for _, tc := range bad {
		r := NewRoutes(a, nil).Handle(context.Background(), get(tc.path))
		if r.Status != 400 {
			t.Fatalf("%s: status %d", tc.path, r.Status)
		}
		m := decodeProblem(t, r)
		if m["field"] != tc.field || !strings.HasSuffix(m["type"].(string), "invalid-sid") {
			t.Errorf("%s: problem %v", tc.path, m)
		}
	}
	if len(up.tokens) != 0 || cr.gets != 0 {
		t.Fatalf("bad SIDs reached upstream %d times and the secret %d times", len(up.tokens), cr.gets)
	}
}

func TestUnauthorizedRefreshesCredentialsOnce(t *testing.T) {
	unauthorized := &signalwire.APIError{Kind: signalwire.KindUnauthorized, StatusCode: 401, Code: 20003}
	up, cr := &fakeUpstream{errs: []error{unauthorized}}, &fakeCreds{}
	a, logs := newTestApp(up, cr)
	r := NewRoutes(a, nil).Handle(context.Background(), get(readPath(acct, conf, call)))
	if r.Status != 200 || cr.refreshes != 1 {
		t.Fatalf("status %d, refreshes %d", r.Status, cr.refreshes)
	}
	if len(up.tokens) != 2 || up.tokens[0] != "PTtoken-v1" || up.tokens[1] != "PTtoken-v2" {
		t.Fatalf("tokens used: %v", up.tokens)
	}
	// Still rejected after the refresh: 502 and no second refresh.
	up.errs = []error{unauthorized, unauthorized}
	r = NewRoutes(a, nil).Handle(context.Background(), get(readPath(acct, conf, call)))
	if r.Status != 502 || cr.refreshes != 2 {
		t.Fatalf("status %d, refreshes %d (want 502 and one more)", r.Status, cr.refreshes)
	}
	decodeProblem(t, r)
	if strings.Contains(logs.String(), "PTtoken") || strings.Contains(string(r.Body), "PTtoken") {
		t.Fatal("a token leaked into a log or response")
	}
}

func TestErrorMapping(t *testing.T) {
	cases := []struct {
		err    error
		status int
		kind   string
	}{
		{&signalwire.APIError{Kind: signalwire.KindNotFound, StatusCode: 404}, 404, problemNotFound},
		{&signalwire.APIError{Kind: signalwire.KindRateLimited, StatusCode: 429, RetryAfter: 3 * time.Second}, 503, problemUpstreamRateLimited},
		{&signalwire.APIError{Kind: signalwire.KindUpstream, StatusCode: 503}, 502, problemUpstreamError},
		{&signalwire.APIError{Kind: signalwire.KindBadResponse, StatusCode: 200}, 502, problemUpstreamError},
		{&signalwire.APIError{Kind: signalwire.KindNetwork}, 502, problemUpstreamError},
		{&signalwire.APIError{Kind: signalwire.KindTimeout, Err: context.DeadlineExceeded}, 504, problemUpstreamTimeout},
		{errors.New("boom"), 500, problemInternal},
	}
	for _, tc := range cases {
		a, _ := newTestApp(&fakeUpstream{errs: []error{tc.err}}, &fakeCreds{})
		r := NewRoutes(a, nil).Handle(context.Background(), get(readPath(acct, conf, call)))
		if r.Status != tc.status {
			t.Errorf("%v: status %d, want %d", tc.err, r.Status, tc.status)
			continue
		}
		if m := decodeProblem(t, r); !strings.HasSuffix(m["type"].(string), tc.kind) {
			t.Errorf("%v: type %v, want %s", tc.err, m["type"], tc.kind)
		}
		if tc.status == 503 && r.Headers["Retry-After"] != "3" {
			t.Errorf("rate limited: Retry-After %q", r.Headers["Retry-After"])
		}
	}
}

func TestCredentialsFailureIs503WithoutInternals(t *testing.T) {
	cr := &fakeCreds{err: fmt.Errorf("secret arn:aws:secretsmanager:us-east-1:1:secret:sw: access to the credentials secret denied: %w", credentials.ErrUnavailable)}
	a, logs := newTestApp(&fakeUpstream{}, cr)
	r := NewRoutes(a, nil).Handle(context.Background(), get(readPath(acct, conf, call)))
	m := decodeProblem(t, r)
	if r.Status != 503 || strings.Contains(string(r.Body), "arn:aws") || !strings.HasSuffix(m["type"].(string), problemCredentialsUnavailable) {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	if !strings.Contains(logs.String(), "access to the credentials secret denied") {
		t.Fatalf("the log must carry the cause: %s", logs)
	}
}

func TestRoutingErrors(t *testing.T) {
	a, _ := newTestApp(&fakeUpstream{}, &fakeCreds{})
	if r := NewRoutes(a, nil).Handle(context.Background(), get("/nope")); r.Status != 404 {
		t.Fatalf("unknown route: %d", r.Status)
	} else {
		decodeProblem(t, r)
	}
	req := get(readPath(acct, conf, call))
	req.Method = "DELETE"
	if r := NewRoutes(a, nil).Handle(context.Background(), req); r.Status != 405 || r.Headers["Allow"] != "GET, HEAD" {
		t.Fatalf("DELETE: %d %v", r.Status, r.Headers)
	}
	if r := NewRoutes(a, nil).Handle(context.Background(), get("/webhooks/signalwire")); r.Status != 405 || r.Headers["Allow"] != "POST" {
		t.Fatalf("GET webhook: %d %v", r.Status, r.Headers)
	}
}
