package webhook

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"
	"maps"
	"net/url"
	"slices"
	"strings"
)

// The signature schemes (Verified.Scheme), described at Verify;
// schemeBodySHA256 is also its query parameter.
const (
	schemeForm       = "form"
	schemeBodySHA256 = "bodySHA256"
	schemeHex        = "hex"
)

// SignatureFromHeaders returns the request's signature: X-SignalWire-Signature,
// else the alias SignalWire's SDKs accept, X-Twilio-Signature, trimmed of
// spaces; "" when neither is set. get must look headers up case-insensitively.
func SignatureFromHeaders(get func(string) string) string {
	if sig := strings.TrimSpace(get("X-SignalWire-Signature")); sig != "" {
		return sig
	}
	return strings.TrimSpace(get("X-Twilio-Signature"))
}

// SignedRequest is what a webhook's signature covers and claims.
type SignedRequest struct {
	CandidateURLs []string   // RequestURL.Candidates
	Body          []byte     // the raw (decoded) body
	Form          url.Values // parsed from Body; nil for a body that is not a form
	Signature     string     // SignatureFromHeaders
}

// Verified is what a signature authenticated.
type Verified struct {
	Scheme string // "form", "bodySHA256" or "hex"
	// Form, when set, is the form as signed (another of formOrderings than
	// the one received); only it may be used: a lossy ordering covers fewer
	// values than were received.
	Form url.Values
}

// Verify checks r.Signature with one signing key (call it once per key of a
// rotation) against every URL in r.CandidateURLs, each also with its default
// port toggled, and returns what the first match authenticated. Comparisons
// are constant time; the work never depends on the key. Schemes per URL:
//   - "form" (Compatibility API), when r.Form is set: base64 HMAC-SHA1 over
//     the URL and the sorted parameters, for each of formOrderings;
//   - "bodySHA256", when the URL carries that parameter (the body's hex
//     SHA-256): base64 HMAC-SHA1 over the URL alone;
//   - "hex" (RELAY, SWML): hex HMAC-SHA1 over the URL + the raw body, only
//     for a body starting with '{' after JSON whitespace: with no boundary
//     between URL and body, any other body could be a signed URL's tail (a
//     bodySHA256 digest, a JSON number) moved into the body.
//
// A failure wraps ErrInvalidSignature unless the signature or key is
// missing; errors never quote the key or a signature.
func (r SignedRequest) Verify(key string) (Verified, error) {
	signature := strings.TrimSpace(r.Signature)
	switch {
	case signature == "":
		return Verified{}, fmt.Errorf("verify signature: %w", errMissingSignature)
	case key == "":
		return Verified{}, fmt.Errorf("verify signature: %w", errNoSigningKey)
	}
	urls := expandCandidates(r.CandidateURLs)
	v, hashMismatch, ok := match(hmac.New(sha1.New, []byte(key)), signature, urls, r.Form, r.Body)
	switch {
	case ok:
		return v, nil
	case hashMismatch:
		return Verified{}, fmt.Errorf("verify signature: body does not match the URL's %s: %w", schemeBodySHA256, ErrInvalidSignature)
	}
	return Verified{}, fmt.Errorf("verify signature: no candidate URL matched (%d tried; the rejection log line lists them): %w", len(urls), ErrInvalidSignature)
}

// match tries every scheme against every URL with mac, the keyed HMAC.
// hashMismatch: a URL's signature matched but its bodySHA256 did not.
func match(mac hash.Hash, signature string, urls []string, form url.Values, body []byte) (v Verified, hashMismatch, ok bool) {
	var orderings []url.Values
	if form != nil {
		orderings = formOrderings(form)
	}
	params := make([][]byte, len(orderings)) // each ordering's signed parameters, built once for every URL
	for i, f := range orderings {
		params[i] = appendSigned(make([]byte, 0, len(body)), f) // the names and values are at most the body
	}
	signed := make([]byte, 0, 256+len(body)) // one buffer, one Write: sha1 hashes it in bulk
	got := []byte(signature)
	gotHex := []byte(strings.ToLower(signature))
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	hexBody := len(trimmed) > 0 && trimmed[0] == '{'
	sum := func(parts ...[]byte) []byte {
		mac.Reset()
		for _, p := range parts {
			mac.Write(p)
		}
		return mac.Sum(nil)
	}
	for _, u := range urls {
		for i, f := range orderings {
			signed = append(append(signed[:0], u...), params[i]...)
			if hmac.Equal(base64.StdEncoding.AppendEncode(nil, sum(signed)), got) {
				if i == 0 {
					f = nil // the form as received
				}
				return Verified{Scheme: schemeForm, Form: f}, false, true
			}
		}
		if want, ok := bodyHash(u); ok && hmac.Equal(base64.StdEncoding.AppendEncode(nil, sum([]byte(u))), got) {
			digest := sha256.Sum256(body)
			if subtle.ConstantTimeCompare(hex.AppendEncode(nil, digest[:]), []byte(want)) == 1 {
				return Verified{Scheme: schemeBodySHA256}, false, true
			}
			hashMismatch = true
		}
		if hexBody && hmac.Equal(hex.AppendEncode(nil, sum([]byte(u), body)), gotHex) {
			return Verified{Scheme: schemeHex}, false, true
		}
	}
	return Verified{}, hashMismatch, false
}

