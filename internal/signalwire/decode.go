package signalwire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Participant is SignalWire's answer to "Retrieve a Participant", decoded
// by DecodeParticipant. Dates are kept as sent (RFC 2822 in the reference;
// the participant package converts them); Status is an open set.
type Participant struct {
	AccountSID, CallSID, CallSIDToCoach, ConferenceSID *string
	DateCreated, DateUpdated, Status, URI              *string

	Coaching, EndConferenceOnExit, Muted, Hold, StartConferenceOnEnter *bool

	// Extra holds fields the reference does not document (such as label
	// and queue_time), unchanged. Nil when there are none.
	Extra map[string]json.RawMessage
	// Invalid holds documented fields whose value had an unusable type,
	// as sent. Nil when there are none.
	Invalid map[string]json.RawMessage
}

// Documented field names the SID errors use.
const (
	fieldAccountSID    = "account_sid"
	fieldConferenceSID = "conference_sid"
	fieldCallSID       = "call_sid"
)

// DecodeParticipant decodes a participant leniently: one odd field never
// fails the whole response. It returns an error only when body is not a
// JSON object (a leading UTF-8 byte order mark is ignored). A null or absent
// field stays nil; string fields (ids, dates, status, uri) accept only JSON
// strings, kept as sent; boolean fields accept true/false and the strings
// "true"/"false" (any case, spaces ignored). A documented field of another
// type goes to Invalid unchanged, an undocumented one to Extra.
func DecodeParticipant(body []byte) (*Participant, error) {
	body = bytes.TrimPrefix(body, []byte("\xef\xbb\xbf"))
	raw, ok := flatObject(body)
	if !ok {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(body, &m); err != nil {
			return nil, fmt.Errorf("participant is not a JSON object: %w", describeJSONError(err))
		}
		if m == nil { // the body was the JSON literal null
			return nil, errors.New("participant is not a JSON object: got null")
		}
		raw = make([]member, 0, len(m))
		for k, v := range m {
			raw = append(raw, member{k, v})
		}
	}
	d := decoder{raw: raw}
	p := &Participant{
		AccountSID:             field(&d, fieldAccountSID, lenientString),
		CallSID:                field(&d, fieldCallSID, lenientString),
		CallSIDToCoach:         field(&d, "call_sid_to_coach", lenientString),
		ConferenceSID:          field(&d, fieldConferenceSID, lenientString),
		DateCreated:            field(&d, "date_created", lenientString),
		DateUpdated:            field(&d, "date_updated", lenientString),
		Status:                 field(&d, "status", lenientString),
		URI:                    field(&d, "uri", lenientString),
		Coaching:               field(&d, "coaching", lenientBool),
		EndConferenceOnExit:    field(&d, "end_conference_on_exit", lenientBool),
		Muted:                  field(&d, "muted", lenientBool),
		Hold:                   field(&d, "hold", lenientBool),
		StartConferenceOnEnter: field(&d, "start_conference_on_enter", lenientBool),
		Invalid:                d.invalid,
	}
	for _, m := range d.raw { // what is left: the undocumented fields, the last of a repeated name
		if m.value != nil {
			if p.Extra == nil {
				p.Extra = make(map[string]json.RawMessage)
			}
			p.Extra[m.key] = m.value
		}
	}
	return p, nil
}

// member is a name and its value in a JSON object, the value nil once taken.
type member struct {
	key   string
	value json.RawMessage
}

// flatObject reads what SignalWire sends, an object of plain strings (see
// plainJSONString), booleans and nulls, as json.Unmarshal would, without its
// two passes over body: its members in order, the values aliasing body. ok
// is false for any other body, valid or not.
func flatObject(b []byte) (raw []member, ok bool) {
	const ws = " \t\r\n"
	raw = make([]member, 0, 16)
	for sep := byte('{'); ; sep = ',' {
		if b = bytes.TrimLeft(b, ws); len(b) == 0 || b[0] != sep {
			return nil, false
		}
		b = bytes.TrimLeft(b[1:], ws)
		n := plainValue(b)
		if n < 2 || b[0] != '"' {
			return nil, false
		}
		key := b[1 : n-1]
		if b = bytes.TrimLeft(b[n:], ws); len(b) == 0 || b[0] != ':' {
			return nil, false
		}
		b = bytes.TrimLeft(b[1:], ws)
		if n = plainValue(b); n == 0 {
			return nil, false
		}
		raw = append(raw, member{string(key), json.RawMessage(b[:n])})
		if b = bytes.TrimLeft(b[n:], ws); len(b) > 0 && b[0] == '}' {
			return raw, len(bytes.TrimLeft(b[1:], ws)) == 0
		}
	}
}

// plainValue returns the length of the plain string, true, false or null b
// starts with; 0 for anything else.
func plainValue(b []byte) int {
	for _, lit := range []string{"true", "false", "null"} {
		if bytes.HasPrefix(b, []byte(lit)) {
			return len(lit)
		}
	}
	end := bytes.IndexByte(b[min(1, len(b)):], '"') + 1
	if len(b) == 0 || b[0] != '"' || end == 0 || !plainJSONString(b[1:end]) {
		return 0
	}
	return end + 1
}

// decoder takes the documented fields out of raw, collecting the unusable
// ones in invalid.
type decoder struct {
	raw     []member
	invalid map[string]json.RawMessage
}

// field takes name out of d.raw (its last value, as json.Unmarshal keeps)
// and parses it; nil when absent or null.
func field[T any](d *decoder, name string, parse func(json.RawMessage) (T, bool)) *T {
	var v json.RawMessage
	for i := range d.raw {
		if d.raw[i].key == name && d.raw[i].value != nil {
			v, d.raw[i].value = d.raw[i].value, nil
		}
	}
	if v == nil || string(bytes.TrimSpace(v)) == "null" {
		return nil
	}
	if t, ok := parse(v); ok {
		return &t
	}
	if d.invalid == nil {
		d.invalid = make(map[string]json.RawMessage)
	}
	d.invalid[name] = v
	return nil
}

// describeJSONError adds to a decoding error where it went wrong (syntax
// errors) or what JSON type was found instead of an object.
func describeJSONError(err error) error {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return fmt.Errorf("invalid JSON at byte %d: %w", syn.Offset, err)
	}
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) {
		return fmt.Errorf("got a JSON %s: %w", typ.Value, err)
	}
	return err
}

// lenientString accepts a JSON string. One without escapes or control
// characters, in valid UTF-8 (ids, dates, status: nearly all), is taken
// from between its quotes, which is what json.Unmarshal would return;
// any other goes through json.Unmarshal.
func lenientString(v json.RawMessage) (string, bool) {
	v = bytes.TrimSpace(v)
	if len(v) == 0 || v[0] != '"' {
		return "", false
	}
	if len(v) >= 2 && v[len(v)-1] == '"' && plainJSONString(v[1:len(v)-1]) {
		return string(v[1 : len(v)-1]), true
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", false
	}
	return s, true
}

// plainJSONString reports whether b, the inside of a JSON string, decodes
// to itself: no backslash, no control character, valid UTF-8.
func plainJSONString(b []byte) bool {
	for _, c := range b {
		if c == '\\' || c < 0x20 {
			return false
		}
	}
	return utf8.Valid(b)
}

// lenientBool accepts JSON booleans and the strings "true" and "false".
func lenientBool(v json.RawMessage) (bool, bool) {
	s, ok := lenientString(v)
	if !ok {
		s = string(v) // another JSON value: only the literals true and false match
	}
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}
