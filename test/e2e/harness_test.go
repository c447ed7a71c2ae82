package e2e

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/signalwire-lambda/participants/test/localenv"
)

// binaries built once for the package.
var bootstrapBin, rieBin, moduleRoot string

func TestMain(m *testing.M) {
	if err := localenv.UseOfflineAWS(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run())
	}
	code, err := func() (int, error) {
		dir, err := os.MkdirTemp("", "e2e-bin-")
		if err != nil {
			return 1, err
		}
		defer os.RemoveAll(dir)
		// The in-process handler (the fault matrix) reaches the sandbox and
		// the receiver, httptest TLS servers, through the system roots.
		ts := httptest.NewTLSServer(nil)
		ts.Close()
		ca := filepath.Join(dir, "httptest-ca.pem")
		if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw}), 0o600); err != nil {
			return 1, err
		}
		if err := os.Setenv("SSL_CERT_FILE", ca); err != nil {
			return 1, err
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		if moduleRoot, err = localenv.ModuleRoot(); err != nil {
			return 1, err
		}
		if bootstrapBin, err = localenv.BuildBootstrap(ctx, dir, runtime.GOARCH); err != nil {
			return 1, err
		}
		if rieBin, err = localenv.BuildRIE(ctx, dir); err != nil {
			return 1, err
		}
		return m.Run(), nil
	}()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e setup:", err)
	}
	os.Exit(code)
}

// stack is one local environment with the bootstrap running under the RIE.
type stack struct {
	env *localenv.Env
	fn  *localenv.RIE
	// secretsCalls counts GetSecretValue requests that reached Secrets Manager.
	secretsCalls atomic.Int64
}

// start brings up kumo, the sandbox, the receiver and the function. The
// function reaches Secrets Manager through a counting proxy.
func start(t *testing.T, opts localenv.Options, envOpts ...localenv.EnvOption) *stack {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test (builds and runs the bootstrap)")
	}
	ctx := context.Background()
	env, err := localenv.Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { env.Close() })
	s := &stack{env: env}
	target, _ := url.Parse(env.KumoURL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	counting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Amz-Target") == "secretsmanager.GetSecretValue" {
			s.secretsCalls.Add(1)
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(counting.Close)
	envOpts = append([]localenv.EnvOption{localenv.WithVar("AWS_ENDPOINT_URL_SECRETS_MANAGER", counting.URL)}, envOpts...)
	fn, err := localenv.StartRIE(ctx, rieBin, bootstrapBin, env.FunctionEnv(envOpts...), localenv.RIEOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		fn.Close()
		if t.Failed() {
			t.Logf("function logs:\n%s", fn.Logs())
		}
	})
	s.fn = fn
	return s
}

// invoke sends payload and returns the raw answer.
func (s *stack) invoke(t *testing.T, payload []byte) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := s.fn.Invoke(ctx, payload)
	if err != nil {
		t.Fatalf("invoke: %v\n%s", err, out)
	}
	return out
}

// httpResponse is the common shape of HTTP API, REST API and Function URL answers.
type httpResponse struct {
	StatusCode int               `json:"statusCode"`
	Headers    map[string]string `json:"headers"`
	Body       string            `json:"body"`
}

func (s *stack) invokeHTTP(t *testing.T, payload []byte) httpResponse {
	t.Helper()
	out := s.invoke(t, payload)
	var r httpResponse
	if err := json.Unmarshal(out, &r); err != nil || r.StatusCode == 0 {
		t.Fatalf("not an HTTP answer: %s", out)
	}
	return r
}

func readEvent(t *testing.T, name string) []byte {
	t.Helper()
	return readEventTB(t, name)
}

func readEventTB(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(moduleRoot, "events", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// drainRetryQueue plays the Lambda SQS event source mapping with
// ReportBatchItemFailures: it receives a batch from the retry queue, invokes
// the function with it as an SQS event, deletes what succeeded and makes the
// reported failures visible again at once (instead of after the visibility
// timeout). It returns how many messages were delivered (deleted).
func (s *stack) drainRetryQueue(t *testing.T) (deleted int, failed []string) {
	t.Helper()
	ctx := context.Background()
	out, err := s.env.SQS().ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl: aws.String(s.env.RetryQueueURL), MaxNumberOfMessages: 10, WaitTimeSeconds: 1,
		MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Messages) == 0 {
		return 0, nil
	}
	ev := events.SQSEvent{}
	byID := map[string]*string{}
	for _, m := range out.Messages {
		attrs := map[string]string{}
		for k, v := range m.Attributes {
			attrs[k] = v
		}
		if _, ok := attrs["ApproximateReceiveCount"]; !ok {
			attrs["ApproximateReceiveCount"] = "1"
		}
		ev.Records = append(ev.Records, events.SQSMessage{MessageId: *m.MessageId, ReceiptHandle: *m.ReceiptHandle, Body: *m.Body,
			Attributes: attrs, EventSource: "aws:sqs", EventSourceARN: "arn:aws:sqs:us-east-1:000000000000:retry", AWSRegion: "us-east-1"})
		byID[*m.MessageId] = m.ReceiptHandle
	}
	payload, _ := json.Marshal(ev)
	var resp events.SQSEventResponse
	if err := json.Unmarshal(s.invoke(t, payload), &resp); err != nil {
		t.Fatal(err)
	}
	failedSet := map[string]bool{}
	for _, f := range resp.BatchItemFailures {
		failedSet[f.ItemIdentifier] = true
		failed = append(failed, f.ItemIdentifier)
	}
	for id, handle := range byID {
		if failedSet[id] {
			if _, err := s.env.SQS().ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(s.env.RetryQueueURL), ReceiptHandle: handle, VisibilityTimeout: 0}); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if _, err := s.env.SQS().DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(s.env.RetryQueueURL), ReceiptHandle: handle}); err != nil {
			t.Fatal(err)
		}
		deleted++
	}
	return deleted, failed
}

func (s *stack) depth(t *testing.T, queueURL string) int {
	t.Helper()
	n, err := s.env.QueueDepth(context.Background(), queueURL)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
