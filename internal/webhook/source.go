package webhook

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/signalwire-lambda/participants/internal/participant"
	"github.com/signalwire-lambda/participants/internal/signalwire"
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
// Invalid UTF-8 in values is replaced by U+FFFD. A JSON callback's Source
// (ParseJSON) is its payload instead. Build one with Normalize or ParseJSON.
type Source struct {
	fields   map[string]any // nil, bool, int64, string or []string
	unparsed map[string]any // string or []string
	payload  []byte         // a JSON callback's source JSON; nil for a form
	// id and typ are the envelope's (see formEventID and NewEnvelope).
	id, typ                   string
	account, conference, call string
	occurred                  time.Time // the callback's time, when hasTime
	hasTime                   bool
}

// Normalize converts a webhook's form parameters into a Source. ConferenceSid
// is taken from the callback URL's query when the form has none (call status
// callbacks carry none; users add ?ConferenceSid=...); other query parameters
// are ignored. form must be the form as signed.
//
// The core fields must parse strictly, or Normalize fails: the signed string
// joins names and values with no separator, so a captured form can be
// re-split at other boundaries ("Muted=falseSequenceNumber7" without
// SequenceNumber) and still verify; the core fields are what such a re-split
// cannot keep well-formed. They are: AccountSid (required), ConferenceSid,
// CallSid and ParentCallSid (UUIDs, or Twilio-style SIDs: two letters and 32
// hex digits; ParentCallSid may be empty), StatusCallbackEvent and CallStatus
// (at least one; lowercase words joined by '-', '_' or '.'), SequenceNumber
// (decimal digits), Timestamp (an RFC 2822 date) and the boolKeys (true or
// false); none may be repeated. Other parameters are carried as sent.
//
// No parameter name may sort before AccountSid in byte order (AccountSid,
// required, is then the first name signed): the signed string has no
// boundary between the URL and the first name either, so the tail of a
// captured callback's query ("&tag=abc") can be moved into a new first
// parameter ("&tag=" = "abc") and the shorter URL still verifies. Such a
// parameter sorts before "AccountSid" (SignalWire sends none that does);
// one named "AccountSid" would repeat or break the real one.
func Normalize(form url.Values, query url.Values) (Source, error) {
	src := Source{fields: make(map[string]any, len(form)+1), id: formEventID(form, query)}
	names := make([]string, 0, len(form))
	for name, values := range form {
		if len(values) > 0 {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	if len(names) > 0 && names[0] < firstName {
		return Source{}, fmt.Errorf("normalize: parameter %.80q sorts before %s (the tail of a signed URL moved into the form?): %w", names[0], firstName, errInvalidWebhook)
	}
	var next map[string]int // per key, the next suffix to try
	for _, name := range names {
		src.set(src.freeKey(snakeCase(name), &next), validUTF8(form[name]))
	}
	if q := query["ConferenceSid"]; src.str("conference_sid") == "" && len(q) > 0 {
		if len(q) > 1 {
			return Source{}, fmt.Errorf("normalize: ConferenceSid repeated in the callback URL's query: %w", errInvalidWebhook)
		}
		if _, repeated := src.fields["conference_sid"].([]string); q[0] != "" && !repeated {
			src.fields["conference_sid"] = strings.ToValidUTF8(q[0], "\uFFFD")
		}
	}
	if err := src.checkCore(); err != nil {
		return Source{}, fmt.Errorf("normalize: %w: %w", err, errInvalidWebhook)
	}
	src.account, src.conference, src.call = src.str("account_sid"), src.str("conference_sid"), src.str("call_sid")
	if ts, ok := src.fields["timestamp"].(string); ok {
		src.occurred, _ = time.Parse(time.RFC3339Nano, ts)
		src.hasTime = true
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

// checkCore enforces Normalize's rules on the core fields and sets s.typ:
// "signalwire.conference." + StatusCallbackEvent, else "signalwire.call." +
// CallStatus.
func (s *Source) checkCore() error {
	for _, f := range coreFields {
		v, present := s.fields[f.key]
		raw, bad := s.unparsed[f.key]
		if bad {
			v = raw // the text that did not convert, or a typed field's list
		}
		text, isString := v.(string)
		switch list, repeated := v.([]string); {
		case !present:
		case repeated:
			return fmt.Errorf("%s sent %d times", f.name, len(list))
		case bad:
			return fmt.Errorf("%s %.80q does not parse", f.name, text)
		case !isString: // a converted boolean, integer or time
		case strings.HasSuffix(f.key, "_sid") && !isSID(text) && !(f.key == "parent_call_sid" && text == ""):
			return fmt.Errorf("%s %.80q is not a SID", f.name, text)
		case (f.key == "status_callback_event" || f.key == "call_status") && !isEventName(text):
			return fmt.Errorf("%s %.80q is not an event name", f.name, text)
		}
	}
	kind, event := "conference", s.str("status_callback_event")
	if event == "" {
		kind, event = "call", s.str("call_status")
	}
	switch {
	case s.str("account_sid") == "":
		return fmt.Errorf("AccountSid missing")
	case event == "":
		return fmt.Errorf("neither StatusCallbackEvent nor CallStatus")
	}
	s.typ = typePrefix + kind + "." + event
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

// freeKey returns key, or key with the first free suffix "_2", "_3", ... when
// key is taken or reserved. *next remembers, per key, where the search for a
// suffix resumes, so that many colliding names cost linear time.
func (s Source) freeKey(key string, next *map[string]int) string {
	if _, taken := s.fields[key]; !taken && key != unparsedKey {
		return key
	}
	if *next == nil {
		*next = map[string]int{}
	}
	for n := max((*next)[key], 2); ; n++ {
		k := key + "_" + strconv.Itoa(n)
		if _, taken := s.fields[k]; !taken {
			(*next)[key] = n + 1
			return k
		}
	}
}

// validUTF8 returns values with invalid UTF-8 replaced by U+FFFD, as JSON
// encoding would: values itself when every one is valid.
func validUTF8(values []string) []string {
	for i, v := range values {
		if !utf8.ValidString(v) {
			out := slices.Clone(values)
			for j := i; j < len(out); j++ {
				out[j] = strings.ToValidUTF8(out[j], "\uFFFD")
			}
			return out
		}
	}
	return values
}

// set stores the converted values of one parameter under key.
func (s *Source) set(key string, values []string) {
	typed := typedKeys[key] != ""
	switch {
	case len(values) > 1 && typed:
		s.fields[key] = nil
		s.keepUnparsed(key, values)
	case len(values) > 1:
		s.fields[key] = values
	default:
		v, ok := convert(key, values[0])
		s.fields[key] = v
		if !ok {
			s.keepUnparsed(key, values[0])
		}
	}
}

// keepUnparsed stores a value that did not convert.
func (s *Source) keepUnparsed(key string, v any) {
	if s.unparsed == nil {
		s.unparsed = map[string]any{}
	}
	s.unparsed[key] = v
}

// convert returns the typed value of a source key; ok is false (and the value
// nil) when the text does not convert.
func convert(key, text string) (value any, ok bool) {
	switch {
	case typedKeys[key] == boolKeys:
		// Exactly true or false: a re-split form ("falseSequenceNumber7")
		// must not convert.
		switch {
		case strings.EqualFold(text, "true"):
			return true, true
		case strings.EqualFold(text, "false"):
			return false, true
		}
		return nil, false
	case key == "sequence_number" && (text == "" || strings.TrimLeft(text, "0123456789") != ""):
		return nil, false // strictly digits: no sign, no spaces
	case typedKeys[key] == intKeys:
		n, err := strconv.ParseInt(strings.TrimSpace(text), 10, 64)
		if err != nil {
			return nil, false
		}
		return n, true
	case typedKeys[key] == timeKeys:
		t, err := participant.ParseDate(text)
		if err != nil {
			return nil, false
		}
		return t.Format(time.RFC3339Nano), true
	}
	return text, true
}

// typedKeys maps each word of boolKeys, intKeys and timeKeys to its list.
var typedKeys = func() map[string]string {
	m := map[string]string{}
	for _, list := range []string{boolKeys, intKeys, timeKeys} {
		for w := range strings.FieldsSeq(list) {
			m[w] = list
		}
	}
	return m
}()

// snakeCase converts a parameter name to its snake_case key: "CallSid" ->
// "call_sid", "SipResultCode" -> "sip_result_code", "bodySHA256" ->
// "body_sha256". Runs of other characters than letters and digits become one
// '_'; a name with no letter or digit becomes "param". An ASCII name is
// converted byte by byte, and a key Normalize knows is returned without an
// allocation.
func snakeCase(name string) string {
	var buf [64]byte
	b := buf[:0]
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= utf8.RuneSelf:
			return snakeCaseRunes(name)
		case 'A' <= c && c <= 'Z':
			if i > 0 {
				prev := name[i-1]
				nextLower := i+1 < len(name) && 'a' <= name[i+1] && name[i+1] <= 'z'
				if isLower(prev) || isDigit(prev) || isUpper(prev) && nextLower {
					b = underscore(b)
				}
			}
			b = append(b, c+'a'-'A')
		case isLower(c) || isDigit(c):
			b = append(b, c)
		default:
			b = underscore(b)
		}
	}
	b = bytes.TrimRight(b, "_")
	if k, ok := knownKeys[string(b)]; ok {
		return k
	}
	if len(b) == 0 {
		return "param"
	}
	return string(b)
}

func isUpper(c byte) bool { return 'A' <= c && c <= 'Z' }
func isLower(c byte) bool { return 'a' <= c && c <= 'z' }
func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// underscore appends '_' to a non-empty key not already ending in one.
func underscore(b []byte) []byte {
	if len(b) > 0 && b[len(b)-1] != '_' {
		return append(b, '_')
	}
	return b
}

// snakeCaseRunes is snakeCase for a name with non-ASCII characters.
func snakeCaseRunes(name string) string {
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
	if key := strings.Trim(b.String(), "_"); key != "" {
		return key
	}
	return "param"
}

// knownKeys holds the keys of the core fields, the typed keys and those of
// the other parameters of a conference callback, each mapped to itself.
var knownKeys = func() map[string]string {
	m := map[string]string{"api_version": "api_version", "friendly_name": "friendly_name"}
	for _, f := range coreFields {
		m[f.key] = f.key
	}
	for k := range typedKeys {
		m[k] = k
	}
	return m
}()

func (s Source) str(key string) string {
	v, _ := s.fields[key].(string)
	return v
}

// AccountSID returns AccountSid (the project id); for a JSON callback, its
// project_id.
func (s Source) AccountSID() string { return s.account }

// ConferenceSID returns ConferenceSid, from the form or else the callback
// URL's query; "" when neither had one.
func (s Source) ConferenceSID() string { return s.conference }

// CallSID returns CallSid ("" for conference-start and conference-end); for a
// JSON callback, its call_id.
func (s Source) CallSID() string { return s.call }

// MarshalJSON encodes a form callback's Source as one JSON object, keys
// sorted, with an "unparsed" object (empty when every value converted); a
// JSON callback's, as its payload (see ParseJSON).
func (s Source) MarshalJSON() ([]byte, error) {
	if s.payload != nil {
		return s.payload, nil
	}
	// encoding/json's bytes for the map of fields and unparsed (keys
	// sorted, HTML escaped), without the map's reflection: each key and
	// value encoded by one Encoder, a string that needs no escape as is.
	keys := make([]string, 0, len(s.fields)+1)
	for k := range s.fields {
		keys = append(keys, k)
	}
	keys = append(keys, unparsedKey)
	slices.Sort(keys)
	w := jsonWriter{}
	w.buf.Grow(64 * len(keys))
	w.enc = json.NewEncoder(&w.buf)
	w.buf.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			w.buf.WriteByte(',')
		}
		v := s.fields[k]
		if k == unparsedKey {
			v = s.unparsed
			if s.unparsed == nil {
				v = struct{}{}
			}
		}
		if err := w.str(k); err != nil {
			return nil, err
		}
		w.buf.WriteByte(':')
		if err := w.value(v); err != nil {
			return nil, err
		}
	}
	w.buf.WriteByte('}')
	return w.buf.Bytes(), nil
}

// jsonWriter writes JSON values as encoding/json encodes them.
type jsonWriter struct {
	buf bytes.Buffer
	enc *json.Encoder // into buf
}

// str writes s, as is between quotes when it needs no escape.
func (w *jsonWriter) str(s string) error {
	if !plainJSON(s) {
		return w.value(s)
	}
	w.buf.WriteByte('"')
	w.buf.WriteString(s)
	w.buf.WriteByte('"')
	return nil
}

func (w *jsonWriter) value(v any) error {
	if s, ok := v.(string); ok && plainJSON(s) {
		return w.str(s)
	}
	if err := w.enc.Encode(v); err != nil {
		return fmt.Errorf("marshal source: %w", err)
	}
	w.buf.Truncate(w.buf.Len() - 1) // Encode's newline
	return nil
}

// plainJSON reports whether s is encoded by encoding/json as itself between
// quotes: printable ASCII without '"', '\\' or the HTML-escaped <, >, &.
func plainJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20, c >= utf8.RuneSelf, c == '"', c == '\\', c == '<', c == '>', c == '&':
			return false
		}
	}
	return true
}
