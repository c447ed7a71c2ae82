package trigger

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/signalwire-lambda/participants/internal/app"
	"github.com/signalwire-lambda/participants/internal/obs"
	"github.com/signalwire-lambda/participants/internal/participant"
	"github.com/signalwire-lambda/participants/internal/signalwire"
)

type fakeCore struct {
	mu      sync.Mutex
	reqs    []app.Request
	refs    []signalwire.ParticipantRef
	filters []signalwire.ListFilter
	err     error
}

func (f *fakeCore) Handle(ctx context.Context, r app.Request) app.Response {
	f.mu.Lock()
	f.reqs = append(f.reqs, r)
	f.mu.Unlock()
	return app.Response{Status: 200, Headers: map[string]string{"Content-Type": "application/json"}, Body: []byte(`{"ok":true}`)}
}

func (f *fakeCore) Participant(ctx context.Context, ref signalwire.ParticipantRef) (participant.Participant, error) {
	f.refs = append(f.refs, ref)
	if f.err != nil {
		return participant.Participant{}, f.err
	}
	s := "in-progress"
	return participant.Participant{SchemaVersion: 1, Status: &s}, nil
}

func (f *fakeCore) Participants(ctx context.Context, ref signalwire.ParticipantRef, lf signalwire.ListFilter) (app.List, error) {
	f.filters = append(f.filters, lf)
	p, err := f.Participant(ctx, ref)
	return app.List{SchemaVersion: 1, Participants: []participant.Participant{p}}, err
}

type fakeRetry struct{ fail map[string]bool }

func (f fakeRetry) Accept(ctx context.Context, job app.DirectWebhook) ([]byte, app.Outcome, error) {
	return []byte(`{"id":"evt_test"}`), "returned", nil
}

func (f fakeRetry) ProcessRetry(ctx context.Context, body string, n int) error {
	if f.fail[body] {
		return errors.New("poison")
	}
	return nil
}

func newRouter(core core, retry processor) (*Router, *bytes.Buffer) {
	var buf bytes.Buffer
	return NewRouter(core, retry, obs.NewLogger(&buf, slog.LevelDebug), obs.NewMetrics(&buf, "NS", "svc")), &buf
}