// appendSigned appends the form scheme's signed string after the URL: per
// name in byte order ("Reason" before "ReasonConferenceEnded") name+value,
// once per value in the order received.
func appendSigned(b []byte, form url.Values) []byte {
	for _, name := range slices.Sorted(maps.Keys(form)) {
		for _, value := range form[name] {
			b = append(append(b, name...), value...)
		}
	}
	return b
}

// formOrderings returns the distinct forms a validator may have signed: a
// repeated parameter's values as received (the documented scheme), sorted,
// sorted and deduplicated, and only the first (twilio-go). Reference
// validators disagree on repeats and SignalWire documents none, so each is
// accepted; none changes which names or values were sent.
func formOrderings(form url.Values) []url.Values {
	repeated := false
	for _, vs := range form {
		repeated = repeated || len(vs) > 1
	}
	if !repeated { // one ordering, form itself: no maps to build per webhook
		return []url.Values{form}
	}
	sorted, dedup, first := url.Values{}, url.Values{}, url.Values{}
	for name, vs := range form {
		sorted[name] = slices.Sorted(slices.Values(vs))
		dedup[name] = slices.Compact(slices.Clone(sorted[name]))
		if len(vs) > 0 {
			first[name] = vs[:1]
		}
	}
	out := []url.Values{form}
	for _, f := range []url.Values{sorted, dedup, first} {
		if !slices.ContainsFunc(out, func(o url.Values) bool { return maps.EqualFunc(o, f, slices.Equal) }) {
			out = append(out, f)
		}
	}
	return out
}

// bodyHash returns the bodySHA256 query parameter of rawURL, if any.
func bodyHash(rawURL string) (string, bool) {
	_, query, ok := strings.Cut(rawURL, "?")
	if !ok {
		return "", false
	}
	query, _, _ = strings.Cut(query, "#")
	values, _ := url.ParseQuery(query) // keeps the pairs it could parse
	return values.Get(schemeBodySHA256), values.Has(schemeBodySHA256)
}

// expandCandidates returns the distinct URLs, each then its default-port variant.
func expandCandidates(candidates []string) []string {
	var out []string
	for _, u := range candidates {
		if u == "" {
			continue
		}
		out = append(out, u)
		if v, ok := toggleDefaultPort(u); ok {
			out = append(out, v)
		}
	}
	return dedupe(out)
}

// toggleDefaultPort adds the scheme's default port to rawURL, or removes it;
// working on the string keeps the rest of the URL byte for byte.
func toggleDefaultPort(rawURL string) (string, bool) {
	scheme, rest, ok := strings.Cut(rawURL, "://")
	port := map[string]string{"https": "443", "http": "80"}[strings.ToLower(scheme)]
	if !ok || port == "" {
		return "", false
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	authority, tail := rest[:end], rest[end:]
	hostport := authority[strings.LastIndex(authority, "@")+1:]
	if hostport == "" {
		return "", false
	}
	head := rawURL[:len(rawURL)-len(tail)]
	colon := strings.LastIndex(hostport, ":")
	switch {
	case colon < 0 || strings.Contains(hostport[colon:], "]"): // no port (an IPv6 literal's colons are inside [])
		return head + ":" + port + tail, true
	case hostport[colon+1:] == port:
		return strings.TrimSuffix(head, ":"+port) + tail, true
	}
	return "", false
}
