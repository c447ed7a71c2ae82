package app

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signalwire-lambda/participants/internal/forward"
	"github.com/signalwire-lambda/participants/internal/obs"
	"github.com/signalwire-lambda/participants/internal/retry"
	"github.com/signalwire-lambda/participants/internal/signalwire"
	"github.com/signalwire-lambda/participants/internal/webhook"
	"github.com/signalwire-lambda/participants/test/signing"
)

const base = "https://hooks.example.com/prod"

type recordingDest struct {
	mu   sync.Mutex
	msgs []forward.Message
	err  error
}

func (d *recordingDest) Name() string { return "recording" }

func (d *recordingDest) Send(ctx context.Context, m forward.Message) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.err != nil {
		return d.err
	}
	d.msgs = append(d.msgs, m)
	return nil
}

// fixedSecret is a forward.SecretSource with one secret that never changes.
type fixedSecret string

func (s fixedSecret) Secrets(context.Context) (forward.Secrets, error) {
	return forward.Secrets{Current: string(s)}, nil
}

func (s fixedSecret) RefreshSecrets(ctx context.Context, _ uint64) (forward.Secrets, error) {
	return s.Secrets(ctx)
}

type fakeQueue struct {
	bodies [][]byte
	attrs  []map[string]string
	err    error
}

func (q *fakeQueue) Enqueue(ctx context.Context, m forward.Message) error {
	if q.err != nil {
		return q.err
	}
	q.bodies = append(q.bodies, m.Body)
	q.attrs = append(q.attrs, map[string]string{"event_id": m.ID, "conference_sid": m.ConferenceSID})
	return nil
}

type hookFixture struct {
	app    *App
	hooks  *webhooks
	routes *Routes
	up     *fakeUpstream
	dest   *recordingDest
	queue  *fakeQueue
	logs   *bytes.Buffer
	out    *bytes.Buffer // EMF
	inv    *obs.Invocation
	m      *obs.Metrics
}

func newHooks(t *testing.T, mutate func(*WebhookOptions)) *hookFixture {
	t.Helper()
	f := &hookFixture{up: &fakeUpstream{}, dest: &recordingDest{}, queue: &fakeQueue{}, out: &bytes.Buffer{}}
	f.app, f.logs = newTestApp(f.up, &fakeCreds{})
	opts := WebhookOptions{PublicBaseURL: base, Verify: true, Destinations: []forward.Destination{f.dest}, Retry: f.queue,
		Policy: retry.Policy{MaxAttempts: 2, Base: time.Millisecond, Max: time.Millisecond}}
	if mutate != nil {
		mutate(&opts)
	}
	f.hooks = NewWebhooks(f.app, opts)
	f.routes = NewRoutes(f.app, f.hooks)
	f.m = obs.NewMetrics(f.out, "NS", "svc")
	f.inv = &obs.Invocation{Metrics: f.m.NewBatch()}
	return f
}

func (f *hookFixture) ctx() context.Context { return obs.WithInvocation(context.Background(), f.inv) }

func (f *hookFixture) metrics() string {
	f.m.Flush(f.inv.Metrics)
	return f.out.String()
}

func joinForm(call string) url.Values {
	return url.Values{"AccountSid": {acct}, "ConferenceSid": {conf}, "CallSid": {call}, "StatusCallbackEvent": {"participant-join"},
		"SequenceNumber": {"4"}, "Timestamp": {"Thu, 26 Nov 2026 10:15:00 +0000"}, "Muted": {"true"}}
}

func signedPost(form url.Values, key string) Request {
	return Request{Method: "POST", Path: "/webhooks/signalwire", Host: "abc.execute-api.us-east-1.amazonaws.com", URLPaths: []string{"/webhooks/signalwire"},
		Headers: map[string]string{"content-type": "application/x-www-form-urlencoded", "x-signalwire-signature": signing.Form(key, base+"/webhooks/signalwire", form)},
		Body:    form.Encode()}
}

