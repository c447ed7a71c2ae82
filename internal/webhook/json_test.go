package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/signalwire-lambda/participants/test/signing"
)

// callStateBody is a RELAY / Calling API calling.call.state callback.
const callStateBody = `{"event_type":"calling.call.state","event_channel":"signalwire_x","timestamp":1795688100.5,` +
	`"space_id":"0a1b2c3d-0000-4000-8000-000000000001","project_id":"` + accountSID + `",` +
	`"params":{"node_id":"n1","call_id":"` + callSID + `","tag":"t1","device":{"type":"phone","params":{"from_number":"+15551230001","to_number":"+15559870000"}},` +
	`"parent":null,"peer":null,"call_state":"ringing","start_time":null,"end_time":null,"direction":"outbound"}}`

// swmlBody is a SWML-style request body.
const swmlBody = `{"call":{"call_id":"` + callSID + `","node_id":"n","segment_id":"s","call_state":"answered","direction":"inbound",` +
	`"type":"phone","from":"+15551230001","to":"+15559870000","project_id":"` + accountSID + `","space_id":"sp"},"vars":{}}`

func mustParseJSON(t testing.TB, body string, query url.Values) Source {
	t.Helper()
	src, err := ParseJSON([]byte(body), query)
	if err != nil {
		t.Fatalf("ParseJSON(%s): %v", body, err)
	}
	return src
}

func TestParseJSONCallState(t *testing.T) {
	src := mustParseJSON(t, "\n"+callStateBody+"\n", url.Values{"ConferenceSid": {conferenceSID}})
	received := time.Date(2026, 11, 26, 10, 15, 3, 0, time.UTC)
	env := NewEnvelope(src, received)
	if env.Type != "signalwire.calling.call.state.ringing" || env.Account != accountSID || env.Call != callSID ||
		src.ConferenceSID() != conferenceSID {
		t.Fatalf("envelope %+v", env)
	}
	if want := time.Date(2026, 11, 26, 10, 15, 0, 500_000_000, time.UTC); !env.OccurredAt.Equal(want) {
		t.Errorf("occurred_at %v, want %v", env.OccurredAt, want)
	}
	b, _ := json.Marshal(env.Source)
	if string(b) != callStateBody { // the payload, compacted
		t.Errorf("source %s", b)
	}
}

func TestParseJSONShapes(t *testing.T) {
	tests := []struct {
		body, typ, account, call string
		hasTime                  bool
	}{
		{swmlBody, "signalwire.swml.call.answered", accountSID, callSID, false},
		{`{"event_type":"calling.call.state","params":{"call_state":"Answered"}}`, "signalwire.json.unknown", "", "", false},
		{`{"event_type":"calling.call.state","params":{"call_state":7},"project_id":5}`, "signalwire.json.unknown", "", "", false},
		{`{"event_type":"calling.call.receive","project_id":"p","params":{"call_id":"c"},"timestamp":1.5e9}`, "signalwire.json.unknown", "p", "c", true},
		{`{"event_type":"calling.call.state","params":"x","timestamp":"1795688100"}`, "signalwire.json.unknown", "", "", false},
		{`{"call":{"call_state":"ended"},"call_id":"c"}`, "signalwire.swml.call.ended", "", "c", false},
		{`{}`, "signalwire.json.unknown", "", "", false},
		{`[{"a":1}]`, "signalwire.json.unknown", "", "", false},
		{`null`, "signalwire.json.unknown", "", "", false},
		{`"x"`, "signalwire.json.unknown", "", "", false},
		{`{"timestamp":-1}`, "signalwire.json.unknown", "", "", false},
		{`{"timestamp":1e300}`, "signalwire.json.unknown", "", "", false},
	}
	for _, tt := range tests {
		src := mustParseJSON(t, tt.body, nil)
		env := NewEnvelope(src, time.Unix(0, 0))
		if env.Type != tt.typ || env.Account != tt.account || env.Call != tt.call || src.hasTime != tt.hasTime {
			t.Errorf("%s: type %s account %q call %q time %v", tt.body, env.Type, env.Account, env.Call, src.hasTime)
		}
		b, err := json.Marshal(env)
		if err != nil || !json.Valid(b) {
			t.Errorf("%s: marshal %s %v", tt.body, b, err)
		}
	}
	// Not an object: the source wraps the payload.
	if b, _ := json.Marshal(mustParseJSON(t, `[1, 2]`, nil)); string(b) != `{"payload":[1,2]}` {
		t.Errorf("array source %s", b)
	}
}

