package trigger

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/signalwire-lambda/participants/internal/app"
	"github.com/signalwire-lambda/participants/internal/credentials"
	"github.com/signalwire-lambda/participants/internal/forward"
	"github.com/signalwire-lambda/participants/internal/obs"
	"github.com/signalwire-lambda/participants/internal/retry"
	"github.com/signalwire-lambda/participants/internal/signalwire"
	"github.com/signalwire-lambda/participants/internal/webhook"
	"github.com/signalwire-lambda/participants/test/fake"
	"github.com/signalwire-lambda/participants/test/sandbox"
	"github.com/signalwire-lambda/participants/test/signing"
)

// fuzzBaseURL is the PUBLIC_BASE_URL the webhooks in events/ are signed for
// (localenv.DefaultPublicBaseURL; localenv is not imported to keep kumo out
// of this package's tests).
const fuzzBaseURL = "https://hooks.local.test"

// fuzzCredentials are what the fuzz core's credential source hands out: the
// sandbox's published (non-secret) values, so the signed webhooks in events/
// verify.
var fuzzCredentials = credentials.Credentials{
	ProjectID:            sandbox.ProjectID,
	APIToken:             sandbox.APIToken,
	SpaceHost:            "example.signalwire.com",
	SigningKey:           sandbox.SigningKey,
	ForwardSigningSecret: sandbox.ForwardSigningSecret,
}

// fuzzCreds is a credential source that never fails.
type fuzzCreds struct{}

func (fuzzCreds) Get(context.Context) (credentials.Credentials, uint64, error) {
	return fuzzCredentials, 1, nil
}

func (fuzzCreds) Refresh(context.Context, uint64) (credentials.Credentials, uint64, error) {
	return fuzzCredentials, 1, nil
}

// countingUpstream stands in for SignalWire. It counts every call and keeps
// the refs that were not valid SIDs (which must never reach it). A call SID
// ending in "ff" is a participant that left (404); one ending in "ee" fails
// (5xx), which sends a webhook to the retry queue.
type countingUpstream struct {
	calls atomic.Int64
	mu    sync.Mutex
	bad   []signalwire.ParticipantRef
}

func (u *countingUpstream) GetParticipant(ctx context.Context, auth signalwire.Auth, ref signalwire.ParticipantRef) (*signalwire.Participant, error) {
	u.calls.Add(1)
	if ref.Validate() != nil {
		u.mu.Lock()
		u.bad = append(u.bad, ref)
		u.mu.Unlock()
	}
	switch {
	case strings.HasSuffix(strings.ToLower(ref.CallSID), "ff"):
		return nil, &signalwire.APIError{Kind: signalwire.KindNotFound, StatusCode: 404}
	case strings.HasSuffix(strings.ToLower(ref.CallSID), "ee"):
		return nil, &signalwire.APIError{Kind: signalwire.KindUpstream, StatusCode: 503}
	}
	status, date := "in-progress", "Thu, 26 Nov 2026 10:15:00 +0000"
	return &signalwire.Participant{AccountSID: &ref.AccountSID, ConferenceSID: &ref.ConferenceSID, CallSID: &ref.CallSID, Status: &status, DateCreated: &date}, nil
}

// ListParticipants lists one participant; like GetParticipant, it keeps the
// refs that were not valid SIDs.
func (u *countingUpstream) ListParticipants(ctx context.Context, auth signalwire.Auth, ref signalwire.ParticipantRef, _ signalwire.ListFilter) ([]*signalwire.Participant, error) {
	ref.CallSID = "ca110001-5a4d-4b0c-9a11-000000000001"
	p, err := u.GetParticipant(ctx, auth, ref)
	return []*signalwire.Participant{p}, err
}

func (u *countingUpstream) badRefs() []signalwire.ParticipantRef {
	u.mu.Lock()
	defer u.mu.Unlock()
	return slices.Clone(u.bad)
}

// fuzzHarness is the real core (app.App with webhooks, verification on)
// behind the real Router, with counting fakes at every edge.
type fuzzHarness struct {
	router   *Router
	upstream *countingUpstream
	dest     *fake.Destination
	queue    *fake.Queue
}

