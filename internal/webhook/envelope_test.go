package webhook

import (
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
	if EventID(a) != EventID(b) {
		t.Fatalf("duplicate delivery: %s != %s", EventID(a), EventID(b))
	}
	if !regexp.MustCompile(`^evt_[0-9a-f]{32}$`).MatchString(EventID(a)) {
		t.Fatalf("EventID = %q", EventID(a))
	}
	// A stable value: a change of the hash input is a breaking change for
	// consumers that deduplicate on it.
	if got, want := EventID(a), EventID(mustNormalize(t, mustParse(t, participantJoinBody), nil)); got != want {
		t.Fatalf("EventID not stable: %s != %s", got, want)
	}
}

func TestEventIDDistinct(t *testing.T) {
	base := func() url.Values { return mustParse(t, participantJoinBody) }
	variants := map[string]func(url.Values) url.Values{
		"base":          func(f url.Values) url.Values { return f },
		"account":       func(f url.Values) url.Values { f.Set("AccountSid", "other"); return f },
		"conference":    func(f url.Values) url.Values { f.Set("ConferenceSid", "other"); return f },
		"call":          func(f url.Values) url.Values { f.Set("CallSid", "other"); return f },
		"no call":       func(f url.Values) url.Values { f.Del("CallSid"); return f },
		"event":         func(f url.Values) url.Values { f.Set("StatusCallbackEvent", "participant-leave"); return f },
		"sequence":      func(f url.Values) url.Values { f.Set("SequenceNumber", "4"); return f },
		"sequence text": func(f url.Values) url.Values { f.Set("SequenceNumber", "x4"); return f },
		"no seq":        func(f url.Values) url.Values { f.Del("SequenceNumber"); return f },
		"no seq, other time": func(f url.Values) url.Values {
			f.Del("SequenceNumber")
			f.Set("Timestamp", "Mon, 24 Sep 2018 21:00:01 +0000")
			return f
		},
		"no seq, odd time": func(f url.Values) url.Values { f.Del("SequenceNumber"); f.Set("Timestamp", "soon"); return f },
		"no seq, no time":  func(f url.Values) url.Values { f.Del("SequenceNumber"); f.Del("Timestamp"); return f },
		"call kind": func(f url.Values) url.Values {
			f.Del("StatusCallbackEvent")
			f.Set("CallStatus", "participant-join")
			return f
		},
		// Swapping values between fields must not collide.
		"shifted": func(f url.Values) url.Values {
			f.Set("ConferenceSid", f.Get("ConferenceSid")+f.Get("CallSid"))
			f.Set("CallSid", "")
			return f
		},
	}
	seen := map[string]string{}
	for name, edit := range variants {
		id := EventID(mustNormalize(t, edit(base()), nil))
		if other, dup := seen[id]; dup {
			t.Errorf("%q and %q share id %s", name, other, id)
		}
		seen[id] = name
	}
	// Other parameters do not change the id: the same event, redelivered
	// with an extra field, is still a duplicate.
	f := base()
	f.Set("FriendlyName", "renamed")
	if EventID(mustNormalize(t, f, nil)) != EventID(mustNormalize(t, base(), nil)) {
		t.Error("FriendlyName changed the id")
	}
	// The same instant written differently is the same event.
	g, h := base(), base()
	g.Del("SequenceNumber")
	h.Del("SequenceNumber")
	h.Set("Timestamp", "24 Sept 2018 21:00:00 GMT")
	if EventID(mustNormalize(t, g, nil)) != EventID(mustNormalize(t, h, nil)) {
		t.Error("same instant, different text: ids differ")
	}
}

func TestNewEnvelope(t *testing.T) {
	src := mustNormalize(t, mustParse(t, participantJoinBody), nil)
	received := time.Date(2018, 9, 24, 23, 0, 1, 500_000_000, time.FixedZone("CEST", 2*3600))
	env := NewEnvelope(src, received)
	if env.SchemaVersion != 1 || env.ID != EventID(src) || env.Type != "signalwire.conference.participant-join" {
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
	if len(m) != 8 {
		t.Errorf("envelope has %d members: %s", len(m), b)
	}
	// Round trip.
	var back Envelope
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.ID != env.ID || !back.OccurredAt.Equal(env.OccurredAt) || back.Source.CallSID() != callSID {
		t.Errorf("round trip: %+v", back)
	}
}

func TestNewEnvelopeFallbacks(t *testing.T) {
	form := url.Values{"AccountSid": {"a"}, "CallStatus": {"No Answer!"}, "Timestamp": {"garbage"}}
	src := mustNormalize(t, form, nil)
	received := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	env := NewEnvelope(src, received)
	if !env.OccurredAt.Equal(received) {
		t.Errorf("occurred_at = %v, want received_at", env.OccurredAt)
	}
	if env.Type != "signalwire.call.no-answer-" {
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
	if got := EventType(Source{}); got != "signalwire.unknown.unknown" {
		t.Errorf("EventType(zero) = %q", got)
	}
}
