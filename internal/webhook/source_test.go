package webhook

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
)

const (
	accountSID    = "b3877c40-da60-4998-90ad-b792e98472af"
	conferenceSID = "cf9a0c4f-7e2e-4cbb-a6a2-6f2cbb9ab8c3"
	callSID       = "d4f5a2c1-3b6e-4e8f-9a0b-1c2d3e4f5a6b"
)

// participantJoinBody is a conference participant-join callback as SignalWire
// (Twilio-compatibly) sends it.
const participantJoinBody = "AccountSid=" + accountSID +
	"&ConferenceSid=" + conferenceSID +
	"&CallSid=" + callSID +
	"&FriendlyName=Room+1234" +
	"&StatusCallbackEvent=participant-join" +
	"&Timestamp=Mon%2C+24+Sep+2018+21%3A00%3A00+%2B0000" +
	"&Muted=false&Hold=false&Coaching=false" +
	"&EndConferenceOnExit=true&StartConferenceOnEnter=true" +
	"&SequenceNumber=3" +
	"&CallSidEndingConference=" +
	"&ApiVersion=2010-04-01"

func mustParse(t testing.TB, body string) url.Values {
	t.Helper()
	form, err := ParseForm([]byte(body))
	if err != nil {
		t.Fatalf("ParseForm(%q): %v", body, err)
	}
	return form
}

func mustNormalize(t testing.TB, form, query url.Values) Source {
	t.Helper()
	src, err := Normalize(form, query)
	if err != nil {
		t.Fatalf("Normalize: %v", err)
	}
	return src
}

// assertJSON compares v's JSON with want, ignoring key order and spacing.
func assertJSON(t *testing.T, v any, want string) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	var got, exp any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("unmarshal own JSON %s: %v", b, err)
	}
	if err := json.Unmarshal([]byte(want), &exp); err != nil {
		t.Fatalf("bad want JSON: %v", err)
	}
	if !reflect.DeepEqual(got, exp) {
		t.Errorf("JSON\n got %s\nwant %s", b, want)
	}
}

func TestNormalizeParticipantJoin(t *testing.T) {
	src := mustNormalize(t, mustParse(t, participantJoinBody), nil)
	assertJSON(t, src, `{
		"account_sid": "`+accountSID+`",
		"conference_sid": "`+conferenceSID+`",
		"call_sid": "`+callSID+`",
		"friendly_name": "Room 1234",
		"status_callback_event": "participant-join",
		"timestamp": "2018-09-24T21:00:00Z",
		"muted": false, "hold": false, "coaching": false,
		"end_conference_on_exit": true, "start_conference_on_enter": true,
		"sequence_number": 3,
		"call_sid_ending_conference": "",
		"api_version": "2010-04-01",
		"unparsed": {}
	}`)
	if src.AccountSID() != accountSID || src.ConferenceSID() != conferenceSID || src.CallSID() != callSID {
		t.Errorf("ids: %q %q %q", src.AccountSID(), src.ConferenceSID(), src.CallSID())
	}
	if src.typ != "signalwire.conference.participant-join" {
		t.Errorf("type %q", src.typ)
	}
	if ts := src.occurred; !src.hasTime || !ts.Equal(time.Date(2018, 9, 24, 21, 0, 0, 0, time.UTC)) || ts.Location() != time.UTC {
		t.Errorf("time = %v, %v", ts, src.hasTime)
	}
}

func TestNormalizeConferenceEnd(t *testing.T) {
	form := url.Values{
		"AccountSid": {accountSID}, "ConferenceSid": {conferenceSID}, "FriendlyName": {"Room 1234"},
		"StatusCallbackEvent": {"conference-end"}, "Timestamp": {"Tue, 25 Sept 2018 08:01:02 +0200"},
		"ReasonConferenceEnded": {"last-participant-left"}, "CallSidEndingConference": {callSID},
	}
	src := mustNormalize(t, form, url.Values{"ConferenceSid": {"ignored-form-wins"}})
	if src.CallSID() != "" || src.ConferenceSID() != conferenceSID || src.typ != "signalwire.conference.conference-end" {
		t.Errorf("call %q conference %q type %q", src.CallSID(), src.ConferenceSID(), src.typ)
	}
	assertJSON(t, src, `{
		"account_sid": "`+accountSID+`", "conference_sid": "`+conferenceSID+`", "friendly_name": "Room 1234",
		"status_callback_event": "conference-end", "timestamp": "2018-09-25T06:01:02Z",
		"reason_conference_ended": "last-participant-left", "call_sid_ending_conference": "`+callSID+`",
		"unparsed": {}
	}`)
}

