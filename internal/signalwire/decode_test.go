package signalwire

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("reading fixture: %v", err)
	}
	return b
}

func str(p *string) string {
	if p == nil {
		return "<nil>"
	}
	return *p
}

func boolStr(p *bool) string {
	switch {
	case p == nil:
		return "<nil>"
	case *p:
		return "true"
	}
	return "false"
}

func TestDecodeParticipantFixture(t *testing.T) {
	p, err := DecodeParticipant(readFixture(t, "participant.json"))
	if err != nil {
		t.Fatalf("DecodeParticipant: %v", err)
	}
	strs := map[string]struct{ got, want string }{
		"account_sid":       {str(p.AccountSID), testAccountSID},
		"call_sid":          {str(p.CallSID), testCallSID},
		"call_sid_to_coach": {str(p.CallSIDToCoach), "b3877c40-da60-4998-90ad-b792e98472cc"},
		"conference_sid":    {str(p.ConferenceSID), testConferenceSID},
		"date_created":      {str(p.DateCreated), "Mon, 24 Sep 2018 21:00:00 +0000"},
		"date_updated":      {str(p.DateUpdated), "Mon, 24 Sep 2018 21:00:05 +0000"},
		"status":            {str(p.Status), "in-progress"},
		"uri": {str(p.URI), "/api/laml/2010-04-01/Accounts/" + testAccountSID +
			"/Conferences/" + testConferenceSID + "/Participants/" + testCallSID + ".json"},
		"coaching":                  {boolStr(p.Coaching), "true"},
		"end_conference_on_exit":    {boolStr(p.EndConferenceOnExit), "false"},
		"hold":                      {boolStr(p.Hold), "false"},
		"muted":                     {boolStr(p.Muted), "true"},
		"start_conference_on_enter": {boolStr(p.StartConferenceOnEnter), "true"},
	}
	if len(strs) != 13 {
		t.Fatalf("the test covers %d fields, want all 13 documented ones", len(strs))
	}
	for field, c := range strs {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", field, c.got, c.want)
		}
	}
	if p.Extra != nil || p.Invalid != nil {
		t.Errorf("Extra = %v, Invalid = %v, want both nil", p.Extra, p.Invalid)
	}
}

