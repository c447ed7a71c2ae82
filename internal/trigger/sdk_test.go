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
	"log/slog"
	"maps"
	"math/rand/v2"
	"net/url"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/signalwire-lambda/participants/internal/app"
	"github.com/signalwire-lambda/participants/internal/credentials"
	"github.com/signalwire-lambda/participants/internal/forward"
	"github.com/signalwire-lambda/participants/internal/obs"
	"github.com/signalwire-lambda/participants/internal/retry"
	"github.com/signalwire-lambda/participants/test/fake"
)

// sdkCallbacks is testdata/sdk_callbacks.json: callbacks signed by
// SignalWire's Node SDK (testdata/sdk_callbacks.gen.js says how and what
// each field is).
type sdkCallbacks struct {
	SDK      string    `json:"sdk"`
	Clock    string    `json:"clock"`
	Bases    []string  `json:"bases"`
	Keys     []string  `json:"keys"`
	Projects []string  `json:"projects"`
	Cases    []sdkCase `json:"cases"`
}

type sdkCase struct {
	Kind string   `json:"kind"`
	K    int      `json:"k"`
	P    int      `json:"p"`
	E    string   `json:"e"`
	Q    string   `json:"q"`
	F    string   `json:"f"`
	J    string   `json:"j"`
	S    []string `json:"s"`
}

func loadSDKCallbacks(t *testing.T) sdkCallbacks {
	t.Helper()
	b, err := os.ReadFile("testdata/sdk_callbacks.json")
	if err != nil {
		t.Fatal(err)
	}
	var v sdkCallbacks
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Cases) == 0 || len(v.Bases) != 3 {
		t.Fatalf("testdata/sdk_callbacks.json: %d cases, %d bases", len(v.Cases), len(v.Bases))
	}
	return v
}

// signedURL is the URL c was signed for with base i.
func (v sdkCallbacks) signedURL(c sdkCase, i int) string {
	u := v.Bases[i]
	if c.P == 1 {
		scheme, rest, _ := strings.Cut(u, "://")
		host, path, _ := strings.Cut(rest, "/")
		u = scheme + "://" + host + ":443/" + path
	}
	if c.Q != "" {
		u += "?" + c.Q
	}
	return u
}

