package webhook

import (
	"errors"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/signalwire-lambda/participants/test/signing"
)

func TestSignatureVectors(t *testing.T) {
	for _, v := range loadSignatureVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			var body []byte
			var form url.Values
			switch {
			case v.Body != nil:
				body = []byte(*v.Body)
				if v.ContentType == FormContentType {
					parsed, err := ParseForm(body)
					if err != nil {
						t.Fatalf("ParseForm: %v", err)
					}
					form = parsed
				}
			default:
				body = []byte(encodePairs(v.Params))
				form = valuesOf(v.Params)
			}
			if v.SigningString != "" {
				if got := refSigningString(v.URL, v.Params); got != v.SigningString {
					t.Fatalf("signing string\n got %s\nwant %s", got, v.SigningString)
				}
			}
			if form != nil {
				if got := signing.Form(v.Key, v.URL, form); (got == v.Signature) != v.Valid {
					t.Errorf("SignForm = %s, vector %s (valid=%v)", got, v.Signature, v.Valid)
				}
			}
			got, err := SignedRequest{CandidateURLs: []string{v.URL}, Body: body, Form: form, Signature: v.Signature}.Verify(v.Key)
			switch {
			case v.Valid && err != nil:
				t.Errorf("Verify: %v", err)
			case v.Valid && got.Scheme != v.Scheme:
				t.Errorf("Verify: scheme %s, want %s", got.Scheme, v.Scheme)
			case !v.Valid && !errors.Is(err, ErrInvalidSignature):
				t.Errorf("Verify = %v, want ErrInvalidSignature", err)
			}
		})
	}
}

// The trap: "Reason" sorts before "ReasonConferenceEnded" in byte order; a
// signer that sorts the other way produces the vector's wrong signature.
func TestSignFormSortTrap(t *testing.T) {
	v := vector(t, "form_sorting")
	trap := vector(t, "form_sorting_trap_ReasonConferenceEnded_before_Reason")
	var wrong strings.Builder
	wrong.WriteString(v.URL)
	for _, name := range []string{"CallSid", "Caller", "Digits", "From", "ReasonConferenceEnded", "Reason", "To"} {
		wrong.WriteString(name + valuesOf(v.Params).Get(name))
	}
	if got := refSign(v.Key, wrong.String()); got != trap.Signature {
		t.Fatalf("wrong-order reference = %s, want the trap %s", got, trap.Signature)
	}
	if got := signing.Form(v.Key, v.URL, valuesOf(v.Params)); got == trap.Signature || got != v.Signature {
		t.Fatalf("SignForm = %s, want %s (not the trap)", got, v.Signature)
	}
}

func TestVerifyTamperedParameter(t *testing.T) {
	v := vector(t, "form_canonical")
	for _, tamper := range []func(url.Values){
		func(f url.Values) { f.Set("Digits", "1235") },
		func(f url.Values) { f.Set("Extra", "") },
		func(f url.Values) { f.Del("Caller") },
	} {
		form := valuesOf(v.Params)
		tamper(form)
		_, err := SignedRequest{CandidateURLs: []string{v.URL}, Form: form, Signature: v.Signature}.Verify(v.Key)
		if !errors.Is(err, ErrInvalidSignature) {
			t.Errorf("tampered form %v: Verify = %v, want ErrInvalidSignature", form, err)
		}
	}
	// A value appended to a signed parameter verifies only under a lossy
	// ordering (first value only, duplicates dropped), and what comes back
	// is the form as signed, without the unsigned value.
	for _, extra := range []string{"1234", "9999"} {
		form := valuesOf(v.Params)
		form.Add("Digits", extra)
		got, err := SignedRequest{CandidateURLs: []string{v.URL}, Form: form, Signature: v.Signature}.Verify(v.Key)
		if err != nil || got.Scheme != schemeForm || !maps.EqualFunc(got.Form, valuesOf(v.Params), slices.Equal) {
			t.Errorf("appended Digits=%s: %+v, %v; want the signed form", extra, got, err)
		}
	}
	// Tampering with the URL (the query is signed too).
	other := strings.Replace(v.URL, "foo=1", "foo=2", 1)
	if _, err := (SignedRequest{CandidateURLs: []string{other}, Form: valuesOf(v.Params), Signature: v.Signature}).Verify(v.Key); !errors.Is(err, ErrInvalidSignature) {
		t.Errorf("tampered query: Verify = %v, want ErrInvalidSignature", err)
	}
}

func TestVerifyReorderedParameters(t *testing.T) {
	v := vector(t, "form_sorting")
	orders := [][]pair{v.Params, slices.Clone(v.Params), slices.Clone(v.Params)}
	slices.Reverse(orders[1])
	slices.SortFunc(orders[2], func(a, b pair) int { return strings.Compare(a[0], b[0]) })
	for i, pairs := range orders {
		body := []byte(encodePairs(pairs))
		if _, err := (SignedRequest{CandidateURLs: []string{v.URL}, Body: body, Form: mustParse(t, string(body)), Signature: v.Signature}).Verify(v.Key); err != nil {
			t.Errorf("order %d (%s): %v", i, body, err)
		}
	}
}

