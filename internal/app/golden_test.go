package app

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/signalwire-lambda/participants/internal/webhook"
)

// goldenCallbacks are callbacks whose event ids and envelope bytes are
// pinned in testdata/golden_envelopes.json (computed by the code before
// issue 17): a redesign must give the same input the same id and the same
// bytes at every destination.
var goldenCallbacks = map[string]Request{
	"form-join":     signedPost(joinForm(call), "PSK_key"),
	"form-repeated": signedPost(withTags(joinForm(call), "b", "a", "b"), "PSK_key"),
	"form-call":     signedPost(url.Values{"AccountSid": {acct}, "CallSid": {call}, "CallStatus": {"completed"}, "Timestamp": {"Thu, 26 Nov 2026 10:16:00 +0000"}}, "PSK_key"),
	"form-query":    queryPost(url.Values{"AccountSid": {acct}, "CallSid": {call}, "CallStatus": {"ringing"}}, "ConferenceSid="+conf+"&tenant=a%20b"),
	"json-state":    jsonPost(callStateBody, "", "PSK_key"),
	"json-query":    jsonPost(callStateBody, "ConferenceSid="+conf, "PSK_key"),
	"json-unknown":  jsonPost(`{"event_type":"calling.call.receive","params":{"call_id":"x","note":"<&>\u2028"}}`, "", "PSK_key"),
}

func queryPost(form url.Values, query string) Request {
	r := signedPost(form, "PSK_key")
	r.RawQuery = query
	return r
}

type goldenMessage struct {
	ID            string `json:"id"`
	Type          string `json:"type"`
	ConferenceSID string `json:"conference_sid"`
	Body          string `json:"body"`
}

func TestGoldenEventIDsAndEnvelopes(t *testing.T) {
	synctest.Test(t, testGoldenEventIDsAndEnvelopes)
}

// testGoldenEventIDsAndEnvelopes runs in a bubble whose clock is set to
// the received_at of the golden envelopes.
func testGoldenEventIDsAndEnvelopes(t *testing.T) {
	time.Sleep(time.Until(time.Date(2026, 11, 26, 10, 15, 1, 234000000, time.UTC)))
	path := filepath.Join("testdata", "golden_envelopes.json")
	got := map[string]goldenMessage{}
	for name, req := range goldenCallbacks {
		f := newHooks(t, func(o *WebhookOptions) { o.Verify = false })
		if outcomeOf(t, f.routes.Handle(f.ctx(), req)) != "delivered" || len(f.dest.msgs) != 1 {
			t.Fatalf("%s: %d messages", name, len(f.dest.msgs))
		}
		m := f.dest.msgs[0]
		got[name] = goldenMessage{ID: m.ID, Type: m.Type, ConferenceSID: m.ConferenceSID, Body: string(m.Body)}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]goldenMessage
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	if len(want) != len(goldenCallbacks) {
		t.Fatalf("%d golden messages, want %d", len(want), len(goldenCallbacks))
	}
	for name, w := range want {
		g := got[name]
		if g.ID != w.ID || g.Type != w.Type || g.ConferenceSID != w.ConferenceSID || g.Body != w.Body {
			t.Errorf("%s:\n got %s %s %s %s\nwant %s %s %s %s", name, g.ID, g.Type, g.ConferenceSID, g.Body, w.ID, w.Type, w.ConferenceSID, w.Body)
		}
		if g.ID != webhook.NewEnvelope(mustSource(t, goldenCallbacks[name]), time.Time{}).ID {
			t.Errorf("%s: the message id is not the callback's event id", name)
		}
	}
}

func mustSource(t *testing.T, r Request) webhook.Source {
	t.Helper()
	q, _ := url.ParseQuery(r.RawQuery)
	if r.Headers["content-type"] == webhook.JSONContentType {
		src, err := webhook.ParseJSON([]byte(r.Body), q)
		if err != nil {
			t.Fatal(err)
		}
		return src
	}
	form, _ := url.ParseQuery(r.Body)
	src, err := webhook.Normalize(form, q)
	if err != nil {
		t.Fatal(err)
	}
	return src
}
