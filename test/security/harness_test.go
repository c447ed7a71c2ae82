package security

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/signalwire-lambda/participants/internal/app"
	"github.com/signalwire-lambda/participants/internal/credentials"
	"github.com/signalwire-lambda/participants/internal/forward"
	"github.com/signalwire-lambda/participants/internal/obs"
	"github.com/signalwire-lambda/participants/internal/retry"
	"github.com/signalwire-lambda/participants/internal/signalwire"
	"github.com/signalwire-lambda/participants/internal/trigger"
	"github.com/signalwire-lambda/participants/internal/webhook"
	"github.com/signalwire-lambda/participants/test/fake"
	"github.com/signalwire-lambda/participants/test/httpevent"
	"github.com/signalwire-lambda/participants/test/sandbox"
	"github.com/signalwire-lambda/participants/test/signing"
)

// publicBaseURL is the PUBLIC_BASE_URL of the function under test; webhooks
// are signed for publicBaseURL + webhookRoute.
const publicBaseURL = "https://hooks.security.test"

// staticCreds hands out the sandbox's credentials for a sandbox on host.
type staticCreds struct{ c credentials.Credentials }

func (s staticCreds) Get(context.Context) (credentials.Credentials, uint64, error) {
	return s.c, 1, nil
}

func (s staticCreds) Refresh(context.Context, uint64) (credentials.Credentials, uint64, error) {
	return s.c, 1, nil
}

// fn is the function under test: the real router and core, the sandbox as
// SignalWire (reached through sandbox.Client()), signature verification on.
type fn struct {
	sb     *sandbox.Server
	router *trigger.Router
	dest   *fake.Destination
	queue  *fake.Queue
	logs   *fake.Buffer
}

// edges counts what reached the outside world.
type edges struct{ upstream, forwarded, queued int64 }

func newFn(t *testing.T) *fn {
	t.Helper()
	sb := sandbox.New()
	t.Cleanup(sb.Close)
	projectID, token := sb.Credentials()
	creds := staticCreds{credentials.Credentials{
		ProjectID: projectID, APIToken: token, SpaceHost: sb.Host(), SigningKey: sandbox.SigningKey,
	}}
	f := &fn{sb: sb, dest: &fake.Destination{}, queue: &fake.Queue{}, logs: &fake.Buffer{}}
	log := obs.NewLogger(f.logs, slog.LevelDebug)
	client := signalwire.NewClient(signalwire.Options{HTTPClient: sb.Client()})
	core := app.New(creds, client, log)
	hooks := app.NewWebhooks(core, app.WebhookOptions{
		PublicBaseURL: publicBaseURL,
		Verify:        true,
		Destinations:  []forward.Destination{f.dest},
		Retry:         f.queue,
		InlineBudget:  5 * time.Second,
		Policy:        retry.Policy{MaxAttempts: 1},
	})
	f.router = trigger.NewRouter(app.NewRoutes(core, hooks), hooks, log, obs.NewMetrics(f.logs, "Security", "security"))
	t.Cleanup(func() {
		// Whatever the input, no credential ever reaches a log line.
		for _, secret := range []string{token, sandbox.SigningKey} {
			if strings.Contains(f.logs.String(), secret) {
				t.Errorf("a credential leaked into the logs")
			}
		}
	})
	return f
}

func (f *fn) edges() edges {
	return edges{f.sb.Requests(), f.dest.Sends(), f.queue.Enqueued()}
}

// invoke runs one invocation and returns the raw output and error.
func (f *fn) invoke(t *testing.T, payload []byte) ([]byte, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := f.router.Invoke(ctx, payload)
	for _, secret := range []string{sandbox.APIToken, sandbox.SigningKey} {
		if strings.Contains(string(out), secret) || (err != nil && strings.Contains(err.Error(), secret)) {
			t.Fatalf("a credential leaked into an answer")
		}
	}
	return out, err
}

// answer is an HTTP-shaped invocation result.
type answer struct {
	Status  int               `json:"statusCode"`
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body"`
}

// http invokes an HTTP-shaped event and decodes the answer.
func (f *fn) http(t *testing.T, payload []byte) answer {
	t.Helper()
	out, err := f.invoke(t, payload)
	if err != nil {
		t.Fatalf("HTTP event answered with a Lambda error: %v", err)
	}
	var a answer
	if err := json.Unmarshal(out, &a); err != nil {
		t.Fatalf("answer %q: %v", out, err)
	}
	return a
}

// problemOf asserts a is an RFC 9457 problem with status, type kind and (when
// field is not empty) that field, and returns it.
func problemOf(t *testing.T, a answer, status int, kind, field string) app.Problem {
	t.Helper()
	if a.Status != status || a.Headers["Content-Type"] != problemContentType {
		t.Fatalf("answer %d %q, want %d %s: %s", a.Status, a.Headers["Content-Type"], status, problemContentType, truncate(a.Body))
	}
	var p app.Problem
	if err := json.Unmarshal([]byte(a.Body), &p); err != nil {
		t.Fatalf("problem body %q: %v", truncate(a.Body), err)
	}
	if p.Status != status || p.Type != problemTypeBase+kind || p.Title == "" {
		t.Fatalf("problem %s, want status %d type %s", truncate(a.Body), status, kind)
	}
	if field != "" && p.Field != field {
		t.Fatalf("problem names field %q, want %q: %s", p.Field, field, truncate(a.Body))
	}
	if len(a.Body) > 2048 {
		t.Fatalf("problem body of %d bytes echoes the input", len(a.Body))
	}
	return p
}

