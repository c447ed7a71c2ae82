package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/signalwire-lambda/participants/internal/credentials"
	"github.com/signalwire-lambda/participants/test/localenv"
)

// TestDeferredVerificationUnderRIE (issue 10 §2): the real bootstrap with
// WEBHOOK_DEFERRED_VERIFICATION=on receives a webhook signed with a key the
// secret does not hold yet: 200 "deferred", parked on the real retry queue,
// not delivered while it does not verify; once the secret holds the key
// (with the old one as previous_signing_key) the next receive verifies and
// delivers it, exactly once.
func TestDeferredVerificationUnderRIE(t *testing.T) {
	const newKey = "PSK_rotated-e2e-signing-key"
	s := start(t, localenv.Options{}, localenv.WithVar("WEBHOOK_DEFERRED_VERIFICATION", "on"))
	ctx := context.Background()
	r := s.invokeHTTP(t, resign(t, readEvent(t, "webhook-participant-join.json"), s.env.PublicBaseURL, newKey))
	if r.StatusCode != 200 || !strings.Contains(r.Body, `"outcome":"deferred"`) {
		t.Fatalf("signed with the not-yet-known key: %d %s", r.StatusCode, r.Body)
	}
	if deleted, failed := s.drainRetryQueue(t); deleted != 0 || len(failed) != 1 {
		t.Fatalf("before the secret holds the key: deleted %d, failed %v; want it kept", deleted, failed)
	}
	if n := len(s.env.Receiver.Requests()); n != 0 {
		t.Fatalf("an unverified webhook reached the destination (%d requests)", n)
	}
	sec := s.env.Secret()
	old := sec.SigningKey
	sec.SigningKey = newKey
	b, _ := json.Marshal(sec)
	var m map[string]string
	json.Unmarshal(b, &m)
	m["previous_signing_key"] = old
	b, _ = json.Marshal(m)
	if err := s.env.PutSecretString(ctx, string(b)); err != nil {
		t.Fatal(err)
	}
	// The forced refresh above used the container's slot: the next one is
	// allowed credentials.RefreshInterval later.
	time.Sleep(credentials.RefreshInterval + 200*time.Millisecond)
	if deleted, failed := s.drainRetryQueue(t); deleted != 1 || len(failed) != 0 {
		t.Fatalf("after the secret holds the key: deleted %d, failed %v; want it delivered", deleted, failed)
	}
	if n := len(s.env.Receiver.Requests()); n != 1 {
		t.Fatalf("the destination got %d requests, want 1", n)
	}
	// The old key still verifies (previous_signing_key), without deferral.
	r = s.invokeHTTP(t, resign(t, readEvent(t, "webhook-participant-join.json"), s.env.PublicBaseURL, old))
	if r.StatusCode != 200 || strings.Contains(r.Body, "deferred") {
		t.Fatalf("old key during the rotation: %d %s", r.StatusCode, r.Body)
	}
}