// counts is a snapshot of the harness's counters.
type counts struct{ fetches, sends, enqueued int64 }

func newFuzzHarness() *fuzzHarness {
	h := &fuzzHarness{upstream: &countingUpstream{}, dest: &fake.Destination{}, queue: &fake.Queue{}}
	log := obs.NewLogger(io.Discard, slog.LevelDebug)
	core := app.New(fuzzCreds{}, h.upstream, log)
	hooks := app.NewWebhooks(core, app.WebhookOptions{
		PublicBaseURL: fuzzBaseURL,
		Verify:        true,
		Destinations:  []forward.Destination{h.dest},
		Retry:         h.queue,
		InlineBudget:  time.Second,
		Policy:        retry.Policy{MaxAttempts: 1},
	})
	h.router = NewRouter(app.NewRoutes(core, hooks), hooks, log, obs.NewMetrics(io.Discard, "Fuzz", "fuzz"))
	return h
}

func (h *fuzzHarness) counts() counts {
	return counts{h.upstream.calls.Load(), h.dest.Sends(), h.queue.Enqueued()}
}

// eventSeeds returns every events/*.json file, by name.
func eventSeeds(tb testing.TB) map[string][]byte {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join("..", "..", "events", "*.json"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("no events/*.json (%v)", err)
	}
	out := make(map[string][]byte, len(files))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		out[filepath.Base(f)] = b
	}
	return out
}

// wrongTypes are values of every JSON type, to put where another is expected.
var wrongTypes = []any{nil, 7, -1.5e300, true, "x", []any{1, "2"}, map[string]any{"k": []any{}}}

// mutations derives hostile variants of one event: truncations, every
// top-level member replaced by values of other types or dropped, and
// targeted changes (SIDs, paths, signatures, bodies).
func mutations(seed []byte) [][]byte {
	var out [][]byte
	for _, n := range []int{0, 1, len(seed) / 3, len(seed) / 2, len(seed) - 2, len(seed) - 1} {
		if n >= 0 && n < len(seed) {
			out = append(out, slices.Clone(seed[:n]))
		}
	}
	var m map[string]any
	if json.Unmarshal(seed, &m) != nil {
		return out
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		for _, v := range []any{wrongTypes[i%len(wrongTypes)], wrongTypes[(i+3)%len(wrongTypes)]} {
			out = append(out, withMember(m, k, v, true))
		}
		out = append(out, withMember(m, k, nil, false))
	}
	return out
}

// withMember returns m as JSON with key set to v (or removed when !set).
func withMember(m map[string]any, key string, v any, set bool) []byte {
	c := make(map[string]any, len(m))
	for k, x := range m {
		c[k] = x
	}
	if set {
		c[key] = v
	} else {
		delete(c, key)
	}
	b, _ := json.Marshal(c)
	return b
}

// editJSON applies edit to the decoded event and returns it re-encoded.
func editJSON(seed []byte, edit func(m map[string]any)) []byte {
	var m map[string]any
	if err := json.Unmarshal(seed, &m); err != nil {
		panic(err)
	}
	edit(m)
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return b
}

// hostileSIDs are SIDs that must never reach SignalWire.
var hostileSIDs = []string{
	"..", "%2e%2e", "ca110001-5a4d-4b0c-9a11-..%2F..%2Fadmin", "ca110001%2F5a4d-4b0c-9a11-000000000001",
	"ca110001-5a4d-4b0c-9a11-%252F00000001", `ca110001-5a4d-4b0c-9a11\000000000001`,
	"ca110001-5a4d-4b0c-9a11-00000000000１", "cа110001-5a4d-4b0c-9a11-000000000001", // fullwidth 1, Cyrillic а
	"ca110001-5a4d-4b0c-9a11-00000000000\x00", strings.Repeat("a", 10_000), "",
}