func TestNormalizeCallStatusWithQueryConference(t *testing.T) {
	body := "AccountSid=" + accountSID + "&ApiVersion=2010-04-01&CallSid=" + callSID +
		"&CallStatus=completed&Direction=outbound-api&From=%2B15551230000&To=sip%3Aalice%40example.com" +
		"&CallDuration=42&SipResultCode=200&SequenceNumber=7&HangupBy=%2B15551230000&CallbackSource=call-progress-events" +
		"&Timestamp=Thu%2C+01+Aug+2024+12%3A34%3A56+-0700"
	query, err := url.ParseQuery("ConferenceSid=" + conferenceSID + "&other=x")
	if err != nil {
		t.Fatal(err)
	}
	src := mustNormalize(t, mustParse(t, body), query)
	if src.ConferenceSID() != conferenceSID || src.typ != "signalwire.call.completed" {
		t.Errorf("conference %q type %q", src.ConferenceSID(), src.typ)
	}
	assertJSON(t, src, `{
		"account_sid": "`+accountSID+`", "api_version": "2010-04-01", "call_sid": "`+callSID+`",
		"call_status": "completed", "direction": "outbound-api", "from": "+15551230000", "to": "sip:alice@example.com",
		"call_duration": 42, "sip_result_code": 200, "sequence_number": 7, "hangup_by": "+15551230000",
		"callback_source": "call-progress-events", "timestamp": "2024-08-01T19:34:56Z",
		"conference_sid": "`+conferenceSID+`",
		"unparsed": {}
	}`)
	// Without the query, the call event has no conference.
	if got := mustNormalize(t, mustParse(t, body), nil).ConferenceSID(); got != "" {
		t.Errorf("ConferenceSID without query = %q", got)
	}
	// An empty ConferenceSid in the form does not hide the query's.
	form := mustParse(t, body+"&ConferenceSid=")
	if got := mustNormalize(t, form, query).ConferenceSID(); got != conferenceSID {
		t.Errorf("empty form ConferenceSid: got %q", got)
	}
}

func TestNormalizeTypes(t *testing.T) {
	form := url.Values{
		"AccountSid": {accountSID}, "StatusCallbackEvent": {"participant-mute"},
		"Muted": {"true"}, "Hold": {"False"}, "Coaching": {"TRUE"}, "EndConferenceOnExit": {"true"}, "StartConferenceOnEnter": {"false"},
		"SequenceNumber": {"12"}, "Duration": {"0"}, "CallDuration": {"-1"}, "RecordingFileSize": {"9007199254740993"}, "SipResultCode": {" 486 "},
		"Timestamp":    {"24 Sep 2018 21:00:00 GMT"},
		"EventName":    {"participant-mute"},
		"RecordingUrl": {"https://example.com/r.wav"},
		"Custom-Param": {"x"},
	}
	src := mustNormalize(t, form, nil)
	assertJSON(t, src, `{
		"account_sid": "`+accountSID+`", "status_callback_event": "participant-mute",
		"muted": true, "hold": false, "coaching": true, "end_conference_on_exit": true, "start_conference_on_enter": false,
		"sequence_number": 12, "duration": 0, "call_duration": -1, "recording_file_size": 9007199254740993, "sip_result_code": 486,
		"timestamp": "2018-09-24T21:00:00Z", "event_name": "participant-mute", "recording_url": "https://example.com/r.wav",
		"custom_param": "x",
		"unparsed": {}
	}`)
	// Integers beyond float64 precision survive (int64, not float64).
	b, _ := json.Marshal(src)
	if !json.Valid(b) || !strings.Contains(string(b), `"recording_file_size":9007199254740993`) {
		t.Errorf("big integer lost: %s", b)
	}
}

// Non-core typed parameters that do not convert are carried: null, with the
// text in unparsed.
func TestNormalizeUnparsable(t *testing.T) {
	form := url.Values{
		"AccountSid": {accountSID}, "CallStatus": {"in-progress"},
		"SipResultCode": {""}, "Duration": {"99999999999999999999"}, "QueueTime": {"soon"},
	}
	src := mustNormalize(t, form, nil)
	assertJSON(t, src, `{
		"account_sid": "`+accountSID+`", "call_status": "in-progress",
		"sip_result_code": null, "duration": null, "queue_time": null,
		"unparsed": {"sip_result_code": "", "duration": "99999999999999999999", "queue_time": "soon"}
	}`)
	if src.hasTime {
		t.Error("a time without Timestamp")
	}
}

