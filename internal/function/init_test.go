package function

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/signalwire-lambda/participants/internal/trigger"
	"github.com/signalwire-lambda/participants/test/sandbox"
)

// fakeSecretsManager answers GetSecretValue with answer(n) for the n-th call
// (from 1): a secret string, or an error type.
type fakeSecretsManager struct {
	srv   *httptest.Server
	calls atomic.Int64
}

func newFakeSecretsManager(t *testing.T, answer func(n int) (secret, errType string)) *fakeSecretsManager {
	t.Helper()
	f := &fakeSecretsManager{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Amz-Target") != "secretsmanager.GetSecretValue" {
			http.Error(w, `{"__type":"InvalidRequestException"}`, http.StatusBadRequest)
			return
		}
		secret, errType := answer(int(f.calls.Add(1)))
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		if errType != "" {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"__type":"` + errType + `","message":"no"}`))
			return
		}
		out, _ := json.Marshal(map[string]any{"ARN": "arn:aws:secretsmanager:us-east-1:000000000000:secret:sw", "Name": "sw", "SecretString": secret})
		_, _ = w.Write(out)
	}))
	t.Cleanup(f.srv.Close)
	t.Setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", f.srv.URL)
	return f
}

func sandboxSecret(sb *sandbox.Server) string {
	projectID, token := sb.Credentials()
	b, _ := json.Marshal(map[string]string{
		"project_id": projectID, "api_token": token, "space_host": sb.Host(), "signing_key": sandbox.SigningKey,
	})
	return string(b)
}

// TestMain makes the system roots (SSL_CERT_FILE, read on first use) trust
// the certificate of every httptest TLS server, the sandbox's included, so
// that the function's own SignalWire client, and the connection it opens
// at init, reach the sandbox.
func TestMain(m *testing.M) {
	srv := httptest.NewTLSServer(nil)
	srv.Close()
	f, err := os.CreateTemp("", "httptest-ca-*.pem")
	if err == nil {
		err = errors.Join(pem.Encode(f, &pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), f.Close())
	}
	if err != nil {
		log.Fatal(err)
	}
	os.Setenv("SSL_CERT_FILE", f.Name())
	code := m.Run()
	_ = os.Remove(f.Name())
	os.Exit(code)
}

// directRead invokes the router with a direct read of Alice.
func directRead(r *trigger.Router, sb *sandbox.Server) ([]byte, error) {
	projectID, _ := sb.Credentials()
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "test"})
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return r.Invoke(ctx, []byte(`{"account_sid":"`+projectID+`","conference_sid":"`+sandbox.ConferenceStandup+`","call_sid":"`+sandbox.CallAlice+`"}`))
}

// TestInitFetchesTheSecretWhileConnectingToTheSpace: with
// SIGNALWIRE_SPACE_HOST set, init opens the connection to SignalWire while
// the secret is being fetched (Secrets Manager answers only once SignalWire
// has a connection, which sequential code would never open), and the first
// read uses that connection.
func TestInitFetchesTheSecretWhileConnectingToTheSpace(t *testing.T) {
	offline(t)
	sb := sandbox.New()
	defer sb.Close()
	var overlapped atomic.Bool
	newFakeSecretsManager(t, func(int) (string, string) {
		for range 10000 { // at most ~10 s, then answer anyway and fail below
			if sb.Connections() > 0 {
				overlapped.Store(true)
				break
			}
			time.Sleep(time.Millisecond)
		}
		return sandboxSecret(sb), ""
	})
	env := map[string]string{"SIGNALWIRE_SECRET_ID": "sw", "SIGNALWIRE_SPACE_HOST": sb.Host()}
	r, err := New(context.Background(), func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	out, err := directRead(r, sb)
	if err != nil || !strings.Contains(string(out), sandbox.CallAlice) {
		t.Fatalf("first read: %s, %v", out, err)
	}
	if !overlapped.Load() {
		t.Error("Secrets Manager was called before any connection to SignalWire was opened")
	}
	if got := sb.Connections(); got != 1 {
		t.Errorf("SignalWire saw %d connections, want 1 (the one opened at init)", got)
	}
}

// TestInitDoesNotWaitForSecretsManager: init returns while the secret fetch
// it started is still pending; that fetch fails, and the first invocation
// fetches again within its own deadline and succeeds.
func TestInitDoesNotWaitForSecretsManager(t *testing.T) {
	offline(t)
	sb := sandbox.New()
	defer sb.Close()
	release := make(chan struct{})
	sm := newFakeSecretsManager(t, func(n int) (string, string) {
		if n == 1 {
			<-release
			return "", "InternalServiceError"
		}
		return sandboxSecret(sb), ""
	})
	// A Space that accepts connections and never answers: init must not wait for it either.
	blackhole, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer blackhole.Close()
	env := map[string]string{"SIGNALWIRE_SECRET_ID": "sw", "SIGNALWIRE_SPACE_HOST": blackhole.Addr().String()}
	r, err := New(context.Background(), func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	// Init returned with the fetch still blocked; now let the invocation wait for it.
	var wg sync.WaitGroup
	var out []byte
	var invErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		out, invErr = directRead(r, sb)
	}()
	close(release)
	wg.Wait()
	// The secret names the sandbox, not the blackhole: refused clearly.
	if invErr == nil || !strings.Contains(invErr.Error(), "credentials") {
		t.Fatalf("read with a mismatching SIGNALWIRE_SPACE_HOST: %s, %v", out, invErr)
	}
	if got := sm.calls.Load(); got < 2 {
		t.Errorf("GetSecretValue calls %d: the first invocation did not fetch again after the init fetch failed", got)
	}
}

// TestFirstInvocationRetriesAfterAFailedInitFetch: the init fetch fails
// (Secrets Manager throttling or down at init), the first read succeeds.
func TestFirstInvocationRetriesAfterAFailedInitFetch(t *testing.T) {
	offline(t)
	sb := sandbox.New()
	defer sb.Close()
	release := make(chan struct{})
	sm := newFakeSecretsManager(t, func(n int) (string, string) {
		if n == 1 {
			<-release
			return "", "AccessDeniedException"
		}
		return sandboxSecret(sb), ""
	})
	env := map[string]string{"SIGNALWIRE_SECRET_ID": "sw", "SIGNALWIRE_SPACE_HOST": sb.Host()}
	r, err := New(context.Background(), func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var out []byte
	var invErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		out, invErr = directRead(r, sb)
	}()
	close(release)
	wg.Wait()
	if invErr != nil || !strings.Contains(string(out), sandbox.CallAlice) {
		t.Fatalf("first read after a failed init fetch: %s, %v", out, invErr)
	}
	if got := sm.calls.Load(); got != 2 {
		t.Errorf("GetSecretValue calls %d, want 2 (init, then the invocation's own)", got)
	}
}

// TestSpaceHostMismatchIsRefused: a secret whose space_host is not
// SIGNALWIRE_SPACE_HOST gives credentials-unavailable, and the log names
// both hosts; no request reaches the secret's host.
func TestSpaceHostMismatchIsRefused(t *testing.T) {
	offline(t)
	sb := sandbox.New()
	defer sb.Close()
	newFakeSecretsManager(t, func(int) (string, string) { return sandboxSecret(sb), "" })
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	other := closed.Addr().String()
	_ = closed.Close()
	env := map[string]string{"SIGNALWIRE_SECRET_ID": "sw", "SIGNALWIRE_SPACE_HOST": other}
	var logs bytes.Buffer
	r, err := New(context.Background(), func(k string) string { return env[k] }, &logs)
	if err != nil {
		t.Fatal(err)
	}
	_, err = directRead(r, sb)
	if err == nil || !strings.Contains(err.Error(), "credentials") {
		t.Fatalf("err = %v, want credentials unavailable", err)
	}
	if !strings.Contains(logs.String(), "is not SIGNALWIRE_SPACE_HOST") || !strings.Contains(logs.String(), other) || !strings.Contains(logs.String(), sb.Host()) {
		t.Errorf("logs do not name the mismatch: %s", logs.String())
	}
	if sb.Requests() != 0 {
		t.Errorf("SignalWire got %d requests", sb.Requests())
	}
}

// TestInitOpensTheDestinationConnections: with destinations configured,
// the first webhook (here an unsigned one, rejected) opens the TLS
// connections to the SQS endpoint and to the HTTPS destination as soon as
// it arrives, so a cold webhook does not pay their handshakes after the
// participant fetch.
func TestInitOpensTheDestinationConnections(t *testing.T) {
	offline(t)
	sb := sandbox.New()
	defer sb.Close()
	newFakeSecretsManager(t, func(int) (string, string) { return sandboxSecret(sb), "" })
	accepted := func() (*httptest.Server, chan struct{}) {
		ch := make(chan struct{}, 8)
		s := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
		s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
			if st == http.StateNew {
				ch <- struct{}{}
			}
		}
		s.Config.ErrorLog = log.New(io.Discard, "", 0)
		s.StartTLS()
		t.Cleanup(s.Close)
		return s, ch
	}
	sqsSrv, sqsConns := accepted()
	hooksSrv, hooksConns := accepted()
	t.Setenv("AWS_ENDPOINT_URL_SQS", sqsSrv.URL)
	for _, k := range []string{"HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"} {
		t.Setenv(k, "")
	}
	env := map[string]string{
		"SIGNALWIRE_SECRET_ID": "sw", "AWS_SAM_LOCAL": "true",
		"FORWARD_SQS_QUEUE_URL": sqsSrv.URL + "/000000000000/dest",
		"FORWARD_HTTPS_URL":     hooksSrv.URL + "/in",
	}
	r, err := New(context.Background(), func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	post := `{"version":"2.0","rawPath":"/webhooks/signalwire","headers":{"content-type":"application/x-www-form-urlencoded"},` +
		`"requestContext":{"domainName":"hooks.example.com","http":{"method":"POST","path":"/webhooks/signalwire"}},"body":"AccountSid=x","isBase64Encoded":false}`
	if _, err := r.Invoke(context.Background(), []byte(post)); err != nil {
		t.Fatal(err)
	}
	for name, ch := range map[string]chan struct{}{"SQS": sqsConns, "HTTPS destination": hooksConns} {
		select {
		case <-ch:
		case <-time.After(10 * time.Second):
			t.Errorf("the first webhook opened no connection to the %s", name)
		}
	}
}
