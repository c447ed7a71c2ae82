package app

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/signalwire-lambda/participants/internal/credentials"
	"github.com/signalwire-lambda/participants/internal/signalwire"
)

// fakeSecretsManager is a counting Secrets Manager holding one secret.
type fakeSecretsManager struct {
	mu     sync.Mutex
	secret map[string]string
	calls  atomic.Int64
}

func newFakeSM(kv map[string]string) *fakeSecretsManager {
	s := map[string]string{"project_id": acct, "api_token": "PTtoken-v1-0123456789", "space_host": "example.signalwire.com", "signing_key": "PSK_key-0123456789ab"}
	for k, v := range kv {
		s[k] = v
	}
	return &fakeSecretsManager{secret: s}
}

func (f *fakeSecretsManager) set(k, v string) {
	f.mu.Lock()
	f.secret[k] = v
	f.mu.Unlock()
}

func (f *fakeSecretsManager) GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	f.calls.Add(1)
	f.mu.Lock()
	b, _ := json.Marshal(f.secret)
	f.mu.Unlock()
	s := string(b)
	return &secretsmanager.GetSecretValueOutput{SecretString: &s}, nil
}

// fakeClock is a settable clock shared by the cache and the test.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// realCache returns the production cache over a fake Secrets Manager. Tests
// that move its clock run in a synctest bubble and sleep.
func realCache(sm *fakeSecretsManager) *credentials.Cache {
	return credentials.New(sm, "sw", credentials.Options{TTL: time.Hour})
}

// TestSigningKeyRotationUnderForgedFlood (issue 10 §2): SignalWire signs
// with a new key before the secret holds it, and a forger sends 10 forged
// webhooks a second throughout. Once the secret is updated, every genuine
// webhook arriving RefreshInterval (5 s) later or after is accepted, and the
// forged traffic drives at most 12 GetSecretValue calls a minute.
func TestSigningKeyRotationUnderForgedFlood(t *testing.T) {
	synctest.Test(t, testSigningKeyRotationUnderForgedFlood)
}