// targetedSeeds builds hostile variants of the sample events.
func targetedSeeds(ev map[string][]byte) [][]byte {
	var out [][]byte
	read, rest, furl := ev["http-api-read.json"], ev["rest-api-read.json"], ev["function-url-read.json"]
	for _, sid := range hostileSIDs {
		for _, field := range []string{"account_sid", "conference_sid", "call_sid"} {
			out = append(out, editJSON(read, func(m map[string]any) { m["pathParameters"].(map[string]any)[field] = sid }))
			out = append(out, editJSON(rest, func(m map[string]any) { m["pathParameters"].(map[string]any)[field] = sid }))
		}
		out = append(out, editJSON(furl, func(m map[string]any) {
			m["rawPath"] = "/accounts/" + sandbox.ProjectID + "/conferences/" + sandbox.ConferenceStandup + "/participants/" + sid
		}))
		out = append(out, []byte(`{"account_sid":"`+sandbox.ProjectID+`","conference_sid":"`+sandbox.ConferenceStandup+`","call_sid":`+mustJSON(sid)+`}`))
	}
	out = append(out,
		[]byte(`{"account_sid":5,"conference_sid":"x","call_sid":"y"}`),
		[]byte(`{"account_sid":"`+sandbox.ProjectID+`","conference_sid":"`+sandbox.ConferenceStandup+`","call_sid":"`+sandbox.CallGone+`"}`),
		[]byte(`{"account_sid":"`+sandbox.ProjectID+`","conference_sid":"`+sandbox.ConferenceStandup+`","call_sid":"ca110001-5a4d-4b0c-9a11-0000000000ee"}`),
		[]byte(`{"signalwire_webhook":{"form":"AccountSid=`+sandbox.ProjectID+`&ConferenceSid=`+sandbox.ConferenceStandup+`&CallSid=ca110001-5a4d-4b0c-9a11-0000000000ee&StatusCallbackEvent=participant-join"}}`),
		[]byte(`{"signalwire_webhook":{"form":5}}`),
		[]byte(`{"Records":[{"eventSource":"aws:sqs","body":"{\"form\":\"AccountSid=x&StatusCallbackEvent=participant-leave&ConferenceSid=..%2F..\"}","attributes":{"ApproximateReceiveCount":"9"}}]}`),
		[]byte(`{"version":"2.0","requestContext":{"http":{"method":"POST"},"domainName":"x.lambda-url.us-east-1.on.aws"},"rawPath":"/webhooks/signalwire","body":"a=%zz","headers":{"content-type":"application/x-www-form-urlencoded","x-signalwire-signature":"AAAA"}}`),
		[]byte(`{"httpMethod":"POST","path":"/webhooks/signalwire","body":"AccountSid=x","headers":{"Content-Type":"application/x-www-form-urlencoded"}}`),
	)
	for _, name := range []string{"webhook-participant-join.json", "webhook-call-status.json", "webhook-participant-leave.json", "webhook-json-call-state.json"} { // HTTP API events
		hook := ev[name]
		if hook == nil {
			continue
		}
		// Signature removed, emptied, moved to the Twilio alias, or kept with
		// a changed body, query, path, content type or encoding.
		out = append(out,
			editJSON(hook, func(m map[string]any) { delete(m["headers"].(map[string]any), "x-signalwire-signature") }),
			editJSON(hook, func(m map[string]any) { m["headers"].(map[string]any)["x-signalwire-signature"] = " " }),
			editJSON(hook, func(m map[string]any) {
				h := m["headers"].(map[string]any)
				h["X-Twilio-Signature"], h["x-signalwire-signature"] = h["x-signalwire-signature"], ""
			}),
			editJSON(hook, func(m map[string]any) { m["rawQueryString"] = "ConferenceSid=" + sandbox.ConferenceSupport }),
			editJSON(hook, func(m map[string]any) { m["rawPath"] = "/Prod/webhooks/signalwire" }),
			editJSON(hook, func(m map[string]any) { m["headers"].(map[string]any)["content-type"] = "application/json" }),
			editJSON(hook, func(m map[string]any) {
				m["headers"].(map[string]any)["content-type"] = "application/x-www-form-urlencoded; charset=utf-8"
			}),
			editJSON(hook, func(m map[string]any) {
				m["requestContext"].(map[string]any)["http"].(map[string]any)["method"] = "GET"
			}),
			editJSON(hook, func(m map[string]any) { m["body"] = m["body"].(string) + "&Muted=false" }),
			editJSON(hook, func(m map[string]any) {
				m["body"], m["isBase64Encoded"] = decodeSeedBody(m)+"&CallSid="+sandbox.CallGone, false
			}),
			editJSON(hook, func(m map[string]any) {
				m["body"], m["isBase64Encoded"] = strings.Replace(decodeSeedBody(m), "SequenceNumber=", "SequenceNumber=9", 1), false
			}),
			editJSON(hook, func(m map[string]any) { m["body"], m["isBase64Encoded"] = decodeSeedBody(m), false }),
			editJSON(hook, func(m map[string]any) { m["body"], m["isBase64Encoded"] = "!!"+m["body"].(string), true }),
			editJSON(hook, func(m map[string]any) { m["body"] = strings.Repeat("A", webhook.MaxBodyBytes+1) }),
		)
	}
	return out
}