func TestParseJSONMalformed(t *testing.T) {
	for _, body := range []string{``, `{`, `{"a":1}{}`, `{"a":1,}`, "{\"a\":\"\xff\"}", `NaN`, `{'a':1}`} {
		if _, err := ParseJSON([]byte(body), nil); !errors.Is(err, errMalformedBody) {
			t.Errorf("ParseJSON(%q) = %v, want errMalformedBody", body, err)
		}
	}
	if _, err := ParseJSON([]byte(`{}`), url.Values{"ConferenceSid": {"a", "b"}}); !errors.Is(err, errInvalidWebhook) {
		t.Errorf("repeated ConferenceSid: %v", err)
	}
}

func TestEpochSeconds(t *testing.T) {
	for in, want := range map[string]string{
		"1795688100":             "2026-11-26T10:15:00Z",
		"1795688100.123456789":   "2026-11-26T10:15:00.123456789Z",
		"1795688100.1234567891":  "2026-11-26T10:15:00.123456789Z",
		"1795688100.25":          "2026-11-26T10:15:00.25Z",
		"0":                      "1970-01-01T00:00:00Z",
		"1.7956881e9":            "2026-11-26T10:15:00Z",
		"253402300799":           "9999-12-31T23:59:59Z",
		"253402300800":           "",
		"-5":                     "",
		"\"1795688100\"":         "",
		"99999999999999999999.0": "",
	} {
		tm, ok := epochSeconds(json.RawMessage(in))
		got := ""
		if ok {
			got = tm.Format(time.RFC3339Nano)
		}
		if got != want {
			t.Errorf("epochSeconds(%s) = %q, want %q", in, got, want)
		}
	}
}

// Every JSON envelope, of each shape and lookup outcome, matches the schema;
// a form source under a JSON type is not required to, and a JSON source
// under a form type is rejected.
func TestEnvelopeSchemaJSONCallbacks(t *testing.T) {
	sch := compileEnvelopeSchema(t)
	received := time.Date(2026, 11, 26, 10, 15, 3, 0, time.UTC)
	for _, body := range []string{callStateBody, swmlBody, `{"event_type":"x"}`, `[1]`, `"s"`, `{}`} {
		env := NewEnvelope(mustParseJSON(t, body, url.Values{"ConferenceSid": {conferenceSID}}), received)
		if err := sch.Validate(instance(t, env)); err != nil {
			t.Errorf("%s: %v", body, err)
		}
		found := env
		found.ParticipantLookup, found.Participant = LookupFound, json.RawMessage(participantSample)
		if err := sch.Validate(instance(t, found)); err != nil {
			t.Errorf("%s found: %v", body, err)
		}
	}
	env := NewEnvelope(mustParseJSON(t, callStateBody, nil), received)
	doc := instance(t, env).(map[string]any)
	doc["type"] = "signalwire.conference.participant-join"
	if err := sch.Validate(doc); err == nil {
		t.Error("a JSON payload validated as a form callback's source")
	}
	doc["type"] = "signalwire.json.other"
	if err := sch.Validate(doc); err == nil {
		t.Error("an undocumented JSON type validated")
	}
}

func TestFormOrderings(t *testing.T) {
	form := url.Values{"A": {"1"}, "T": {"b", "a", "b"}}
	got := formOrderings(form)
	want := [][]string{{"b", "a", "b"}, {"a", "b", "b"}, {"a", "b"}, {"b"}}
	if len(got) != len(want) {
		t.Fatalf("%d orderings: %v", len(got), got)
	}
	for i, w := range want {
		if !slices.Equal(got[i]["T"], w) || !slices.Equal(got[i]["A"], []string{"1"}) {
			t.Errorf("ordering %d = %v, want T=%v", i, got[i], w)
		}
	}
	if got := formOrderings(url.Values{"A": {"1"}, "B": {"2"}}); len(got) != 1 {
		t.Errorf("no repeated name: %d orderings", len(got))
	}
	// Already sorted and distinct: received = sorted = deduplicated.
	if got := formOrderings(url.Values{"T": {"a", "b"}}); len(got) != 2 {
		t.Errorf("sorted distinct values: %v", got)
	}
}