// Core fields that do not parse strictly are rejected, never carried: a
// re-split signed form must not become a forwarded event (issue 10 §5).
func TestNormalizeStrictCoreFields(t *testing.T) {
	base := func() url.Values { return mustParse(t, participantJoinBody) }
	tests := map[string]func(url.Values){
		"Muted yes":               func(f url.Values) { f.Set("Muted", "yes") },
		"Muted 1":                 func(f url.Values) { f.Set("Muted", "1") },
		"Hold padded":             func(f url.Values) { f.Set("Hold", " false") },
		"Muted absorbed a name":   func(f url.Values) { f.Set("Muted", "falseSequenceNumber7"); f.Del("SequenceNumber") },
		"Coaching repeated":       func(f url.Values) { f.Add("Coaching", "true") },
		"SequenceNumber signed":   func(f url.Values) { f.Set("SequenceNumber", "+3") },
		"SequenceNumber 3.0":      func(f url.Values) { f.Set("SequenceNumber", "3.0") },
		"SequenceNumber empty":    func(f url.Values) { f.Set("SequenceNumber", "") },
		"SequenceNumber overflow": func(f url.Values) { f.Set("SequenceNumber", "99999999999999999999") },
		"Timestamp absorbed":      func(f url.Values) { f.Set("Timestamp", f.Get("Timestamp")+"ApiVersion2010-04-01"); f.Del("ApiVersion") },
		"Timestamp text":          func(f url.Values) { f.Set("Timestamp", "yesterday") },
		"event absorbed Timestamp": func(f url.Values) {
			f.Set("StatusCallbackEvent", "participant-joinTimestamp"+f.Get("Timestamp"))
			f.Del("Timestamp")
		},
		"event upper case":    func(f url.Values) { f.Set("StatusCallbackEvent", "Participant-Join") },
		"event empty":         func(f url.Values) { f.Set("StatusCallbackEvent", "") },
		"event with a space":  func(f url.Values) { f.Set("StatusCallbackEvent", "participant join") },
		"CallStatus absorbed": func(f url.Values) { f.Set("CallStatus", "completedDirectioninbound") },
		"CallSid absorbed": func(f url.Values) {
			f.Set("CallSid", f.Get("CallSid")+"ConferenceSid"+f.Get("ConferenceSid"))
			f.Del("ConferenceSid")
		},
		"AccountSid short":        func(f url.Values) { f.Set("AccountSid", "a") },
		"ConferenceSid not a SID": func(f url.Values) { f.Set("ConferenceSid", "../x") },
		"ParentCallSid junk":      func(f url.Values) { f.Set("ParentCallSid", "x") },
	}
	for name, edit := range tests {
		f := base()
		edit(f)
		if _, err := Normalize(f, nil); !errors.Is(err, errInvalidWebhook) {
			t.Errorf("%s: Normalize = %v, want errInvalidWebhook", name, err)
		}
	}
	// Accepted: Twilio-style SIDs, an empty ParentCallSid, any case of true/false.
	f := base()
	f.Set("CallSid", "CA0123456789abcdef0123456789abcdef")
	f.Set("ParentCallSid", "")
	f.Set("Muted", "True")
	mustNormalize(t, f, nil)
}

func TestNormalizeRepeatedAndCollisions(t *testing.T) {
	form := url.Values{
		"AccountSid": {accountSID}, "CallStatus": {"ringing"},
		"Tag":     {"b", "a"},
		"CallSid": {callSID}, "call_sid": {"c2"},
		"Unparsed": {"u"},
		"~":        {"no letter"},
		"X--Y":     {"xy"},
	}
	src := mustNormalize(t, form, nil)
	assertJSON(t, src, `{
		"account_sid": "`+accountSID+`", "call_status": "ringing",
		"tag": ["b", "a"],
		"call_sid": "`+callSID+`", "call_sid_2": "c2",
		"unparsed_2": "u",
		"param": "no letter",
		"x_y": "xy",
		"unparsed": {}
	}`)
	if src.CallSID() != callSID {
		t.Errorf("CallSID = %q (the byte-order first name owns the key)", src.CallSID())
	}
}

