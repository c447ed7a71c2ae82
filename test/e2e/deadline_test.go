package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signalwire-lambda/participants/test/localenv"
	"github.com/signalwire-lambda/participants/test/sandbox"
)

// hangProxy forwards to kumo, except that while a switch is on the matching
// requests get no answer until the caller gives up.
type hangProxy struct {
	secrets atomic.Bool // GetSecretValue hangs
	enqueue atomic.Bool // SendMessage to the retry queue hangs
	retryQ  string
	url     string
	// heldSecrets counts GetSecretValue requests held and not yet given
	// up by the caller; seenSecrets every one held.
	heldSecrets, seenSecrets atomic.Int64
}

// waitSecretsReleased waits until every held GetSecretValue request has
// been given up by the function (its fetch ended).
func (h *hangProxy) waitSecretsReleased(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for h.seenSecrets.Load() == 0 || h.heldSecrets.Load() != 0 {
		select {
		case <-ctx.Done():
			t.Fatalf("a held GetSecretValue request was never given up")
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func newHangProxy(t *testing.T, kumoURL, retryQueueURL string) *hangProxy {
	h := &hangProxy{retryQ: retryQueueURL}
	u, _ := url.Parse(kumoURL)
	proxy := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		target := r.Header.Get("X-Amz-Target")
		if h.secrets.Load() && target == "secretsmanager.GetSecretValue" {
			h.seenSecrets.Add(1)
			h.heldSecrets.Add(1)
			defer h.heldSecrets.Add(-1)
			<-r.Context().Done()
			return
		}
		if h.enqueue.Load() && target == "AmazonSQS.SendMessage" && strings.Contains(string(body), h.retryQ+`"`) {
			<-r.Context().Done()
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	h.url = srv.URL
	return h
}

// TestEveryRouteAnswersBeforeTheDeadline runs the real bootstrap under the
// RIE with a short AWS_LAMBDA_FUNCTION_TIMEOUT and upstreams that never
// answer (Secrets Manager, SignalWire, the retry queue). Every invocation
// of every route must end with its own answer (the documented problem, or
// the queued webhook), its invocation log line and its EMF metrics, never
// with the RIE's "Task timed out" (issue 10 §4: 8 of 9 attempts with a 2 s
// timeout did), and the runtime must not be reset (one cold start).
//
// The timeout is 5 s. An upstream that never answers makes the property
// independent of the timeout's size: without the margin every one of these
// invocations ended in "Task timed out", whatever the timeout. With 1 s and
// 2 s (a 200 ms margin) the test depended on the machine's load (2 of 5
// runs failed on a loaded machine, 1 of 6 at 3 s): the cold invocation lost
// the init's duration to the RIE (see below), and a CPU-starved runtime
// woke up to 290 ms late. 5 s keeps a 500 ms margin. The short-timeout
// arithmetic (the margin's floor, a batch message with no time to start,
// the enqueue's reserve) is tested in internal/deadline, internal/trigger
// and internal/app.
func TestEveryRouteAnswersBeforeTheDeadline(t *testing.T) {
	everyRouteBeforeTheDeadline(t, 5)
}

func everyRouteBeforeTheDeadline(t *testing.T, timeout int) {
	if testing.Short() {
		t.Skip("end-to-end test (builds and runs the bootstrap)")
	}
	ctx := context.Background()
	env, err := localenv.Start(ctx, localenv.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { env.Close() })
	hang := newHangProxy(t, env.KumoURL, env.RetryQueueURL)
	fn, err := localenv.StartRIE(ctx, rieBin, bootstrapBin, env.FunctionEnv(
		localenv.WithVar("AWS_LAMBDA_FUNCTION_TIMEOUT", strconv.Itoa(timeout)),
		localenv.WithVar("AWS_ENDPOINT_URL_SECRETS_MANAGER", hang.url),
		localenv.WithVar("AWS_ENDPOINT_URL_SQS", hang.url)), localenv.RIEOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		fn.Close()
		if t.Failed() {
			t.Logf("function logs:\n%s", fn.Logs())
		}
	})
	s := &stack{env: env, fn: fn}

	var attempts, timedOut, invocations int
	// run invokes once and checks the answer; it records a timeout instead
	// of failing at once, so that the count covers every attempt.
	// wantEMF says whether the invocation counts something (an invocation
	// that only fails to get credentials on a warm runtime has no metric).
	runMetrics := func(name string, payload []byte, check func(out []byte) error, wantEMF bool) {
		t.Helper()
		attempts++
		logsBefore := len(fn.Logs())
		ictx, cancel := context.WithTimeout(ctx, 30*time.Second)
		out, err := fn.Invoke(ictx, payload)
		cancel()
		if err != nil {
			t.Fatalf("%s: invoke: %v", name, err)
		}
		if bytes.Contains(out, []byte("Task timed out")) {
			timedOut++
			t.Errorf("%s: %s", name, out)
			return
		}
		invocations++
		if err := check(out); err != nil {
			t.Errorf("%s: %v: %s", name, err, out)
		}
		// The invocation's log line and its EMF line reach stdout before
		// the answer is posted; the RIE copies them asynchronously.
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		for {
			tail := fn.Logs()[logsBefore:]
			if strings.Contains(tail, `"message":"invocation"`) && (!wantEMF || strings.Contains(tail, `"_aws"`)) {
				break
			}
			select {
			case <-wctx.Done():
				t.Errorf("%s: no invocation log line or no EMF line:\n%s", name, tail)
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
	run := func(name string, payload []byte, check func(out []byte) error) {
		t.Helper()
		runMetrics(name, payload, check, true)
	}
	problem := func(status int, kind string) func(out []byte) error {
		return func(out []byte) error {
			var r httpResponse
			var p struct {
				Type string `json:"type"`
			}
			if json.Unmarshal(out, &r) != nil || r.StatusCode != status || r.Headers["Content-Type"] != "application/problem+json" ||
				json.Unmarshal([]byte(r.Body), &p) != nil || !strings.HasSuffix(p.Type, kind) {
				return fmt.Errorf("want %d %s", status, kind)
			}
			return nil
		}
	}
	lambdaError := func(errorType string) func(out []byte) error {
		return func(out []byte) error {
			var e struct {
				ErrorType string `json:"errorType"`
			}
			if json.Unmarshal(out, &e) != nil || e.ErrorType != errorType {
				return fmt.Errorf("want errorType %s", errorType)
			}
			return nil
		}
	}
	queued := func(out []byte) error {
		var r httpResponse
		var body map[string]string
		if json.Unmarshal(out, &r) != nil || r.StatusCode != 200 || json.Unmarshal([]byte(r.Body), &body) != nil || body["outcome"] != "queued" {
			return fmt.Errorf("want 200 queued")
		}
		return nil
	}

	read := readEvent(t, "http-api-read.json")
	ok200 := func(out []byte) error {
		var r httpResponse
		if json.Unmarshal(out, &r) != nil || r.StatusCode != 200 {
			return fmt.Errorf("want 200")
		}
		return nil
	}
	// Cold start with Secrets Manager not answering. The RIE runs init
	// inside the first invocation and tells the runtime a deadline that
	// starts after init, later than the one it enforces by the init's
	// duration (not so on Lambda): the cold invocation is one that needs
	// nothing upstream, so that skew cannot decide the outcome. Then a
	// read waits for the fetch started at init and answers 503 before the
	// deadline.
	hang.secrets.Store(true)
	run("cold start, unrecognised event", []byte(`{}`), lambdaError("BadRequest"))
	// (A warm invocation that only fails to get credentials counts no metric.)
	runMetrics("read, Secrets Manager hangs", read, problem(503, "credentials-unavailable"), true)
	// Secrets Manager is back. Once the init fetch has given up
	// (the credentials fetch timeout, 5 s), the next read fetches anew and succeeds:
	// it must not inherit the init fetch's failure.
	hang.secrets.Store(false)
	hang.waitSecretsReleased(t)
	run("read, Secrets Manager back", read, ok200)

	// SignalWire never answers.
	env.Sandbox.Inject(sandbox.Fault{Delay: time.Hour, Times: -1})
	for range 2 {
		run("HTTP API read", read, problem(504, "upstream-timeout"))
		run("REST API read", readEvent(t, "rest-api-read.json"), problem(504, "upstream-timeout"))
		run("Function URL read", readEvent(t, "function-url-read.json"), problem(504, "upstream-timeout"))
		run("direct read", readEvent(t, "direct-read.json"), lambdaError("UpstreamTimeout"))
	}
	webhookN := 0
	webhook := func() []byte {
		webhookN++
		return signedWebhook(t, s, "participant-join", sandbox.CallAlice, webhookN)
	}
	run("webhook, participant lookup hangs", webhook(), queued)
	run("direct webhook, participant lookup hangs", []byte(`{"signalwire_webhook":{"form":"AccountSid=`+sandbox.ProjectID+
		`&ConferenceSid=`+sandbox.ConferenceStandup+`&CallSid=`+sandbox.CallAlice+
		`&StatusCallbackEvent=participant-join&SequenceNumber=99&Timestamp=Thu%2C+26+Nov+2026+10%3A15%3A00+%2B0000"}}`),
		func(out []byte) error {
			var e map[string]any
			if json.Unmarshal(out, &e) != nil || !strings.HasPrefix(fmt.Sprint(e["id"]), "evt_") {
				return fmt.Errorf("want the envelope")
			}
			return nil
		})
	run("retry batch, participant lookup hangs", readEvent(t, "sqs-retry-batch.json"), func(out []byte) error {
		var r map[string]json.RawMessage
		if json.Unmarshal(out, &r) != nil || r["batchItemFailures"] == nil {
			return fmt.Errorf("want batchItemFailures")
		}
		return nil
	})
	// Neither SignalWire nor the retry queue answers: SignalWire must get
	// its 503 (it retries), not a timeout.
	hang.enqueue.Store(true)
	run("webhook, lookup and enqueue hang", webhook(), problem(503, "service-unavailable"))
	hang.enqueue.Store(false)
	env.Sandbox.ClearFaults()
	run("HTTP API read, SignalWire back", read, ok200)

	t.Logf("AWS_LAMBDA_FUNCTION_TIMEOUT=%d: %d attempts, %d answered, %d Task timed out; longest invocation (RIE REPORT): %.1f ms",
		timeout, attempts, invocations, timedOut, longestReport(fn.Logs()))
	if n := coldStarts(fn.Logs()); n != 1 {
		t.Errorf("%d cold starts, want 1: the runtime was reset", n)
	}
}

// coldStarts counts the invocation lines of cold invocations.
func coldStarts(logs string) int {
	n := 0
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, `"message":"invocation"`) && strings.Contains(line, `"cold_start":true`) {
			n++
		}
	}
	return n
}

// longestReport returns the longest "Duration: X ms" of the RIE's REPORT
// lines (a figure for the log, not an assertion).
func longestReport(logs string) float64 {
	longest := 0.0
	for _, line := range strings.Split(logs, "\n") {
		if !strings.HasPrefix(line, "REPORT") {
			continue
		}
		_, rest, ok := strings.Cut(line, "\tDuration: ")
		if !ok {
			_, rest, ok = strings.Cut(line, " Duration: ")
		}
		if !ok {
			continue
		}
		num, _, _ := strings.Cut(rest, " ms")
		if ms, err := strconv.ParseFloat(num, 64); err == nil && ms > longest {
			longest = ms
		}
	}
	return longest
}
