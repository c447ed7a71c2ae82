package app

import (
	"context"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/signalwire-lambda/participants/internal/signalwire"
)

// tokenUpstream accepts one API token and answers 401 to any other.
type tokenUpstream struct {
	fakeUpstream
	mu   sync.Mutex
	want string
}

func (u *tokenUpstream) GetParticipant(ctx context.Context, auth signalwire.Auth, ref signalwire.ParticipantRef) (*signalwire.Participant, error) {
	u.mu.Lock()
	want := u.want
	u.mu.Unlock()
	if auth.APIToken != want {
		return nil, &signalwire.APIError{Kind: signalwire.KindUnauthorized, StatusCode: 401, Code: 20003}
	}
	return u.fakeUpstream.GetParticipant(ctx, auth, ref)
}

// TestUnauthorizedWithinTheRefreshLimitSaysWhenToRetry (docs/SECURITY.md: a read
// rejected with 401 within 5 s of another forced refresh answers 502 at
// once): the API token is rotated at SignalWire at t=0 and in the secret at
// t=2 s. The read at t=0 forces a refresh (the secret still holds the old
// token); the read at t=3 s is refused a refresh by the rate limit and gets a
// 502 whose detail says so and when to retry; the read at t=5 s (the slot
// free again) fetches the secret and succeeds.
func TestUnauthorizedWithinTheRefreshLimitSaysWhenToRetry(t *testing.T) {
	synctest.Test(t, testUnauthorizedWithinTheRefreshLimitSaysWhenToRetry)
}

func testUnauthorizedWithinTheRefreshLimitSaysWhenToRetry(t *testing.T) {
	up := &tokenUpstream{want: "PTtoken-v1-0123456789"}
	sm := newFakeSM(nil)
	a, _ := newTestApp(up, realCache(sm))
	read := func() Response {
		return NewRoutes(a, nil).Handle(context.Background(), get(readPath(acct, conf, call)))
	}
	if r := read(); r.Status != 200 {
		t.Fatalf("warm-up: %d %s", r.Status, r.Body)
	}
	up.mu.Lock()
	up.want = "PTtoken-v2-0123456789" // rotated at SignalWire
	up.mu.Unlock()

	r := read() // t=0: refresh, the secret still holds v1
	p := decodeProblem(t, r)
	if r.Status != 502 || !strings.HasSuffix(p["type"].(string), "upstream-unauthorized") {
		t.Fatalf("t=0: %d %s", r.Status, r.Body)
	}
	t.Logf("t=0 s, secret not yet updated: %d %s", r.Status, p["detail"])
	fetches := sm.calls.Load()

	time.Sleep(2 * time.Second)
	sm.set("api_token", "PTtoken-v2-0123456789")
	time.Sleep(time.Second)
	r = read() // t=3 s: within the limit, no fetch
	p = decodeProblem(t, r)
	detail, _ := p["detail"].(string)
	t.Logf("t=3 s, secret updated at t=2 s: %d %s", r.Status, detail)
	if r.Status != 502 || sm.calls.Load() != fetches {
		t.Fatalf("t=3 s: %d %s, %d fetches (want %d)", r.Status, r.Body, sm.calls.Load(), fetches)
	}
	for _, want := range []string{"less than 5 s ago", "limited to one every 5 s", "retry after 5 s", "next read fetches it again"} {
		if !strings.Contains(detail, want) {
			t.Errorf("t=3 s: detail %q does not say %q", detail, want)
		}
	}
	if strings.Contains(detail, "PTtoken") {
		t.Fatal("a token in the detail")
	}

	time.Sleep(2 * time.Second)
	if r := read(); r.Status != 200 || sm.calls.Load() != fetches+1 {
		t.Fatalf("t=5 s: %d %s, %d fetches (want %d)", r.Status, r.Body, sm.calls.Load(), fetches+1)
	}
}
