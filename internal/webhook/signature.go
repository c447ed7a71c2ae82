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
	"slices"
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

// Scheme names the signature scheme a webhook was verified with.
type Scheme string

// The signature schemes SignalWire uses.
const (
	// SchemeForm: base64 HMAC-SHA1 over the URL and the sorted form
	// parameters (Twilio's scheme, the Compatibility API's form callbacks).
	SchemeForm Scheme = "form"
	// SchemeBodySHA256: base64 HMAC-SHA1 over the URL alone, whose bodySHA256
	// query parameter is the lowercase hex SHA-256 of the raw body.
	SchemeBodySHA256 Scheme = "bodySHA256"
	// SchemeHex: lowercase hex HMAC-SHA1 over the URL followed by the raw
	// body (SignalWire's own JSON callbacks: RELAY / Calling API, SWML).
	SchemeHex Scheme = "hex"
)

// SignedRequest is what a webhook's signature covers and claims: everything
// Verify needs but the key.
type SignedRequest struct {
	// CandidateURLs are the public URLs SignalWire may have called
	// (RequestURL.Candidates).
	CandidateURLs []string
	// ContentType is the request's Content-Type.
	ContentType string
	// Body is the raw (decoded) request body.
	Body []byte
	// Form is the form parsed from Body, or nil to parse it here.
	Form url.Values
	// Signature is the value of X-SignalWire-Signature (SignatureFromHeaders).
	Signature string
}

// Verified is what a signature authenticated.
type Verified struct {
	// Scheme is the scheme that matched.
	Scheme Scheme
	// Form is, for SchemeForm, the form exactly as signed: the received form,
	// or the ordering of it (see formOrderings) that matched. A lossy
	// ordering (duplicates dropped, first value only) means values were
	// received that no signature covers: only Form may be used. Nil for the
	// other schemes.
	Form url.Values
}

// Verify checks r.Signature with one signing key against every URL in
// r.CandidateURLs, each also tried with its default port (:443 for https,
// :80 for http) added or removed, and returns what the first match
// authenticated. Every comparison is constant time; the work depends on the
// request, never on the key.
//
// Three schemes are tried on each URL:
//   - SchemeForm, when there is a form: when r.Form is nil and r.ContentType
//     is application/x-www-form-urlencoded (or empty), the form is parsed
//     from r.Body; a non-nil r.Form must be the one parsed from r.Body. A
//     repeated parameter is signed differently by different validators, so
//     each of formOrderings is tried.
//   - SchemeBodySHA256, when the URL carries a bodySHA256 query parameter: the
//     signature covers the URL alone and the lowercase hex SHA-256 of body
//     must equal that parameter.
//   - SchemeHex, for a body that is a JSON object (its first byte after
//     JSON whitespace is '{'; SignalWire's own callbacks are objects): hex
//     HMAC-SHA1 over the URL + the raw body (the signature compared
//     case-insensitively). The scheme puts no boundary between URL and
//     body, so for any other body a request could move the tail of a
//     signed URL (a bodySHA256 callback's trailing digits, a JSON number)
//     into its body and verify with the same MAC as a new event. A body
//     starting with '{' cannot be such a tail followed by nothing, nor a
//     URL tail followed by a signed object.
//
// Callers holding several keys (a rotation) call it once per key.
//
// Errors wrap ErrMissingSignature (no signature), ErrNoSigningKey,
// ErrMalformedBody (a form body that does not parse) or ErrInvalidSignature.
// They name the URLs tried, never the key or an expected signature.
func (r SignedRequest) Verify(key string) (Verified, error) {
	signature := strings.TrimSpace(r.Signature)
	if signature == "" {
		return Verified{}, fmt.Errorf("verify signature: %w", ErrMissingSignature)
	}
	if key == "" {
		return Verified{}, fmt.Errorf("verify signature: %w", ErrNoSigningKey)
	}
	urls := expandCandidates(r.CandidateURLs)
	if len(urls) == 0 {
		return Verified{}, fmt.Errorf("verify signature: no candidate URL: %w", ErrInvalidSignature)
	}
	form, err := signedForm(r.ContentType, r.Body, r.Form)
	if err != nil {
		return Verified{}, fmt.Errorf("verify signature: %w", err)
	}
	v, hashMismatch, ok := match(key, signature, urls, form, r.Body)
	switch {
	case ok:
		return v, nil
	case hashMismatch:
		return Verified{}, fmt.Errorf("verify signature: body does not match the URL's %s: %w", bodyHashParam, ErrInvalidSignature)
	}
	return Verified{}, fmt.Errorf("verify signature: no match for %s: %w", strings.Join(urls, ", "), ErrInvalidSignature)
}

// signedForm is the form a form signature would cover: form when the caller
// parsed it already, else the body parsed as a form when the content type
// says so (or says nothing and it parses); nil otherwise.
func signedForm(contentType string, body []byte, form url.Values) (url.Values, error) {
	if form != nil {
		return form, nil
	}
	switch MediaType(contentType) {
	case FormContentType:
		return ParseForm(body)
	case "":
		if parsed, err := ParseForm(body); err == nil {
			return parsed, nil
		}
	}
	return nil, nil
}