func readEvent(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "events", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeEverySampleEvent(t *testing.T) {
	want := map[string]string{
		"http-api-read.json":     httpAPI,
		"rest-api-read.json":     restAPI,
		"function-url-read.json": functionURL,
		"direct-read.json":       direct,
		"http-api-list.json":     httpAPI,
		"rest-api-list.json":     restAPI,
		"function-url-list.json": functionURL,
		"direct-list.json":       direct,
	}
	for name, kind := range want {
		if got := kindOf(readEvent(t, name)); got != kind {
			t.Errorf("%s: decode names %s, want %s", name, got, kind)
		}
	}
	for _, bad := range []string{``, `null`, `[]`, `{}`, `{"version":"2.0"}`, `"x"`, `{"Records":[{"eventSource":"aws:s3"}]}`} {
		if got := kindOf([]byte(bad)); got != unknown {
			t.Errorf("decode(%q) names %s, want unknown", bad, got)
		}
	}
	if kindOf([]byte(`{"Records":[{"eventSource":"aws:sqs","body":"x"}]}`)) != sqsTrigger {
		t.Error("SQS not detected")
	}
}

func TestHTTPAPIAdapter(t *testing.T) {
	core := &fakeCore{}
	r, _ := newRouter(core, nil)
	out, err := r.Invoke(context.Background(), readEvent(t, "http-api-read.json"))
	if err != nil {
		t.Fatal(err)
	}
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(out, &resp); err != nil || resp.StatusCode != 200 || resp.Body != `{"ok":true}` || resp.Headers["Content-Type"] != "application/json" {
		t.Fatalf("response %s (%v)", out, err)
	}
	req := core.reqs[0]
	if req.Method != "GET" || req.PathParams["call_sid"] != "ca110001-5a4d-4b0c-9a11-000000000001" || req.Host != "abc123def4.execute-api.us-east-1.amazonaws.com" ||
		req.Header("Accept") != "application/json" || len(req.URLPaths) != 1 {
		t.Fatalf("request %+v", req)
	}
}

func TestRESTAdapterKeepsStagePathAndRebuildsQuery(t *testing.T) {
	core := &fakeCore{}
	r, _ := newRouter(core, nil)
	var e map[string]any
	json.Unmarshal(readEvent(t, "rest-api-read.json"), &e)
	e["multiValueQueryStringParameters"] = map[string][]string{"b": {"2"}, "a": {"1", "3"}}
	e["queryStringParameters"] = map[string]string{"b": "2", "a": "3"}
	payload, _ := json.Marshal(e)
	out, err := r.Invoke(context.Background(), payload)
	if err != nil {
		t.Fatal(err)
	}
	var resp events.APIGatewayProxyResponse
	if json.Unmarshal(out, &resp); resp.StatusCode != 200 {
		t.Fatalf("response %s", out)
	}
	req := core.reqs[0]
	if len(req.URLPaths) != 2 || !strings.HasPrefix(req.URLPaths[0], "/Prod/accounts/") || strings.HasPrefix(req.URLPaths[1], "/Prod") {
		t.Fatalf("URLPaths = %v, want the stage path and the resource path", req.URLPaths)
	}
	if req.RawQuery != "a=1&a=3&b=2" || req.Header("host") == "" {
		t.Fatalf("query %q headers %v", req.RawQuery, req.Headers)
	}
}

func TestFunctionURLAdapter(t *testing.T) {
	core := &fakeCore{}
	r, _ := newRouter(core, nil)
	out, err := r.Invoke(context.Background(), readEvent(t, "function-url-read.json"))
	if err != nil {
		t.Fatal(err)
	}
	var resp events.LambdaFunctionURLResponse
	if json.Unmarshal(out, &resp); resp.StatusCode != 200 {
		t.Fatalf("response %s", out)
	}
	if req := core.reqs[0]; len(req.PathParams) != 0 || !strings.HasSuffix(req.Path, "/participants/ca110001-5a4d-4b0c-9a11-000000000004") {
		t.Fatalf("request %+v", req)
	}
}

func TestDirectInvocation(t *testing.T) {
	core := &fakeCore{}
	r, _ := newRouter(core, nil)
	out, err := r.Invoke(context.Background(), readEvent(t, "direct-read.json"))
	if err != nil || !strings.Contains(string(out), `"status":"in-progress"`) {
		t.Fatalf("out %s err %v", out, err)
	}
	if core.refs[0].CallSID != "ca110001-5a4d-4b0c-9a11-000000000007" {
		t.Fatalf("ref %+v", core.refs[0])
	}
	core.err = &signalwire.APIError{Kind: signalwire.KindNotFound, StatusCode: 404}
	_, err = r.Invoke(context.Background(), readEvent(t, "direct-read.json"))
	var le messages.InvokeResponse_Error
	if !errors.As(err, &le) || le.Type != "ParticipantNotFound" {
		t.Fatalf("err = %#v, want errorType ParticipantNotFound", err)
	}
	// Without call_sid: the list, with the optional filters.
	core.err = nil
	out, err = r.Invoke(context.Background(), readEvent(t, "direct-list.json"))
	if err != nil || !strings.HasPrefix(string(out), `{"schema_version":1,"participants":[{`) || len(core.refs) != 3 || core.refs[2].CallSID != "" || core.filters[0] != (signalwire.ListFilter{}) {
		t.Fatalf("list: out %s err %v refs %+v", out, err, core.refs)
	}
	if _, err = r.Invoke(context.Background(), []byte(`{"account_sid":"a","conference_sid":"c","muted":true,"call_sid":null}`)); err != nil || core.filters[1].Muted == nil || !*core.filters[1].Muted || core.filters[1].Hold != nil {
		t.Fatalf("filters %+v, err %v", core.filters, err)
	}
	for _, bad := range []string{`{"account_sid":"a","conference_sid":"c","muted":"yes"}`, `{"account_sid":"a","conference_sid":"c","hold":1}`} {
		if _, err = r.Invoke(context.Background(), []byte(bad)); !errors.As(err, &le) || le.Type != "BadRequest" || len(core.filters) != 2 {
			t.Fatalf("%s: err = %#v", bad, err)
		}
	}
	_, err = r.Invoke(context.Background(), []byte(`{"account_sid":5}`))
	if !errors.As(err, &le) || le.Type != "BadRequest" {
		t.Fatalf("wrong types: err = %#v", err)
	}
	_, err = r.Invoke(context.Background(), []byte(`{"hello":"world"}`))
	if !errors.As(err, &le) || le.Type != "BadRequest" || !strings.Contains(le.Message, "unrecognised event") {
		t.Fatalf("unknown event: err = %#v", err)
	}
}

func TestMalformedHTTPEventIs400(t *testing.T) {
	r, _ := newRouter(&fakeCore{}, nil)
	out, err := r.Invoke(context.Background(), []byte(`{"version":"2.0","requestContext":{"http":{"method":"GET"}},"headers":"not-a-map"}`))
	if err != nil {
		t.Fatal(err)
	}
	var resp events.APIGatewayV2HTTPResponse
	json.Unmarshal(out, &resp)
	if resp.StatusCode != 400 || resp.Headers["Content-Type"] != "application/problem+json" {
		t.Fatalf("response %s", out)
	}
}

func TestSQSReportsOnlyFailedItems(t *testing.T) {
	r, _ := newRouter(&fakeCore{}, fakeRetry{fail: map[string]bool{"poison": true}})
	ev := events.SQSEvent{Records: []events.SQSMessage{
		{MessageId: "m1", Body: "ok-1", EventSource: "aws:sqs", Attributes: map[string]string{"ApproximateReceiveCount": "1"}},
		{MessageId: "m2", Body: "poison", EventSource: "aws:sqs"},
		{MessageId: "m3", Body: "ok-2", EventSource: "aws:sqs"},
	}}
	payload, _ := json.Marshal(ev)
	out, err := r.Invoke(context.Background(), payload)
	if err != nil {
		t.Fatal(err)
	}
	var resp events.SQSEventResponse
	json.Unmarshal(out, &resp)
	if len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != "m2" {
		t.Fatalf("failures %+v", resp.BatchItemFailures)
	}
}

func TestInvocationLogAndColdStartMetric(t *testing.T) {
	r, buf := newRouter(&fakeCore{}, nil)
	lc := &lambdacontext.LambdaContext{AwsRequestID: "req-42"}
	//lint:ignore SA1029 aws-lambda-go stores the trace id under this string key
	ctx := context.WithValue(lambdacontext.NewContext(context.Background(), lc), "x-amzn-trace-id", "Root=1-abc")
	r.Invoke(ctx, readEvent(t, "http-api-read.json"))
	r.Invoke(ctx, readEvent(t, "http-api-read.json"))
	var logs, emf []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not JSON: %s", line)
		}
		if _, ok := m["_aws"]; ok {
			emf = append(emf, m)
		} else if m["message"] == "invocation" {
			logs = append(logs, m)
		}
	}
	if len(logs) != 2 || logs[0]["cold_start"] != true || logs[1]["cold_start"] != false || logs[0]["requestId"] != "req-42" ||
		logs[0]["trigger"] != "http-api" || logs[0]["trace_id"] != "Root=1-abc" || logs[0]["outcome"] != float64(200) {
		t.Fatalf("invocation logs %v", logs)
	}
	if len(emf) != 1 || emf[0]["ColdStart"] != float64(1) {
		t.Fatalf("want exactly one ColdStart EMF line, got %v", emf)
	}
}

