package app

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
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
	if kind == "" || kind[len(kind)-len(problemAccountNotFound):] != problemAccountNotFound {
		t.Fatalf("problem type %q, want %s", kind, problemAccountNotFound)
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
