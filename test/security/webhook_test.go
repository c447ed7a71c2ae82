package security

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/signalwire-lambda/participants/internal/webhook"
	"github.com/signalwire-lambda/participants/test/sandbox"
	"github.com/signalwire-lambda/participants/test/signing"
)

// accepted asserts a genuine webhook went through: 200, one sandbox fetch,
// one forward. It returns the envelope id.
func accepted(t *testing.T, f *fn, r req, what string) string {
	t.Helper()
	before := f.edges()
	ans := f.http(t, r.httpAPI(t))
	after := f.edges()
	if ans.Status != http.StatusOK || after.upstream != before.upstream+1 || after.forwarded != before.forwarded+1 {
		t.Fatalf("%s: %d %s (upstream %d→%d, forwarded %d→%d)", what, ans.Status, ans.Body,
			before.upstream, after.upstream, before.forwarded, after.forwarded)
	}
	var out struct{ ID, Outcome string }
	if err := json.Unmarshal([]byte(ans.Body), &out); err != nil || out.ID == "" || out.Outcome != "delivered" {
		t.Fatalf("%s: answer %s", what, ans.Body)
	}
	return out.ID
}

// rejected asserts r gets the given problem in every HTTP trigger shape and
// reaches neither the sandbox, a destination nor the retry queue.
func rejected(t *testing.T, f *fn, r req, status int, kind, what string) {
	t.Helper()
	for shape, payload := range r.shapes(t) {
		before := f.edges()
		problemOf(t, f.http(t, payload), status, kind, "")
		f.unchanged(t, before, what+" ("+shape+")")
	}
}

// TestForgedWebhooksAreRejected: a freshly signed webhook is processed
// (the control), and every forgery of it is answered 403 invalid-signature
// without fetching, forwarding or queueing anything.
func TestForgedWebhooksAreRejected(t *testing.T) {
	f := newFn(t)
	form := callbackForm(1)
	genuine := signedWebhook(form)
	id := accepted(t, f, genuine, "genuine webhook")

	// An exact replay is the same event: it is processed again under the
	// same id, so destinations deduplicate it (no replay window exists).
	if again := accepted(t, f, genuine, "exact replay"); again != id {
		t.Fatalf("replay got id %s, want %s", again, id)
	}

	random := make([]byte, 20)
	if _, err := rand.Read(random); err != nil {
		t.Fatal(err)
	}
	sig := genuine.headers["x-signalwire-signature"]
	modified := func(edit func(v url.Values)) req {
		v := url.Values{}
		for k, vs := range form {
			v[k] = append([]string(nil), vs...)
		}
		edit(v)
		r := genuine
		r.body = v.Encode()
		return r
	}
	forgeries := map[string]req{
		"missing signature":        genuine.withHeader("x-signalwire-signature", "-"),
		"empty signature":          genuine.withHeader("x-signalwire-signature", "   "),
		"random signature":         genuine.withHeader("x-signalwire-signature", base64.StdEncoding.EncodeToString(random)),
		"not base64":               genuine.withHeader("x-signalwire-signature", "not a signature!"),
		"signature with extra":     genuine.withHeader("x-signalwire-signature", sig+"A"),
		"truncated signature":      genuine.withHeader("x-signalwire-signature", sig[:len(sig)-2]),
		"lower-cased signature":    genuine.withHeader("x-signalwire-signature", strings.ToLower(sig)),
		"another key":              genuine.withHeader("x-signalwire-signature", signing.Form("PSK_attacker", publicBaseURL+webhookRoute, form)),
		"signed for another host":  genuine.withHeader("x-signalwire-signature", signing.Form(sandbox.SigningKey, "https://attacker.example"+webhookRoute, form)),
		"signed for another path":  genuine.withHeader("x-signalwire-signature", signing.Form(sandbox.SigningKey, publicBaseURL+"/other", form)),
		"signed over the URL only": genuine.withHeader("x-signalwire-signature", signing.Form(sandbox.SigningKey, publicBaseURL+webhookRoute, nil)),
		"replay, CallSid changed":  modified(func(v url.Values) { v.Set("CallSid", sandbox.CallBob) }),
		"replay, Muted flipped":    modified(func(v url.Values) { v.Set("Muted", "true") }),
		"replay, param added":      modified(func(v url.Values) { v.Set("Extra", "1") }),
		"replay, param removed":    modified(func(v url.Values) { v.Del("SequenceNumber") }),
		"replay, event changed":    modified(func(v url.Values) { v.Set("StatusCallbackEvent", "participant-leave") }),
		"replay, query added": func() req {
			r := genuine
			r.query = "ConferenceSid=" + sandbox.ConferenceSupport
			return r
		}(),
	}
	for name, r := range forgeries {
		rejected(t, f, r, http.StatusForbidden, "invalid-signature", name)
	}
	// A value appended to a signed parameter verifies under the "first
	// value only" ordering (see webhook.Verified), but only what was
	// signed goes on: it is the genuine event again, under its id.
	repeated := modified(func(v url.Values) { v.Add("StatusCallbackEvent", "participant-leave") })
	if again := accepted(t, f, repeated, "replay, value repeated"); again != id {
		t.Fatalf("replay with a repeated value got id %s, want %s", again, id)
	}
	if env := f.lastForwarded(t); env["type"] != "signalwire.conference.participant-join" {
		t.Fatalf("replay with a repeated value forwarded type %v", env["type"])
	}
	// The signature only ever travels in the header: a form parameter of the
	// same name is just a parameter.
	inBody := genuine.withHeader("x-signalwire-signature", "-")
	inBody.body += "&X-SignalWire-Signature=" + url.QueryEscape(sig)
	rejected(t, f, inBody, http.StatusForbidden, "invalid-signature", "signature in the body")
}

