package signalwire

import (
	"errors"
	"strings"
	"testing"
)

const (
	testAccountSID    = "b3877c40-da60-4998-90ad-b792e98472af"
	testConferenceSID = "b3877c40-da60-4998-90ad-b792e98472cf"
	testCallSID       = "b3877c40-da60-4998-90ad-b792e98472ca"
)

func testRef() ParticipantRef {
	return ParticipantRef{AccountSID: testAccountSID, ConferenceSID: testConferenceSID, CallSID: testCallSID}
}

// invalidSIDs are values ValidateSID must reject, by name.
func invalidSIDs() map[string]string {
	return map[string]string{
		"empty":                     "",
		"dot dot slash":             "../",
		"traversal padded to 36":    "../../../../../../../../../../../../",
		"escaped slash":             "%2F",
		"escaped slash padded":      "b3877c40-da60-4998-90ad-b792e984%2F",
		"slash inside":              "b3877c40-da60-4998-90ad-b792e98472/f",
		"arabic-indic digit":        "b3877c40-da60-4998-90ad-b792e98472\u0663",
		"fullwidth digit":           "b3877c40-da60-4998-90ad-b792e9847\uff11",
		"cyrillic a":                "b3877c40-d\u043060-4998-90ad-b792e98472a", // 36 bytes
		"overlong":                  testCallSID + "0",
		"very long":                 strings.Repeat("a", 10000),
		"trailing newline":          testCallSID + "\n",
		"trailing newline replaces": testCallSID[:35] + "\n",
		"leading space":             " " + testCallSID[1:],
		"no hyphens":                "b3877c40da60499890adb792e98472afabcd",
		"braces":                    "{b3877c40-da60-4998-90ad-b792e98472}",
		"urn prefix":                "urn:uuid:b3877c40-da60-4998-90ad-b79",
		"non hex letter":            "g3877c40-da60-4998-90ad-b792e98472af",
		"misplaced hyphen":          "b3877c4-0da60-4998-90ad-b792e98472af",
		"nul byte":                  "b3877c40-da60-4998-90ad-b792e98472a\x00",
		"query":                     "b3877c40-da60-4998-90ad-b792e984?a=b",
		"fragment":                  "b3877c40-da60-4998-90ad-b792e98472#f",
		"twilio style sid":          "CA0123456789abcdef0123456789abcdef",
		"only hyphens":              "------------------------------------",
	}
}

func TestValidateSIDAccepts(t *testing.T) {
	for _, v := range []string{
		testCallSID,
		strings.ToUpper(testCallSID),
		"B3877C40-da60-4998-90AD-b792e98472Af",
		"00000000-0000-0000-0000-000000000000",
		"ffffffff-ffff-ffff-ffff-ffffffffffff",
	} {
		if err := ValidateSID("call_sid", v); err != nil {
			t.Errorf("ValidateSID(%q) = %v, want nil", v, err)
		}
	}
}

func TestValidateSIDRejects(t *testing.T) {
	for name, v := range invalidSIDs() {
		t.Run(name, func(t *testing.T) {
			err := ValidateSID("call_sid", v)
			var sidErr *InvalidSIDError
			if !errors.As(err, &sidErr) {
				t.Fatalf("ValidateSID(%q) = %v, want *InvalidSIDError", v, err)
			}
			if sidErr.Field != "call_sid" {
				t.Errorf("Field = %q, want call_sid", sidErr.Field)
			}
			msg := err.Error()
			if !strings.Contains(msg, "call_sid") || sidErr.Reason == "" || !strings.Contains(msg, sidErr.Reason) {
				t.Errorf("message %q should name the field and the reason", msg)
			}
			if len(sidErr.Value) > maxQuotedValue+3 {
				t.Errorf("Value is %d bytes, want it truncated", len(sidErr.Value))
			}
			if len(msg) > 300 {
				t.Errorf("message is %d bytes, want a short one", len(msg))
			}
		})
	}
}

func TestInvalidSIDErrorMessage(t *testing.T) {
	err := ValidateSID("conference_sid", "")
	if got, want := err.Error(), "signalwire: invalid conference_sid: is empty"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	err = ValidateSID("call_sid", "x\ny")
	if got := err.Error(); !strings.Contains(got, `"x\ny"`) || !strings.Contains(got, "got 3 bytes") {
		t.Errorf("got %q, want the value quoted and its length", got)
	}
}

func TestParticipantRefValidateReportsFirstBadField(t *testing.T) {
	if err := testRef().Validate(); err != nil {
		t.Fatalf("Validate() = %v", err)
	}
	cases := []struct {
		ref   ParticipantRef
		field string
	}{
		{ParticipantRef{"bad", "bad", "bad"}, fieldAccountSID},
		{ParticipantRef{testAccountSID, "bad", "bad"}, fieldConferenceSID},
		{ParticipantRef{testAccountSID, testConferenceSID, "bad"}, fieldCallSID},
		{ParticipantRef{testAccountSID, testConferenceSID, ""}, fieldCallSID},
	}
	for _, tc := range cases {
		var sidErr *InvalidSIDError
		if err := tc.ref.Validate(); !errors.As(err, &sidErr) || sidErr.Field != tc.field {
			t.Errorf("Validate(%+v) = %v, want *InvalidSIDError for %s", tc.ref, err, tc.field)
		}
	}
}

func TestValidateSpaceHost(t *testing.T) {
	for _, h := range []string{
		"example.signalwire.com",
		"example.signalwire.com:443",
		"EXAMPLE.SignalWire.com",
		"my_space.signalwire.com",
		"localhost",
		"127.0.0.1:8443",
		"[::1]",
		"[::1]:8443",
		"a.b-c.d",
	} {
		if err := ValidateSpaceHost(h); err != nil {
			t.Errorf("ValidateSpaceHost(%q) = %v, want nil", h, err)
		}
	}
	for _, h := range []string{
		"",
		"https://example.signalwire.com",
		"example.signalwire.com/",
		"example.signalwire.com/api",
		"user:pass@example.signalwire.com",
		"example.signalwire.com?x=1",
		"example.signalwire.com#f",
		"example signalwire.com",
		"example.signalwire.com\n",
		"example.signalwire.com.",
		".example.com",
		"a..b",
		"-bad.example.com",
		"bad-.example.com",
		"example.com:",
		"example.com:0",
		"example.com:65536",
		"example.com:http",
		"example.com:443:443",
		"[::1",
		"[not-ip]:443",
		"[127.0.0.1]",
		"exa\u00f1mple.com",
		strings.Repeat("a", 64) + ".com",
		strings.Repeat("a.", 200) + "com",
	} {
		err := ValidateSpaceHost(h)
		if err == nil {
			t.Errorf("ValidateSpaceHost(%q) = nil, want an error", h)
			continue
		}
		if h != "" && strings.Contains(err.Error(), h) {
			t.Errorf("error %q quotes the value", err)
		}
	}
}