// lambdaError asserts err is a direct invocation error of the given type.
func lambdaError(t *testing.T, err error, errorType string) messages.InvokeResponse_Error {
	t.Helper()
	var le messages.InvokeResponse_Error
	if !errors.As(err, &le) || le.Type != errorType {
		t.Fatalf("error %#v, want errorType %s", err, errorType)
	}
	return le
}

// unchanged asserts nothing reached SignalWire, a destination or the retry queue.
func (f *fn) unchanged(t *testing.T, before edges, what string) {
	t.Helper()
	if after := f.edges(); after != before {
		t.Fatalf("%s reached the outside: upstream %d→%d, forwarded %d→%d, queued %d→%d", what,
			before.upstream, after.upstream, before.forwarded, after.forwarded, before.queued, after.queued)
	}
}

func truncate(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// req describes one HTTP request, rendered in any trigger shape.
type req struct {
	method  string
	path    string            // raw path, as the caller sent it
	params  map[string]string // API Gateway route parameters (decoded)
	headers map[string]string
	query   string
	body    string
	base64  bool
}

// event is r as the shared trigger-event builder's request.
func (r req) event() httpevent.Request {
	return httpevent.Request{
		Method: r.method, Path: r.path, Params: r.params, Headers: r.headers,
		Query: r.query, Body: r.body, Base64: r.base64,
	}
}

// httpAPI renders r as an HTTP API (payload 2.0) event.
func (r req) httpAPI(t *testing.T) []byte { return mustJSON(t, r.event().HTTPAPI()) }

// functionURL renders r as a Function URL event: no route parameters.
func (r req) functionURL(t *testing.T) []byte { return mustJSON(t, r.event().FunctionURL()) }

// restAPI renders r as a REST API (payload 1.0) proxy event on stage Prod.
func (r req) restAPI(t *testing.T) []byte { return mustJSON(t, r.event().RESTAPI()) }

// shapes renders r in every HTTP trigger shape; the Function URL shape
// drops r.params (Function URLs have no route parameters).
func (r req) shapes(t *testing.T) map[string][]byte {
	t.Helper()
	shapes, err := r.event().Shapes()
	if err != nil {
		t.Fatal(err)
	}
	return shapes
}

// lastForwarded returns the last envelope forwarded, decoded.
func (f *fn) lastForwarded(t *testing.T) map[string]any {
	t.Helper()
	m, ok := f.dest.Last()
	if !ok {
		t.Fatal("nothing was forwarded")
	}
	var env map[string]any
	if err := json.Unmarshal(m.Body, &env); err != nil {
		t.Fatal(err)
	}
	return env
}

// readPath is the read route's path for three (raw) segments.
func readPath(a, c, p string) string {
	return "/accounts/" + a + "/conferences/" + c + "/participants/" + p
}

// callbackForm is a participant-join status callback for the sandbox's
// seeded participant; seq varies its event id.
func callbackForm(seq int) url.Values {
	return url.Values{
		"AccountSid":          {sandbox.ProjectID},
		"ApiVersion":          {"2010-04-01"},
		"ConferenceSid":       {sandbox.ConferenceStandup},
		"FriendlyName":        {"daily-standup"},
		"StatusCallbackEvent": {"participant-join"},
		"CallSid":             {sandbox.CallAlice},
		"Muted":               {"false"},
		"Hold":                {"false"},
		"SequenceNumber":      {strconv.Itoa(seq)},
		"Timestamp":           {"Thu, 26 Nov 2026 10:15:00 +0000"},
	}
}

// signedWebhook returns a POST of form to the webhook route, signed with the
// sandbox's signing key for the public URL.
func signedWebhook(form url.Values) req {
	return req{
		method: "POST",
		path:   webhookRoute,
		body:   form.Encode(),
		headers: map[string]string{
			"content-type":           webhook.FormContentType,
			"x-signalwire-signature": signing.Form(sandbox.SigningKey, publicBaseURL+webhookRoute, form),
		},
	}
}

// withHeader returns a copy of r with one header set (deleted when v is "-").
func (r req) withHeader(k, v string) req {
	h := make(map[string]string, len(r.headers)+1)
	for hk, hv := range r.headers {
		h[hk] = hv
	}
	if v == "-" {
		delete(h, k)
	} else {
		h[k] = v
	}
	r.headers = h
	return r
}

// The webhook route and the problem media type and type prefix the
// function answers with (docs/problems.md).
const (
	webhookRoute       = "/webhooks/signalwire"
	problemContentType = "application/problem+json"
	problemTypeBase    = "https://github.com/signalwire-lambda/participants/blob/main/docs/problems.md#"
)
