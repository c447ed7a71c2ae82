package webhook

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"github.com/signalwire-lambda/participants/internal/participant"
	"github.com/signalwire-lambda/participants/internal/signalwire"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Event kinds.
const (
	// KindConference marks a conference status callback (StatusCallbackEvent).
	KindConference = "conference"
	// KindCall marks a call status callback (CallStatus).
	KindCall = "call"
)

// The source keys (snake_case parameter names) with a non-string type. Every
// other parameter is kept as a string. schema/envelope.v1.schema.json lists the
// same keys; a test keeps the two in step.
const (
	// boolKeys are converted from "true" / "false" to JSON booleans.
	boolKeys = "coaching end_conference_on_exit hold muted start_conference_on_enter"
	// intKeys are converted from decimal strings to JSON integers.
	intKeys = "call_duration dial_call_duration duration queue_time recording_channels recording_duration recording_file_size sequence_number sip_result_code"
	// timeKeys are converted from RFC 2822 dates to RFC 3339 UTC strings.
	timeKeys = "timestamp"
)

// firstName is the first name, in byte order, of every form callback.
const firstName = "AccountSid"

// unparsedKey is the reserved source key holding the values that did not
// convert.
const unparsedKey = "unparsed"

// Source is a webhook's parameters, normalized. In JSON it is an object with
// one member per received parameter, keyed by its snake_case name
// ("StatusCallbackEvent" -> "status_callback_event"), plus "unparsed":
//   - keys in boolKeys hold a boolean, in intKeys an integer, in timeKeys an
//     RFC 3339 UTC string; every other key holds the string received;
//   - a value that does not convert is null, and the value received is kept in
//     unparsed under the same key;
//   - a repeated parameter holds the array of its strings in the order
//     received (a typed one is null, with the array in unparsed);
//   - two names with the same snake_case key (or the key "unparsed") are told
//     apart, in byte order of their names, by suffixes "_2", "_3", ...
//
// Invalid UTF-8 in values is replaced by U+FFFD. The zero Source is empty.
// Build one with Normalize.
type Source struct {
	fields   map[string]any // nil, bool, int64, string or []string
	unparsed map[string]any // string or []string
	// id is the event id, derived from everything that was signed (see
	// EventID); "" for a Source decoded from JSON.
	id string
	// js is set for JSON callbacks (see ParseJSON); fields is then empty.
	js *jsonSource
}

