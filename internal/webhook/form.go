// Package webhook verifies a SignalWire callback ([RequestURL.Candidates],
// [SignedRequest.Verify]), parses it into a [Source] ([Normalize], [ParseJSON])
// and wraps that into the schema v1 [Envelope]. It is pure: no AWS, no HTTP
// server, no clock.
package webhook

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Every error this package returns wraps exactly one of these.
var (
	ErrBodyTooLarge     = errors.New("webhook: body too large")    // over MaxBodyBytes (413)
	ErrInvalidSignature = errors.New("webhook: invalid signature") // sent, matching no candidate URL (403)

	errMalformedBody    = errors.New("webhook: malformed body")
	errMissingSignature = errors.New("webhook: missing signature")
	errNoSigningKey     = errors.New("webhook: no signing key configured")
	errInvalidWebhook   = errors.New("webhook: invalid webhook parameters")
)

// The media types of status callbacks and of JSON callbacks (RELAY, SWML).
const (
	FormContentType = "application/x-www-form-urlencoded"
	JSONContentType = "application/json"
)

// MaxBodyBytes caps the decoded body; status callbacks are a few KiB at most.
const MaxBodyBytes = 64 << 10

// DecodeBody returns an event's raw body, base64 (standard, padded) when
// isBase64. A body over MaxBodyBytes fails with ErrBodyTooLarge, an encoded
// one already when too long to fit.
func DecodeBody(body string, isBase64 bool) ([]byte, error) {
	limit := MaxBodyBytes
	if isBase64 {
		limit = base64.StdEncoding.EncodedLen(MaxBodyBytes)
	}
	if len(body) > limit {
		return nil, fmt.Errorf("decode body: %d characters, limit %d: %w", len(body), limit, ErrBodyTooLarge)
	}
	if !isBase64 {
		return []byte(body), nil
	}
	raw, err := base64.StdEncoding.DecodeString(body)
	if err != nil {
		return nil, fmt.Errorf("decode body: base64: %w: %w", errMalformedBody, err)
	}
	if len(raw) > MaxBodyBytes {
		return nil, fmt.Errorf("decode body: %d bytes, limit %d: %w", len(raw), MaxBodyBytes, ErrBodyTooLarge)
	}
	return raw, nil
}

// ParseForm parses a form body strictly: a bad percent-escape or a raw ';'
// (a separator to some parsers) is an error. Empty pairs are skipped, a name
// without '=' has the empty value, a repeated name's values keep their order,
// and an empty body yields an empty, non-nil form. Unlike url.ParseQuery it
// sets no limit on pairs: the body is capped at MaxBodyBytes already.
func ParseForm(body []byte) (url.Values, error) {
	rest := string(body)
	pairs := strings.Count(rest, "&") + 1
	form := make(url.Values, pairs)
	one := make([]string, pairs) // each name's first value, one allocation for all
	for n := 1; rest != ""; n++ {
		var pair string
		pair, rest, _ = strings.Cut(rest, "&")
		if pair == "" {
			continue
		}
		if strings.Contains(pair, ";") {
			return nil, fmt.Errorf("parse form: pair %d: raw ';': %w", n, errMalformedBody)
		}
		rawName, rawValue, _ := strings.Cut(pair, "=")
		name, err := url.QueryUnescape(rawName)
		if err != nil {
			return nil, fmt.Errorf("parse form: pair %d: name: %w: %w", n, errMalformedBody, err)
		}
		value, err := url.QueryUnescape(rawValue)
		if err != nil {
			return nil, fmt.Errorf("parse form: pair %d: value: %w: %w", n, errMalformedBody, err)
		}
		if vs, ok := form[name]; ok {
			form[name] = append(vs, value)
		} else {
			one[n-1] = value
			form[name] = one[n-1 : n : n] // capacity 1: a repeat appends elsewhere
		}
	}
	return form, nil
}