// decodeSeedBody returns a sample event's body, base64-decoded when flagged.
func decodeSeedBody(m map[string]any) string {
	body, _ := m["body"].(string)
	if b, _ := m["isBase64Encoded"].(bool); b {
		raw, err := base64.StdEncoding.DecodeString(body)
		if err != nil {
			panic(err)
		}
		return string(raw)
	}
	return body
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// httpKind reports whether kind answers in the API Gateway response shape.
func httpKind(kind string) bool {
	return kind == httpAPI || kind == restAPI || kind == functionURL
}

// FuzzRouterInvoke feeds arbitrary payloads to the Lambda handler: the real
// Router and core with counting fakes for SignalWire, the destinations and
// the retry queue. Invariants:
//   - it never panics, and any output is JSON;
//   - an HTTP-shaped answer is 200 with a JSON body, or an RFC 9457
//     problem whose status matches the statusCode, whose type is one of
//     ours and whose title is the status text;
//   - no ref with an invalid SID ever reaches SignalWire, and an
//     invalid-sid answer (HTTP or direct) made no upstream call at all;
//   - over HTTP, a webhook is forwarded or queued only when it carries a
//     signature that an independent HMAC computation accepts for its form
//     and a URL it may have been sent to; otherwise nothing is fetched,
//     forwarded or queued (the SQS and direct webhook triggers are trusted
//     IAM callers and are exempt);
//   - a direct invocation whose payload does not decode gets errorType
//     BadRequest, one with an invalid SID gets InvalidSid and one for an
//     account other than the secret's project gets AccountNotFound, all
//     with no upstream call; an account-not-found HTTP answer made none
//     either.
func FuzzRouterInvoke(f *testing.F) {
	ev := eventSeeds(f)
	names := make([]string, 0, len(ev))
	for name := range ev {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		f.Add(ev[name])
		for _, m := range mutations(ev[name]) {
			f.Add(m)
		}
	}
	for _, s := range targetedSeeds(ev) {
		f.Add(s)
	}
	for _, s := range []string{``, `null`, `[]`, `{}`, `"x"`, `{"Records":[]}`, `{"Records":[{"eventSource":"aws:sqs"}]}`, `{"version":"2.0","requestContext":{"http":{}}}`, `{"httpMethod":"GET"}`, `{"account_sid":null}`, `{"signalwire_webhook":null}`} {
		f.Add([]byte(s))
	}

	h := newFuzzHarness()
	f.Fuzz(func(t *testing.T, payload []byte) {
		kind := kindOf(payload)
		before := h.counts()
		out, err := h.router.Invoke(context.Background(), payload)
		after := h.counts()
		fetched := after.fetches > before.fetches
		processed := after.sends > before.sends || after.enqueued > before.enqueued

		if bad := h.upstream.badRefs(); len(bad) > 0 {
			t.Fatalf("invalid SIDs reached SignalWire: %q", bad)
		}
		if out != nil && !json.Valid(out) {
			t.Fatalf("%s: output is not JSON: %q", kind, out)
		}
		switch {
		case httpKind(kind):
			if err != nil {
				t.Fatalf("%s: HTTP triggers answer with a response, not an error: %v", kind, err)
			}
			resp := checkHTTPAnswer(t, out)
			if resp.problemKind == "invalid-sid" && fetched {
				t.Fatalf("%s: answered invalid-sid after calling SignalWire", kind)
			}
			if resp.problemKind == "account-not-found" && fetched {
				t.Fatalf("%s: answered account-not-found after calling SignalWire", kind)
			}
			if processed {
				if !genuinelySigned(kind, payload) {
					t.Fatalf("%s: a webhook without a valid signature was forwarded or queued (answer %d %s)", kind, resp.status, resp.body)
				}
				if resp.status != http.StatusOK {
					t.Fatalf("%s: webhook forwarded or queued but answered %d", kind, resp.status)
				}
			} else if fetched && !isReadAnswer(resp) {
				t.Fatalf("%s: SignalWire was called but nothing was forwarded and the answer is not a read's: %d %s", kind, resp.status, resp.body)
			}
		case kind == direct:
			checkDirect(t, payload, out, err, after.fetches-before.fetches)
		case kind == unknown:
			var le messages.InvokeResponse_Error
			if !errors.As(err, &le) || le.Type != "BadRequest" || out != nil || fetched || processed {
				t.Fatalf("unknown event: out %q err %#v fetched %v processed %v", out, err, fetched, processed)
			}
		}
	})
}

// httpAnswer is a decoded HTTP-shaped answer.
type httpAnswer struct {
	status      int
	contentType string
	body        []byte
	problemKind string // the type's suffix for problems
}

// checkHTTPAnswer asserts out is 200 application/json with a JSON body, or
// an RFC 9457 problem consistent with its statusCode.
func checkHTTPAnswer(t *testing.T, out []byte) httpAnswer {
	t.Helper()
	var resp struct {
		StatusCode int               `json:"statusCode"`
		Headers    map[string]string `json:"headers"`
		Body       string            `json:"body"`
		Base64     bool              `json:"isBase64Encoded"`
	}
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatalf("HTTP answer %q: %v", out, err)
	}
	a := httpAnswer{status: resp.StatusCode, contentType: resp.Headers["Content-Type"], body: []byte(resp.Body)}
	if resp.Base64 {
		t.Fatalf("answer body is base64: %s", out)
	}
	if a.status == http.StatusOK {
		if a.contentType != "application/json" || !json.Valid(a.body) {
			t.Fatalf("200 with content type %q and body %q", a.contentType, a.body)
		}
		return a
	}
	if a.contentType != problemContentType {
		t.Fatalf("status %d with content type %q, want %s: %s", a.status, a.contentType, problemContentType, a.body)
	}
	if a.status < 400 || a.status > 599 {
		t.Fatalf("problem with status %d", a.status)
	}
	var p map[string]any
	if err := json.Unmarshal(a.body, &p); err != nil {
		t.Fatalf("problem body %q: %v", a.body, err)
	}
	typ, _ := p["type"].(string)
	title, _ := p["title"].(string)
	status, _ := p["status"].(float64)
	if !strings.HasPrefix(typ, problemTypeBase) || len(typ) == len(problemTypeBase) {
		t.Fatalf("problem type %q is not one of ours: %s", typ, a.body)
	}
	if title == "" || title != http.StatusText(a.status) || int(status) != a.status || status != float64(int(status)) {
		t.Fatalf("problem %s does not match statusCode %d", a.body, a.status)
	}
	if d, ok := p["detail"]; ok {
		if _, isString := d.(string); !isString {
			t.Fatalf("problem detail is not a string: %s", a.body)
		}
	}
	a.problemKind = typ[len(problemTypeBase):]
	if a.problemKind == "invalid-sid" {
		if field, _ := p["field"].(string); field != "account_sid" && field != "conference_sid" && field != "call_sid" {
			t.Fatalf("invalid-sid problem names no SID field: %s", a.body)
		}
	}
	if ra := resp.Headers["Retry-After"]; ra != "" && a.status != http.StatusServiceUnavailable {
		t.Fatalf("Retry-After on a %d", a.status)
	}
	return a
}

