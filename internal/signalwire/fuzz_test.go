package signalwire

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"
)

// documentedFields is every field of the reference's participant.
func documentedFields() map[string]bool {
	return map[string]bool{
		"account_sid": true, "call_sid": true, "call_sid_to_coach": true, "coaching": true,
		"conference_sid": true, "date_created": true, "date_updated": true, "status": true,
		"end_conference_on_exit": true, "muted": true, "hold": true,
		"start_conference_on_enter": true, "uri": true,
	}
}

func FuzzDecodeParticipant(f *testing.F) {
	for _, name := range []string{"participant.json", "participant_lenient.json", "error_404.json", "error_errors_array.json", "error_proxy.html"} {
		f.Add(readFixture(f, name))
	}
	for _, s := range []string{
		``, `{}`, `null`, `[]`, `"x"`, `{"muted":"True"}`, `{"muted":"tru"}`, `{"status":null}`,
		`{"status":1e400}`, `{"a":{"b":[1,2,{"c":null}]}}`, "\xef\xbb\xbf{}", `{"uri":"\ud800"}`,
		`{"call_sid":"x","call_sid":5}`, `{"hold": false , "coaching" : "false"}`, "{\"status\":\"\xff\"}",
	} {
		f.Add([]byte(s))
	}
	fields := documentedFields()
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := DecodeParticipant(body)
		// JSON whitespace only: bytes.TrimSpace would also strip \f and \v, which JSON rejects.
		trimmed := bytes.Trim(bytes.TrimPrefix(body, []byte("\xef\xbb\xbf")), " \t\r\n")
		isObject := json.Valid(trimmed) && len(trimmed) > 0 && trimmed[0] == '{'
		if isObject && (err != nil || p == nil) {
			t.Fatalf("a JSON object was rejected: %v", err)
		}
		if !isObject && err == nil {
			t.Fatalf("accepted a body that is not a JSON object: %q", body)
		}
		if err != nil {
			if p != nil {
				t.Fatal("returned a participant with an error")
			}
			return
		}
		for k := range p.Extra {
			if fields[k] {
				t.Errorf("documented field %q landed in Extra", k)
			}
		}
		for k, v := range p.Invalid {
			if !fields[k] {
				t.Errorf("undocumented field %q landed in Invalid", k)
			}
			if !json.Valid(v) || string(bytes.TrimSpace(v)) == "null" {
				t.Errorf("Invalid[%q] = %q, want the non-null JSON value as sent", k, v)
			}
		}
		for k, v := range p.Extra {
			if !json.Valid(v) {
				t.Errorf("Extra[%q] = %q is not JSON", k, v)
			}
		}
		set := map[string]bool{
			"account_sid": p.AccountSID != nil, "call_sid": p.CallSID != nil, "call_sid_to_coach": p.CallSIDToCoach != nil,
			"conference_sid": p.ConferenceSID != nil, "date_created": p.DateCreated != nil, "date_updated": p.DateUpdated != nil,
			"status": p.Status != nil, "uri": p.URI != nil, "coaching": p.Coaching != nil,
			"end_conference_on_exit": p.EndConferenceOnExit != nil, "muted": p.Muted != nil, "hold": p.Hold != nil,
			"start_conference_on_enter": p.StartConferenceOnEnter != nil,
		}
		if len(set) != len(fields) {
			t.Fatal("the invariant does not cover every documented field")
		}
		for k, isSet := range set {
			if _, inv := p.Invalid[k]; isSet && inv {
				t.Errorf("field %q is both decoded and Invalid", k)
			}
		}
	})
}

func FuzzValidateSID(f *testing.F) {
	for _, v := range invalidSIDs() {
		f.Add(v)
	}
	for _, v := range []string{testAccountSID, testCallSID, strings.ToUpper(testCallSID), "00000000-0000-0000-0000-000000000000"} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v string) {
		err := ValidateSID("call_sid", v)
		if err == nil {
			if len(v) != 36 {
				t.Fatalf("accepted %q of %d bytes", v, len(v))
			}
			if url.PathEscape(v) != v {
				t.Fatalf("accepted %q, which url.PathEscape changes", v)
			}
			for i, c := range []byte(v) {
				hyphen := i == 8 || i == 13 || i == 18 || i == 23
				if hyphen != (c == '-') || (!hyphen && !strings.ContainsRune("0123456789abcdefABCDEF", rune(c))) {
					t.Fatalf("accepted %q: byte %d is %q", v, i, c)
				}
			}
			return
		}
		var sidErr *InvalidSIDError
		if !errors.As(err, &sidErr) || sidErr.Field != "call_sid" {
			t.Fatalf("error %v is not an *InvalidSIDError for call_sid", err)
		}
		if len(sidErr.Value) > maxQuotedValue+3 || !strings.Contains(err.Error(), "call_sid") {
			t.Fatalf("error %q: value not truncated or field not named", err)
		}
	})
}

// FuzzFlatObject: the fast path reads every body it accepts as
// json.Unmarshal does.
func FuzzFlatObject(f *testing.F) {
	for _, s := range []string{
		`{"a":"b"}`, ` { "a" : true , "b":false,"c":null } `, `{"a":"b","a":"c"}`, `{"a":"b",}`, `{}`, `{"a":"b"}x`,
		`{"a":"\u0041"}`, "{\"a\":\"\xff\"}", `{"a":1}`, `{"a":"b"`, `{"a":tru}`, `{"a":nullx}`, `{"":""}`, "{\"a\":\"\t\"}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		members, ok := flatObject(body)
		if !ok {
			return
		}
		got := map[string]json.RawMessage{} // the last value of a repeated name, as json.Unmarshal keeps
		for _, m := range members {
			got[m.key] = m.value
		}
		var want map[string]json.RawMessage
		if err := json.Unmarshal(body, &want); err != nil {
			t.Fatalf("accepted %q, which json.Unmarshal refuses: %v", body, err)
		}
		if len(got) != len(want) {
			t.Fatalf("%q: got %q, want %q", body, got, want)
		}
		for k, v := range want {
			if !bytes.Equal(got[k], v) {
				t.Fatalf("%q: got %q, want %q", body, got, want)
			}
		}
	})
}
