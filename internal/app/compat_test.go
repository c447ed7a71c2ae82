package app

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/signalwire-lambda/participants/internal/forward"
	"github.com/signalwire-lambda/participants/internal/obs"
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
		body := fixtureBytes(t, name)
		var m parked
		if err := json.Unmarshal([]byte(body), &m); err != nil || m.EventID == "" {
			t.Fatalf("%s: %v", name, err)
		}
		return body, m
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

// TestRetryMessagesKeepTheirFormat: for the inputs that produced
// testdata/retry, the code writes the same bytes, so a version rolled back
// to reads what this one parked.
func TestRetryMessagesKeepTheirFormat(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		time.Sleep(time.Until(time.Date(2026, 11, 26, 10, 15, 1, 234000000, time.UTC)))
		const trace = "Root=1-67891233-abcdef012345678912345678"
		same := func(name string, b []byte) {
			t.Helper()
			if want := fixtureBytes(t, name); want != string(b) {
				t.Errorf("%s: wrote\n%s\nwant\n%s", name, b, want)
			}
		}
		f := newHooks(t, nil)
		f.up.errs = []error{errors.New("SignalWire down")}
		req := queryPost(joinForm(call), "tenant=a%20b")
		req.Headers["x-signalwire-signature"] = signWithQuery(joinForm(call), "tenant=a%20b")
		outcomeOf(t, f.routes.Handle(obs.WithTraceID(f.ctx(), trace), req))
		same("v2-webhook-form.json", f.queue.bodies[0])

		f = newHooks(t, nil)
		f.up.errs = []error{errors.New("SignalWire down")}
		outcomeOf(t, f.routes.Handle(f.ctx(), jsonPost(callStateBody, "ConferenceSid="+conf, "PSK_key")))
		same("v2-webhook-json.json", f.queue.bodies[0])

		f, https, bus, q, dlq := threeDests(t)
		https.fail = &forward.StatusError{StatusCode: 413}
		bus.fail, q.fail = &forward.StatusError{StatusCode: 503}, &forward.StatusError{StatusCode: 503}
		outcomeOf(t, f.routes.Handle(obs.WithTraceID(f.ctx(), trace), signedPost(withTags(joinForm(call), "<&>"), "PSK_key")))
		same("v2-deliver.json", f.queue.bodies[0])
		same("v2-deadletter-deliver.json", dlq.bodies[0])
	})
}

// fixtureBytes is the message testdata/retry/name holds.
func fixtureBytes(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "retry", name))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}
