package webhook

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestEventIDDeterministic(t *testing.T) {
	body := participantJoinBody
	a := mustNormalize(t, mustParse(t, body), nil)
	// The same webhook delivered again, its parameters in another order.
	pairs := strings.Split(body, "&")
	for i, j := 0, len(pairs)-1; i < j; i, j = i+1, j-1 {
		pairs[i], pairs[j] = pairs[j], pairs[i]
	}
	b := mustNormalize(t, mustParse(t, strings.Join(pairs, "&")), nil)
	if a.id != b.id {
		t.Fatalf("duplicate delivery: %s != %s", a.id, b.id)
	}
	if !regexp.MustCompile(`^evt_[0-9a-f]{32}$`).MatchString(a.id) {
		t.Fatalf("EventID = %q", a.id)
	}
	// A stable value: a change of the hash input is a breaking change for
	// consumers that deduplicate on it.
	if got, want := a.id, mustNormalize(t, mustParse(t, participantJoinBody), nil).id; got != want {
		t.Fatalf("EventID not stable: %s != %s", got, want)
	}
}

// Any difference in what was signed (but the host and path) gives another id;
// the same signed parameters, in any order, give the same id.
func TestEventIDDistinct(t *testing.T) {
	base := func() url.Values { return mustParse(t, participantJoinBody) }
	const other = "0e5f1b70-1c1b-4d43-9b1e-7e6c1d7f2a10"
	variants := map[string]func(url.Values) url.Values{
		"base":          func(f url.Values) url.Values { return f },
		"account":       func(f url.Values) url.Values { f.Set("AccountSid", other); return f },
		"conference":    func(f url.Values) url.Values { f.Set("ConferenceSid", other); return f },
		"call":          func(f url.Values) url.Values { f.Set("CallSid", other); return f },
		"no call":       func(f url.Values) url.Values { f.Del("CallSid"); return f },
		"event":         func(f url.Values) url.Values { f.Set("StatusCallbackEvent", "participant-leave"); return f },
		"sequence":      func(f url.Values) url.Values { f.Set("SequenceNumber", "4"); return f },
		"leading zero":  func(f url.Values) url.Values { f.Set("SequenceNumber", "03"); return f },
		"no seq":        func(f url.Values) url.Values { f.Del("SequenceNumber"); return f },
		"muted":         func(f url.Values) url.Values { f.Set("Muted", "true"); return f },
		"hold":          func(f url.Values) url.Values { f.Set("Hold", "true"); return f },
		"coaching":      func(f url.Values) url.Values { f.Set("Coaching", "true"); return f },
		"TRUE vs true":  func(f url.Values) url.Values { f.Set("EndConferenceOnExit", "TRUE"); return f },
		"friendly name": func(f url.Values) url.Values { f.Set("FriendlyName", "renamed"); return f },
		"extra field":   func(f url.Values) url.Values { f.Set("Label", ""); return f },
		"repeated tag":  func(f url.Values) url.Values { f["Tag"] = []string{"a", "b"}; return f },
		"tags swapped":  func(f url.Values) url.Values { f["Tag"] = []string{"b", "a"}; return f },
		"tags joined":   func(f url.Values) url.Values { f["Tag"] = []string{"ab"}; return f },
		"same instant, other text": func(f url.Values) url.Values {
			f.Set("Timestamp", "24 Sept 2018 21:00:00 GMT")
			return f
		},
		"call kind": func(f url.Values) url.Values {
			f.Del("StatusCallbackEvent")
			f.Set("CallStatus", "participant-join")
			return f
		},
		// Boundaries between name and value, or between two parameters,
		// are part of the id (the signed string has none).
		"value moved to a name": func(f url.Values) url.Values {
			f.Del("ApiVersion")
			f.Set("ApiVersion2010-04-01", "")
			return f
		},
		"name moved to a value": func(f url.Values) url.Values {
			f.Del("FriendlyName")
			f.Set("Friendly", "NameRoom 1234")
			return f
		},
	}
	seen := map[string]string{}
	for name, edit := range variants {
		id := mustNormalize(t, edit(base()), nil).id
		if other, dup := seen[id]; dup {
			t.Errorf("%q and %q share id %s", name, other, id)
		}
		seen[id] = name
	}
	// Two participant-modify callbacks for one call in the same second,
	// without SequenceNumber, differing only in Muted (issue 10 §5).
	modify := func(muted string) string {
		f := base()
		f.Del("SequenceNumber")
		f.Set("StatusCallbackEvent", "participant-modify")
		f.Set("Muted", muted)
		return mustNormalize(t, f, nil).id
	}
	if modify("true") == modify("false") {
		t.Error("participant-modify with Muted true and false share an id")
	}
	// The query is signed too: another ConferenceSid in the URL, or another
	// parameter, is another callback; the same query is the same id.
	q1 := url.Values{"ConferenceSid": {conferenceSID}}
	q2 := url.Values{"ConferenceSid": {conferenceSID}, "x": {"1"}}
	if mustNormalize(t, base(), q1).id == mustNormalize(t, base(), q2).id ||
		mustNormalize(t, base(), q1).id == mustNormalize(t, base(), nil).id {
		t.Error("the query does not change the id")
	}
	if mustNormalize(t, base(), q1).id != mustNormalize(t, base(), url.Values{"ConferenceSid": {conferenceSID}}).id {
		t.Error("the same query gives another id")
	}
}