// isReadAnswer reports whether a is what the read route answers after
// calling SignalWire: the participant, or the mapped upstream error.
func isReadAnswer(a httpAnswer) bool {
	switch {
	case a.status == http.StatusOK:
		var p map[string]any
		return json.Unmarshal(a.body, &p) == nil && p["schema_version"] != nil
	case a.problemKind == "participant-not-found", a.problemKind == "upstream-error":
		return true
	}
	return false
}

// checkDirect checks a direct invocation's outcome against an independent
// decoding of its payload.
func checkDirect(t *testing.T, payload, out []byte, err error, fetches int64) {
	t.Helper()
	var in struct {
		AccountSID    string  `json:"account_sid"`
		ConferenceSID string  `json:"conference_sid"`
		CallSID       *string `json:"call_sid"`
		Muted         *bool   `json:"muted"`
		Hold          *bool   `json:"hold"`
	}
	var le messages.InvokeResponse_Error
	if json.Unmarshal(payload, &in) != nil {
		if !errors.As(err, &le) || le.Type != "BadRequest" || fetches != 0 {
			t.Fatalf("undecodable direct payload: err %#v, %d fetches", err, fetches)
		}
		return
	}
	// Without call_sid, the list: two SIDs to validate.
	ref := signalwire.ParticipantRef{AccountSID: in.AccountSID, ConferenceSID: in.ConferenceSID}
	verr := errors.Join(signalwire.ValidateSID("account_sid", ref.AccountSID), signalwire.ValidateSID("conference_sid", ref.ConferenceSID))
	if in.CallSID != nil {
		ref.CallSID = *in.CallSID
		verr = ref.Validate()
	}
	if verr != nil {
		var sidErr *signalwire.InvalidSIDError
		errors.As(verr, &sidErr)
		if !errors.As(err, &le) || le.Type != "InvalidSid" || fetches != 0 || !strings.Contains(le.Message, sidErr.Field) {
			t.Fatalf("direct invocation with %v: err %#v, %d fetches", verr, err, fetches)
		}
		return
	}
	if !strings.EqualFold(ref.AccountSID, sandbox.ProjectID) {
		// Not the secret's project: answered from the cached secret.
		if !errors.As(err, &le) || le.Type != "AccountNotFound" || fetches != 0 {
			t.Fatalf("direct invocation for another account: err %#v, %d fetches", err, fetches)
		}
		return
	}
	if fetches != 1 {
		t.Fatalf("valid direct invocation made %d upstream calls", fetches)
	}
	if err == nil {
		var p map[string]any
		if json.Unmarshal(out, &p) != nil || p["schema_version"] == nil {
			t.Fatalf("direct invocation answered %s", out)
		}
	} else if !errors.As(err, &le) || (le.Type != "ParticipantNotFound" && le.Type != "UpstreamError") {
		t.Fatalf("direct invocation error %#v", err)
	}
}