func outcomeOf(t *testing.T, r Response) string {
	t.Helper()
	var m map[string]string
	if r.Status != 200 || json.Unmarshal(r.Body, &m) != nil {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	return m["outcome"]
}

func TestSignedWebhookIsFetchedAndForwarded(t *testing.T) {
	f := newHooks(t, nil)
	r := f.routes.Handle(f.ctx(), signedPost(joinForm(call), "PSK_key"))
	if outcomeOf(t, r) != "delivered" || len(f.dest.msgs) != 1 || len(f.up.tokens) != 1 {
		t.Fatalf("outcome %s, %d messages, %d upstream calls", r.Body, len(f.dest.msgs), len(f.up.tokens))
	}
	m := f.dest.msgs[0]
	var env map[string]any
	json.Unmarshal(m.Body, &env)
	if env["id"] != m.ID || m.ConferenceSID != conf || m.Type != "signalwire.conference.participant-join" ||
		env["participant_lookup"] != "found" || env["participant"].(map[string]any)["muted"] != true {
		t.Fatalf("message %+v %s", m, m.Body)
	}
	if !strings.Contains(f.metrics(), `"Forwarded":1`) {
		t.Error("no Forwarded metric")
	}
}

func TestWebhookWithoutDestinationsAnswersWithTheEnvelope(t *testing.T) {
	f := newHooks(t, func(o *WebhookOptions) { o.Destinations = nil })
	req := signedPost(joinForm(call), "PSK_key")
	req.Body, req.Base64 = base64.StdEncoding.EncodeToString([]byte(req.Body)), true
	r := f.routes.Handle(f.ctx(), req)
	var env map[string]any
	if r.Status != 200 || json.Unmarshal(r.Body, &env) != nil || env["schema_version"] != float64(1) || env["participant_lookup"] != "found" {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
}

func TestWebhookRejections(t *testing.T) {
	good := signedPost(joinForm(call), "PSK_key")
	cases := []struct {
		name   string
		mutate func(r *Request)
		status int
		kind   string
	}{
		{"forged", func(r *Request) { *r = signedPost(joinForm(call), "PSK_other") }, 403, problemInvalidSignature},
		{"tampered", func(r *Request) { r.Body = strings.Replace(r.Body, "Muted=true", "Muted=false", 1) }, 403, problemInvalidSignature},
		{"missing signature", func(r *Request) { delete(r.Headers, "x-signalwire-signature") }, 403, problemInvalidSignature},
		{"too large", func(r *Request) { r.Body = strings.Repeat("a", webhook.MaxBodyBytes+1) }, 413, problemPayloadTooLarge},
		{"too large base64", func(r *Request) {
			r.Body, r.Base64 = base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("a"), webhook.MaxBodyBytes+1)), true
		}, 413, problemPayloadTooLarge},
		{"bad base64", func(r *Request) { r.Body, r.Base64 = "%%%not base64", true }, 400, problemBadRequest},
		{"text body", func(r *Request) { r.Headers["content-type"] = "text/plain" }, 415, problemUnsupportedMediaType},
		{"form signature on a JSON body", func(r *Request) { r.Headers["content-type"] = "application/json" }, 403, problemInvalidSignature},
		{"malformed form", func(r *Request) { r.Body = "AccountSid=%zz" }, 400, problemBadRequest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newHooks(t, nil)
			req := good
			req.Headers = map[string]string{}
			for k, v := range good.Headers {
				req.Headers[k] = v
			}
			tc.mutate(&req)
			r := f.routes.Handle(f.ctx(), req)
			if r.Status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.Status, tc.status, r.Body)
			}
			if m := decodeProblem(t, r); !strings.HasSuffix(m["type"].(string), tc.kind) {
				t.Fatalf("type %v", m["type"])
			}
			if len(f.up.tokens) != 0 || len(f.dest.msgs) != 0 || len(f.queue.bodies) != 0 {
				t.Fatal("a rejected webhook reached the upstream, a destination or the queue")
			}
			if !strings.Contains(f.metrics(), `"WebhookRejected":1`) {
				t.Error("no WebhookRejected metric")
			}
		})
	}
	// Not a status callback, correctly signed: 400 naming the problem.
	f := newHooks(t, nil)
	form := url.Values{"Foo": {"bar"}}
	r := f.routes.Handle(f.ctx(), signedPost(form, "PSK_key"))
	if r.Status != 400 {
		t.Fatalf("non-callback: %d %s", r.Status, r.Body)
	}
}