// match tries every scheme against every candidate URL. hashMismatch
// reports a URL whose signature matched but whose bodySHA256 did not.
func match(key, signature string, urls []string, form url.Values, body []byte) (v Verified, hashMismatch, ok bool) {
	var orderings []url.Values
	if form != nil {
		orderings = formOrderings(form)
	}
	got := []byte(signature)
	gotHex := []byte(strings.ToLower(signature))
	mac := hmac.New(sha1.New, []byte(key))
	hexBody := isJSONObject(body)
	for _, u := range urls {
		for _, f := range orderings {
			mac.Reset()
			writeSigned(mac, u, f)
			if equalBase64(mac.Sum(nil), got) {
				return Verified{Scheme: SchemeForm, Form: f}, false, true
			}
		}
		if want, ok := bodyHash(u); ok {
			mac.Reset()
			mac.Write([]byte(u))
			if equalBase64(mac.Sum(nil), got) {
				sum := sha256.Sum256(body)
				if subtle.ConstantTimeCompare([]byte(hex.EncodeToString(sum[:])), []byte(want)) == 1 {
					return Verified{Scheme: SchemeBodySHA256}, false, true
				}
				hashMismatch = true
			}
		}
		if !hexBody {
			continue
		}
		mac.Reset()
		mac.Write([]byte(u))
		mac.Write(body)
		if equalHex(mac.Sum(nil), gotHex) {
			return Verified{Scheme: SchemeHex}, false, true
		}
	}
	return Verified{}, hashMismatch, false
}

// SignJSON returns the signature SignalWire's own APIs (RELAY / Calling,
// SWML) send with a JSON callback: lowercase hex HMAC-SHA1(key, fullURL +
// rawBody).
func SignJSON(key, fullURL string, rawBody []byte) string {
	mac := hmac.New(sha1.New, []byte(key))
	mac.Write([]byte(fullURL))
	mac.Write(rawBody)
	return hex.EncodeToString(mac.Sum(nil))
}

// WithBodySHA256 returns fullURL with a bodySHA256 query parameter holding
// the lowercase hex SHA-256 of rawBody appended; the Compatibility scheme
// then signs that URL alone: SignForm(key, WithBodySHA256(u, body), nil).
func WithBodySHA256(fullURL string, rawBody []byte) string {
	sum := sha256.Sum256(rawBody)
	sep := "?"
	if strings.Contains(fullURL, "?") {
		sep = "&"
	}
	return fullURL + sep + bodyHashParam + "=" + hex.EncodeToString(sum[:])
}

// formOrderings returns the forms a validator may have signed for form: the
// values of each repeated parameter in the order received (SignalWire's and
// Twilio's documented scheme), sorted, deduplicated then sorted, and only the
// first value (twilio-go's RequestValidator). Reference validators disagree
// on repeated parameters and SignalWire documents none of them, so each is
// accepted; they differ only in how the values of one parameter are ordered
// or repeated, never in which names or values were sent. Without repeated
// parameters there is one ordering, form itself.
func formOrderings(form url.Values) []url.Values {
	repeated := false
	for _, vs := range form {
		if len(vs) > 1 {
			repeated = true
			break
		}
	}
	if !repeated {
		return []url.Values{form}
	}
	sortedVals, dedup, first := url.Values{}, url.Values{}, url.Values{}
	for name, vs := range form {
		s := slices.Clone(vs)
		slices.Sort(s)
		sortedVals[name] = s
		dedup[name] = slices.Compact(slices.Clone(s))
		if len(vs) > 0 {
			first[name] = vs[:1]
		}
	}
	out := []url.Values{form}
	for _, f := range []url.Values{sortedVals, dedup, first} {
		if !slices.ContainsFunc(out, func(o url.Values) bool { return SameForm(o, f) }) {
			out = append(out, f)
		}
	}
	return out
}

// SameForm reports whether a and b hold the same names with the same
// values in the same order (which of a form's orderings a signature covered).
func SameForm(a, b url.Values) bool {
	if len(a) != len(b) {
		return false
	}
	for k, va := range a {
		if !slices.Equal(va, b[k]) {
			return false
		}
	}
	return true
}

// isJSONObject reports whether body's first byte after JSON whitespace is
// '{' (see SchemeHex in SignedRequest.Verify).
func isJSONObject(body []byte) bool {
	for _, c := range body {
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		}
		return c == '{'
	}
	return false
}

// equalHex compares sum, lowercase-hex-encoded, with got in constant time.
func equalHex(sum, got []byte) bool {
	want := make([]byte, hex.EncodedLen(len(sum)))
	hex.Encode(want, sum)
	return hmac.Equal(want, got)
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

// MediaType returns the lowercase media type of a Content-Type header value,
// without parameters; "" when the value is empty or unparsable.
func MediaType(contentType string) string {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return ""
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