// genuinelySigned is an oracle independent of internal/webhook's Verify:
// it reports whether some signature header of the event is the HMAC-SHA1
// (SignalWire's scheme) of the event's form under the signing key for some
// URL the request may have been sent to: the public base URL followed by
// the part of any path the event carries from "/webhooks/signalwire" on,
// with any query string the event carries, with or without :443. It also
// accepts the bodySHA256 variant. It over-approximates the URLs, never the
// MAC.
func genuinelySigned(kind string, payload []byte) bool {
	var (
		body    string
		isB64   bool
		paths   []string
		queries = []string{""}
		sigs    []string
	)
	addSigs := func(h map[string]string, mh map[string][]string) {
		for k, v := range h {
			if strings.EqualFold(k, signing.Header) || strings.EqualFold(k, signing.TwilioHeader) {
				sigs = append(sigs, strings.TrimSpace(v))
			}
		}
		for k, vs := range mh {
			if strings.EqualFold(k, signing.Header) || strings.EqualFold(k, signing.TwilioHeader) {
				for _, v := range vs {
					sigs = append(sigs, strings.TrimSpace(v))
				}
			}
		}
	}
	switch kind {
	case restAPI:
		var e events.APIGatewayProxyRequest
		if json.Unmarshal(payload, &e) != nil {
			return false
		}
		body, isB64 = e.Body, e.IsBase64Encoded
		paths = []string{e.Path, e.RequestContext.Path}
		addSigs(e.Headers, e.MultiValueHeaders)
		q := url.Values{}
		for k, vs := range e.MultiValueQueryStringParameters {
			q[k] = vs
		}
		for k, v := range e.QueryStringParameters {
			if _, ok := q[k]; !ok {
				q.Set(k, v)
			}
			queries = append(queries, url.Values{k: {v}}.Encode())
		}
		queries = append(queries, q.Encode())
		queries = append(queries, oraclePermutations(q)...)
	default:
		var e struct { // what the function reads of the event: it type-checks no other field
			Body            string            `json:"body"`
			IsBase64Encoded bool              `json:"isBase64Encoded"`
			RawPath         string            `json:"rawPath"`
			RawQueryString  string            `json:"rawQueryString"`
			Headers         map[string]string `json:"headers"`
		}
		if json.Unmarshal(payload, &e) != nil {
			return false
		}
		body, isB64 = e.Body, e.IsBase64Encoded
		paths = []string{e.RawPath}
		queries = append(queries, e.RawQueryString)
		addSigs(e.Headers, nil)
	}
	raw := []byte(body)
	if isB64 {
		var err error
		if raw, err = base64.StdEncoding.DecodeString(body); err != nil {
			return false
		}
	}
	form, err := url.ParseQuery(string(raw))
	if err != nil {
		form = nil // a JSON body: only the hex and bodySHA256 schemes apply
	}
	sum := sha256.Sum256(raw)
	bodyHash := hex.EncodeToString(sum[:])
	for _, p := range paths {
		if !strings.HasPrefix(p, "/") {
			p = "/" + p
		}
		for i := 0; i < len(p); i++ {
			if !strings.HasPrefix(p[i:], webhookRoute) {
				continue
			}
			for _, q := range queries {
				for _, base := range []string{fuzzBaseURL, fuzzBaseURL + ":443"} {
					u := base + p[i:]
					if q != "" {
						u += "?" + strings.TrimPrefix(q, "?")
					}
					for _, sig := range sigs {
						for _, f := range oracleOrderings(form) {
							if sig == oracleSign(u, f) {
								return true
							}
						}
						if strings.ToLower(sig) == oracleHex(u, raw) {
							return true
						}
						if uq, err := url.Parse(u); err == nil && uq.Query().Get("bodySHA256") == bodyHash && sig == oracleMAC(u) {
							return true
						}
					}
				}
			}
		}
	}
	return false
}