func TestSignFormRepeatedParameter(t *testing.T) {
	const key, u = "PSK_test", "https://hooks.example.com/webhooks/signalwire"
	received := []pair{{"To", "+1"}, {"Tag", "b"}, {"From", "+2"}, {"Tag", "a"}}
	want := refSign(key, u+"From+2TagbTaga"+"To+1")
	if got := refSign(key, refSigningString(u, received)); got != want {
		t.Fatalf("reference disagrees with itself: %s != %s", got, want)
	}
	form, err := ParseForm([]byte(encodePairs(received)))
	if err != nil {
		t.Fatal(err)
	}
	if got := signing.Form(key, u, form); got != want {
		t.Fatalf("SignForm = %s, want %s (each value in received order)", got, want)
	}
	if _, err := (SignedRequest{CandidateURLs: []string{u}, Form: mustParse(t, "To=%2B1&Tag=b&From=%2B2&Tag=a"), Signature: want}).Verify(key); err != nil {
		t.Errorf("received order: %v", err)
	}
	if _, err := (SignedRequest{CandidateURLs: []string{u}, Form: mustParse(t, "To=%2B1&Tag=a&From=%2B2&Tag=b"), Signature: want}).Verify(key); !errors.Is(err, ErrInvalidSignature) {
		t.Errorf("values swapped: Verify = %v, want ErrInvalidSignature", err)
	}
	// A twilio-go style validator keeps only the first value; it must not match.
	if first := refSign(key, u+"From+2TagbTo+1"); first == want {
		t.Error("first-value-only signature should differ")
	}
}

func TestVerifyWrongKey(t *testing.T) {
	v := vector(t, "form_canonical")
	_, err := SignedRequest{CandidateURLs: []string{v.URL}, Form: valuesOf(v.Params), Signature: v.Signature}.Verify("54321")
	if !errors.Is(err, ErrInvalidSignature) {
		t.Fatalf("Verify = %v, want ErrInvalidSignature", err)
	}
}

func TestSignatureFromHeaders(t *testing.T) {
	tests := []struct {
		name   string
		header http.Header
		want   string
	}{
		{"signalwire", http.Header{"X-Signalwire-Signature": {"sw"}}, "sw"},
		{"twilio alias", http.Header{"X-Twilio-Signature": {"tw"}}, "tw"},
		{"both: signalwire wins", http.Header{"X-Signalwire-Signature": {"sw"}, "X-Twilio-Signature": {"tw"}}, "sw"},
		{"empty signalwire falls back", http.Header{"X-Signalwire-Signature": {" "}, "X-Twilio-Signature": {"tw"}}, "tw"},
		{"trimmed", http.Header{"X-Signalwire-Signature": {" sw\t"}}, "sw"},
		{"none", http.Header{"Content-Type": {FormContentType}}, ""},
	}
	for _, tt := range tests {
		if got := SignatureFromHeaders(tt.header.Get); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
	// A lower-case map, as API Gateway HTTP APIs deliver headers, with a
	// case-insensitive getter.
	lower := map[string]string{"x-twilio-signature": "tw"}
	get := func(name string) string { return lower[strings.ToLower(name)] }
	if got := SignatureFromHeaders(get); got != "tw" {
		t.Errorf("lower-case headers: got %q", got)
	}
}

func TestVerifyMissingSignature(t *testing.T) {
	v := vector(t, "form_canonical")
	for _, h := range []http.Header{{}, {"X-Signalwire-Signature": {""}, "X-Twilio-Signature": {""}}} {
		_, err := SignedRequest{CandidateURLs: []string{v.URL}, Form: valuesOf(v.Params), Signature: SignatureFromHeaders(h.Get)}.Verify(v.Key)
		if !errors.Is(err, errMissingSignature) {
			t.Errorf("headers %v: Verify = %v, want errMissingSignature", h, err)
		}
	}
	// The alias carries a valid signature.
	h := http.Header{"X-Twilio-Signature": {v.Signature}}
	if _, err := (SignedRequest{CandidateURLs: []string{v.URL}, Form: valuesOf(v.Params), Signature: SignatureFromHeaders(h.Get)}).Verify(v.Key); err != nil {
		t.Errorf("X-Twilio-Signature: %v", err)
	}
}

func TestVerifyDefaultPort(t *testing.T) {
	const key = "PSK_test"
	form := url.Values{"AccountSid": {"a"}, "CallStatus": {"completed"}}
	tests := []struct {
		signed, candidate string
		ok                bool
	}{
		{"https://h.example.com:443/webhooks/signalwire?x=1", "https://h.example.com/webhooks/signalwire?x=1", true},
		{"https://h.example.com/webhooks/signalwire?x=1", "https://h.example.com:443/webhooks/signalwire?x=1", true},
		{"https://h.example.com:443", "https://h.example.com", true},
		{"http://h.example.com:80/w", "http://h.example.com/w", true},
		{"http://h.example.com/w", "http://h.example.com:80/w", true},
		{"https://[2001:db8::1]:443/w", "https://[2001:db8::1]/w", true},
		// Not default ports: no variant.
		{"https://h.example.com:8443/w", "https://h.example.com/w", false},
		{"http://h.example.com:443/w", "http://h.example.com/w", false},
		{"https://h.example.com:80/w", "https://h.example.com/w", false},
	}
	for _, tt := range tests {
		sig := signing.Form(key, tt.signed, form)
		_, err := SignedRequest{CandidateURLs: []string{tt.candidate}, Form: form, Signature: sig}.Verify(key)
		if (err == nil) != tt.ok {
			t.Errorf("signed %s, candidate %s: Verify = %v, want ok=%v", tt.signed, tt.candidate, err, tt.ok)
		}
	}
	// The bodySHA256 scheme gets the port variants too.
	v := vector(t, "body_sha256")
	withPort := strings.Replace(v.URL, "mycompany.com", "mycompany.com:443", 1)
	if _, err := (SignedRequest{CandidateURLs: []string{withPort}, Body: []byte(*v.Body), Signature: v.Signature}).Verify(v.Key); err != nil {
		t.Errorf("bodySHA256 with :443: %v", err)
	}
}

func TestToggleDefaultPort(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://a.example", "https://a.example:443"},
		{"https://a.example:443", "https://a.example"},
		{"https://a.example/p?q=1#f", "https://a.example:443/p?q=1#f"},
		{"https://a.example:443?q=:443", "https://a.example?q=:443"},
		{"HTTPS://A.example/p", "HTTPS://A.example:443/p"},
		{"http://u:p@a.example/p", "http://u:p@a.example:80/p"},
		{"http://[::1]:80/p", "http://[::1]/p"},
		{"http://[::1]/p", "http://[::1]:80/p"},
		{"https://a.example:8443/p", ""},
		{"ftp://a.example/p", ""},
		{"https:///p", ""},
		{"/relative", ""},
		{"", ""},
	}
	for _, tt := range tests {
		got, ok := toggleDefaultPort(tt.in)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("toggleDefaultPort(%q) = %q, %v; want %q", tt.in, got, ok, tt.want)
		}
	}
}