// Normalize converts a webhook's form parameters into a Source. ConferenceSid
// is taken from the callback URL's query when the form has none (call status
// callbacks carry none; users add ?ConferenceSid=...); other query parameters
// are ignored. form must be the form as signed (Verified.Form).
//
// The core fields must parse strictly, or Normalize fails wrapping
// ErrInvalidWebhook: the signed string joins names and values with no
// separator, so a captured form can be re-split at other boundaries
// ("Muted=falseSequenceNumber7" without SequenceNumber) and still verify; the
// core fields are what such a re-split cannot keep well-formed. They are:
// AccountSid (required), ConferenceSid, CallSid and ParentCallSid (UUIDs, or
// Twilio-style SIDs: two letters and 32 hex digits; ParentCallSid may be
// empty), StatusCallbackEvent and CallStatus (at least one; lowercase words
// joined by '-', '_' or '.'), SequenceNumber (decimal digits), Timestamp (an
// RFC 2822 date) and the boolKeys (true or false); none may be repeated.
// Other parameters are carried as sent (typed ones that do not convert are
// null, with the text in unparsed).
//
// No parameter name may sort before AccountSid in byte order (AccountSid,
// required, is then the first name signed): the signed string has no
// boundary between the URL and the first name either, so the tail of a
// captured callback's query ("&tag=abc") can be moved into a new first
// parameter ("&tag=" = "abc") and the shorter URL still verifies. Such a
// parameter sorts before "AccountSid" (SignalWire sends none that does);
// one named "AccountSid" would repeat or break the real one.
func Normalize(form url.Values, query url.Values) (Source, error) {
	src := Source{fields: make(map[string]any, len(form)+1), unparsed: map[string]any{}, id: formEventID(form, query)}
	names := make([]string, 0, len(form))
	for name, values := range form {
		if len(values) > 0 {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	if len(names) > 0 && names[0] < firstName {
		return Source{}, fmt.Errorf("normalize: parameter %.80q sorts before %s (the tail of a signed URL moved into the form?): %w", names[0], firstName, ErrInvalidWebhook)
	}
	next := map[string]int{} // per key, the next suffix to try
	for _, name := range names {
		values := make([]string, len(form[name]))
		for i, v := range form[name] {
			values[i] = validUTF8(v)
		}
		src.set(src.freeKey(snakeCase(name), next), values)
	}
	if q := query["ConferenceSid"]; src.str("conference_sid") == "" && len(q) > 0 {
		if len(q) > 1 {
			return Source{}, fmt.Errorf("normalize: ConferenceSid repeated in the callback URL's query: %w", ErrInvalidWebhook)
		}
		if _, repeated := src.fields["conference_sid"].([]string); q[0] != "" && !repeated {
			src.fields["conference_sid"] = validUTF8(q[0])
		}
	}
	if err := src.checkCore(); err != nil {
		return Source{}, fmt.Errorf("normalize: %w: %w", err, ErrInvalidWebhook)
	}
	return src, nil
}

// coreFields are the snake_case keys Normalize parses strictly, with the
// parameter name used in errors. The boolKeys are core too.
var coreFields = [...]struct{ key, name string }{
	{"account_sid", "AccountSid"}, {"conference_sid", "ConferenceSid"}, {"call_sid", "CallSid"},
	{"parent_call_sid", "ParentCallSid"},
	{"status_callback_event", "StatusCallbackEvent"}, {"call_status", "CallStatus"},
	{"sequence_number", "SequenceNumber"}, {"timestamp", "Timestamp"},
	{"coaching", "Coaching"}, {"end_conference_on_exit", "EndConferenceOnExit"}, {"hold", "Hold"},
	{"muted", "Muted"}, {"start_conference_on_enter", "StartConferenceOnEnter"},
}

// checkCore enforces Normalize's rules on the core fields.
func (s Source) checkCore() error {
	for _, f := range coreFields {
		v, present := s.fields[f.key]
		if !present {
			continue
		}
		if raw, bad := s.unparsed[f.key]; bad {
			if list, repeated := raw.([]string); repeated {
				return fmt.Errorf("%s sent %d times", f.name, len(list))
			}
			return fmt.Errorf("%s %.80q does not parse", f.name, raw)
		}
		if list, repeated := v.([]string); repeated {
			return fmt.Errorf("%s sent %d times", f.name, len(list))
		}
		text, isString := v.(string)
		if !isString {
			continue // a converted boolean, integer or time
		}
		switch f.key {
		case "account_sid", "conference_sid", "call_sid", "parent_call_sid":
			if !isSID(text) && !(f.key == "parent_call_sid" && text == "") {
				return fmt.Errorf("%s %.80q is not a SID", f.name, text)
			}
		case "status_callback_event", "call_status":
			if !isEventName(text) {
				return fmt.Errorf("%s %.80q is not an event name", f.name, text)
			}
		}
	}
	if s.AccountSID() == "" {
		return fmt.Errorf("AccountSid missing")
	}
	if s.EventName() == "" {
		return fmt.Errorf("neither StatusCallbackEvent nor CallStatus")
	}
	return nil
}

// isSID reports whether s is a SignalWire SID (a UUID, any case: see
// signalwire.ValidateSID) or a Twilio-style SID (two ASCII letters and 32
// hex digits).
func isSID(s string) bool {
	if len(s) == 34 {
		_, err := hex.DecodeString(s[2:])
		return isLetter(s[0]) && isLetter(s[1]) && err == nil
	}
	return signalwire.ValidateSID("", s) == nil
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// isEventName reports whether s is 1-64 lowercase letters and digits in words
// joined by single '-', '_' or '.' ("participant-join", "in-progress").
func isEventName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	sep := true // no separator first
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
			sep = false
		case c == '-' || c == '_' || c == '.':
			if sep {
				return false
			}
			sep = true
		default:
			return false
		}
	}
	return !sep
}

// validUTF8 replaces invalid UTF-8 with U+FFFD, as JSON encoding would, so
// that a Source holds exactly what it serializes to.
func validUTF8(s string) string { return strings.ToValidUTF8(s, "\uFFFD") }

// freeKey returns key, or key with the first free suffix "_2", "_3", ... when
// key is taken or reserved. next remembers, per key, where the search for a
// suffix resumes, so that many colliding names cost linear time.
func (s Source) freeKey(key string, next map[string]int) string {
	if _, taken := s.fields[key]; !taken && key != unparsedKey {
		return key
	}
	for n := max(next[key], 2); ; n++ {
		k := key + "_" + strconv.Itoa(n)
		if _, taken := s.fields[k]; !taken {
			next[key] = n + 1
			return k
		}
	}
}