// oracleOrderings returns the forms a repeated parameter may have been
// signed as: as received, each name's values sorted, sorted without
// duplicates, first value only.
func oracleOrderings(form url.Values) []url.Values {
	if form == nil {
		return nil
	}
	sorted, dedup, first := url.Values{}, url.Values{}, url.Values{}
	for name, vs := range form {
		s := append([]string(nil), vs...)
		sort.Strings(s)
		sorted[name] = s
		var d []string
		for _, v := range s {
			if len(d) == 0 || d[len(d)-1] != v {
				d = append(d, v)
			}
		}
		dedup[name] = d
		first[name] = vs[:1]
	}
	return []url.Values{form, sorted, dedup, first}
}

// oraclePermutations returns q encoded with its names in every order, for up
// to 4 names (REST APIs lose the order).
func oraclePermutations(q url.Values) []string {
	var names []string
	for name := range q {
		names = append(names, name)
	}
	if len(names) > 4 {
		return nil
	}
	var out []string
	var rec func(prefix []string, rest []string)
	rec = func(prefix, rest []string) {
		if len(rest) == 0 {
			var parts []string
			for _, n := range prefix {
				for _, v := range q[n] {
					parts = append(parts, url.QueryEscape(n)+"="+url.QueryEscape(v))
				}
			}
			out = append(out, strings.Join(parts, "&"))
			return
		}
		for i := range rest {
			next := append(append([]string(nil), rest[:i]...), rest[i+1:]...)
			rec(append(append([]string(nil), prefix...), rest[i]), next)
		}
	}
	rec(nil, names)
	return out
}

