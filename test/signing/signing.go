// Package signing signs webhooks as SignalWire does, for tests: the product
// only verifies signatures (internal/webhook). See
// /work/shared/signalwire/README.md ("Webhook signatures") for the schemes.
package signing

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Header is the header SignalWire signs webhooks in; TwilioHeader is the
// alias its SDKs accept.
const (
	Header       = "X-SignalWire-Signature"
	TwilioHeader = "X-Twilio-Signature"
)

// Form returns the signature of a form callback (Twilio's scheme):
// base64(HMAC-SHA1(key, fullURL + for each parameter name in byte order, the
// name followed by the value, once per value in the order received)).
// fullURL is the URL SignalWire called, scheme, host, path and query included.
func Form(key, fullURL string, form url.Values) string {
	mac := hmac.New(sha1.New, []byte(key))
	mac.Write([]byte(fullURL))
	for _, name := range slices.Sorted(maps.Keys(form)) {
		for _, value := range form[name] {
			mac.Write([]byte(name + value))
		}
	}
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// JSON returns the signature SignalWire's own APIs (RELAY / Calling, SWML)
// send with a JSON callback: lowercase hex HMAC-SHA1(key, fullURL + rawBody).
func JSON(key, fullURL string, rawBody []byte) string {
	mac := hmac.New(sha1.New, []byte(key))
	mac.Write([]byte(fullURL))
	mac.Write(rawBody)
	return hex.EncodeToString(mac.Sum(nil))
}

// WithBodySHA256 returns fullURL with a bodySHA256 query parameter holding
// the lowercase hex SHA-256 of rawBody appended; the Compatibility scheme
// then signs that URL alone: Form(key, WithBodySHA256(u, body), nil).
func WithBodySHA256(fullURL string, rawBody []byte) string {
	sum := sha256.Sum256(rawBody)
	sep := "?"
	if strings.Contains(fullURL, "?") {
		sep = "&"
	}
	return fullURL + sep + "bodySHA256=" + hex.EncodeToString(sum[:])
}

// Restamp returns an API Gateway event of a form callback with its Timestamp
// set to now and its X-SignalWire-Signature signed again with key for
// fullURL: the sample events are signed for a fixed date, which the replay
// window (WEBHOOK_MAX_AGE) refuses later.
func Restamp(event []byte, key, fullURL string, now time.Time) ([]byte, error) {
	var e map[string]any
	if err := json.Unmarshal(event, &e); err != nil {
		return nil, fmt.Errorf("signing: restamp: %w", err)
	}
	body, _ := e["body"].(string)
	b64, _ := e["isBase64Encoded"].(bool)
	if b64 {
		raw, err := base64.StdEncoding.DecodeString(body)
		if err != nil {
			return nil, fmt.Errorf("signing: restamp: %w", err)
		}
		body = string(raw)
	}
	form, err := url.ParseQuery(body)
	if err != nil {
		return nil, fmt.Errorf("signing: restamp: %w", err)
	}
	headers, _ := e["headers"].(map[string]any)
	if headers == nil {
		return nil, fmt.Errorf("signing: restamp: no headers")
	}
	form.Set("Timestamp", now.UTC().Format("Mon, 02 Jan 2006 15:04:05 -0700"))
	body = form.Encode()
	if b64 {
		body = base64.StdEncoding.EncodeToString([]byte(body))
	}
	e["body"] = body
	for h := range headers {
		if strings.EqualFold(h, Header) {
			delete(headers, h)
		}
	}
	headers[strings.ToLower(Header)] = Form(key, fullURL, form)
	return json.Marshal(e)
}