func TestFailedForwardIsQueuedNeverLost(t *testing.T) {
	f := newHooks(t, nil)
	f.dest.err = &forward.StatusError{StatusCode: 503}
	r := f.routes.Handle(f.ctx(), signedPost(joinForm(call), "PSK_key"))
	if outcomeOf(t, r) != "queued" || len(f.queue.bodies) != 1 {
		t.Fatalf("%s, %d queued", r.Body, len(f.queue.bodies))
	}
	job, err := decodeJob(string(f.queue.bodies[0]))
	if err != nil || job.Kind != kindDeliver || !strings.Contains(string(job.Envelope), "participant-join") || !strings.HasPrefix(job.EventID, "evt_") ||
		len(job.Destinations) != 1 || job.Destinations[0] != "recording" {
		t.Fatalf("job %s (%v)", f.queue.bodies[0], err)
	}
	if f.queue.attrs[0]["conference_sid"] != conf || f.queue.attrs[0]["event_id"] != job.EventID {
		t.Fatalf("attrs %v", f.queue.attrs[0])
	}
	// The retry consumer delivers it once the destination recovers, with the same id.
	f.dest.err = nil
	if err := f.hooks.ProcessRetry(f.ctx(), string(f.queue.bodies[0]), 2); err != nil {
		t.Fatal(err)
	}
	if len(f.dest.msgs) != 1 || f.dest.msgs[0].ID != job.EventID {
		t.Fatalf("retry delivered %+v", f.dest.msgs)
	}
}

func TestUpstreamFailureIsQueued(t *testing.T) {
	f := newHooks(t, nil)
	f.up.errs = []error{&signalwire.APIError{Kind: signalwire.KindUpstream, StatusCode: 500}}
	if got := outcomeOf(t, f.routes.Handle(f.ctx(), signedPost(joinForm(call), "PSK_key"))); got != "queued" {
		t.Fatalf("outcome %s", got)
	}
}

func TestParticipantNotFoundIsDeliveredWithNull(t *testing.T) {
	f := newHooks(t, nil)
	f.up.errs = []error{&signalwire.APIError{Kind: signalwire.KindNotFound, StatusCode: 404}}
	outcomeOf(t, f.routes.Handle(f.ctx(), signedPost(joinForm(call), "PSK_key")))
	var env map[string]any
	json.Unmarshal(f.dest.msgs[0].Body, &env)
	if env["participant"] != nil || env["participant_lookup"] != "not_found" {
		t.Fatalf("%s", f.dest.msgs[0].Body)
	}
}

func TestEnqueueFailureIs503(t *testing.T) {
	for _, mutate := range []func(*WebhookOptions){
		func(o *WebhookOptions) { o.Retry = &fakeQueue{err: errors.New("sqs down")} },
		func(o *WebhookOptions) { o.Retry = nil },
	} {
		f := newHooks(t, mutate)
		f.dest.err = &forward.StatusError{StatusCode: 503}
		r := f.routes.Handle(f.ctx(), signedPost(joinForm(call), "PSK_key"))
		if r.Status != 503 || r.Headers["Retry-After"] == "" {
			t.Fatalf("%d %v %s", r.Status, r.Headers, r.Body)
		}
	}
}

