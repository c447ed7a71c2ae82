package function

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/signalwire-lambda/participants/internal/credentials"
	"github.com/signalwire-lambda/participants/internal/forward"
)

// countingSM is a Secrets Manager holding one secret, counting calls.
type countingSM struct {
	mu     sync.Mutex
	secret map[string]string
	calls  atomic.Int64
}

func (f *countingSM) set(k, v string) {
	f.mu.Lock()
	f.secret[k] = v
	f.mu.Unlock()
}

func (f *countingSM) GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	f.calls.Add(1)
	f.mu.Lock()
	b, _ := json.Marshal(f.secret)
	f.mu.Unlock()
	s := string(b)
	return &secretsmanager.GetSecretValueOutput{SecretString: &s}, nil
}

func whsec(fill byte) string {
	return "whsec_" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{fill}, 32))
}

// verifyingReceiver accepts a Standard Webhooks request signed with the
// secret it currently holds (any entry of webhook-signature), else 401.
type verifyingReceiver struct {
	secret   atomic.Pointer[string]
	attempts atomic.Int64
	accepted atomic.Int64
}

func (r *verifyingReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.attempts.Add(1)
	var body bytes.Buffer
	body.ReadFrom(req.Body)
	key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(*r.secret.Load(), "whsec_"))
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(req.Header.Get("webhook-id") + "." + req.Header.Get("webhook-timestamp") + "." + body.String()))
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	for _, sig := range strings.Split(req.Header.Get("webhook-signature"), " ") {
		if hmac.Equal([]byte(sig), []byte(want)) {
			r.accepted.Add(1)
			return
		}
	}
	w.WriteHeader(http.StatusUnauthorized)
}

// TestForwardSecretRotation (issue 14 §4): the receiver switches to a new
// secret and the secret is updated, while the container caches the old one
// for an hour. The 401 forces one (rate-limited) refresh and the event is
// sent again signed with the new secret: delivered, not dead-lettered.
// Afterwards, with previous_forward_signing_secret set, a receiver still on
// the old secret accepts too.
func TestForwardSecretRotation(t *testing.T) { synctest.Test(t, testForwardSecretRotation) }

func testForwardSecretRotation(t *testing.T) {
	sm := &countingSM{secret: map[string]string{"project_id": "5a3e1c2b-7d4f-4e8a-9b6c-0d1e2f3a4b5c", "api_token": "PTforward-rotation-token",
		"space_host": "example.signalwire.com", "signing_key": "PSK_forward-rotation-key", "forward_signing_secret": whsec(1)}}
	cache := credentials.New(sm, "sw", credentials.Options{TTL: time.Hour, ForwardSigningSecret: true})
	recv := &verifyingReceiver{}
	old, next := whsec(1), whsec(2)
	recv.secret.Store(&old)
	// In memory: a synctest bubble's clock moves only while nothing waits on the network.
	client := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		w := httptest.NewRecorder()
		recv.ServeHTTP(w, r)
		return w.Result(), nil
	})}
	d := forward.NewHTTPS("https://receiver.example/in", client, forwardSecrets{cache}, "")
	m := forward.Message{ID: "evt_1", Body: []byte(`{}`)}
	if err := d.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	// Rotation: receiver first, then the secret (new + previous).
	recv.secret.Store(&next)
	sm.set("forward_signing_secret", next)
	sm.set("previous_forward_signing_secret", old)
	time.Sleep(time.Minute)
	if err := d.Send(context.Background(), m); err != nil {
		t.Fatalf("after the receiver switched: %v", err)
	}
	t.Logf("rotation: attempts %d, accepted %d, GetSecretValue calls %d", recv.attempts.Load(), recv.accepted.Load(), sm.calls.Load())
	if recv.attempts.Load() != 3 || recv.accepted.Load() != 2 || sm.calls.Load() != 2 {
		t.Fatalf("want 3 attempts (ok, 401, ok), 2 accepted, 2 GetSecretValue calls")
	}
	// Both signatures now: a receiver still verifying with the old secret accepts.
	recv.secret.Store(&old)
	if err := d.Send(context.Background(), m); err != nil {
		t.Fatalf("receiver on the old secret during the rotation: %v", err)
	}
	// A receiver that rejects everything drives at most one refresh per
	// credentials.RefreshInterval: 100 sends over 10 s, 2 more calls at most.
	bogus := whsec(9)
	recv.secret.Store(&bogus)
	before := sm.calls.Load()
	for i := 0; i < 100; i++ {
		if err := d.Send(context.Background(), m); err == nil {
			t.Fatal("a rejecting receiver accepted")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if n := sm.calls.Load() - before; n > 2 {
		t.Fatalf("100 rejected sends over 10 s made %d GetSecretValue calls, want ≤ 2", n)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
