package webhook

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"
	"mime"
	"net/url"
	"sort"
	"strings"
)

// Signature header names. SignalWire sends the first; its SDKs accept the
// second as an alias.
const (
	// SignatureHeader is the header SignalWire signs webhooks in.
	SignatureHeader = "X-SignalWire-Signature"
	// TwilioSignatureHeader is the Twilio-compatible alias, accepted too.
	TwilioSignatureHeader = "X-Twilio-Signature"
)

// bodyHashParam is the query parameter of the JSON-body scheme.
const bodyHashParam = "bodySHA256"

// SignForm returns SignalWire's (Twilio's) signature of a form callback:
// base64(HMAC-SHA1(key, fullURL + for each parameter name in byte order, the
// name followed by the value, once per value in the order received)).
// fullURL is the URL SignalWire called, scheme, host, path and query included.
func SignForm(key, fullURL string, form url.Values) string {
	mac := hmac.New(sha1.New, []byte(key))
	writeSigned(mac, fullURL, form)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

func writeSigned(h hash.Hash, fullURL string, form url.Values) {
	h.Write([]byte(fullURL))
	names := make([]string, 0, len(form))
	for name := range form {
		names = append(names, name)
	}
	sort.Strings(names) // byte order: "Reason" before "ReasonConferenceEnded"
	for _, name := range names {
		for _, value := range form[name] {
			h.Write([]byte(name))
			h.Write([]byte(value))
		}
	}
}

// SignatureFromHeaders returns the request's signature: X-SignalWire-Signature,
// else X-Twilio-Signature, trimmed of surrounding spaces; "" when neither is
// set. get must look headers up case-insensitively (http.Header.Get does).
func SignatureFromHeaders(get func(string) string) string {
	if sig := strings.TrimSpace(get(SignatureHeader)); sig != "" {
		return sig
	}
	return strings.TrimSpace(get(TwilioSignatureHeader))
}

// Verify checks signature, the base64 value of X-SignalWire-Signature, against
// every URL in candidateURLs, each also tried with its default port (:443 for
// https, :80 for http) added or removed. It returns nil on the first match.
//
// Two schemes are accepted:
//   - form callbacks: SignForm over the URL and form. When form is nil and
//     contentType is application/x-www-form-urlencoded (or empty), the form is
//     parsed from body. A non-nil form must be the one parsed from body: it is
//     what the signature authenticates.
//   - JSON bodies: when a candidate URL carries a bodySHA256 query parameter,
//     the signature covers the URL alone and the lowercase hex SHA-256 of body
//     must equal that parameter.
//
// Errors wrap ErrMissingSignature (signature is empty), ErrNoSigningKey,
// ErrMalformedBody (a form body that does not parse) or ErrInvalidSignature.
// They name the URLs tried, never the key or an expected signature.
func Verify(key string, candidateURLs []string, contentType string, body []byte, form url.Values, signature string) error {
	signature = strings.TrimSpace(signature)
	if signature == "" {
		return fmt.Errorf("verify signature: %w", ErrMissingSignature)
	}
	if key == "" {
		return fmt.Errorf("verify signature: %w", ErrNoSigningKey)
	}
	urls := expandCandidates(candidateURLs)
	if len(urls) == 0 {
		return fmt.Errorf("verify signature: no candidate URL: %w", ErrInvalidSignature)
	}
	if form == nil {
		switch mediaType(contentType) {
		case FormContentType:
			parsed, err := ParseForm(body)
			if err != nil {
				return fmt.Errorf("verify signature: %w", err)
			}
			form = parsed
		case "":
			if parsed, err := ParseForm(body); err == nil {
				form = parsed
			}
		}
	}
	got := []byte(signature)
	mac := hmac.New(sha1.New, []byte(key))
	var hashMismatch bool
	for _, u := range urls {
		if form != nil {
			mac.Reset()
			writeSigned(mac, u, form)
			if equalBase64(mac.Sum(nil), got) {
				return nil
			}
		}
		if want, ok := bodyHash(u); ok {
			mac.Reset()
			mac.Write([]byte(u))
			if equalBase64(mac.Sum(nil), got) {
				sum := sha256.Sum256(body)
				if subtle.ConstantTimeCompare([]byte(hex.EncodeToString(sum[:])), []byte(want)) == 1 {
					return nil
				}
				hashMismatch = true
			}
		}
	}
	if hashMismatch {
		return fmt.Errorf("verify signature: body does not match the URL's %s: %w", bodyHashParam, ErrInvalidSignature)
	}
	return fmt.Errorf("verify signature: no match for %s: %w", strings.Join(urls, ", "), ErrInvalidSignature)
}

// equalBase64 compares sum, base64-encoded, with got in constant time.
func equalBase64(sum, got []byte) bool {
	want := make([]byte, base64.StdEncoding.EncodedLen(len(sum)))
	base64.StdEncoding.Encode(want, sum)
	return hmac.Equal(want, got)
}

// bodyHash returns the bodySHA256 query parameter of rawURL, if any.
func bodyHash(rawURL string) (string, bool) {
	_, query, ok := strings.Cut(rawURL, "?")
	if !ok {
		return "", false
	}
	query, _, _ = strings.Cut(query, "#")
	values, _ := url.ParseQuery(query) // keeps the pairs it could parse
	if !values.Has(bodyHashParam) {
		return "", false
	}
	return values.Get(bodyHashParam), true
}

// mediaType returns the lowercase media type of a Content-Type header value,
// without parameters; "" when the value is empty or unparsable.
func mediaType(contentType string) string {
	if strings.TrimSpace(contentType) == "" {
		return ""
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt, _, _ = strings.Cut(contentType, ";")
		return strings.ToLower(strings.TrimSpace(mt))
	}
	return mt
}

// expandCandidates returns the distinct candidate URLs, each followed by its
// default-port variant.
func expandCandidates(candidates []string) []string {
	seen := make(map[string]bool, 2*len(candidates))
	out := make([]string, 0, 2*len(candidates))
	add := func(u string) {
		if u != "" && !seen[u] {
			seen[u] = true
			out = append(out, u)
		}
	}
	for _, u := range candidates {
		add(u)
		if v, ok := toggleDefaultPort(u); ok {
			add(v)
		}
	}
	return out
}

// toggleDefaultPort adds the scheme's default port to rawURL when it has no
// port, or removes it when it has the default one. It works on the string, so
// the rest of the URL is kept byte for byte.
func toggleDefaultPort(rawURL string) (string, bool) {
	i := strings.Index(rawURL, "://")
	if i <= 0 {
		return "", false
	}
	var port string
	switch strings.ToLower(rawURL[:i]) {
	case "https":
		port = "443"
	case "http":
		port = "80"
	default:
		return "", false
	}
	prefix, rest := rawURL[:i+3], rawURL[i+3:]
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	authority, tail := rest[:end], rest[end:]
	at := strings.LastIndex(authority, "@")
	userinfo, hostport := authority[:at+1], authority[at+1:]
	if hostport == "" {
		return "", false
	}
	colon := strings.LastIndex(hostport, ":")
	if colon >= 0 && strings.Contains(hostport[colon:], "]") {
		colon = -1 // an IPv6 literal without a port
	}
	switch {
	case colon < 0:
		return prefix + userinfo + hostport + ":" + port + tail, true
	case hostport[colon+1:] == port:
		return prefix + userinfo + hostport[:colon] + tail, true
	default:
		return "", false
	}
}
