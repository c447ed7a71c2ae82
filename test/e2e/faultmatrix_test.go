package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signalwire-lambda/participants/internal/function"
	"github.com/signalwire-lambda/participants/internal/trigger"
	"github.com/signalwire-lambda/participants/test/fake"
	"github.com/signalwire-lambda/participants/test/localenv"
	"github.com/signalwire-lambda/participants/test/sandbox"
)

// The fault matrix runs the real handler (function.New, as the bootstrap
// builds it) in-process against kumo and the sandbox, so each fault can be
// injected and each outcome asserted exactly, with a chosen deadline.

type inProc struct {
	env    *localenv.Env
	router *trigger.Router
	logs   *fake.Buffer
}

// awsFault answers matching AWS API calls with an AWS JSON error, and
// proxies everything else to kumo.
type awsFault struct {
	target string // X-Amz-Target to fail, e.g. "secretsmanager.GetSecretValue"
	body   string // substring the request body must contain ("" = any)
	code   string // error code, e.g. "ThrottlingException"
	times  atomic.Int64
}

func faultProxy(t *testing.T, kumoURL string, f *awsFault) string {
	u, _ := url.Parse(kumoURL)
	proxy := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		if r.Header.Get("X-Amz-Target") == f.target && strings.Contains(string(body), f.body) && f.times.Load() != 0 {
			f.times.Add(-1)
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			w.WriteHeader(400)
			json.NewEncoder(w).Encode(map[string]string{"__type": f.code, "message": "injected " + f.code})
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func startInProcess(t *testing.T) *inProc {
	t.Helper()
	if testing.Short() {
		t.Skip("fault matrix (kumo + sandbox)")
	}
	env, err := localenv.Start(context.Background(), localenv.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { env.Close() })
	return &inProc{env: env, logs: &fake.Buffer{}}
}

// build makes the handler; the AWS SDK reads its endpoints from the process
// environment exactly as in the bootstrap.
func (p *inProc) build(t *testing.T, envOpts ...localenv.EnvOption) {
	t.Helper()
	vars := map[string]string{}
	for _, kv := range p.env.FunctionEnv(envOpts...) {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
		if strings.HasPrefix(k, "AWS_") && k != "AWS_SAM_LOCAL" {
			t.Setenv(k, v)
		}
	}
	r, err := function.New(context.Background(), func(k string) string { return vars[k] }, p.logs)
	if err != nil {
		t.Fatal(err)
	}
	p.router = r
}

func (p *inProc) call(t *testing.T, payload []byte, deadline time.Duration) httpResponse {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	out, err := p.router.Invoke(ctx, payload)
	if err != nil {
		t.Fatalf("invoke: %v", err)
	}
	return httpOf(t, out)
}

func TestFaultMatrixSignalWire(t *testing.T) {
	p := startInProcess(t)
	p.build(t)
	read := readEvent(t, "http-api-read.json")
	retryAfter := http.Header{"Retry-After": {"1"}}
	cases := []struct {
		name     string
		faults   []sandbox.Fault
		deadline time.Duration
		status   int
		problem  string
		requests int64 // upstream requests made, 0 = don't check
	}{
		{"slower than the deadline", []sandbox.Fault{{Delay: 10 * time.Second, Times: -1}}, time.Second, 504, "upstream-timeout", 1},
		{"429 with Retry-After then success", []sandbox.Fault{{Status: 429, Header: retryAfter}}, 5 * time.Second, 200, "", 2},
		{"429 without Retry-After then success", []sandbox.Fault{{Status: 429}}, 5 * time.Second, 200, "", 2},
		{"429 always", []sandbox.Fault{{Status: 429, Header: retryAfter, Times: -1}}, 2500 * time.Millisecond, 503, "upstream-rate-limited", 0},
		{"500 then success", []sandbox.Fault{{Status: 500}}, 5 * time.Second, 200, "", 2},
		{"502 always", []sandbox.Fault{{Status: 502, Times: -1}}, 5 * time.Second, 502, "upstream-error", 4},
		{"503 always", []sandbox.Fault{{Status: 503, Times: -1}}, 5 * time.Second, 502, "upstream-error", 4},
		{"connection reset mid-body then success", []sandbox.Fault{{ResetMidBody: true}}, 5 * time.Second, 200, "", 2},
		{"connection reset mid-body always", []sandbox.Fault{{ResetMidBody: true, Times: -1}}, 5 * time.Second, 502, "upstream-error", 4},
		{"truncated JSON", []sandbox.Fault{{TruncatedJSON: true, Times: -1}}, 5 * time.Second, 502, "upstream-error", 0},
		{"10 MB body", []sandbox.Fault{{HugeBody: true, Times: -1}}, 5 * time.Second, 502, "upstream-error", 1},
		{"HTML page with 200", []sandbox.Fault{{HTML200: true, Times: -1}}, 5 * time.Second, 502, "upstream-error", 1},
		{"wrong content type, valid JSON", []sandbox.Fault{{WrongContentType: true}}, 5 * time.Second, 200, "", 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p.env.Sandbox.ClearFaults()
			p.call(t, read, 5*time.Second) // warm: credentials cached, connection open
			for _, f := range tc.faults {
				p.env.Sandbox.Inject(f)
			}
			before := p.env.Sandbox.Requests()
			r := p.call(t, read, tc.deadline)
			p.env.Sandbox.ClearFaults()
			if r.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", r.StatusCode, tc.status, r.Body)
			}
			if tc.problem != "" {
				if got := problemType(t, r); !strings.HasSuffix(got, tc.problem) {
					t.Fatalf("problem %s, want %s", got, tc.problem)
				}
			}
			if n := p.env.Sandbox.Requests() - before; tc.requests > 0 && n != tc.requests {
				t.Fatalf("upstream requests %d, want %d", n, tc.requests)
			}
			if tc.status == 503 && r.Headers["Retry-After"] == "" {
				t.Fatal("503 without Retry-After")
			}
		})
	}
}