// TestOversizedWebhookBodies: bodies over webhook.MaxBodyBytes are refused
// with 413 before any verification, plain or base64, in every trigger
// shape, even when correctly signed.
func TestOversizedWebhookBodies(t *testing.T) {
	f := newFn(t)
	big := callbackForm(2)
	big.Set("Padding", strings.Repeat("p", webhook.MaxBodyBytes))
	signedBig := signedWebhook(big)

	plain := signedBig
	b64 := signedBig
	b64.body, b64.base64 = base64.StdEncoding.EncodeToString([]byte(signedBig.body)), true
	justOver := signedWebhook(callbackForm(3))
	justOver.body = strings.Repeat("a", webhook.MaxBodyBytes+1)
	justOverB64 := justOver
	justOverB64.body, justOverB64.base64 = base64.StdEncoding.EncodeToString([]byte(justOver.body)), true
	// A base64 string too long to fit is refused before decoding, even
	// when it is not valid base64.
	hugeInvalidB64 := justOver
	hugeInvalidB64.body, hugeInvalidB64.base64 = strings.Repeat("!", 4*webhook.MaxBodyBytes), true
	oneMiB := justOver
	oneMiB.body = strings.Repeat("x", 1<<20)

	for name, r := range map[string]req{
		"signed, plain": plain, "signed, base64": b64,
		"MaxBodyBytes+1, plain": justOver, "MaxBodyBytes+1, base64": justOverB64,
		"4×MaxBodyBytes of invalid base64": hugeInvalidB64, "1 MiB, plain": oneMiB,
	} {
		rejected(t, f, r, http.StatusRequestEntityTooLarge, "payload-too-large", name)
	}
	// At the limit the body is read and judged on its signature instead.
	atLimit := justOver
	atLimit.body = strings.Repeat("a", webhook.MaxBodyBytes)
	rejected(t, f, atLimit, http.StatusForbidden, "invalid-signature", "MaxBodyBytes, unsigned")
}

// TestWebhookContentTypes: SignalWire's callbacks are form-encoded or JSON;
// anything else is 415 without any processing, even when the body is a
// correctly signed form; a signed form sent as JSON does not verify (403).
func TestWebhookContentTypes(t *testing.T) {
	f := newFn(t)
	genuine := signedWebhook(callbackForm(4))
	rejected(t, f, genuine.withHeader("content-type", "application/json"), http.StatusForbidden, "invalid-signature", "form as JSON")
	for _, ct := range []string{"-", "", "text/plain", "multipart/form-data; boundary=x",
		"application/x-www-form-urlencoded-evil", "application/x-www-form-urlencoded; charset", "form"} {
		rejected(t, f, genuine.withHeader("content-type", ct), http.StatusUnsupportedMediaType, "unsupported-media-type", "content type "+ct)
	}
	// Parameters and case do not matter: still processed.
	accepted(t, f, genuine.withHeader("content-type", "Application/X-WWW-Form-Urlencoded; charset=UTF-8"), "charset parameter")
}