// TestQueryCandidates: a REST API's decoded query is rebuilt in the order
// given, then sorted, then (up to 4 names) every order, each in every
// distinct encoding; at most 64.
func TestQueryCandidates(t *testing.T) {
	q := url.Values{"b": {"2"}, "a": {"1", "x y"}, "c": {"3"}}
	got := QueryCandidates([]string{"b", "a", "c"}, q)
	for i, want := range map[int]string{0: "b=2&a=1&a=x+y&c=3", 1: "b=2&a=1&a=x%20y&c=3", 2: "a=1&a=x+y&b=2&c=3"} {
		if len(got) <= i || got[i] != want {
			t.Errorf("QueryCandidates[%d] = %q, want %q (all: %q)", i, got[i], want, got)
		}
	}
	if len(got) != 12 || !slices.Contains(got, "c=3&b=2&a=1&a=x%20y") {
		t.Errorf("3 names, 2 encodings: %d candidates %q", len(got), got)
	}
	five := url.Values{"a": {"1"}, "b": {"1"}, "c": {"1"}, "d": {"1"}, "e": {"1"}}
	if got := QueryCandidates([]string{"e", "a", "d", "b", "c"}, five); !slices.Equal(got, []string{"e=1&a=1&d=1&b=1&c=1", "a=1&b=1&c=1&d=1&e=1"}) {
		t.Errorf("5 names: %q, want the order given, then sorted", got)
	}
	if got := QueryCandidates(nil, nil); len(got) != 1 || got[0] != "" {
		t.Errorf("empty: %q", got)
	}
	// Every encoder's own output is among them; a name the order does not
	// list comes after those it does.
	v := "ü ~!*'()$,;:@/?&=+#%"
	got = QueryCandidates([]string{"k"}, url.Values{"k": {v}, "z": {"1"}})
	for name, want := range map[string]string{
		"url.QueryEscape":    "k=" + url.QueryEscape(v),
		"encodeURIComponent": "k=%C3%BC%20~!*'()%24%2C%3B%3A%40%2F%3F%26%3D%2B%23%25",
		"URLSearchParams":    "k=%C3%BC+%7E%21*%27%28%29%24%2C%3B%3A%40%2F%3F%26%3D%2B%23%25",
		"HttpUtility":        "k=%c3%bc+%7e!*%27()%24%2c%3b%3a%40%2f%3f%26%3d%2b%23%25",
		"typed":              "k=ü%20~!*'()$,;:@/?%26%3D%2B%23%25",
	} {
		if !slices.Contains(got, want+"&z=1") {
			t.Errorf("%s: %q not among %q", name, want+"&z=1", got)
		}
	}
	// 48 distinct encodings in the order given (= sorted), then the other
	// order until the bound.
	if len(got) != 64 || got[0] != "k="+url.QueryEscape(v)+"&z=1" || !strings.HasPrefix(got[47], "k=") || !strings.HasPrefix(got[48], "z=1&k=") {
		t.Errorf("%d candidates, first %q", len(got), got[0])
	}
	many := url.Values{}
	for _, n := range []string{"a", "b", "c"} {
		many[n] = []string{v}
	}
	if got := QueryCandidates([]string{"c", "a", "b"}, many); len(got) != 64 || !strings.HasPrefix(got[0], "c=") {
		t.Errorf("bound: %d candidates, first %q", len(got), got[0])
	}
}

func TestPublicURLCandidates(t *testing.T) {
	r := RequestURL{PublicURL: "https://example.ngrok.io/webhook", PublicBaseURL: "https://ignored.example", Host: "h", Paths: []string{"/webhooks/signalwire"},
		RawQuery: "b=2&a=1", QueryVariants: []string{"a=1&b=2", "b=2&a=1"}, Route: "/webhooks/signalwire"}
	got := r.Candidates()
	want := []string{"https://example.ngrok.io/webhook?b=2&a=1", "https://example.ngrok.io/webhook?a=1&b=2"}
	if !slices.Equal(got, want) {
		t.Errorf("Candidates = %v, want %v", got, want)
	}
}

