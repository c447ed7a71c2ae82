package webhook

import (
	"encoding/json"
	"net/url"
	"testing"
	"time"
	"unicode/utf8"
)

// referenceEnvelope is what Envelope.MarshalJSON encoded with json.Marshal.
func referenceEnvelope(e Envelope) []byte {
	type plain Envelope
	p := plain(e)
	p.OccurredAt, p.ReceivedAt = p.OccurredAt.UTC(), p.ReceivedAt.UTC()
	if len(p.Participant) == 0 {
		p.Participant = json.RawMessage("null")
	}
	b, _ := json.Marshal(p)
	return b
}

// hardStrings are values json.Marshal escapes or rewrites.
var hardStrings = []string{"", "plain", `q"uo\te`, "<a href='x'>&amp;</a>", "tab\tnl\nret\rbs\bff\f\x00\x01\x1f\x7f",
	"\u2028\u2029", "é中文🎉", "\xff\xfe bad \xc3", "\ufffe\uffff", "Mon, 02 Jan 2006 15:04:05 +0000"}

// TestEnvelopeMatchesEncodingJSON: an envelope encodes to the bytes
// json.Marshal gave it, for forms and JSON callbacks holding what JSON
// escapes, with and without a participant.
func TestEnvelopeMatchesEncodingJSON(t *testing.T) {
	received := time.Date(2026, 1, 2, 3, 4, 5, 6, time.FixedZone("x", 3600))
	var sources []Source
	for i, v := range hardStrings {
		if !utf8.ValidString(v) && i%2 == 0 {
			continue
		}
		form := url.Values{
			"AccountSid": {"AC" + "0123456789abcdef0123456789abcdef"}, "CallSid": {"CA0123456789abcdef0123456789abcdef"},
			"StatusCallbackEvent": {"participant-join"}, "FriendlyName": {v}, "Muted": {"true"}, "Hold": {"false"}, "QueueTime": {"x12"},
			"SequenceNumber": {"7"}, "Timestamp": {"Mon, 02 Jan 2006 15:04:05 +0000"}, "Odd<Name>&": {v, "second"}, "RecordingDuration": {"1", "2"},
		}
		src, err := Normalize(form, url.Values{"x": {v}})
		if err != nil {
			t.Fatalf("Normalize: %v", err)
		}
		sources = append(sources, src)
		body, _ := json.Marshal(map[string]any{"event_type": "calling.call.state", "params": map[string]any{"call_id": "c", "v": v}, "project_id": "p"})
		js, err := ParseJSON(body, nil)
		if err != nil {
			t.Fatalf("ParseJSON: %v", err)
		}
		sources = append(sources, js)
	}
	// A JSON callback's source is kept as sent (compacted): raw <, & and U+2028.
	raw, err := ParseJSON([]byte("{\"event_type\": \"calling.call.state\", \"project_id\": \"p\", \"params\": {\"call_id\": \"c\", \"v\": \"<b>&\u2028\"}}"), nil)
	if err != nil {
		t.Fatalf("ParseJSON: %v", err)
	}
	sources = append(sources, raw, Source{})
	for _, src := range sources {
		for _, participant := range []json.RawMessage{nil, json.RawMessage(`{"name":"<b>&\u2028"}`)} {
			env := NewEnvelope(src, received)
			env.Participant = participant
			got, err := env.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			if want := referenceEnvelope(env); string(got) != string(want) {
				t.Errorf("Envelope.MarshalJSON\n got %s\nwant %s", got, want)
			}
		}
	}
}

// TestEnvelopeTimeOutOfRange: a time json.Marshal refuses (outside years
// 0-9999) is an error, as it was through json.Marshal.
func TestEnvelopeTimeOutOfRange(t *testing.T) {
	env := NewEnvelope(Source{}, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	for _, set := range []func(time.Time){func(x time.Time) { env.OccurredAt = x }, func(x time.Time) { env.ReceivedAt = x }} {
		set(time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC))
		if _, err := env.MarshalJSON(); err == nil {
			t.Error("an envelope with a year-10000 time encoded")
		}
		set(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	}
}
