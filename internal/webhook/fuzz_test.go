package webhook

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/signalwire-lambda/participants/test/signing"
)

// pairsOf flattens a form into pairs, each name's values in order.
func pairsOf(form url.Values) []pair {
	var pairs []pair
	for name, values := range form {
		for _, v := range values {
			pairs = append(pairs, pair{name, v})
		}
	}
	return pairs
}

// acceptable reports whether signature is one the reference implementation
// computes for some expanded candidate URL: the form scheme over form, or the
// bodySHA256 scheme when the URL's hash matches body.
func acceptable(key string, urls []string, body []byte, form url.Values, signature string) bool {
	signature = strings.TrimSpace(signature)
	sum := sha256.Sum256(body)
	for _, u := range expandCandidates(urls) {
		if form != nil && signature == refSign(key, refSigningString(u, pairsOf(form))) {
			return true
		}
		if _, q, ok := strings.Cut(u, "?"); ok {
			q, _, _ = strings.Cut(q, "#")
			values, _ := url.ParseQuery(q)
			if values.Has("bodySHA256") && values.Get("bodySHA256") == hex.EncodeToString(sum[:]) && signature == refSign(key, u) {
				return true
			}
		}
	}
	return false
}

func FuzzParseAndVerify(f *testing.F) {
	f.Add(participantJoinBody, "RSOYDt4T1cUTdK1PDd93/VVr8B8=", "/webhooks/signalwire", "ConferenceSid=CF1")
	f.Add("Tag=b&Tag=a&To=%2B1", "", "/dev/webhooks/signalwire", "")
	f.Add("a=%zz", "x", "", "")
	f.Add("Reason=Participant&ReasonConferenceEnded=test", " 95+Bu0JVPi0r/SsESZCVf0dWAjw= ", "webhooks/signalwire", "bodySHA256=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
	f.Add(`{"property": "value"}`, "a9nBmqA0ju/hNViExpshrM61xv4=", "/x", "a=1&b=%20")
	f.Add("=&&=&%00=%ff", "\x00", "/%2F", "?")
	f.Fuzz(func(t *testing.T, body, header, path, query string) {
		const key = "PSK_fuzz_key"
		urls := RequestURL{Host: "hooks.example.com", Paths: []string{path, "/Prod" + path}, RawQuery: query, Route: route}.Candidates()
		if len(urls) == 0 {
			t.Fatalf("no candidates for path %q", path)
		}
		raw, err := DecodeBody(body, false)
		if err != nil {
			if !errors.Is(err, ErrBodyTooLarge) {
				t.Fatalf("DecodeBody: %v", err)
			}
			return
		}
		form, err := ParseForm(raw)
		if err != nil {
			return // refused as malformed before any signature check
		}

		// An arbitrary signature is rejected unless it is exactly one the
		// reference computes.
		_, err = SignedRequest{CandidateURLs: urls, Body: raw, Form: form, Signature: header}.Verify(key)
		switch {
		case strings.TrimSpace(header) == "":
			if !errors.Is(err, errMissingSignature) {
				t.Fatalf("empty signature: Verify = %v", err)
			}
		case err == nil && !acceptable(key, urls, raw, form, header):
			t.Fatalf("signature %q accepted for %q at %q", header, raw, urls)
		case err != nil && acceptable(key, urls, raw, form, header):
			t.Fatalf("correct signature %q rejected: %v", header, err)
		case err != nil && !errors.Is(err, ErrInvalidSignature):
			t.Fatalf("Verify = %v, want ErrInvalidSignature", err)
		}
		if err != nil && strings.Contains(err.Error(), key) {
			t.Fatalf("error leaks the key: %v", err)
		}

		// A correctly signed form verifies, at every candidate URL and its
		// default-port variant; tampering, another key or another URL fail.
		pairs := pairsOf(form)
		for _, u := range expandCandidates(urls) {
			sig := refSign(key, refSigningString(u, pairs))
			if got := signing.Form(key, u, form); got != sig {
				t.Fatalf("SignForm = %s, reference %s", got, sig)
			}
			if _, err := (SignedRequest{CandidateURLs: urls, Body: raw, Form: form, Signature: sig}).Verify(key); err != nil {
				t.Fatalf("signed at %s: %v", u, err)
			}
			if _, err := (SignedRequest{CandidateURLs: urls, Body: raw, Form: form, Signature: sig}).Verify(key + "x"); err == nil {
				t.Fatal("wrong key verified")
			}
			tampered := url.Values{}
			for name, values := range form {
				tampered[name] = slices.Clone(values)
			}
			tampered.Add("Tampered", "1")
			if _, err := (SignedRequest{CandidateURLs: urls, Form: tampered, Signature: sig}).Verify(key); err == nil {
				t.Fatal("tampered form verified")
			}
			if _, err := (SignedRequest{CandidateURLs: []string{"https://elsewhere.example" + path}, Body: raw, Form: form, Signature: sig}).Verify(key); err == nil {
				t.Fatal("signature verified at another host")
			}
		}

		// A random form built from the inputs round-trips through encoding
		// and verifies.
		built := url.Values{path: {query, body}, header: {path}}
		encoded := []byte(built.Encode())
		if len(encoded) <= MaxBodyBytes {
			parsed, err := ParseForm(encoded)
			if err != nil {
				t.Fatalf("ParseForm(Encode()): %v", err)
			}
			if len(parsed) != len(built) {
				t.Fatalf("round trip: %q != %q", parsed, built)
			}
			for name, values := range built {
				if !slices.Equal(parsed[name], values) {
					t.Fatalf("round trip %q: %q != %q", name, parsed[name], values)
				}
			}
			sig := refSign(key, refSigningString(urls[0], pairsOf(built)))
			if _, err := (SignedRequest{CandidateURLs: urls, Body: encoded, Form: parsed, Signature: sig}).Verify(key); err != nil {
				t.Fatalf("built form: %v", err)
			}
		}
	})
}

func FuzzNormalize(f *testing.F) {
	f.Add(participantJoinBody, "")
	f.Add("AccountSid=a&CallStatus=completed&CallDuration=x&Timestamp=Sun%2C+1+Sept+2024+00%3A00%3A00+GMT", "ConferenceSid=c")
	f.Add("AccountSid=a&StatusCallbackEvent=conference-end&Unparsed=1&unparsed=2&Muted=true&Muted=no", "ConferenceSid=c&ConferenceSid=d")
	f.Add("AccountSid=%ff&CallStatus=%fe%fe&Tag=a&Tag=b&=x", "ConferenceSid=%ff")
	f.Add("", "")
	idPattern := regexp.MustCompile(`^evt_[0-9a-f]{32}$`)
	typePattern := regexp.MustCompile(`^signalwire\.(conference|call)\.[a-z0-9._-]+$`)
	f.Fuzz(func(t *testing.T, body, query string) {
		form, err := ParseForm([]byte(body))
		if err != nil {
			return
		}
		q, _ := url.ParseQuery(query)
		src, err := Normalize(form, q)
		if err != nil {
			if !errors.Is(err, errInvalidWebhook) {
				t.Fatalf("Normalize = %v, want errInvalidWebhook", err)
			}
			return
		}
		if src.AccountSID() == "" || !typePattern.MatchString(src.typ) {
			t.Fatalf("account %q type %q", src.AccountSID(), src.typ)
		}
		again, err := Normalize(form, q)
		if err != nil {
			t.Fatal(err)
		}
		b1, err := json.Marshal(src)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		b2, _ := json.Marshal(again)
		if !bytes.Equal(b1, b2) || src.id != again.id {
			t.Fatal("Normalize is not deterministic")
		}
		var members map[string]json.RawMessage
		if err := json.Unmarshal(b1, &members); err != nil {
			t.Fatalf("source JSON %s: %v", b1, err)
		}
		if want := len(form) + 1; len(members) != want && len(members) != want+1 { // +conference_sid from the query
			t.Fatalf("%d members for %d parameters: %s", len(members), len(form), b1)
		}
		env := NewEnvelope(src, time.Unix(1_700_000_000, 0))
		if !idPattern.MatchString(env.ID) || !typePattern.MatchString(env.Type) {
			t.Fatalf("id %q type %q", env.ID, env.Type)
		}
		if _, err := json.Marshal(env); err != nil {
			t.Fatalf("marshal envelope: %v", err)
		}
	})
}
