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

// The source keys with a non-string type (booleans, integers, RFC 2822 dates
// made RFC 3339 UTC); a test keeps schema/envelope.v1.schema.json in step.
const (
	boolKeys = "coaching end_conference_on_exit hold muted start_conference_on_enter"
	intKeys  = "call_duration dial_call_duration duration queue_time recording_channels recording_duration recording_file_size sequence_number sip_result_code"
	timeKeys = "timestamp"
)

const (
	firstName   = "AccountSid" // the first name, in byte order, of every form callback
	unparsedKey = "unparsed"   // the reserved key of the values that did not convert
)

// Source is a webhook's parameters, normalized (Normalize), or a JSON
// callback's payload (ParseJSON). In JSON it is an object with one member per
// parameter, keyed by its snake_case name, plus "unparsed":
//   - a typed key holds its type (see boolKeys), any other the string received;
//   - a value that does not convert is null, the text kept in unparsed;
//   - a repeated parameter holds its strings as received (a typed one is
//     null, the array in unparsed);
//   - names with the same key (or "unparsed") get, in byte order, suffixes
//     "_2", "_3", ...
//
// Invalid UTF-8 in values is replaced by U+FFFD.
type Source struct {
	fields                    map[string]any // nil, bool, int64, string or []string
	unparsed                  map[string]any // string or []string
	payload                   []byte         // a JSON callback's source JSON; nil for a form
	id, typ                   string         // the envelope's
	account, conference, call string
	occurred                  time.Time // the callback's time, when hasTime
	hasTime                   bool
}

// Normalize converts a webhook's form, as signed, into a Source. ConferenceSid
// is taken from the callback URL's query when the form has none (users add
// ?ConferenceSid=... to call status callbacks); other query parameters are
// ignored.
//
// The core fields (coreFields) must parse strictly and not repeat, or
// Normalize fails: the signed string joins names and values with no
// separator, so a captured form re-split at other boundaries
// ("Muted=falseSequenceNumber7" without SequenceNumber) still verifies, and
// strict core fields are what such a re-split cannot keep well-formed.
// Other parameters are carried as sent.
//
// No name may sort before AccountSid (required): there is no boundary between
// the URL and the first name either, so a captured query's tail ("&tag=abc")
// moved into a new first parameter ("&tag=" = "abc") would still verify with
// the shorter URL; such a name sorts before "AccountSid".
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

// coreFields are the keys Normalize parses strictly, with the names errors
// use: SIDs (ParentCallSid may be empty), event names (one at least),
// SequenceNumber (digits), Timestamp and the boolKeys.
var coreFields = [...]struct{ key, name string }{
	{"account_sid", "AccountSid"}, {"conference_sid", "ConferenceSid"}, {"call_sid", "CallSid"},
	{"parent_call_sid", "ParentCallSid"},
	{"status_callback_event", "StatusCallbackEvent"}, {"call_status", "CallStatus"},
	{"sequence_number", "SequenceNumber"}, {"timestamp", "Timestamp"},
	{"coaching", "Coaching"}, {"end_conference_on_exit", "EndConferenceOnExit"}, {"hold", "Hold"},
	{"muted", "Muted"}, {"start_conference_on_enter", "StartConferenceOnEnter"},
}

// checkCore enforces Normalize's rules on the core fields and sets s.typ.
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

// freeKey returns key, or when taken or reserved key with the first free
// suffix "_2", "_3", ...; *next (per key, where the search resumes) keeps
// many colliding names linear.
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
// encoding would (values itself when valid).
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

func (s *Source) keepUnparsed(key string, v any) {
	if s.unparsed == nil {
		s.unparsed = map[string]any{}
	}
	s.unparsed[key] = v
}

// convert returns the typed value of a source key; nil, false when the text
// does not convert.
func convert(key, text string) (value any, ok bool) {
	switch {
	case typedKeys[key] == boolKeys:
		switch { // nothing else: a re-split form ("falseSequenceNumber7") must not convert
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

// snakeCase converts a parameter name to its key: "CallSid" -> "call_sid",
// "SipResultCode" -> "sip_result_code", "bodySHA256" -> "body_sha256"; runs of
// other characters than letters and digits become one '_', and a name with
// none becomes "param". A known ASCII key costs no allocation.
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

// knownKeys maps the keys of a conference callback to themselves.
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

// AccountSID returns AccountSid (the project id), or a JSON callback's project_id.
func (s Source) AccountSID() string { return s.account }

// ConferenceSID returns ConferenceSid, from the form or else the query.
func (s Source) ConferenceSID() string { return s.conference }

// CallSID returns CallSid ("" for conference-start and -end), or a JSON
// callback's call_id.
func (s Source) CallSID() string { return s.call }

// MarshalJSON writes a JSON callback's payload, else the bytes encoding/json
// gives for the map of fields plus unparsed (keys sorted, HTML escaped)
// without the map's reflection: one Encoder, a string needing no escape as is.
func (s Source) MarshalJSON() ([]byte, error) {
	if s.payload != nil {
		return s.payload, nil
	}
	w := newJSONWriter(64 * (len(s.fields) + 1))
	if err := s.writeFields(w); err != nil {
		return nil, err
	}
	return w.buf.Bytes(), nil
}

// writeFields writes the map of fields plus unparsed, as MarshalJSON.
func (s Source) writeFields(w *jsonWriter) error {
	keys := make([]string, 0, len(s.fields)+1)
	for k := range s.fields {
		keys = append(keys, k)
	}
	keys = append(keys, unparsedKey)
	slices.Sort(keys)
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
		w.str(k)
		w.buf.WriteByte(':')
		if err := w.value(v); err != nil {
			return err
		}
	}
	w.buf.WriteByte('}')
	return nil
}

type jsonWriter struct {
	buf bytes.Buffer
	enc *json.Encoder // into buf
}

func newJSONWriter(size int) *jsonWriter {
	w := &jsonWriter{}
	w.buf.Grow(size)
	w.enc = json.NewEncoder(&w.buf)
	return w
}

// str writes s as encoding/json does, as is between quotes when it needs no
// escape.
func (w *jsonWriter) str(s string) {
	if !plainJSON(s) {
		_ = w.enc.Encode(s) // a string always encodes
		w.buf.Truncate(w.buf.Len() - 1)
		return
	}
	w.buf.WriteByte('"')
	w.buf.WriteString(s)
	w.buf.WriteByte('"')
}

func (w *jsonWriter) value(v any) error {
	switch x := v.(type) {
	case string:
		w.str(x)
		return nil
	case bool:
		w.buf.WriteString(strconv.FormatBool(x))
		return nil
	case int64:
		w.buf.WriteString(strconv.FormatInt(x, 10))
		return nil
	case nil:
		w.buf.WriteString("null")
		return nil
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