func TestDecodeParticipantLenient(t *testing.T) {
	p, err := DecodeParticipant(readFixture(t, "participant_lenient.json"))
	if err != nil {
		t.Fatalf("DecodeParticipant: %v", err)
	}
	checks := []struct{ name, got, want string }{
		{"four-letter month kept as sent", str(p.DateCreated), "Mon, 24 Sept 2018 21:00:00 +0000"},
		{"non-UUID call_sid passes through", str(p.CallSID), "b3877c40-da60-4998-90ad-b792e98472cap"},
		{"non-UUID conference_sid passes through", str(p.ConferenceSID), "CF-not-a-uuid"},
		{"unknown status passes through", str(p.Status), "on-a-break"},
		{"null call_sid_to_coach is nil", str(p.CallSIDToCoach), "<nil>"},
		{"string false", boolStr(p.Coaching), "false"},
		{"string TRUE", boolStr(p.EndConferenceOnExit), "true"},
		{"JSON true", boolStr(p.StartConferenceOnEnter), "true"},
		{"number date is not a string", str(p.DateUpdated), "<nil>"},
		{"unusable bool string", boolStr(p.Hold), "<nil>"},
		{"number bool", boolStr(p.Muted), "<nil>"},
		{"account_sid", str(p.AccountSID), testAccountSID},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, c.got, c.want)
		}
	}
	wantInvalid := map[string]string{"date_updated": "1537822805", "hold": `"yes"`, "muted": "1"}
	if len(p.Invalid) != len(wantInvalid) {
		t.Errorf("Invalid = %s, want %v", mustJSON(t, p.Invalid), wantInvalid)
	}
	for k, v := range wantInvalid {
		if string(p.Invalid[k]) != v {
			t.Errorf("Invalid[%s] = %s, want %s", k, p.Invalid[k], v)
		}
	}
	wantExtra := map[string]string{"label": `"customer"`, "queue_time": `"1000"`, "subresource_uris": `{"recordings": "/x.json"}`}
	if len(p.Extra) != len(wantExtra) {
		t.Errorf("Extra = %s, want %v", mustJSON(t, p.Extra), wantExtra)
	}
	for k, v := range wantExtra {
		if string(p.Extra[k]) != v {
			t.Errorf("Extra[%s] = %s, want %s", k, p.Extra[k], v)
		}
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestDecodeParticipantEdgeCases(t *testing.T) {
	t.Run("empty object", func(t *testing.T) {
		p, err := DecodeParticipant([]byte(` {} `))
		if err != nil || p == nil || p.AccountSID != nil || p.Extra != nil || p.Invalid != nil {
			t.Fatalf("got %+v, %v; want an empty participant", p, err)
		}
	})
	t.Run("byte order mark", func(t *testing.T) {
		p, err := DecodeParticipant([]byte("\xef\xbb\xbf{\"status\":\"completed\"}"))
		if err != nil || str(p.Status) != "completed" {
			t.Fatalf("got %+v, %v", p, err)
		}
	})
	t.Run("nulls everywhere", func(t *testing.T) {
		p, err := DecodeParticipant([]byte(`{"muted":null,"status":null,"label":null}`))
		if err != nil || p.Muted != nil || p.Status != nil || p.Invalid != nil || string(p.Extra["label"]) != "null" {
			t.Fatalf("got %+v, %v", p, err)
		}
	})
	t.Run("wrong types", func(t *testing.T) {
		p, err := DecodeParticipant([]byte(`{"status":["x"],"uri":{"a":1},"coaching":"maybe","account_sid":true}`))
		if err != nil {
			t.Fatal(err)
		}
		if p.Status != nil || p.URI != nil || p.Coaching != nil || p.AccountSID != nil || len(p.Invalid) != 4 {
			t.Fatalf("got %+v", p)
		}
	})
	t.Run("escaped strings", func(t *testing.T) {
		p, err := DecodeParticipant([]byte(`{"status":"in\u002dprogress","call_sid_to_coach":""}`))
		if err != nil || str(p.Status) != "in-progress" || str(p.CallSIDToCoach) != "" {
			t.Fatalf("got %+v, %v", p, err)
		}
	})
}

func TestDecodeParticipantRejectsNonObjects(t *testing.T) {
	for _, body := range []string{
		"", " ", "null", "[]", `[{"status":"x"}]`, `"x"`, "42", "true",
		`{"status":"in-progress"`, `{"status":}`, `{"a":1}x`, "<html><body>OK</body></html>",
		"status=in-progress",
	} {
		p, err := DecodeParticipant([]byte(body))
		if err == nil || p != nil {
			t.Errorf("DecodeParticipant(%q) = %+v, %v; want an error", body, p, err)
		}
	}
}

func TestParseErrorBody(t *testing.T) {
	cases := []struct {
		name string
		body []byte
		want errorBody
	}{
		{"signalwire 404", readFixture(t, "error_404.json"), errorBody{
			code:     20404,
			message:  "The requested resource /Accounts/" + testAccountSID + "/Conferences/" + testConferenceSID + "/Participants/" + testCallSID + " was not found",
			moreInfo: "https://developer.signalwire.com/compatibility-api/reference/error-codes",
		}},
		{"numeric strings", readFixture(t, "error_400_strings.json"), errorBody{
			code: 21220, message: "Invalid call state for this operation",
			moreInfo: "https://developer.signalwire.com/compatibility-api/reference/error-codes",
		}},
		{"errors array", readFixture(t, "error_errors_array.json"), errorBody{
			code: 20003, message: "Missing Voice scope for this token",
			moreInfo: "https://developer.signalwire.com/compatibility-api/reference/error-codes",
		}},
		{"float code", []byte(`{"code":20404.0,"status":" 404 "}`), errorBody{code: 20404}},
		{"odd types", []byte(`{"code":"abc","status":true,"message":5,"detail":"fallback"}`), errorBody{message: "fallback"}},
		{"html", readFixture(t, "error_proxy.html"), errorBody{}},
		{"empty", nil, errorBody{}},
		{"null", []byte("null"), errorBody{}},
		{"array", []byte(`[1]`), errorBody{}},
		{"empty errors", []byte(`{"errors":[]}`), errorBody{}},
	}
	for _, c := range cases {
		if got := parseErrorBody(c.body); got != c.want {
			t.Errorf("%s: got %+v, want %+v", c.name, got, c.want)
		}
	}
}

// TestLenientStringMatchesUnmarshal: the no-escape fast path returns what
// json.Unmarshal returns, and every other string still goes through it.
func TestLenientStringMatchesUnmarshal(t *testing.T) {
	for _, v := range []string{
		`"in-progress"`, `""`, `"Mon, 24 Sep 2018 21:00:00 +0000"`, `"caf\u00e9"`, `"a\"b"`, `"a\\b"`, `"tab\there"`,
		`"é ü 日本"`, "\"bad\xffutf8\"", "\"ctl\x01\"", `"\ud800"`, ` "padded" `, `7`, `null`, `true`, `{"a":1}`,
	} {
		var want string
		wantOK := json.Unmarshal([]byte(v), &want) == nil && strings.HasPrefix(strings.TrimSpace(v), `"`)
		got, ok := lenientString(json.RawMessage(v))
		if ok != wantOK || got != want {
			t.Errorf("lenientString(%q) = %q, %v; json.Unmarshal gives %q, %v", v, got, ok, want, wantOK)
		}
	}
}

// TestDecodeParticipantRepeatedNames: a repeated name keeps its last value,
// documented or not, as json.Unmarshal keeps it, on both decoding paths.
func TestDecodeParticipantRepeatedNames(t *testing.T) {
	for _, body := range []string{
		`{"status":"a","label":"x","status":"b","label":"y"}`,       // the flat fast path
		`{"status":"a","label":"x","status":"b","label":"y","n":1}`, // json.Unmarshal
	} {
		p, err := DecodeParticipant([]byte(body))
		if err != nil || p.Status == nil || *p.Status != "b" || string(p.Extra["label"]) != `"y"` {
			t.Errorf("%s: %+v (%v)", body, p, err)
		}
	}
}