// TestMalformedWebhookBodies: invalid base64 and invalid form encoding are
// 400 bad-request, before the signature is looked at.
func TestMalformedWebhookBodies(t *testing.T) {
	f := newFn(t)
	genuine := signedWebhook(callbackForm(5))
	badB64 := genuine
	badB64.body, badB64.base64 = "%%%not base64%%%", true
	badForm := genuine
	badForm.body += "&bad=%zz"
	semicolon := genuine
	semicolon.body += ";x=1"
	for name, r := range map[string]req{"invalid base64": badB64, "bad percent-escape": badForm, "raw semicolon": semicolon} {
		rejected(t, f, r, http.StatusBadRequest, "bad-request", name)
	}
}

// TestMethodNotAllowed: each route accepts its own method only (405), and
// a rejected method never reaches the sandbox or a destination.
func TestMethodNotAllowed(t *testing.T) {
	f := newFn(t)
	hook := signedWebhook(callbackForm(6))
	for _, m := range []string{"GET", "PUT", "PATCH", "DELETE", "OPTIONS", "post"} {
		r := hook
		r.method = m
		rejected(t, f, r, http.StatusMethodNotAllowed, "method-not-allowed", m+" webhook")
	}
	// HEAD gets the same answer without a body (RFC 9110, 9.3.2).
	head := hook
	head.method = "HEAD"
	for shape, payload := range head.shapes(t) {
		before := f.edges()
		if a := f.http(t, payload); a.Status != http.StatusMethodNotAllowed || a.Body != "" || a.Headers["Allow"] != "POST" {
			t.Fatalf("HEAD webhook (%s): %d %v %q", shape, a.Status, a.Headers, truncate(a.Body))
		}
		f.unchanged(t, before, "HEAD webhook ("+shape+")")
	}
	read := req{method: "GET", path: readPath(sandbox.ProjectID, sandbox.ConferenceStandup, sandbox.CallAlice)}
	for _, m := range []string{"POST", "PUT", "PATCH", "DELETE", "OPTIONS", "get"} {
		r := read
		r.method = m
		rejected(t, f, r, http.StatusMethodNotAllowed, "method-not-allowed", m+" read")
	}
}

// TestDirectInvocationWrongTypes: a direct invocation whose members have
// the wrong JSON types is errorType BadRequest, as is a direct webhook
// whose form is not a string; neither calls the sandbox.
func TestDirectInvocationWrongTypes(t *testing.T) {
	f := newFn(t)
	a, c, p := `"`+sandbox.ProjectID+`"`, `"`+sandbox.ConferenceStandup+`"`, `"`+sandbox.CallAlice+`"`
	for _, payload := range []string{
		`{"account_sid":5,"conference_sid":` + c + `,"call_sid":` + p + `}`,
		`{"account_sid":` + a + `,"conference_sid":true,"call_sid":` + p + `}`,
		`{"account_sid":` + a + `,"conference_sid":` + c + `,"call_sid":[` + p + `]}`,
		`{"account_sid":` + a + `,"conference_sid":` + c + `,"call_sid":{"sid":` + p + `}}`,
		`{"account_sid":` + a + `,"conference_sid":` + c + `,"call_sid":1e999}`,
		`{"account_sid":` + a + `,"conference_sid":` + c + `,"call_sid":` + p + `,"call_sid":7}`,
		`{"signalwire_webhook":{"form":5}}`,
		`{"signalwire_webhook":{"form":["AccountSid=x"]}}`,
		`{"signalwire_webhook":"AccountSid=x"}`,
		`{"signalwire_webhook":{"form":"AccountSid=x","received_at":"yesterday"}}`,
		`{"signalwire_webhook":{"form":""}}`,
		`{"hello":"world"}`,
		`[1,2,3]`,
	} {
		before := f.edges()
		out, err := f.invoke(t, []byte(payload))
		lambdaError(t, err, "BadRequest")
		if out != nil {
			t.Fatalf("%s: output %s", payload, out)
		}
		f.unchanged(t, before, payload)
	}
}