func TestFaultMatrixSecretsManager(t *testing.T) {
	read := readEvent(t, "http-api-read.json")
	cases := []struct {
		name   string
		setup  func(t *testing.T, p *inProc) []localenv.EnvOption
		status int
		log    string
	}{
		{"secret not found", func(t *testing.T, p *inProc) []localenv.EnvOption {
			return []localenv.EnvOption{localenv.WithVar("SIGNALWIRE_SECRET_ID", "signalwire/does-not-exist")}
		}, 503, "credentials secret not found"},
		{"malformed JSON", func(t *testing.T, p *inProc) []localenv.EnvOption {
			p.env.PutSecretString(context.Background(), `{"project_id": "x", `)
			return nil
		}, 503, "not valid JSON"},
		{"partial secret", func(t *testing.T, p *inProc) []localenv.EnvOption {
			p.env.PutSecretString(context.Background(), `{"project_id":"`+sandbox.ProjectID+`","space_host":"`+p.env.Sandbox.Host()+`"}`)
			return nil
		}, 503, "missing key(s) api_token, signing_key"},
		{"access denied", func(t *testing.T, p *inProc) []localenv.EnvOption {
			f := &awsFault{target: "secretsmanager.GetSecretValue", code: "AccessDeniedException"}
			f.times.Store(-1)
			return []localenv.EnvOption{localenv.WithVar("AWS_ENDPOINT_URL_SECRETS_MANAGER", faultProxy(t, p.env.KumoURL, f))}
		}, 503, "access to the credentials secret denied"},
		{"throttled once, then served", func(t *testing.T, p *inProc) []localenv.EnvOption {
			f := &awsFault{target: "secretsmanager.GetSecretValue", code: "ThrottlingException"}
			f.times.Store(1)
			return []localenv.EnvOption{localenv.WithVar("AWS_ENDPOINT_URL_SECRETS_MANAGER", faultProxy(t, p.env.KumoURL, f))}
		}, 200, ""},
		{"throttled always", func(t *testing.T, p *inProc) []localenv.EnvOption {
			f := &awsFault{target: "secretsmanager.GetSecretValue", code: "ThrottlingException"}
			f.times.Store(-1)
			return []localenv.EnvOption{localenv.WithVar("AWS_ENDPOINT_URL_SECRETS_MANAGER", faultProxy(t, p.env.KumoURL, f))}
		}, 503, "credentials secret unavailable"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := startInProcess(t)
			p.build(t, tc.setup(t, p)...)
			r := p.call(t, read, 10*time.Second)
			if r.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s\n%s", r.StatusCode, tc.status, r.Body, p.logs)
			}
			if tc.status == 503 && !strings.HasSuffix(problemType(t, r), "credentials-unavailable") {
				t.Fatalf("%s", r.Body)
			}
			if !strings.Contains(p.logs.String(), tc.log) {
				t.Fatalf("logs lack %q:\n%s", tc.log, p.logs)
			}
		})
	}
}