func TestVerifyErrors(t *testing.T) {
	const key = "PSK_secret_signing_key"
	const u = "https://h.example.com/webhooks/signalwire"
	form := url.Values{"AccountSid": {"a"}, "CallStatus": {"completed"}}
	good := signing.Form(key, u, form)

	_, err := SignedRequest{CandidateURLs: []string{u}, Form: form, Signature: "bm90IGl0"}.Verify(key)
	if !errors.Is(err, ErrInvalidSignature) {
		t.Fatalf("Verify = %v, want ErrInvalidSignature", err)
	}
	for _, secret := range []string{key, good} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error %q leaks %q", err, secret)
		}
	}
	if !strings.Contains(err.Error(), "(2 tried") || strings.Contains(err.Error(), u) { // the URL and its default-port variant
		t.Errorf("error %q should count the URLs tried (the log line lists them, queries redacted) and quote none", err)
	}
	if _, err := (SignedRequest{CandidateURLs: []string{u}, Form: form, Signature: good}).Verify(""); !errors.Is(err, errNoSigningKey) {
		t.Errorf("empty key: Verify = %v, want errNoSigningKey", err)
	}
	if _, err := (SignedRequest{CandidateURLs: nil, Form: form, Signature: good}).Verify(key); !errors.Is(err, ErrInvalidSignature) {
		t.Errorf("no candidates: Verify = %v, want ErrInvalidSignature", err)
	}
	// A JSON body without bodySHA256 is not covered by any signature: the
	// URL-only signature must not be accepted.
	urlOnly := signing.Form(key, u, nil)
	if _, err := (SignedRequest{CandidateURLs: []string{u}, Body: []byte(`{"a":1}`), Signature: urlOnly}).Verify(key); !errors.Is(err, ErrInvalidSignature) {
		t.Errorf("JSON without bodySHA256: Verify = %v, want ErrInvalidSignature", err)
	}
	// A tampered JSON body with a valid URL signature names the hash mismatch.
	v := vector(t, "body_sha256_tampered_body")
	_, err = SignedRequest{CandidateURLs: []string{v.URL}, Body: []byte(*v.Body), Signature: v.Signature}.Verify(v.Key)
	if !errors.Is(err, ErrInvalidSignature) || !strings.Contains(err.Error(), "bodySHA256") {
		t.Errorf("tampered JSON body: Verify = %v", err)
	}
	// The first matching candidate wins; non-matching ones before it are fine.
	if _, err := (SignedRequest{CandidateURLs: []string{"https://other.example/x", u}, Form: form, Signature: good}).Verify(key); err != nil {
		t.Errorf("second candidate: %v", err)
	}
}