// set stores the converted values of one parameter under key.
func (s Source) set(key string, values []string) {
	typed := inList(boolKeys, key) || inList(intKeys, key) || inList(timeKeys, key)
	switch {
	case len(values) > 1 && typed:
		s.fields[key] = nil
		s.unparsed[key] = slices.Clone(values)
	case len(values) > 1:
		s.fields[key] = slices.Clone(values)
	default:
		v, ok := convert(key, values[0])
		s.fields[key] = v
		if !ok {
			s.unparsed[key] = values[0]
		}
	}
}

// convert returns the typed value of a source key; ok is false (and the value
// nil) when the text does not convert.
func convert(key, text string) (value any, ok bool) {
	switch {
	case inList(boolKeys, key):
		// Exactly true or false: a re-split form ("falseSequenceNumber7")
		// must not convert.
		switch {
		case strings.EqualFold(text, "true"):
			return true, true
		case strings.EqualFold(text, "false"):
			return false, true
		}
		return nil, false
	case key == "sequence_number":
		if text == "" || strings.TrimLeft(text, "0123456789") != "" {
			return nil, false
		}
		n, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			return nil, false
		}
		return n, true
	case inList(intKeys, key):
		n, err := strconv.ParseInt(strings.TrimSpace(text), 10, 64)
		if err != nil {
			return nil, false
		}
		return n, true
	case inList(timeKeys, key):
		t, err := participant.ParseDate(text)
		if err != nil {
			return nil, false
		}
		return t.Format(time.RFC3339Nano), true
	}
	return text, true
}

// inList reports whether key is one of the space-separated words of list.
func inList(list, key string) bool {
	for w := range strings.FieldsSeq(list) {
		if w == key {
			return true
		}
	}
	return false
}

// snakeCase converts a parameter name to its snake_case key: "CallSid" ->
// "call_sid", "SipResultCode" -> "sip_result_code", "bodySHA256" ->
// "body_sha256". Runs of other characters than letters and digits become one
// '_'; a name with no letter or digit becomes "param".
func snakeCase(name string) string {
	runes := []rune(name)
	var b strings.Builder
	underscore := func() {
		if s := b.String(); s != "" && !strings.HasSuffix(s, "_") {
			b.WriteByte('_')
		}
	}
	for i, r := range runes {
		switch {
		case unicode.IsUpper(r):
			if i > 0 {
				prev := runes[i-1]
				nextLower := i+1 < len(runes) && unicode.IsLower(runes[i+1])
				if unicode.IsLower(prev) || unicode.IsDigit(prev) || unicode.IsUpper(prev) && nextLower {
					underscore()
				}
			}
			b.WriteRune(unicode.ToLower(r))
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		default:
			underscore()
		}
	}
	key := strings.Trim(b.String(), "_")
	if key == "" {
		return "param"
	}
	return key
}

func (s Source) str(key string) string {
	v, _ := s.fields[key].(string)
	return v
}

// text returns a core field of the form (or the query), or of the JSON
// callback.
func (s Source) text(key string) string {
	if s.js == nil {
		return s.str(key)
	}
	switch key {
	case "account_sid":
		return s.js.account
	case "conference_sid":
		return s.js.conference
	case "call_sid":
		return s.js.call
	}
	return ""
}

// AccountSID returns AccountSid (the project id); for a JSON callback, its
// project_id.
func (s Source) AccountSID() string { return s.text("account_sid") }

// ConferenceSID returns ConferenceSid, from the form or else the callback
// URL's query; "" when neither had one. JSON callbacks take it from the query.
func (s Source) ConferenceSID() string { return s.text("conference_sid") }

// CallSID returns CallSid; "" for conference-start and conference-end. For a
// JSON callback, its call_id.
func (s Source) CallSID() string { return s.text("call_sid") }

// EventName returns StatusCallbackEvent ("participant-join", ...) or, for call
// status callbacks, CallStatus ("completed", ...). For a JSON callback, its
// call_state ("" for an unrecognized one).
func (s Source) EventName() string {
	if s.js != nil {
		return s.js.state
	}
	if e := s.str("status_callback_event"); e != "" {
		return e
	}
	return s.str("call_status")
}

// Kind returns KindConference when StatusCallbackEvent is set, KindCall when
// only CallStatus is, and "" otherwise.
func (s Source) Kind() string {
	if s.js != nil {
		return s.js.kind
	}
	switch {
	case s.str("status_callback_event") != "":
		return KindConference
	case s.str("call_status") != "":
		return KindCall
	}
	return ""
}