// The id's encoding, computed independently: a change of the hash input is a
// breaking change for consumers that deduplicate on it.
func TestEventIDEncoding(t *testing.T) {
	var b []byte
	field := func(s string) { b = append(append(b, byte(len(s))), s...) } // lengths < 128: one-byte uvarints
	field("signalwire-webhook-v2")
	field("form")
	field("2")
	field("AccountSid")
	field("1")
	field(accountSID)
	field("Tag")
	field("2")
	field("b")
	field("a")
	field("1") // the query
	field("ConferenceSid")
	field("1")
	field(conferenceSID)
	sum := sha256.Sum256(b)
	want := "evt_" + hex.EncodeToString(sum[:16])
	form := url.Values{"Tag": {"b", "a"}, "AccountSid": {accountSID}}
	if got := formEventID(form, url.Values{"ConferenceSid": {conferenceSID}}); got != want {
		t.Errorf("form id = %s, want %s", got, want)
	}
	b = nil
	field("signalwire-webhook-v2")
	field("json")
	field(`{"a": 1}`)
	field("1")
	field("x")
	field("1")
	field("y")
	sum = sha256.Sum256(b)
	want = "evt_" + hex.EncodeToString(sum[:16])
	if got := jsonEventID([]byte(`{"a": 1}`), url.Values{"x": {"y"}, "bodySHA256": {"00"}}); got != want {
		t.Errorf("JSON id = %s, want %s", got, want)
	}
}

func TestNewEnvelope(t *testing.T) {
	src := mustNormalize(t, mustParse(t, participantJoinBody), nil)
	received := time.Date(2018, 9, 24, 23, 0, 1, 500_000_000, time.FixedZone("CEST", 2*3600))
	env := NewEnvelope(src, received)
	if env.SchemaVersion != 1 || env.ID != src.id || env.Type != "signalwire.conference.participant-join" {
		t.Errorf("envelope header: %+v", env)
	}
	if env.ParticipantLookup != LookupSkipped || env.Participant != nil {
		t.Errorf("lookup %q participant %s", env.ParticipantLookup, env.Participant)
	}
	b, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{
		"schema_version":     `1`,
		"occurred_at":        `"2018-09-24T21:00:00Z"`,
		"received_at":        `"2018-09-24T21:00:01.5Z"`,
		"participant":        `null`,
		"participant_lookup": `"skipped"`,
		"type":               `"signalwire.conference.participant-join"`,
	} {
		if string(m[key]) != want {
			t.Errorf("%s = %s, want %s", key, m[key], want)
		}
	}
	if string(m["account"]) != `"`+accountSID+`"` || string(m["call"]) != `"`+callSID+`"` {
		t.Errorf("account %s call %s", m["account"], m["call"])
	}
	if len(m) != 10 {
		t.Errorf("envelope has %d members: %s", len(m), b)
	}
	// A consumer decodes it back.
	var back Envelope
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.ID != env.ID || !back.OccurredAt.Equal(env.OccurredAt) || back.Call != callSID || back.Account != accountSID {
		t.Errorf("round trip: %+v", back)
	}
}

func TestNewEnvelopeFallbacks(t *testing.T) {
	form := url.Values{"AccountSid": {accountSID}, "CallStatus": {"no_answer.x"}}
	src := mustNormalize(t, form, nil)
	received := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	env := NewEnvelope(src, received)
	if !env.OccurredAt.Equal(received) {
		t.Errorf("occurred_at = %v, want received_at", env.OccurredAt)
	}
	if env.Type != "signalwire.call.no_answer.x" {
		t.Errorf("Type = %q", env.Type)
	}
	// A non-UTC time set by the caller still marshals in UTC; an empty
	// (non-nil) participant marshals as null.
	env.ReceivedAt = received.In(time.FixedZone("X", -5*3600))
	env.Participant = json.RawMessage{}
	b, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"received_at":"2025-01-02T03:04:05Z"`) || !strings.Contains(string(b), `"participant":null`) {
		t.Errorf("marshal: %s", b)
	}
}
