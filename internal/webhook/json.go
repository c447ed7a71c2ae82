package webhook

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// JSONContentType is the media type of SignalWire's own JSON callbacks
// (RELAY / Calling API call_state_url, SWML).
const JSONContentType = "application/json"

// Kinds and types of JSON callbacks.
const (
	// KindCalling marks a RELAY / Calling API callback ({"event_type":...}).
	KindCalling = "calling"
	// KindSWML marks a SWML-style body ({"call":{...},"vars":{...}}).
	KindSWML = "swml"
	// KindJSON marks a JSON callback of a shape this package does not know.
	KindJSON = "json"

	// TypeCallingCallState + call_state is the type of a calling.call.state
	// callback: "signalwire.calling.call.state.answered".
	TypeCallingCallState = TypePrefix + "calling.call.state."
	// TypeSWMLCall + call_state is the type of a SWML-style body with a call:
	// "signalwire.swml.call.answered".
	TypeSWMLCall = TypePrefix + "swml.call."
	// TypeJSONUnknown is the generic type of every other verified JSON
	// callback (another event_type, a call_state that is not a word, another
	// shape, a payload that is not an object); its payload is forwarded as
	// received.
	TypeJSONUnknown = TypePrefix + "json.unknown"
)

// jsonSource is what ParseJSON extracts from a JSON callback.
type jsonSource struct {
	payload    json.RawMessage // compacted
	isObject   bool
	kind, typ  string
	state      string
	account    string
	call       string
	conference string
	occurred   time.Time
	hasTime    bool
}

// marshal returns the source's JSON: the payload object, or
// {"payload": value} for another JSON value.
func (j *jsonSource) marshal() []byte {
	if j.isObject {
		return j.payload
	}
	return append(append([]byte(`{"payload":`), j.payload...), '}')
}

// ParseJSON turns a verified JSON callback's raw body into a Source. The body
// must be well-formed JSON in UTF-8 (else an error wrapping ErrMalformedBody);
// any other shape is accepted, so that no verified callback is dropped for
// being unfamiliar:
//   - {"event_type":"calling.call.state","params":{"call_state":S,...},...}
//     (RELAY / Calling API) has kind KindCalling and type
//     TypeCallingCallState + S;
//   - {"call":{"call_state":S,...},...} (SWML) has kind KindSWML and type
//     TypeSWMLCall + S;
//   - anything else, or S not an event name (lowercase words joined by '-',
//     '_' or '.'), has kind KindJSON and type TypeJSONUnknown.
//
// The account is project_id (top level, else call.project_id), the call is
// params.call_id (else call.call_id, else a top-level call_id), both only when
// they are strings. Timestamp is the top-level "timestamp" (epoch seconds,
// with a fraction) when it is a number. The conference is the callback URL's
// ConferenceSid query parameter (a JSON callback names none itself), so a
// participant can be looked up when the user adds ?ConferenceSid=... to the
// callback URL, as for call status callbacks.
func ParseJSON(body []byte, query url.Values) (Source, error) {
	if len(body) > MaxBodyBytes {
		return Source{}, fmt.Errorf("parse JSON: %d bytes, limit %d: %w", len(body), MaxBodyBytes, ErrBodyTooLarge)
	}
	if !utf8.Valid(body) || !json.Valid(body) {
		return Source{}, fmt.Errorf("parse JSON: not well-formed JSON in UTF-8: %w", ErrMalformedBody)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, body); err != nil {
		return Source{}, fmt.Errorf("parse JSON: %w: %w", ErrMalformedBody, err)
	}
	js := &jsonSource{payload: compact.Bytes(), kind: KindJSON, typ: TypeJSONUnknown}
	var top map[string]json.RawMessage
	if json.Unmarshal(body, &top) == nil && top != nil {
		js.isObject = true
		params, _ := object(top["params"])
		call, _ := object(top["call"])
		switch {
		case str(top["event_type"]) == "calling.call.state" && isEventName(str(params["call_state"])):
			js.kind, js.state = KindCalling, str(params["call_state"])
			js.typ = TypeCallingCallState + js.state
		case call != nil && isEventName(str(call["call_state"])):
			js.kind, js.state = KindSWML, str(call["call_state"])
			js.typ = TypeSWMLCall + js.state
		}
		js.account = firstString(top["project_id"], call["project_id"])
		js.call = firstString(params["call_id"], call["call_id"], top["call_id"])
		js.occurred, js.hasTime = epochSeconds(top["timestamp"])
	}
	if q := query["ConferenceSid"]; len(q) == 1 {
		js.conference = q[0]
	} else if len(q) > 1 {
		return Source{}, fmt.Errorf("parse JSON: ConferenceSid repeated in the callback URL's query: %w", ErrInvalidWebhook)
	}
	return Source{js: js, id: jsonEventID(body, query)}, nil
}

// object decodes a JSON object; nil when msg is not one.
func object(msg json.RawMessage) (map[string]json.RawMessage, bool) {
	if len(msg) == 0 {
		return nil, false
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(msg, &m) != nil {
		return nil, false
	}
	return m, m != nil
}

// str decodes a JSON string; "" when msg is not one.
func str(msg json.RawMessage) string {
	var s string
	if len(msg) == 0 || msg[0] != '"' || json.Unmarshal(msg, &s) != nil {
		return ""
	}
	return s
}

// firstString returns the first non-empty JSON string among msgs.
func firstString(msgs ...json.RawMessage) string {
	for _, m := range msgs {
		if s := str(m); s != "" {
			return s
		}
	}
	return ""
}

// epochSeconds decodes a JSON number of seconds since the Unix epoch, with an
// optional fraction (kept to the nanosecond when written in decimal), within
// years 1970-9999.
func epochSeconds(msg json.RawMessage) (time.Time, bool) {
	msg = bytes.TrimSpace(msg)
	if len(msg) == 0 || !(msg[0] >= '0' && msg[0] <= '9') {
		return time.Time{}, false
	}
	text := string(msg)
	const maxSeconds = 253402300799 // 9999-12-31T23:59:59Z
	if !strings.ContainsAny(text, "eE") {
		whole, frac, _ := strings.Cut(text, ".")
		sec, err := strconv.ParseInt(whole, 10, 64)
		if err != nil || sec > maxSeconds {
			return time.Time{}, false
		}
		if len(frac) > 9 {
			frac = frac[:9]
		}
		nanos := 0
		if frac != "" {
			n, err := strconv.Atoi(frac + strings.Repeat("0", 9-len(frac)))
			if err != nil {
				return time.Time{}, false
			}
			nanos = n
		}
		return time.Unix(sec, int64(nanos)).UTC(), true
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil || f < 0 || f > maxSeconds || math.IsNaN(f) {
		return time.Time{}, false
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC(), true
}
