package webhook

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"strings"
)

// MaxBodyBytes caps the (decoded) webhook body. SignalWire's status callbacks are
// a few hundred bytes to a few KiB.
const MaxBodyBytes = 64 << 10

// FormContentType is the media type of SignalWire's status callbacks.
const FormContentType = "application/x-www-form-urlencoded"

// DecodeBody returns the raw body of an API Gateway / Function URL event, whose
// body is a string and, when isBase64 is true, base64 (standard alphabet,
// padded). It fails with ErrBodyTooLarge when the decoded body would exceed
// MaxBodyBytes (an encoded string too long to fit is rejected before decoding)
// and with ErrMalformedBody when the base64 is invalid.
func DecodeBody(body string, isBase64 bool) ([]byte, error) {
	if !isBase64 {
		if len(body) > MaxBodyBytes {
			return nil, fmt.Errorf("decode body: %d bytes, limit %d: %w", len(body), MaxBodyBytes, ErrBodyTooLarge)
		}
		return []byte(body), nil
	}
	// Any padded base64 string longer than the encoding of MaxBodyBytes bytes
	// decodes to more than MaxBodyBytes bytes.
	if limit := base64.StdEncoding.EncodedLen(MaxBodyBytes); len(body) > limit {
		return nil, fmt.Errorf("decode body: %d base64 characters, limit %d: %w", len(body), limit, ErrBodyTooLarge)
	}
	raw, err := base64.StdEncoding.DecodeString(body)
	if err != nil {
		return nil, fmt.Errorf("decode body: base64: %w: %w", ErrMalformedBody, err)
	}
	if len(raw) > MaxBodyBytes {
		return nil, fmt.Errorf("decode body: %d bytes, limit %d: %w", len(raw), MaxBodyBytes, ErrBodyTooLarge)
	}
	return raw, nil
}

// ParseForm parses an application/x-www-form-urlencoded body strictly: a bad
// percent-escape or a raw ';' (which some parsers treat as a separator) is an
// error wrapping ErrMalformedBody, and a body over MaxBodyBytes fails with
// ErrBodyTooLarge. '+' decodes to a space, empty pairs ("a=1&&b=2") are
// skipped, and a name without '=' has the empty value. The values of a
// repeated name keep the order in which they were received. An empty body
// yields an empty, non-nil form.
func ParseForm(body []byte) (url.Values, error) {
	if len(body) > MaxBodyBytes {
		return nil, fmt.Errorf("parse form: %d bytes, limit %d: %w", len(body), MaxBodyBytes, ErrBodyTooLarge)
	}
	form := url.Values{}
	rest := string(body)
	for n := 1; rest != ""; n++ {
		var pair string
		pair, rest, _ = strings.Cut(rest, "&")
		if pair == "" {
			continue
		}
		if strings.Contains(pair, ";") {
			return nil, fmt.Errorf("parse form: pair %d: raw ';': %w", n, ErrMalformedBody)
		}
		rawName, rawValue, _ := strings.Cut(pair, "=")
		name, err := url.QueryUnescape(rawName)
		if err != nil {
			return nil, fmt.Errorf("parse form: pair %d: name: %w: %w", n, ErrMalformedBody, err)
		}
		value, err := url.QueryUnescape(rawValue)
		if err != nil {
			return nil, fmt.Errorf("parse form: pair %d (%.64q): value: %w: %w", n, name, ErrMalformedBody, err)
		}
		form[name] = append(form[name], value)
	}
	return form, nil
}
