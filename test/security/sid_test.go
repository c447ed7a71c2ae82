package security

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/signalwire-lambda/participants/test/sandbox"
)

// hostileSID is a SID an attacker may put in a request.
type hostileSID struct {
	name string
	// value, as it appears in a raw (percent-encoded) path.
	value string
	// slash marks values with a literal '/': only API Gateway's decoded
	// route parameters can carry them as one SID.
	slash bool
}

var hostileSIDs = []hostileSID{
	{name: "dot-dot", value: ".."},
	{name: "dot-dot-slash", value: "../../../Accounts/" + sandbox.ProjectID, slash: true},
	{name: "uuid-then-traversal", value: sandbox.CallAlice + "/../../x", slash: true},
	{name: "encoded-dots", value: "%2e%2e"},
	{name: "encoded-dots-upper", value: "%2E%2E"},
	{name: "encoded-slash", value: "ca110001-5a4d-4b0c-9a11-..%2F..%2Fadmin"},
	{name: "encoded-slash-in-uuid", value: "ca110001%2F5a4d-4b0c-9a11-000000000001"},
	{name: "double-encoded-slash", value: "ca110001%252F5a4d-4b0c-9a11-00000000001"},
	{name: "backslash", value: `ca110001-5a4d-4b0c-9a11\..\..\admin`},
	{name: "fullwidth-digit", value: "ca110001-5a4d-4b0c-9a11-00000000000１"},
	{name: "fullwidth-digit-encoded", value: "ca110001-5a4d-4b0c-9a11-00000000000%EF%BC%91"},
	{name: "cyrillic-a", value: "cа110001-5a4d-4b0c-9a11-000000000001"},
	{name: "nul", value: "ca110001-5a4d-4b0c-9a11-00000000000\x00"},
	{name: "nul-encoded", value: "ca110001-5a4d-4b0c-9a11-0000000000%00"},
	{name: "query", value: "ca110001-5a4d-4b0c-9a11-00000000001?"},
	{name: "overlong-10kB", value: strings.Repeat("ca110001", 10<<10/8)},
}

var sidFields = []string{"account_sid", "conference_sid", "call_sid"}

// sids returns the seeded participant's SIDs with field replaced by v.
func sids(field, v string) (a, c, p string) {
	a, c, p = sandbox.ProjectID, sandbox.ConferenceStandup, sandbox.CallAlice
	switch field {
	case "account_sid":
		a = v
	case "conference_sid":
		c = v
	case "call_sid":
		p = v
	}
	return a, c, p
}

// TestValidReadReachesSandbox is the control for the SID tests: the same
// requests with genuine SIDs do reach the sandbox and answer 200.
func TestValidReadReachesSandbox(t *testing.T) {
	f := newFn(t)
	a, c, p := sids("", "")
	r := req{method: "GET", path: readPath(a, c, p)}
	withParams := r
	withParams.params = map[string]string{"account_sid": a, "conference_sid": c, "call_sid": p}
	for name, payload := range map[string][]byte{
		"http-api params": withParams.httpAPI(t), "rest-api params": withParams.restAPI(t),
		"http-api raw path": r.httpAPI(t), "rest-api path": r.restAPI(t), "function-url raw path": r.functionURL(t),
	} {
		before := f.edges()
		if ans := f.http(t, payload); ans.Status != http.StatusOK || !strings.Contains(ans.Body, `"call_sid":"`+p+`"`) {
			t.Fatalf("%s: %d %s", name, ans.Status, ans.Body)
		}
		if f.edges().upstream != before.upstream+1 {
			t.Fatalf("%s: the sandbox was not called", name)
		}
	}
	if f.sb.RequestsFor(sandbox.ParticipantPath(a, c, p)) != 5 {
		t.Fatalf("sandbox saw %d requests for the participant, want 5", f.sb.RequestsFor(sandbox.ParticipantPath(a, c, p)))
	}
}