func testSigningKeyRotationUnderForgedFlood(t *testing.T) {
	f := newHooks(t, nil)
	sm := newFakeSM(map[string]string{"signing_key": "PSK_old-signing-key"})
	f.app.creds = realCache(sm)
	if got := outcomeOf(t, f.routes.Handle(f.ctx(), signedPost(joinForm(call), "PSK_old-signing-key"))); got != "delivered" {
		t.Fatalf("old key: %s", got)
	}
	start := time.Now()
	const updateAt = 10 * time.Second
	var genuine, accepted, lateRejected, forged403 int
	callsAt := map[int]int64{}           // minute → GetSecretValue calls
	for step := 0; step < 1200; step++ { // 120 s in 100 ms steps
		elapsed := time.Since(start)
		if elapsed == updateAt {
			sm.set("signing_key", "PSK_new-signing-key")
			sm.set("previous_signing_key", "PSK_old-signing-key")
		}
		if r := f.routes.Handle(f.ctx(), signedPost(joinForm(call), "PSK_forged")); r.Status == 403 {
			forged403++
		}
		if step%10 == 5 { // one genuine webhook a second, signed with the new key
			genuine++
			if r := f.routes.Handle(f.ctx(), signedPost(joinForm(call), "PSK_new-signing-key")); r.Status == 200 {
				accepted++
			} else if elapsed >= updateAt+credentials.RefreshInterval {
				lateRejected++
			}
		}
		callsAt[int(elapsed/time.Minute)] = sm.calls.Load()
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("genuine %d, accepted %d, rejected ≥5 s after the update %d; forged 403 %d/1200; GetSecretValue calls %d (by minute: %v)",
		genuine, accepted, lateRejected, forged403, sm.calls.Load(), callsAt)
	if lateRejected != 0 {
		t.Errorf("%d genuine webhooks rejected 5 s or more after the secret held the new key", lateRejected)
	}
	if forged403 != 1200 {
		t.Errorf("forged accepted: %d of 1200 got 403", forged403)
	}
	prev := int64(1)
	for m := 0; m < 2; m++ {
		if n := callsAt[m] - prev; n > 12 {
			t.Errorf("minute %d: %d GetSecretValue calls, want ≤ 12", m, n)
		}
		prev = callsAt[m]
	}
}

// TestPreviousSigningKeyIsAccepted (issue 10 §2): during a rotation the
// secret carries both keys; webhooks signed with either are accepted
// without any refresh.
func TestPreviousSigningKeyIsAccepted(t *testing.T) {
	f := newHooks(t, nil)
	sm := newFakeSM(map[string]string{"signing_key": "PSK_new-signing-key", "previous_signing_key": "PSK_old-signing-key"})
	f.app.creds = realCache(sm)
	for _, key := range []string{"PSK_old-signing-key", "PSK_new-signing-key", "PSK_old-signing-key"} {
		if got := outcomeOf(t, f.routes.Handle(f.ctx(), signedPost(joinForm(call), key))); got != "delivered" {
			t.Fatalf("%s: %s", key, got)
		}
	}
	if r := f.routes.Handle(f.ctx(), signedPost(joinForm(call), "PSK_forged")); r.Status != 403 {
		t.Fatalf("forged: %d", r.Status)
	}
	if n := sm.calls.Load(); n != 2 {
		t.Fatalf("GetSecretValue calls = %d, want 2 (cold start + one refresh for the forged one)", n)
	}
}

// unauthorizedForeign answers like SignalWire: 401 for an account that is
// not the credentials' project.
type unauthorizedForeign struct {
	fakeUpstream
	calls atomic.Int64
}

func (u *unauthorizedForeign) GetParticipant(ctx context.Context, auth signalwire.Auth, ref signalwire.ParticipantRef) (*signalwire.Participant, error) {
	u.calls.Add(1)
	if ref.AccountSID != auth.ProjectID {
		return nil, &signalwire.APIError{Kind: signalwire.KindUnauthorized, StatusCode: 401, Code: 20003}
	}
	return u.fakeUpstream.GetParticipant(ctx, auth, ref)
}

func randomUUID(r *rand.Rand) string {
	return fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", r.Uint32(), r.Uint32()&0xffff, r.Uint32()&0xfff, r.Uint32()&0xfff, r.Uint64()&0xffffffffffff)
}

// TestForeignAccountReadsCostNothingUpstream (issue 10 §3): 100 reads with
// random account SIDs make no SignalWire call and no Secrets Manager call
// beyond the cold start, and get a clear 404.
func TestForeignAccountReadsCostNothingUpstream(t *testing.T) {
	up := &unauthorizedForeign{}
	sm := newFakeSM(nil)
	a, _ := newTestApp(up, realCache(sm))
	r := rand.New(rand.NewPCG(1, 2))
	statuses := map[int]int{}
	var kind string
	for i := 0; i < 100; i++ {
		resp := NewRoutes(a, nil).Handle(context.Background(), get(readPath(randomUUID(r), conf, call)))
		statuses[resp.Status]++
		if resp.Status == 404 {
			kind = decodeProblem(t, resp)["type"].(string)
		}
	}
	t.Logf("100 foreign reads: statuses %v, GetSecretValue calls %d, SignalWire calls %d", statuses, sm.calls.Load(), up.calls.Load())
	if sm.calls.Load() != 1 || up.calls.Load() != 0 || statuses[404] != 100 {
		t.Fatalf("want 100×404, 1 GetSecretValue call (cold start), 0 SignalWire calls")
	}
	if kind == "" || kind[len(kind)-len(ProblemAccountNotFound):] != ProblemAccountNotFound {
		t.Fatalf("problem type %q, want %s", kind, ProblemAccountNotFound)
	}
	// The project's own account still works, in any letter case.
	if resp := NewRoutes(a, nil).Handle(context.Background(), get(readPath(acct, conf, call))); resp.Status != 200 {
		t.Fatalf("own account: %d", resp.Status)
	}
}

// TestUnauthorizedRefreshesShareTheLimit (issue 10 §3): when SignalWire
// keeps answering 401 (a revoked token), 100 reads in 10 s make at most one
// GetSecretValue per RefreshInterval, and only a refresh that brought new
// credentials is followed by a second SignalWire call.
func TestUnauthorizedRefreshesShareTheLimit(t *testing.T) {
	synctest.Test(t, testUnauthorizedRefreshesShareTheLimit)
}

func testUnauthorizedRefreshesShareTheLimit(t *testing.T) {
	up := &unauthorizedForeign{}
	sm := newFakeSM(nil)
	a, _ := newTestApp(up, realCache(sm))
	NewRoutes(a, nil).Handle(context.Background(), get(readPath(acct, conf, call))) // cold start
	for i := 0; i < 100; i++ {
		up.fakeUpstream.errs = []error{&signalwire.APIError{Kind: signalwire.KindUnauthorized, StatusCode: 401}}
		NewRoutes(a, nil).Handle(context.Background(), get(readPath(acct, conf, call)))
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("100 reads answered 401 over 10 s: GetSecretValue calls %d, SignalWire calls %d", sm.calls.Load()-1, up.calls.Load()-1)
	// Refreshes at 0 s and 5 s; the secret is unchanged, so no retry.
	if n := sm.calls.Load() - 1; n != 2 || up.calls.Load()-1 != 100 {
		t.Fatalf("%d GetSecretValue calls in 10 s, want 2; SignalWire calls %d, want 100", n, up.calls.Load()-1)
	}
}

// simQueue is the retry queue as the test's SQS: Enqueue stores a message;
// receiveAll delivers every stored message once (as one visibility timeout
// later would), deleting those ProcessRetry accepted.
type simQueue struct {
	mu       sync.Mutex
	msgs     []*simMsg
	ids      []string
	sends    int
	receives int
}

type simMsg struct {
	body     []byte
	receives int
}

func (q *simQueue) Enqueue(ctx context.Context, body []byte, attrs map[string]string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.sends++
	q.ids = append(q.ids, attrs["event_id"])
	q.msgs = append(q.msgs, &simMsg{body: body})
	return nil
}

func (q *simQueue) receiveAll(t *testing.T, w *Webhooks, ctx context.Context) {
	q.mu.Lock()
	batch := q.msgs
	q.msgs = nil
	q.mu.Unlock()
	var keep []*simMsg
	for _, m := range batch {
		m.receives++
		q.receives++
		if err := w.ProcessRetry(ctx, string(m.body), m.receives); err != nil {
			if m.receives >= w.opts.MaxReceiveCount {
				t.Fatalf("a message reached the DLQ: %v", err)
			}
			keep = append(keep, m)
		}
	}
	q.mu.Lock()
	q.msgs = append(q.msgs, keep...)
	q.mu.Unlock()
}

// TestDeferredVerificationAcrossRotation (issue 10 §2, the goal beyond):
// SignalWire signs with a new key at t=0 and the secret holds it only at
// t=3 min. With WEBHOOK_DEFERRED_VERIFICATION on, every genuine webhook of
// those 3 minutes is answered 200, parked unverified, verified once the
// secret holds the key, and delivered: none lost. A forger sending one
// well-formed forged signature every 2 s at the same time gets nothing
// forwarded; its webhooks are dropped after DeferredVerificationWindow,
// none reaches the DLQ; the test prints what each one cost.
func TestDeferredVerificationAcrossRotation(t *testing.T) {
	synctest.Test(t, testDeferredVerificationAcrossRotation)
}

func testDeferredVerificationAcrossRotation(t *testing.T) {
	q := &simQueue{}
	f := newHooks(t, func(o *WebhookOptions) { o.DeferUnverified = true; o.MaxReceiveCount = 5 })
	f.hooks.opts.Retry = q
	sm := newFakeSM(map[string]string{"signing_key": "PSK_old-signing-key"})
	f.app.creds = realCache(sm)
	// Warm: one genuine webhook with the old key.
	if outcomeOf(t, f.routes.Handle(f.ctx(), signedPost(joinForm(call), "PSK_old-signing-key"))) != "delivered" {
		t.Fatal("warm-up")
	}
	start, calls0, sends0 := time.Now(), sm.calls.Load(), q.sends
	var genuine, deferred, forged, forgedDeferred, forged403, genuine403 int
	for s := 0; s < 10*60; s++ { // ten minutes, one-second steps
		now := time.Since(start)
		if now == 3*time.Minute {
			sm.set("signing_key", "PSK_new-signing-key")
			sm.set("previous_signing_key", "PSK_old-signing-key")
		}
		if s%10 == 0 && now < 4*time.Minute { // a genuine webhook every 10 s for 4 minutes
			genuine++
			form := joinForm(fmt.Sprintf("ca110001-5a4d-4b0c-9a11-%012d", s))
			r := f.routes.Handle(f.ctx(), signedPost(form, "PSK_new-signing-key"))
			switch {
			case r.Status != 200:
				genuine403++
			case outcomeOf(t, r) == string(OutcomeDeferred):
				deferred++
			}
		}
		if s%2 == 0 && now < 4*time.Minute { // a forged webhook every 2 s
			forged++
			r := f.routes.Handle(f.ctx(), signedPost(joinForm(call), "PSK_forged"))
			if r.Status == 200 {
				forgedDeferred++
			} else {
				forged403++
			}
		}
		if s%60 == 1 { // the retry queue's visibility timeout: 60 s
			q.receiveAll(t, f.hooks, f.ctx())
		}
		time.Sleep(time.Second)
	}
	delivered := 0
	f.dest.mu.Lock()
	for _, m := range f.dest.msgs {
		if !strings.Contains(string(m.Body), `"call_sid":"`+call+`"`) {
			delivered++
		}
	}
	forwardedForged := len(f.dest.msgs) - 1 - delivered // minus the warm-up
	f.dest.mu.Unlock()
	m := f.metrics()
	t.Logf("genuine %d: deferred %d, 403 %d, delivered %d; forged %d: deferred %d, 403 %d, forwarded %d; SQS sends %d, receives %d, left %d; GetSecretValue %d",
		genuine, deferred, genuine403, delivered, forged, forgedDeferred, forged403, forwardedForged, q.sends-sends0, q.receives, len(q.msgs), sm.calls.Load()-calls0)
	if genuine403 != 0 || delivered != genuine {
		t.Errorf("genuine webhooks lost: %d got 403, %d of %d delivered", genuine403, delivered, genuine)
	}
	if forwardedForged != 0 || len(q.msgs) != 0 {
		t.Errorf("forged: %d forwarded, %d still queued", forwardedForged, len(q.msgs))
	}
	if !strings.Contains(m, MetricWebhookDeferredDropped) || !strings.Contains(m, MetricWebhookDeferredVerified) {
		t.Errorf("metrics missing: %s", m)
	}
	if per := float64(sm.calls.Load()-calls0) / 10; per > 12 {
		t.Errorf("%.1f GetSecretValue calls a minute, want ≤ 12", per)
	}
}

// TestDeferralIsBoundedAndUnsignedIsAlways403: beyond
// MaxDeferralsPerMinute a container answers 403; unsigned requests and
// signatures that are not HMAC-SHA1-shaped are never deferred.
func TestDeferralIsBoundedAndUnsignedIsAlways403(t *testing.T) {
	q := &simQueue{}
	f := newHooks(t, func(o *WebhookOptions) { o.DeferUnverified = true })
	f.hooks.opts.Retry = q
	clk := &fakeClock{t: time.Unix(1_800_000_000, 0)}
	f.hooks.opts.Now = clk.now
	ok := 0
	for i := 0; i < 3*MaxDeferralsPerMinute; i++ {
		if f.routes.Handle(f.ctx(), signedPost(joinForm(call), "PSK_forged")).Status == 200 {
			ok++
		}
	}
	if ok != MaxDeferralsPerMinute || q.sends != MaxDeferralsPerMinute {
		t.Fatalf("deferred %d (sends %d) in one minute, want %d", ok, q.sends, MaxDeferralsPerMinute)
	}
	clk.add(time.Minute)
	for _, sig := range []string{"", "not-a-signature", base64.StdEncoding.EncodeToString([]byte("short"))} {
		r := signedPost(joinForm(call), "PSK_forged")
		r.Headers["x-signalwire-signature"] = sig
		if got := f.routes.Handle(f.ctx(), r); got.Status != 403 {
			t.Errorf("signature %q: %d, want 403", sig, got.Status)
		}
	}
	if q.sends != MaxDeferralsPerMinute {
		t.Fatalf("malformed signatures were deferred")
	}
}

// TestReparkedUnverifiedWebhookGetsItsOwnID: on the queue's last receive a
// still-unverified webhook is parked again under a new event_id (a FIFO
// retry queue would drop a copy under the first one's deduplication id),
// and never reported as a failure (no DLQ).
func TestReparkedUnverifiedWebhookGetsItsOwnID(t *testing.T) {
	q := &simQueue{}
	f := newHooks(t, func(o *WebhookOptions) { o.DeferUnverified = true; o.MaxReceiveCount = 2 })
	f.hooks.opts.Retry = q
	if outcomeOf(t, f.routes.Handle(f.ctx(), signedPost(joinForm(call), "PSK_not_yet_known"))) != string(OutcomeDeferred) {
		t.Fatal("not deferred")
	}
	body := q.msgs[0].body
	if err := f.hooks.ProcessRetry(f.ctx(), string(body), 1); err == nil {
		t.Fatal("an unverified webhook was accepted on its first receive")
	}
	if err := f.hooks.ProcessRetry(f.ctx(), string(body), 2); err != nil {
		t.Fatalf("last receive: %v (would go to the DLQ)", err)
	}
	if len(q.ids) != 2 || q.ids[0] == q.ids[1] || q.ids[0] == "" {
		t.Fatalf("event ids %v: want the re-park under a new id", q.ids)
	}
	if len(f.dest.msgs) != 0 {
		t.Fatal("an unverified webhook was forwarded")
	}
}