// TestDecodeReadsThePayloadOnce: one decode names the trigger and, for a
// payload 2.0 event, holds what its adapter serves; a payload 2.0 event
// whose fields read have another type is a 400 in its shape.
func TestDecodeReadsThePayloadOnce(t *testing.T) {
	for s, want := range map[string]string{
		``: unknown, `{}`: unknown, `{"version":"2.0"}`: unknown, `{"version":"2.0","requestContext":{"http":{}}}`: unknown,
		`{"version":"2.0","requestContext":{"http":{"method":"GET"}},"Records":[{"eventSource":"aws:sqs"}]}`:         sqsTrigger,
		`{"version":"2.0","requestContext":{"http":{"method":"GET"}},"Records":[]}`:                                  httpAPI,
		`{"version":"2.0","requestContext":{"domainName":"x.lambda-url.us-east-1.on.aws","http":{"method":"POST"}}}`: functionURL,
		`{"version":"2.0","httpMethod":"GET","requestContext":{"http":{"method":"GET"}}}`:                            httpAPI,
		`{"httpMethod":"GET","requestContext":{"http":"x"}}`:                                                         restAPI,
		`{"version":"2.0","requestContext":{"http":{"method":"GET"},"timeEpoch":"x"},"cookies":5}`:                   httpAPI, // fields nothing reads are not type-checked
	} {
		if _, kind, err := decode([]byte(s)); kind != want || err != nil {
			t.Errorf("%s: %s (%v), want %s", s, kind, err, want)
		}
	}
	bad := []byte(`{"version":"2.0","requestContext":{"http":{"method":"GET"}},"headers":{"a":1}}`)
	if _, kind, err := decode(bad); kind != httpAPI || err == nil {
		t.Errorf("mistyped payload 2.0 event: %s (%v)", kind, err)
	}
	r, _ := newRouter(&fakeCore{}, nil)
	if out, _ := r.Invoke(context.Background(), bad); !strings.Contains(string(out), `"statusCode":400`) {
		t.Errorf("mistyped payload 2.0 event answered %s", out)
	}
	for name, want := range map[string]string{"http-api-read.json": httpAPI, "function-url-read.json": functionURL, "webhook-participant-join.json": httpAPI} {
		e, kind, err := decode(readEvent(t, name))
		if kind != want || err != nil || e.RawPath == "" || e.RequestContext.HTTP.Method == "" {
			t.Errorf("%s: %s (%v), raw path %q", name, kind, err, e.RawPath)
		}
	}
}