func TestFaultMatrixDestinations(t *testing.T) {
	cases := []struct {
		name  string
		setup func(t *testing.T, p *inProc) []localenv.EnvOption
		dest  string
	}{
		{"HTTPS 5xx", func(t *testing.T, p *inProc) []localenv.EnvOption {
			p.env.Receiver.FailUntilRecover(502)
			return nil
		}, "https"},
		{"HTTPS timeout", func(t *testing.T, p *inProc) []localenv.EnvOption {
			stop := make(chan struct{})
			slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				select {
				case <-r.Context().Done():
				case <-stop:
				}
			}))
			t.Cleanup(slow.Close)
			t.Cleanup(func() { close(stop) }) // runs first: frees the handler
			return []localenv.EnvOption{localenv.WithVar("FORWARD_HTTPS_URL", slow.URL)}
		}, "https"},
		{"EventBridge throttling", func(t *testing.T, p *inProc) []localenv.EnvOption {
			f := &awsFault{target: "AWSEvents.PutEvents", code: "ThrottlingException"}
			f.times.Store(-1)
			return []localenv.EnvOption{localenv.WithVar("AWS_ENDPOINT_URL_EVENTBRIDGE", faultProxy(t, p.env.KumoURL, f))}
		}, "eventbridge"},
		{"SQS destination throttling", func(t *testing.T, p *inProc) []localenv.EnvOption {
			name := p.env.DestinationQueueURL[strings.LastIndex(p.env.DestinationQueueURL, "/")+1:]
			f := &awsFault{target: "AmazonSQS.SendMessage", body: name, code: "ThrottlingException"}
			f.times.Store(-1)
			return []localenv.EnvOption{localenv.WithVar("AWS_ENDPOINT_URL_SQS", faultProxy(t, p.env.KumoURL, f))}
		}, "sqs"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := startInProcess(t)
			p.build(t, tc.setup(t, p)...)
			var e map[string]any
			json.Unmarshal(resign(t, readEvent(t, "webhook-participant-join.json"), p.env.PublicBaseURL, sandbox.SigningKey), &e)
			payload, _ := json.Marshal(e)
			// A 2 s deadline leaves a 1 s inline budget; then the webhook is queued.
			r := p.call(t, payload, 2*time.Second)
			var body map[string]string
			if r.StatusCode != 200 || json.Unmarshal([]byte(r.Body), &body) != nil || body["outcome"] != "queued" {
				t.Fatalf("%d %s\n%s", r.StatusCode, r.Body, p.logs)
			}
			l := ledger{accepted: 1}
			n, err := p.env.QueueDepth(context.Background(), p.env.RetryQueueURL)
			if err != nil {
				t.Fatal(err)
			}
			l.queued = n
			l.check(t)
			if !strings.Contains(p.logs.String(), `"Destination":"`+tc.dest+`","ForwardFailures":1`) {
				t.Fatalf("no ForwardFailures for %s:\n%s", tc.dest, p.logs)
			}
		})
	}
}
