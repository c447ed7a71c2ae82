package app

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// parked is what the tests read of a fixture.
type parked struct {
	EventID      string          `json:"event_id"`
	ReceivedAt   time.Time       `json:"received_at"`
	Envelope     json.RawMessage `json:"envelope"`
	Destinations []string        `json:"destinations"`
}

// TestMessagesParkedBeforeTheRedesignAreDelivered: retry messages and
// dead-letter records written by the code before issue 17 (version 2, its
// field names; testdata/retry) are still processed after a deploy: the
// webhooks built and delivered under the event id they were parked with,
// the envelopes sent byte for byte to the destinations they name.
func TestMessagesParkedBeforeTheRedesignAreDelivered(t *testing.T) {
	fixture := func(name string) (string, parked) {
		b, err := os.ReadFile(filepath.Join("testdata", "retry", name))
		if err != nil {
			t.Fatal(err)
		}
		var m parked
		if err := json.Unmarshal(b, &m); err != nil || m.EventID == "" {
			t.Fatalf("%s: %v", name, err)
		}
		return strings.TrimSpace(string(b)), m
	}
	for _, name := range []string{"v2-webhook-form.json", "v2-webhook-json.json", "v2-deadletter-webhook.json"} {
		t.Run(name, func(t *testing.T) {
			body, m := fixture(name)
			f := newHooks(t, nil)
			if err := f.hooks.ProcessRetry(f.ctx(), body, 1); err != nil {
				t.Fatal(err)
			}
			if len(f.dest.msgs) != 1 || f.dest.msgs[0].ID != m.EventID {
				t.Fatalf("delivered %d messages, want 1 with id %s", len(f.dest.msgs), m.EventID)
			}
			if env := envelopeOf(t, f.dest.msgs[0]); env["received_at"] != m.ReceivedAt.Format(time.RFC3339Nano) {
				t.Errorf("received_at %v, want %v", env["received_at"], m.ReceivedAt)
			}
		})
	}
	for _, name := range []string{"v2-deliver.json", "v2-deadletter-deliver.json"} {
		t.Run(name, func(t *testing.T) {
			body, m := fixture(name)
			f, https, bus, q, _ := threeDests(t)
			if err := f.hooks.ProcessRetry(f.ctx(), body, 1); err != nil {
				t.Fatal(err)
			}
			for _, d := range []*namedDest{https, bus, q} {
				want := 0
				if strings.Contains(strings.Join(m.Destinations, ","), d.name) {
					want = 1
				}
				if len(d.got) != want || (want == 1 && string(d.got[0]) != string(m.Envelope)) {
					t.Errorf("%s: %d copies (want %d), or not the parked envelope", d.name, len(d.got), want)
				}
			}
			if len(f.queue.bodies) != 0 {
				t.Errorf("parked again: %s", f.queue.bodies[0])
			}
		})
	}
}
