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
// body is base64 (standard, padded) when isBase64 is true. A body over
// MaxBodyBytes fails with ErrBodyTooLarge (an encoded one too long to fit
// before decoding).
func DecodeBody(body string, isBase64 bool) ([]byte, error) {
	limit := MaxBodyBytes
	if isBase64 {
		// Any padded base64 string longer than the encoding of MaxBodyBytes
		// bytes decodes to more than MaxBodyBytes bytes.
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

// ParseForm parses an application/x-www-form-urlencoded body strictly: a bad
// percent-escape or a raw ';' (which some parsers treat as a separator) is an
// error. '+' decodes to a space, empty pairs ("a=1&&b=2") are skipped, a name
// without '=' has the empty value, and the values of a repeated name keep the
// order received. An empty body yields an empty, non-nil form. Unlike
// url.ParseQuery, it sets no limit on the number of pairs: the caller has
// already capped the body at MaxBodyBytes.
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