func TestNormalizeErrors(t *testing.T) {
	base := func() url.Values {
		return url.Values{"AccountSid": {accountSID}, "ConferenceSid": {conferenceSID}, "CallSid": {callSID}, "StatusCallbackEvent": {"participant-join"}}
	}
	tests := []struct {
		name  string
		edit  func(url.Values)
		query url.Values
	}{
		{"no AccountSid", func(f url.Values) { f.Del("AccountSid") }, nil},
		{"empty AccountSid", func(f url.Values) { f.Set("AccountSid", "") }, nil},
		{"no event", func(f url.Values) { f.Del("StatusCallbackEvent") }, nil},
		{"empty events", func(f url.Values) { f.Set("StatusCallbackEvent", ""); f.Set("CallStatus", "") }, nil},
		{"repeated AccountSid", func(f url.Values) { f.Add("AccountSid", accountSID) }, nil},
		{"repeated CallSid", func(f url.Values) { f.Add("CallSid", callSID) }, nil},
		{"repeated ConferenceSid", func(f url.Values) { f.Add("ConferenceSid", conferenceSID) }, nil},
		{"repeated StatusCallbackEvent", func(f url.Values) { f.Add("StatusCallbackEvent", "participant-leave") }, nil},
		{"repeated query ConferenceSid", func(f url.Values) { f.Del("ConferenceSid") }, url.Values{"ConferenceSid": {"x", "y"}}},
	}
	for _, tt := range tests {
		form := base()
		tt.edit(form)
		if _, err := Normalize(form, tt.query); !errors.Is(err, errInvalidWebhook) {
			t.Errorf("%s: Normalize = %v, want errInvalidWebhook", tt.name, err)
		}
	}
	if _, err := Normalize(nil, nil); !errors.Is(err, errInvalidWebhook) {
		t.Errorf("nil form: %v", err)
	}
	// CallStatus alone is a call event; both present make a conference event.
	f := base()
	f.Set("CallStatus", "in-progress")
	if src := mustNormalize(t, f, nil); src.typ != "signalwire.conference.participant-join" {
		t.Errorf("both: type %q", src.typ)
	}
}

func TestSnakeCase(t *testing.T) {
	tests := map[string]string{
		"StatusCallbackEvent":     "status_callback_event",
		"CallSid":                 "call_sid",
		"SipResultCode":           "sip_result_code",
		"AccountSid":              "account_sid",
		"CallSidEndingConference": "call_sid_ending_conference",
		"ApiVersion":              "api_version",
		"RecordingUrl":            "recording_url",
		"bodySHA256":              "body_sha256",
		"CallSIDToCoach":          "call_sid_to_coach",
		"HTTPStatus2XX":           "http_status2_xx",
		"Stir-Verstat":            "stir_verstat",
		"already_snake":           "already_snake",
		"__x__":                   "x",
		"To":                      "to",
		"X":                       "x",
		"ÉtéParam":                "été_param",
		"":                        "param",
		"---":                     "param",
	}
	for in, want := range tests {
		if got := snakeCase(in); got != want {
			t.Errorf("snakeCase(%q) = %q, want %q", in, got, want)
		}
		if got := snakeCaseRunes(in); got != want {
			t.Errorf("snakeCaseRunes(%q) = %q, want %q", in, got, want)
		}
	}
}

// snakeCase's byte-wise ASCII path agrees with the rune-wise one.
func TestSnakeCaseASCIIMatchesRunes(t *testing.T) {
	const alphabet = "aZbY09_-. AbCSHA256Sid"
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		b := make([]byte, r.IntN(80))
		for i := range b {
			if r.IntN(8) == 0 {
				b[i] = byte(r.IntN(128))
			} else {
				b[i] = alphabet[r.IntN(len(alphabet))]
			}
		}
		if got, want := snakeCase(string(b)), snakeCaseRunes(string(b)); got != want {
			t.Fatalf("snakeCase(%q) = %q, the rune-wise %q", b, got, want)
		}
	}
}

// A repeated typed parameter is null, with its values in unparsed.
func TestNormalizeRepeatedTyped(t *testing.T) {
	form := url.Values{"AccountSid": {accountSID}, "CallStatus": {"ringing"}, "Tag": {"b", "a"}, "QueueTime": {"x"}, "Duration": {"1", "2"}}
	assertJSON(t, mustNormalize(t, form, nil), `{
		"account_sid": "`+accountSID+`", "call_status": "ringing", "tag": ["b", "a"],
		"queue_time": null, "duration": null,
		"unparsed": {"queue_time": "x", "duration": ["1", "2"]}
	}`)
	var zero Source
	assertJSON(t, zero, `{"unparsed":{}}`)
}