// oracleHex is the hex scheme of SignalWire's JSON callbacks:
// hex(HMAC-SHA1(key, URL + raw body)).
func oracleHex(u string, raw []byte) string {
	mac := hmac.New(sha1.New, []byte(fuzzCredentials.SigningKey))
	mac.Write([]byte(u))
	mac.Write(raw)
	return hex.EncodeToString(mac.Sum(nil))
}

// oracleSign is SignalWire's form signature, written out independently:
// base64(HMAC-SHA1(key, URL + name+value for each pair, pairs stably sorted
// by name)).
func oracleSign(u string, form url.Values) string {
	type pair struct{ name, value string }
	var pairs []pair
	for name, values := range form {
		for _, v := range values {
			pairs = append(pairs, pair{name, v})
		}
	}
	sort.SliceStable(pairs, func(i, j int) bool { return pairs[i].name < pairs[j].name })
	var b bytes.Buffer
	b.WriteString(u)
	for _, p := range pairs {
		b.WriteString(p.name)
		b.WriteString(p.value)
	}
	return oracleMAC(b.String())
}

func oracleMAC(s string) string {
	mac := hmac.New(sha1.New, []byte(fuzzCredentials.SigningKey))
	mac.Write([]byte(s))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// TestFuzzHarnessProcessesSignedSeeds keeps FuzzRouterInvoke's webhook
// invariant from being vacuous: the signed sample webhooks are forwarded by
// the harness and accepted by the oracle, and their tampered variants are not.
func TestFuzzHarnessProcessesSignedSeeds(t *testing.T) {
	ev := eventSeeds(t)
	h := newFuzzHarness()
	for _, name := range []string{"webhook-participant-join.json", "webhook-call-status.json", "webhook-participant-leave.json", "webhook-json-call-state.json", "webhook-json-call-state-bodysha256.json"} {
		before := h.counts()
		out, err := h.router.Invoke(context.Background(), ev[name])
		after := h.counts()
		if err != nil || after.sends != before.sends+1 {
			t.Fatalf("%s: not forwarded: %s %v", name, out, err)
		}
		if !genuinelySigned(kindOf(ev[name]), ev[name]) {
			t.Fatalf("%s: the oracle rejects a genuinely signed webhook", name)
		}
		tampered := editJSON(ev[name], func(m map[string]any) {
			m["body"], m["isBase64Encoded"] = decodeSeedBody(m)+"&Label=x", false
		})
		if genuinelySigned(kindOf(tampered), tampered) {
			t.Fatalf("%s: the oracle accepts a tampered webhook", name)
		}
		before = h.counts()
		out, _ = h.router.Invoke(context.Background(), tampered)
		if h.counts() != before || !strings.Contains(string(out), `"statusCode":403`) {
			t.Fatalf("%s tampered: %s", name, out)
		}
	}
	if out, _ := h.router.Invoke(context.Background(), ev["webhook-forged.json"]); !strings.Contains(string(out), `"statusCode":403`) {
		t.Fatalf("forged webhook: %s", out)
	}
}

// The webhook route and the problem media type and type prefix the core
// answers with (docs/problems.md).
const (
	webhookRoute       = "/webhooks/signalwire"
	problemContentType = "application/problem+json"
	problemTypeBase    = "https://github.com/signalwire-lambda/participants/blob/main/docs/problems.md#"
)