// The hex and bodySHA256 schemes: one byte changed in the body, the URL, the
// query or the signature is rejected; the signature's case does not matter.
func TestVerifyJSONSchemesTampering(t *testing.T) {
	const key = "PSK_generated"
	u := "https://hooks.example.com/webhooks/signalwire?ConferenceSid=" + conferenceSID
	body := []byte(callStateBody)
	hexSig := signing.JSON(key, u, body)
	shaURL := signing.WithBodySHA256(u, body)
	shaSig := signing.Form(key, shaURL, nil)
	for _, c := range []struct {
		scheme string
		url    string
		sig    string
	}{{schemeHex, u, hexSig}, {schemeBodySHA256, shaURL, shaSig}} {
		if got, err := (SignedRequest{CandidateURLs: []string{c.url}, Body: body, Signature: c.sig}).Verify(key); err != nil || got.Scheme != c.scheme {
			t.Fatalf("%s: %+v %v", c.scheme, got, err)
		}
		tampered := map[string]func() (string, []byte, string){
			"body": func() (string, []byte, string) { return c.url, flip(body, 40), c.sig },
			"URL":  func() (string, []byte, string) { return strings.Replace(c.url, "hooks.", "hookz.", 1), body, c.sig },
			"query": func() (string, []byte, string) {
				return strings.Replace(c.url, "ConferenceSid=cf", "ConferenceSid=cF", 1), body, c.sig
			},
			"signature": func() (string, []byte, string) { return c.url, body, string(flip([]byte(c.sig), 3)) },
		}
		for name, mk := range tampered {
			tu, tb, ts := mk()
			if _, err := (SignedRequest{CandidateURLs: []string{tu}, Body: tb, Signature: ts}).Verify(key); !errors.Is(err, ErrInvalidSignature) {
				t.Errorf("%s, tampered %s: %v", c.scheme, name, err)
			}
		}
	}
	if _, err := (SignedRequest{CandidateURLs: []string{u}, Body: body, Signature: strings.ToUpper(hexSig)}).Verify(key); err != nil {
		t.Errorf("upper-case hex: %v", err)
	}
}

// flip returns b with its i-th byte changed.
func flip(b []byte, i int) []byte {
	out := slices.Clone(b)
	out[i] ^= 0x01
	return out
}

// FuzzJSONCallback: a body signed with the hex scheme verifies exactly when
// it starts with '{' (any other body could be the tail of a signed URL), and
// ParseJSON either rejects it as malformed (exactly when it is not JSON in
// UTF-8) or yields a deterministic envelope with a documented type; a body
// with one byte changed never verifies.
func FuzzJSONCallback(f *testing.F) {
	for _, s := range []string{callStateBody, swmlBody, `{}`, `[]`, `{"timestamp":1e309}`, `{"call":{"call_state":"a-b"}}`, "{\"a\":\"\xff\"}", `{`, ``} {
		f.Add([]byte(s), "ConferenceSid="+conferenceSID)
	}
	typePattern := regexp.MustCompile(`^signalwire\.(calling\.call\.state\.[a-z0-9._-]+|swml\.call\.[a-z0-9._-]+|json\.unknown)$`)
	const key, u = "PSK_fuzz", "https://hooks.example.com/webhooks/signalwire"
	f.Fuzz(func(t *testing.T, body []byte, query string) {
		if len(body) > MaxBodyBytes {
			return
		}
		full := u + "?" + query
		sig := signing.JSON(key, full, body)
		got, err := SignedRequest{CandidateURLs: []string{full}, Body: body, Signature: sig}.Verify(key)
		object := len(bytes.TrimLeft(body, " \t\r\n")) > 0 && bytes.TrimLeft(body, " \t\r\n")[0] == '{'
		switch {
		case object && (err != nil || got.Scheme != schemeHex):
			t.Fatalf("signed object rejected: %+v %v", got, err)
		case !object && err == nil:
			t.Fatalf("hex-signed body that is not an object verified: %q", body)
		}
		if len(body) > 0 {
			if _, err := (SignedRequest{CandidateURLs: []string{full}, Body: flip(body, len(body)/2), Signature: sig}).Verify(key); err == nil {
				t.Fatal("a body with one byte changed verified")
			}
		}
		q, _ := url.ParseQuery(query)
		src, err := ParseJSON(body, q)
		wellFormed := utf8.Valid(body) && json.Valid(body)
		switch {
		case err != nil && errors.Is(err, errMalformedBody) == wellFormed:
			t.Fatalf("ParseJSON = %v for well-formed=%v", err, wellFormed)
		case err != nil:
			return
		}
		env := NewEnvelope(src, time.Unix(1_700_000_000, 0))
		again := NewEnvelope(mustParseJSON(t, string(body), q), time.Unix(1_700_000_000, 0))
		b1, err := json.Marshal(env)
		if err != nil || !json.Valid(b1) {
			t.Fatalf("marshal: %s %v", b1, err)
		}
		b2, _ := json.Marshal(again)
		if string(b1) != string(b2) {
			t.Fatal("not deterministic")
		}
		if !typePattern.MatchString(env.Type) || !strings.HasPrefix(env.ID, "evt_") {
			t.Fatalf("type %q id %q", env.Type, env.ID)
		}
	})
}