// TestBeforeFirstWebhookRunsOnceForWhatMayForward: reads never run the
// hook; the first POST, direct webhook job or SQS batch runs it, once.
func TestBeforeFirstWebhookRunsOnceForWhatMayForward(t *testing.T) {
	post := `{"version":"2.0","rawPath":"/webhooks/signalwire","requestContext":{"domainName":"h.example.com","http":{"method":"POST"}},"body":"a=b"}`
	restPost := `{"httpMethod":"POST","path":"/webhooks/signalwire","requestContext":{"domainName":"h.example.com"},"body":"a=b"}`
	for name, tc := range map[string]struct {
		payloads []string
		runs     int
	}{
		"reads":       {[]string{string(readEvent(t, "http-api-read.json")), string(readEvent(t, "rest-api-read.json")), string(readEvent(t, "function-url-read.json")), string(readEvent(t, "direct-read.json"))}, 0},
		"http post":   {[]string{post, post}, 1},
		"rest post":   {[]string{restPost}, 1},
		"webhook job": {[]string{`{"signalwire_webhook":{"form":"a=b"}}`}, 1},
		"sqs":         {[]string{`{"Records":[{"eventSource":"aws:sqs","messageId":"m","body":"x"}]}`}, 1},
	} {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r, _ := newRouter(&fakeCore{}, fakeRetry{})
				var runs atomic.Int32
				r.BeforeFirstWebhook(func() { runs.Add(1) })
				for _, p := range tc.payloads {
					_, _ = r.Invoke(context.Background(), []byte(p))
				}
				if tc.runs > 0 {
					r.mayForward() // once, however often it is called
				}
				synctest.Wait() // the hook runs in the background
				if n := int(runs.Load()); n != tc.runs {
					t.Fatalf("the hook ran %d times, want %d", n, tc.runs)
				}
			})
		})
	}
}

// TestBeforeFirstWebhookNil: a nil hook (no destination to warm) is no hook;
// a POST does not crash the function.
func TestBeforeFirstWebhookNil(t *testing.T) {
	r, _ := newRouter(&fakeCore{}, fakeRetry{})
	r.BeforeFirstWebhook(nil)
	post := `{"version":"2.0","rawPath":"/webhooks/signalwire","requestContext":{"domainName":"h.example.com","http":{"method":"POST"}},"body":"a=b"}`
	if _, err := r.Invoke(context.Background(), []byte(post)); err != nil {
		t.Fatal(err)
	}
}

// kindOf is the trigger decode names for payload.
func kindOf(payload []byte) string {
	_, kind, _ := decode(payload)
	return kind
}
