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

// TestSigningKeyRotationUnderRIE (issue 10 §2): the real bootstrap receives
// a webhook signed with a key the secret does not hold yet: 403 (after the
// rate-limited forced refresh), nothing parked or delivered. Once the
// secret holds the key (with the old one as previous_signing_key), a
// webhook signed with it is delivered, at the latest one refresh interval
// later, and the old key still verifies.
func TestSigningKeyRotationUnderRIE(t *testing.T) {
	const newKey = "PSK_rotated-e2e-signing-key"
	s := start(t, localenv.Options{})
	ctx := context.Background()
	r := s.invokeHTTP(t, resign(t, readEvent(t, "webhook-participant-join.json"), s.env.PublicBaseURL, newKey))
	if r.StatusCode != 403 {
		t.Fatalf("signed with the not-yet-known key: %d %s", r.StatusCode, r.Body)
	}
	if deleted, failed := s.drainRetryQueue(t); deleted != 0 || len(failed) != 0 {
		t.Fatalf("a rejected webhook was parked: deleted %d, failed %v", deleted, failed)
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
	r = s.invokeHTTP(t, resign(t, readEvent(t, "webhook-participant-join.json"), s.env.PublicBaseURL, newKey))
	if r.StatusCode != 200 || !strings.Contains(r.Body, `"outcome":"delivered"`) {
		t.Fatalf("new key once the secret holds it: %d %s", r.StatusCode, r.Body)
	}
	if n := len(s.env.Receiver.Requests()); n != 1 {
		t.Fatalf("the destination got %d requests, want 1", n)
	}
	// The old key still verifies (previous_signing_key).
	r = s.invokeHTTP(t, resign(t, readEvent(t, "webhook-participant-join.json"), s.env.PublicBaseURL, old))
	if r.StatusCode != 200 {
		t.Fatalf("old key during the rotation: %d %s", r.StatusCode, r.Body)
	}
}
