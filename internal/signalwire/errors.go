package signalwire

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Kind classifies a failed call.
type Kind int

// The kinds of *APIError. The zero Kind is not used.
const (
	KindNotFound     Kind = iota + 1 // 404 or 410: for a participant, usually it left or the conference ended
	KindUnauthorized                 // 401 or 403: bad credentials, missing Voice scope
	KindRateLimited                  // 429, after retries
	KindUpstream                     // 5xx, after retries
	KindTimeout                      // the context's deadline passed or it was canceled
	KindNetwork                      // a transport error (refused, reset, TLS, body cut short), after retries
	KindBadResponse                  // a success whose body is no JSON object (HTML, truncated, too big), or a redirect
	kindBadRequest                   // 400 or another 4xx not listed above
)

var kindNames = [...]string{"", "not_found", "unauthorized", "rate_limited", "upstream", "timeout", "network", "bad_response", "bad_request"}

// String returns a snake_case name, suitable as a metric dimension.
func (k Kind) String() string {
	if k > 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown(" + strconv.Itoa(int(k)) + ")"
}

// phrase is how Error names a kind that has no HTTP status to show.
func (k Kind) phrase() string {
	if k == KindNetwork {
		return "network error"
	}
	return strings.ReplaceAll(k.String(), "_", " ")
}

// APIError is the error of a failed call (invalid input returns an
// *InvalidSIDError or a plain error before any request).
type APIError struct {
	Kind       Kind
	StatusCode int           // of the last response; 0 when none was received
	Code       int           // SignalWire's error code from the body (e.g. 20404); 0 when absent
	Message    string        // SignalWire's message from the body, else the HTTP status text
	MoreInfo   string        // SignalWire's more_info link, when sent
	Attempts   int           // HTTP attempts made
	RetryAfter time.Duration // the last response's Retry-After, uncapped; 0 if absent
	Err        error         // the underlying error (transport, context, decoding), if any
}

// Error implements error, e.g.
// `signalwire: GET participant: 404 not found (code 20404: "The requested resource ... was not found")`.
func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("signalwire: GET participant: ")
	statusText := strings.ToLower(http.StatusText(e.StatusCode))
	switch {
	case e.StatusCode != 0 && e.Kind != KindBadResponse && e.Kind != KindTimeout && e.Kind != KindNetwork:
		fmt.Fprintf(&b, "%d %s", e.StatusCode, cmp.Or(statusText, e.Kind.phrase()))
	case e.StatusCode != 0:
		fmt.Fprintf(&b, "%s (HTTP %d)", e.Kind.phrase(), e.StatusCode)
	default:
		b.WriteString(e.Kind.phrase())
	}
	msg := e.Message
	if strings.EqualFold(msg, statusText) {
		msg = ""
	}
	switch {
	case e.Code != 0 && msg != "":
		fmt.Fprintf(&b, " (code %d: %q)", e.Code, msg)
	case e.Code != 0:
		fmt.Fprintf(&b, " (code %d)", e.Code)
	case msg != "":
		fmt.Fprintf(&b, " (%q)", msg)
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " after %d attempts", e.Attempts)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the underlying error.
func (e *APIError) Unwrap() error { return e.Err }

// kindForStatus maps an HTTP error status to a Kind.
func kindForStatus(status int) Kind {
	switch {
	case status == http.StatusNotFound || status == http.StatusGone:
		return KindNotFound
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return KindUnauthorized
	case status == http.StatusTooManyRequests:
		return KindRateLimited
	case status >= 500 && status <= 599:
		return KindUpstream
	case status >= 400 && status <= 499:
		return kindBadRequest
	}
	return KindBadResponse
}

// maxMessageBytes bounds the upstream message carried in an APIError.
const maxMessageBytes = 512

// errorBody is what parseErrorBody finds in an error response.
type errorBody struct {
	code     int
	message  string
	moreInfo string
}

// parseErrorBody reads {"code":20404,"message":"...","more_info":"..."}
// leniently: code may be a numeric string, "detail" or "title" may stand for
// "message", and the first of {"errors":[{...}]} fills what the top level
// lacks. Anything else (HTML, empty, other JSON) yields the zero value.
func parseErrorBody(body []byte) errorBody {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return errorBody{}
	}
	var items []map[string]json.RawMessage
	if json.Unmarshal(raw["errors"], &items) != nil {
		items = nil
	}
	var out errorBody
	for _, m := range append([]map[string]json.RawMessage{raw}, items[:min(len(items), 1)]...) {
		out.code = cmp.Or(out.code, lenientInt(m["code"]))
		for _, key := range []string{"message", "detail", "title"} {
			if s, ok := lenientString(m[key]); ok && out.message == "" && strings.TrimSpace(s) != "" {
				out.message = s
			}
		}
		moreInfo, _ := lenientString(m["more_info"])
		out.moreInfo = cmp.Or(out.moreInfo, moreInfo)
	}
	return out
}

// lenientInt is an integral JSON number, or a string holding one, within
// ±2^31; else 0.
func lenientInt(v json.RawMessage) int {
	if s, ok := lenientString(v); ok {
		v = json.RawMessage(strings.TrimSpace(s))
	}
	var f float64
	if json.Unmarshal(v, &f) != nil || f != math.Trunc(f) || math.Abs(f) > 1<<31 {
		return 0
	}
	return int(f)
}
