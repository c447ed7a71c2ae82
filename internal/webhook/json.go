package webhook

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// ParseJSON turns a verified JSON callback's raw body (well-formed UTF-8 JSON
// of any shape: no verified callback is dropped for being unfamiliar) into a
// Source whose type is:
//   - "signalwire.calling.call.state." + S for
//     {"event_type":"calling.call.state","params":{"call_state":S}} (RELAY);
//   - "signalwire.swml.call." + S for {"call":{"call_state":S}} (SWML);
//   - "signalwire.json.unknown" otherwise, or for S not an event name.
//
// A payload that is not an object is wrapped as {"payload": <value>}. The
// conference is the query's ConferenceSid, which the user may add.
func ParseJSON(body []byte, query url.Values) (Source, error) {
	var compact bytes.Buffer
	if !utf8.Valid(body) || json.Compact(&compact, body) != nil {
		return Source{}, fmt.Errorf("parse JSON: not well-formed JSON in UTF-8: %w", errMalformedBody)
	}
	src := Source{typ: typePrefix + "json.unknown", id: jsonEventID(body, query)}
	top := object(body)
	if top == nil {
		src.payload = append(append([]byte(`{"payload":`), compact.Bytes()...), '}')
	} else {
		src.payload = compact.Bytes()
		params, call := object(top["params"]), object(top["call"])
		switch {
		case str(top["event_type"]) == "calling.call.state" && isEventName(str(params["call_state"])):
			src.typ = typePrefix + "calling.call.state." + str(params["call_state"])
		case call != nil && isEventName(str(call["call_state"])):
			src.typ = typePrefix + "swml.call." + str(call["call_state"])
		}
		src.account = cmp.Or(str(top["project_id"]), str(call["project_id"]))
		src.call = cmp.Or(str(params["call_id"]), str(call["call_id"]), str(top["call_id"]))
		src.occurred, src.hasTime = epochSeconds(top["timestamp"])
	}
	switch q := query["ConferenceSid"]; {
	case len(q) > 1:
		return Source{}, fmt.Errorf("parse JSON: ConferenceSid repeated in the callback URL's query: %w", errInvalidWebhook)
	case len(q) == 1:
		src.conference = q[0]
	}
	return src, nil
}

// object decodes a JSON object; nil when msg is not one.
func object(msg json.RawMessage) map[string]json.RawMessage {
	var m map[string]json.RawMessage
	_ = json.Unmarshal(msg, &m)
	return m
}

// str decodes a JSON string; "" when msg is not one.
func str(msg json.RawMessage) string {
	var s string
	_ = json.Unmarshal(msg, &s)
	return s
}

// epochSeconds decodes a JSON number of seconds since the Unix epoch, exact to
// the nanosecond when written in decimal, within years 1970-9999.
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
		nanos, ferr := strconv.Atoi((frac + "000000000")[:9])
		if err != nil || ferr != nil || sec > maxSeconds {
			return time.Time{}, false
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