// sdkSign is the SDK's getExpectedTwilioSignature written again in Go,
// independent of the webhook package: the URL, then each parameter name in
// sorted order followed by its values, HMAC-SHA1 with the key, base64. A nil
// params (a bodySHA256 callback) signs the URL alone. The SDK sorts names by
// UTF-16 code units; SignalWire's names are ASCII, where that is byte order.
func sdkSign(key, fullURL string, params url.Values) string {
	mac := hmac.New(sha1.New, []byte(key))
	mac.Write([]byte(fullURL))
	names := make([]string, 0, len(params))
	for name := range params {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		for _, v := range params[name] {
			mac.Write([]byte(name + v))
		}
	}
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// TestGoSignerAgreesWithTheSDK checks sdkSign against every signature the
// SDK made, so the tests can sign further cases the SDK's way.
func TestGoSignerAgreesWithTheSDK(t *testing.T) {
	v := loadSDKCallbacks(t)
	n := 0
	for ci, c := range v.Cases {
		var params url.Values
		if c.Kind == "json" {
			sum := sha256.Sum256([]byte(c.J))
			if !strings.HasSuffix(c.Q, "bodySHA256="+hex.EncodeToString(sum[:])) {
				t.Errorf("case %d: the query does not end in the body's bodySHA256", ci)
			}
		} else {
			var err error
			if params, err = url.ParseQuery(c.F); err != nil {
				t.Fatalf("case %d: form %q: %v", ci, c.F, err)
			}
		}
		for i := range v.Bases {
			if got := sdkSign(v.Keys[c.K], v.signedURL(c, i), params); got != c.S[i] {
				t.Errorf("case %d (%s, %s), base %d: Go signs %s, the SDK %s", ci, c.Kind, c.E, i, got, c.S[i])
			}
			n++
		}
	}
	t.Logf("%s: %d signatures of %d callbacks agree", v.SDK, n, len(v.Cases))
}

// sdkCreds is the secret of one project of the SDK's callbacks.
type sdkCreds struct{ key, project string }

func (c sdkCreds) Get(context.Context) (credentials.Credentials, uint64, error) {
	cr := fuzzCredentials
	cr.ProjectID, cr.SigningKey = c.project, c.key
	return cr, 1, nil
}

func (c sdkCreds) Refresh(ctx context.Context, _ uint64) (credentials.Credentials, uint64, error) {
	return c.Get(ctx)
}

// sdkHarness is the whole handler for one project, with a one-hour replay
// window, and counting fakes at every edge.
type sdkHarness struct {
	router        *Router
	upstream      *countingUpstream
	dest          *fake.Destination
	queue         *fake.Queue
	logs, metrics fake.Buffer
}

func newSDKHarness(v sdkCallbacks, k int) *sdkHarness {
	h := &sdkHarness{upstream: &countingUpstream{}, dest: &fake.Destination{}, queue: &fake.Queue{}}
	log := obs.NewLogger(&h.logs, slog.LevelInfo)
	core := app.New(sdkCreds{v.Keys[k], v.Projects[k]}, h.upstream, log)
	hooks := app.NewWebhooks(core, app.WebhookOptions{Verify: true, Destinations: []forward.Destination{h.dest}, Retry: h.queue,
		InlineBudget: time.Second, Policy: retry.Policy{MaxAttempts: 1}, MaxAge: time.Hour})
	h.router = NewRouter(app.NewRoutes(core, hooks), hooks, log, obs.NewMetrics(&h.metrics, "SDK", "sdk"))
	return h
}

// at runs f in a synctest bubble whose clock reads when.
func at(t *testing.T, when time.Time, f func(t *testing.T)) {
	t.Helper()
	synctest.Test(t, func(t *testing.T) {
		time.Sleep(time.Until(when))
		f(t)
	})
}

// clock is the time the file's callbacks were signed around (within half
// an hour either way).
func (v sdkCallbacks) clock(t *testing.T) time.Time {
	t.Helper()
	c, err := time.Parse(time.RFC3339, v.Clock)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// invoke sends payload and returns the HTTP answer's status and body.
func (h *sdkHarness) invoke(t *testing.T, payload []byte) (int, string) {
	t.Helper()
	out, err := h.router.Invoke(context.Background(), payload)
	var resp struct {
		StatusCode int    `json:"statusCode"`
		Body       string `json:"body"`
	}
	if err != nil || json.Unmarshal(out, &resp) != nil {
		t.Fatalf("invoke: %s %v", out, err)
	}
	return resp.StatusCode, resp.Body
}

// sdkTriggers names the HTTP triggers in the order of the file's bases.
var sdkTriggers = []string{"HTTP API", "REST API", "Function URL"}

// event is callback c as HTTP trigger i delivers it, with this query, body
// and signature. A REST API event carries the query decoded as API Gateway
// decodes it, the names in the order sent (apiGatewayQuery).
func (v sdkCallbacks) event(t *testing.T, c sdkCase, i int, query, body, sig string) []byte {
	t.Helper()
	u, err := url.Parse(v.Bases[i])
	if err != nil {
		t.Fatal(err)
	}
	ct := "application/x-www-form-urlencoded"
	if c.Kind == "json" {
		ct = "application/json"
	}
	headers := map[string]string{"content-type": ct, "x-signalwire-signature": sig, "host": u.Host}
	const route = "/webhooks/signalwire"
	var e any
	switch i {
	case 0:
		e = events.APIGatewayV2HTTPRequest{Version: "2.0", RouteKey: "POST " + route, RawPath: route, RawQueryString: query, Headers: headers, Body: body,
			RequestContext: events.APIGatewayV2HTTPRequestContext{DomainName: u.Host, RequestID: "sdk", HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "POST", Path: route}}}
	case 2:
		e = events.LambdaFunctionURLRequest{Version: "2.0", RawPath: route, RawQueryString: query, Headers: headers, Body: body,
			RequestContext: events.LambdaFunctionURLRequestContext{DomainName: u.Host, RequestID: "sdk", HTTP: events.LambdaFunctionURLRequestContextHTTPDescription{Method: "POST", Path: route}}}
	default:
		e = events.APIGatewayProxyRequest{Resource: route, Path: route, HTTPMethod: "POST", Headers: headers, Body: body,
			RequestContext: events.APIGatewayProxyRequestContext{DomainName: u.Host, Path: u.Path, Stage: "prod", HTTPMethod: "POST", RequestID: "sdk"}}
	}
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	if i == 1 {
		multi, single, ok := apiGatewayQuery(query)
		if !ok {
			t.Fatalf("query %q does not decode", query)
		}
		b = bytes.Replace(b, []byte(`"queryStringParameters":null`), []byte(`"queryStringParameters":`+single), 1)
		b = bytes.Replace(b, []byte(`"multiValueQueryStringParameters":null`), []byte(`"multiValueQueryStringParameters":`+multi), 1)
	}
	return b
}

// apiGatewayQuery is query as a REST API event carries it: decoded ("+" is
// a space), in multiValueQueryStringParameters every value of a name, in
// queryStringParameters its last, the names in the order of their first
// appearance; null for no query. ok is false when it does not decode.
func apiGatewayQuery(query string) (multi, single string, ok bool) {
	if query == "" {
		return "null", "null", true
	}
	var names []string
	values := map[string][]string{}
	for _, pair := range strings.Split(query, "&") {
		k, v, _ := strings.Cut(pair, "=")
		k, err1 := url.QueryUnescape(k)
		v, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil {
			return "", "", false
		}
		if _, seen := values[k]; !seen {
			names = append(names, k)
		}
		values[k] = append(values[k], v)
	}
	var m, s []string
	for _, n := range names {
		kb, _ := json.Marshal(n)
		vb, _ := json.Marshal(values[n])
		lb, _ := json.Marshal(values[n][len(values[n])-1])
		m, s = append(m, string(kb)+":"+string(vb)), append(s, string(kb)+":"+string(lb))
	}
	return "{" + strings.Join(m, ",") + "}", "{" + strings.Join(s, ",") + "}", true
}

// tamper changes one byte of s, at a random position, to a letter or digit
// it was not, until changed(result) holds (at most 1,000 tries; "" if none).
func tamper(rng *rand.Rand, s string, changed func(string) bool) string {
	const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	for range 1000 {
		i, c := rng.IntN(len(s)), alnum[rng.IntN(len(alnum))]
		if out := s[:i] + string(c) + s[i+1:]; c != s[i] && changed(out) {
			return out
		}
	}
	return ""
}

// TestSDKSignedCallbacksThroughEveryTrigger delivers every callback of
// testdata/sdk_callbacks.json through each HTTP trigger: each genuine one
// verifies (200), whatever encoding its callback URL's query has, and each
// one-byte tampering of its signature, body or query (one that changes what
// the function sees) is refused with nothing delivered or queued. go test
// -run TestSDKSignedCallbacksThroughEveryTrigger -v prints the counts.
func TestSDKSignedCallbacksThroughEveryTrigger(t *testing.T) {
	v := loadSDKCallbacks(t)
	at(t, v.clock(t), func(t *testing.T) { testSDKSignedCallbacks(t, v) })
}

func testSDKSignedCallbacks(t *testing.T, v sdkCallbacks) {
	harnesses := make([]*sdkHarness, len(v.Keys))
	for k := range harnesses {
		harnesses[k] = newSDKHarness(v, k)
	}
	type tally struct{ genuine, verified, tampered, refused int }
	counts := map[string]*tally{}
	rng := rand.New(rand.NewPCG(19, 19))
	for ci, c := range v.Cases {
		h, body, scheme := harnesses[c.K], c.F, "form"
		if c.Kind == "json" {
			body, scheme = c.J, "bodySHA256"
		}
		for i, trig := range sdkTriggers {
			n := counts[trig+" "+scheme]
			if n == nil {
				n = &tally{}
				counts[trig+" "+scheme] = n
			}
			n.genuine++
			delivered := h.dest.Sends() + h.queue.Enqueued()
			if status, answer := h.invoke(t, v.event(t, c, i, c.Q, body, c.S[i])); status != 200 || h.dest.Sends()+h.queue.Enqueued() != delivered+1 {
				t.Errorf("case %d (%s, %s) via %s: %d %s", ci, c.Kind, c.E, trig, status, answer)
			} else {
				n.verified++
			}
			sig := tamper(rng, c.S[i], func(string) bool { return true })
			tampered := [][3]string{{c.Q, body, sig}}
			if b := tamper(rng, body, func(b string) bool { return c.Kind == "json" || !sameForm(b, c.F) }); b != "" {
				tampered = append(tampered, [3]string{c.Q, b, c.S[i]})
			}
			if c.Q != "" {
				q := tamper(rng, c.Q, func(q string) bool {
					m, _, ok := apiGatewayQuery(q)
					om, _, _ := apiGatewayQuery(c.Q)
					return i != 1 || ok && m != om
				})
				tampered = append(tampered, [3]string{q, body, c.S[i]})
			}
			for _, x := range tampered {
				n.tampered++
				delivered := h.dest.Sends() + h.queue.Enqueued()
				if _, _, ok := apiGatewayQuery(x[0]); !ok && i == 1 {
					t.Fatalf("case %d: tampered query %q does not decode", ci, x[0])
				}
				if status, answer := h.invoke(t, v.event(t, c, i, x[0], x[1], x[2])); status < 400 || status >= 500 || h.dest.Sends()+h.queue.Enqueued() != delivered {
					t.Errorf("case %d (%s) via %s, tampered %q: %d %s", ci, c.Kind, trig, x, status, answer)
				} else {
					n.refused++
				}
			}
		}
	}
	t.Logf("%s, %d callbacks", v.SDK, len(v.Cases))
	t.Logf("%-12s %-10s %8s %8s %9s %8s", "trigger", "scheme", "genuine", "verified", "tampered", "refused")
	for _, trig := range sdkTriggers {
		for _, scheme := range []string{"form", "bodySHA256"} {
			n := counts[trig+" "+scheme]
			t.Logf("%-12s %-10s %8d %8d %9d %8d", trig, scheme, n.genuine, n.verified, n.tampered, n.refused)
		}
	}
}

// sameForm reports whether two form bodies decode to the same parameters.
func sameForm(a, b string) bool {
	fa, errA := url.ParseQuery(a)
	fb, errB := url.ParseQuery(b)
	return errA == nil && errB == nil && maps.EqualFunc(fa, fb, slices.Equal)
}

// TestRESTQueryLimits pins what docs/TRIGGERS.md says a REST API event
// cannot tell apart: a repeated name whose values are not adjacent, a query
// mixing encodings, a name without "=". Signed the SDK's way, each verifies
// through an HTTP API and a Function URL, and is refused through a REST API.
func TestRESTQueryLimits(t *testing.T) {
	v := loadSDKCallbacks(t)
	c := firstCase(t, v, "conference")
	for _, q := range []string{"a=1&b=2&a=3", "a=x+y&b=x%20y", "a=%C3%bc", "a=%41", "debug&a=1"} {
		c.Q = q
		params, _ := url.ParseQuery(c.F)
		at(t, signedAt(t, c), func(t *testing.T) {
			for i, trig := range sdkTriggers {
				h := newSDKHarness(v, c.K)
				want := 200
				if i == 1 {
					want = 403
				}
				if status, answer := h.invoke(t, v.event(t, c, i, q, c.F, sdkSign(v.Keys[c.K], v.signedURL(c, i), params))); status != want {
					t.Errorf("%q via %s: %d %s, want %d", q, trig, status, answer, want)
				}
			}
		})
	}
}