// TestHostileSIDsInRouteParameters puts each hostile SID in each field of
// API Gateway's (decoded) route parameters, HTTP API and REST API: 400
// invalid-sid naming the field, and the sandbox is never called.
func TestHostileSIDsInRouteParameters(t *testing.T) {
	f := newFn(t)
	for _, h := range hostileSIDs {
		decoded, err := url.PathUnescape(h.value)
		if err != nil {
			decoded = h.value
		}
		for _, field := range sidFields {
			for _, v := range []string{h.value, decoded} {
				a, c, p := sids(field, v)
				r := req{method: "GET", path: readPath(url.PathEscape(a), url.PathEscape(c), url.PathEscape(p)),
					params: map[string]string{"account_sid": a, "conference_sid": c, "call_sid": p}}
				for shape, payload := range map[string][]byte{"http-api": r.httpAPI(t), "rest-api": r.restAPI(t)} {
					before := f.edges()
					problemOf(t, f.http(t, payload), http.StatusBadRequest, "invalid-sid", field)
					f.unchanged(t, before, h.name+" in "+field+" ("+shape+")")
				}
			}
		}
	}
}

// TestHostileSIDsInRawPath sends each hostile SID (without a literal '/')
// in the path only: a Function URL, an HTTP API $default route and a REST
// API proxy resource, none with route parameters. The path stays encoded,
// so an encoded slash or dot segment fails validation instead of changing
// the upstream path.
func TestHostileSIDsInRawPath(t *testing.T) {
	f := newFn(t)
	for _, h := range hostileSIDs {
		if h.slash {
			continue
		}
		for _, field := range sidFields {
			a, c, p := sids(field, h.value)
			r := req{method: "GET", path: readPath(a, c, p)}
			for shape, payload := range r.shapes(t) {
				before := f.edges()
				problemOf(t, f.http(t, payload), http.StatusBadRequest, "invalid-sid", field)
				f.unchanged(t, before, h.name+" in "+field+" ("+shape+")")
			}
		}
	}
}

// TestTraversalChangingRouteShape: literal "../" segments in a raw path
// do not parse as the read route at all (404), and nothing is fetched.
func TestTraversalChangingRouteShape(t *testing.T) {
	f := newFn(t)
	for _, path := range []string{
		readPath(sandbox.ProjectID, sandbox.ConferenceStandup, "../../../Accounts/x"),
		readPath(sandbox.ProjectID, "../"+sandbox.ConferenceStandup, sandbox.CallAlice) + "/..",
		"/accounts/" + sandbox.ProjectID + "/conferences/" + sandbox.ConferenceStandup + "/participants/",
		"/accounts/" + sandbox.ProjectID + "/../conferences/" + sandbox.ConferenceStandup + "/participants/" + sandbox.CallAlice + "/x",
	} {
		for shape, payload := range (req{method: "GET", path: path}).shapes(t) {
			before := f.edges()
			problemOf(t, f.http(t, payload), http.StatusNotFound, "route-not-found", "")
			f.unchanged(t, before, path+" ("+shape+")")
		}
	}
}

// TestHostileSIDsInDirectInvocation: the direct invocation answers
// errorType InvalidSid naming the field, without calling the sandbox.
func TestHostileSIDsInDirectInvocation(t *testing.T) {
	f := newFn(t)
	for _, h := range hostileSIDs {
		for _, field := range sidFields {
			a, c, p := sids(field, h.value)
			before := f.edges()
			out, err := f.invoke(t, mustJSON(t, map[string]string{"account_sid": a, "conference_sid": c, "call_sid": p}))
			le := lambdaError(t, err, "InvalidSid")
			if out != nil || !strings.Contains(le.Message, field) || len(le.Message) > 1024 {
				t.Fatalf("%s in %s: out %q message %q", h.name, field, out, truncate(le.Message))
			}
			f.unchanged(t, before, h.name+" in "+field+" (direct)")
		}
	}
}

// TestSignedWebhookWithHostileSIDs: a genuinely signed webhook whose SIDs
// are hostile is rejected with a 400 naming the field (its core fields must
// parse strictly: issue 10 §5) and never turns into a sandbox request, a
// delivery or a queued retry.
func TestSignedWebhookWithHostileSIDs(t *testing.T) {
	f := newFn(t)
	for i, h := range hostileSIDs {
		for _, param := range []string{"ConferenceSid", "CallSid", "AccountSid"} {
			form := callbackForm(100 + i)
			form.Set(param, h.value)
			before := f.edges()
			ans := f.http(t, signedWebhook(form).httpAPI(t))
			if ans.Status != http.StatusBadRequest || !strings.Contains(ans.Body, param) {
				t.Fatalf("%s in %s: %d %s", h.name, param, ans.Status, truncate(ans.Body))
			}
			f.unchanged(t, before, h.name+" in "+param)
		}
	}
}