// SequenceNumber returns SequenceNumber, or nil when it was absent or did not
// convert.
func (s Source) SequenceNumber() *int64 {
	if n, ok := s.fields["sequence_number"].(int64); ok {
		return &n
	}
	return nil
}

// Timestamp returns the webhook's Timestamp in UTC; ok is false when it was
// absent or did not parse.
func (s Source) Timestamp() (t time.Time, ok bool) {
	if s.js != nil {
		return s.js.occurred, s.js.hasTime
	}
	text, isString := s.fields["timestamp"].(string)
	if !isString {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, text)
	if err != nil {
		return time.Time{}, false
	}
	return t.UTC(), true
}

// Value returns the normalized value under a snake_case key: nil, bool, int64,
// string or []string (a copy). ok is false when the key is absent.
func (s Source) Value(key string) (value any, ok bool) {
	v, ok := s.fields[key]
	if list, isList := v.([]string); isList {
		return slices.Clone(list), true
	}
	return v, ok
}

// Unparsed returns a copy of the values that did not convert, by key: a string,
// or a []string for a repeated typed parameter.
func (s Source) Unparsed() map[string]any {
	out := make(map[string]any, len(s.unparsed))
	for k, v := range s.unparsed {
		if list, isList := v.([]string); isList {
			v = slices.Clone(list)
		}
		out[k] = v
	}
	return out
}

// MarshalJSON encodes the Source as one JSON object, keys sorted, with an
// "unparsed" object (empty when every value converted).
//
// A JSON callback's Source encodes as its payload, compacted (an object), or
// {"payload": <value>} when the payload is not an object.
func (s Source) MarshalJSON() ([]byte, error) {
	if s.js != nil {
		return s.js.marshal(), nil
	}
	m := make(map[string]any, len(s.fields)+1)
	for k, v := range s.fields {
		m[k] = v
	}
	unparsed := s.unparsed
	if unparsed == nil {
		unparsed = map[string]any{}
	}
	m[unparsedKey] = unparsed
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("marshal source: %w", err)
	}
	return b, nil
}

// UnmarshalJSON decodes what MarshalJSON encodes for a form callback (a JSON
// callback's payload does not decode back): members are null, booleans,
// integers, strings or arrays of strings; "unparsed" is an object of strings or
// arrays of strings.
func (s *Source) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return fmt.Errorf("unmarshal source: %w", err)
	}
	if raw == nil {
		return fmt.Errorf("unmarshal source: not an object")
	}
	out := Source{fields: make(map[string]any, len(raw)), unparsed: map[string]any{}}
	for key, msg := range raw {
		if key == unparsedKey {
			var u map[string]json.RawMessage
			if err := json.Unmarshal(msg, &u); err != nil {
				return fmt.Errorf("unmarshal source: unparsed: %w", err)
			}
			for k, m := range u {
				v, err := decodeValue(m)
				if err != nil {
					return fmt.Errorf("unmarshal source: unparsed.%s: %w", k, err)
				}
				switch v.(type) {
				case string, []string:
					out.unparsed[k] = v
				default:
					return fmt.Errorf("unmarshal source: unparsed.%s: not a string or array of strings", k)
				}
			}
			continue
		}
		v, err := decodeValue(msg)
		if err != nil {
			return fmt.Errorf("unmarshal source: %s: %w", key, err)
		}
		out.fields[key] = v
	}
	*s = out
	return nil
}

// decodeValue decodes one source value: null, a boolean, an integer, a string
// or an array of strings.
func decodeValue(msg json.RawMessage) (any, error) {
	msg = bytes.TrimSpace(msg)
	if len(msg) == 0 {
		return nil, fmt.Errorf("empty value")
	}
	switch msg[0] {
	case 'n':
		return nil, nil
	case 't', 'f':
		var b bool
		if err := json.Unmarshal(msg, &b); err != nil {
			return nil, fmt.Errorf("decode boolean: %w", err)
		}
		return b, nil
	case '"':
		var str string
		if err := json.Unmarshal(msg, &str); err != nil {
			return nil, fmt.Errorf("decode string: %w", err)
		}
		return str, nil
	case '[':
		var list []string
		if err := json.Unmarshal(msg, &list); err != nil {
			return nil, fmt.Errorf("decode array of strings: %w", err)
		}
		if list == nil {
			list = []string{}
		}
		return list, nil
	}
	var n json.Number
	if err := json.Unmarshal(msg, &n); err != nil {
		return nil, fmt.Errorf("decode number: %w", err)
	}
	i, err := n.Int64()
	if err != nil {
		return nil, fmt.Errorf("decode integer: %w", err)
	}
	return i, nil
}