func TestVerificationOffAcceptsUnsigned(t *testing.T) {
	f := newHooks(t, func(o *WebhookOptions) { o.Verify = false })
	req := signedPost(joinForm(call), "PSK_key")
	delete(req.Headers, "x-signalwire-signature")
	if outcomeOf(t, f.routes.Handle(f.ctx(), req)) != "delivered" {
		t.Fatal("unsigned webhook rejected with verification off")
	}
}

func TestRetryMessageLastReceiveCountsDeadLettered(t *testing.T) {
	f := newHooks(t, func(o *WebhookOptions) { o.MaxReceiveCount = 3 })
	if err := f.hooks.ProcessRetry(f.ctx(), `{"not":"a job"}`, 2); err == nil {
		t.Fatal("malformed retry message accepted")
	}
	if strings.Contains(f.metrics(), "DeadLettered") {
		t.Fatal("DeadLettered before the last receive")
	}
	if err := f.hooks.ProcessRetry(f.ctx(), `{"not":"a job"}`, 3); err == nil {
		t.Fatal("malformed retry message accepted")
	}
	if !strings.Contains(f.metrics(), `"DeadLettered":1`) {
		t.Fatal("no DeadLettered metric on the last receive")
	}
}

// TestTraceIDReachesHTTPSDestination: the X-Ray trace id of the invocation
// travels with the forwarded request.
func TestTraceIDReachesHTTPSDestination(t *testing.T) {
	got := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		got <- r.Header.Get("X-Amzn-Trace-Id")
	}))
	defer srv.Close()
	secret := "whsec_" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	dest := forward.NewHTTPS(srv.URL, srv.Client(), fixedSecret(secret), "")
	f := newHooks(t, func(o *WebhookOptions) { o.Destinations = []forward.Destination{dest} })
	trace := "Root=1-6745f0a1-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1"
	ctx := obs.WithTraceID(f.ctx(), trace) // as the trigger sets it
	if outcomeOf(t, f.routes.Handle(ctx, signedPost(joinForm(call), "PSK_key"))) != "delivered" {
		t.Fatal("not delivered")
	}
	if h := <-got; h != trace {
		t.Fatalf("X-Amzn-Trace-Id = %q, want %q", h, trace)
	}
}

// TestTraceIDSurvivesTheRetryQueue: a webhook queued under one trace is
// forwarded later with that trace, not the retry invocation's.
func TestTraceIDSurvivesTheRetryQueue(t *testing.T) {
	got := make(chan string, 4)
	fail := true
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if fail {
			w.WriteHeader(503)
			return
		}
		got <- r.Header.Get("X-Amzn-Trace-Id")
	}))
	defer srv.Close()
	secret := "whsec_" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	dest := forward.NewHTTPS(srv.URL, srv.Client(), fixedSecret(secret), "")
	f := newHooks(t, func(o *WebhookOptions) { o.Destinations = []forward.Destination{dest} })
	ctx := obs.WithTraceID(f.ctx(), "Root=1-aaaaaaaa-original") // as the trigger sets it
	if outcomeOf(t, f.routes.Handle(ctx, signedPost(joinForm(call), "PSK_key"))) != "queued" {
		t.Fatal("not queued")
	}
	fail = false
	retryCtx := obs.WithTraceID(f.ctx(), "Root=1-bbbbbbbb-retry")
	if err := f.hooks.ProcessRetry(retryCtx, string(f.queue.bodies[0]), 1); err != nil {
		t.Fatal(err)
	}
	if h := <-got; h != "Root=1-aaaaaaaa-original" {
		t.Fatalf("retried delivery carries trace %q", h)
	}
}

// decodeJob reads a queue message as the tests inspect it: the retry
// message and, for a dead-letter record, its reason.
func decodeJob(body string) (deadLetterRecord, error) {
	m, err := decodeRetry(body)
	var r struct {
		Reason string `json:"reason"`
	}
	_ = json.Unmarshal([]byte(body), &r)
	return deadLetterRecord{retryMessage: m, Reason: r.Reason}, err
}
