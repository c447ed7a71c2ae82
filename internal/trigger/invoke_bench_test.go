package trigger_test

// CPU per invocation of the function, in process, against the bare peer
// of the same job (cmd/bench runs these and prints them beside their
// targets; `go test -run '^$' -bench . -benchmem ./internal/trigger/` runs
// them alone).
//
// "ours" is the real trigger.Router.Invoke as internal/function.New builds
// it from the function's environment (LOG_LEVEL info, signature
// verification on, PUBLIC_BASE_URL, no destinations), its logs and EMF
// lines going to io.Discard. "bare" is test/benchdata/bare's Handler.Invoke
// (decode the API Gateway event, GET with Basic auth, json.Decode into a
// struct, encode the answer; no forward). "getdecode" is the GET and the
// json.Decode alone. The AWS SDK of both talks to a local fake Secrets
// Manager endpoint answering the sandbox secret, fetched once before the
// timed loop, as in a warm function.
//
// The upstream is "canned": an http.RoundTripper answering the sandbox's
// body from memory, so that only the CPU work of each variant is left (no
// TLS, no socket).

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/signalwire-lambda/participants/internal/function"
	"github.com/signalwire-lambda/participants/internal/trigger"
	"github.com/signalwire-lambda/participants/test/benchdata/bare"
	"github.com/signalwire-lambda/participants/test/sandbox"
	"github.com/signalwire-lambda/participants/test/signing"
)

// benchPublicBaseURL is the PUBLIC_BASE_URL events/webhook-*.json are signed
// for (localenv.DefaultPublicBaseURL, not imported to keep kumo out of this
// test binary).
const benchPublicBaseURL = "https://hooks.local.test"

// routes are the two paths measured: the event file each invocation gets and
// the participant the bare baseline fetches (the one the event names).
var routes = []struct {
	name, event, conference, call string
	// want is a substring of a correct answer, checked once before timing.
	want string
}{
	{"read", "http-api-read.json", sandbox.ConferenceStandup, sandbox.CallAlice, `"statusCode":200`},
	{"webhook", "webhook-participant-join.json", sandbox.ConferenceStandup, sandbox.CallBob, `participant_lookup\":\"found`},
}

// BenchmarkReadPath measures an HTTP API read (events/http-api-read.json).
func BenchmarkReadPath(b *testing.B) { benchRoute(b, routes[0].name) }

// BenchmarkWebhookPath measures a signed participant-join webhook
// (events/webhook-participant-join.json): signature verification, the
// participant fetch and the envelope returned in the answer.
func BenchmarkWebhookPath(b *testing.B) { benchRoute(b, routes[1].name) }

func benchRoute(b *testing.B, name string) {
	for _, r := range routes {
		if r.name != name {
			continue
		}
		b.Run("ours/canned", func(b *testing.B) { benchOurs(b, r.event, r.want) })
		b.Run("bare/canned", func(b *testing.B) { benchBare(b, r.event) })
		b.Run("getdecode/canned", func(b *testing.B) { benchGetDecode(b, r.conference, r.call) })
	}
}

// benchOurs times trigger.Router.Invoke on one event file.
func benchOurs(b *testing.B, event, want string) {
	sb := sandbox.New()
	defer sb.Close()
	payload := readBenchEvent(b, event)
	router := newBenchRouter(b, sb, cannedClient(sb))
	ctx := benchContext(b)
	out, err := router.Invoke(ctx, payload) // the cold invocation: fills the credentials cache
	if err != nil || !strings.Contains(string(out), want) {
		b.Fatalf("first invocation: err %v, answer %s", err, out)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := router.Invoke(ctx, payload); err != nil {
			b.Fatal(err)
		}
	}
}

// benchBare times the bare peer's handler on the same event.
func benchBare(b *testing.B, event string) {
	sb := sandbox.New()
	defer sb.Close()
	payload := readBenchEvent(b, event)
	fakeSecretsManager(b, sb)
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	h := &bare.Handler{SM: secretsmanager.NewFromConfig(cfg), HTTP: cannedClient(sb), SecretID: benchSecretID}
	ctx := benchContext(b)
	out, err := h.Invoke(ctx, payload) // fetches the secret
	if err != nil || !strings.Contains(string(out), `"statusCode":200`) {
		b.Fatalf("first invocation: err %v, answer %s", err, out)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := h.Invoke(ctx, payload); err != nil {
			b.Fatal(err)
		}
	}
}

// benchGetDecode times the GET with Basic auth and the json.Decode alone.
func benchGetDecode(b *testing.B, conference, call string) {
	sb := sandbox.New()
	defer sb.Close()
	client := cannedClient(sb)
	projectID, token := sb.Credentials()
	target := sb.URL() + sandbox.ParticipantPath(projectID, conference, call) + ".json"
	ctx := benchContext(b)
	get := func() error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
		if err != nil {
			return err
		}
		req.SetBasicAuth(projectID, token)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		var p bare.Participant
		return json.NewDecoder(resp.Body).Decode(&p)
	}
	if err := get(); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if err := get(); err != nil {
			b.Fatal(err)
		}
	}
}

// newBenchRouter builds the handler with internal/function.New, with the
// sandbox as SignalWire (reached through client) and a local fake Secrets
// Manager holding the sandbox secret. The AWS SDK reads its settings from
// the process environment, as on Lambda; they are set for the benchmark.
func newBenchRouter(b *testing.B, sb *sandbox.Server, client *http.Client) *trigger.Router {
	fakeSecretsManager(b, sb)
	fnEnv := map[string]string{
		"SIGNALWIRE_SECRET_ID": benchSecretID,
		"LOG_LEVEL":            "info",
		"PUBLIC_BASE_URL":      benchPublicBaseURL,
	}
	router, err := function.New(context.Background(), func(k string) string { return fnEnv[k] }, io.Discard,
		function.WithSignalWireHTTPClient(client))
	if err != nil {
		b.Fatal(err)
	}
	return router
}

// fakeSecretsManager starts a local Secrets Manager endpoint answering the
// sandbox secret and points the process's AWS SDK settings at it.
func fakeSecretsManager(b *testing.B, sb *sandbox.Server) {
	projectID, token := sb.Credentials()
	secret, _ := json.Marshal(map[string]string{
		"project_id":  projectID,
		"api_token":   token,
		"space_host":  sb.Host(),
		"signing_key": sandbox.SigningKey,
	})
	sm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Amz-Target") != "secretsmanager.GetSecretValue" {
			http.Error(w, `{"__type":"InvalidRequestException"}`, http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		out, _ := json.Marshal(map[string]any{
			"ARN": "arn:aws:secretsmanager:us-east-1:000000000000:secret:" + benchSecretID, "Name": benchSecretID,
			"SecretString": string(secret), "VersionId": "bench-v1", "VersionStages": []string{"AWSCURRENT"},
		})
		_, _ = w.Write(out)
	}))
	b.Cleanup(sm.Close)
	for k, v := range map[string]string{
		"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_ENDPOINT_URL_SECRETS_MANAGER": sm.URL,
		// The function's environment has no CA bundle (see cmd/bench).
		"AWS_CA_BUNDLE": "",
	} {
		b.Setenv(k, v)
	}
}

// benchSecretID is the secret's name (SIGNALWIRE_SECRET_ID).
const benchSecretID = "signalwire/participants"

// cannedClient answers from memory what the sandbox would.
func cannedClient(sb *sandbox.Server) *http.Client {
	return &http.Client{Transport: newCannedTransport(sb)}
}

// benchContext is what the Lambda runtime hands the handler: a request id
// and a deadline.
func benchContext(b *testing.B) context.Context {
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "bench-0000"})
	ctx, cancel := context.WithTimeout(ctx, time.Hour)
	b.Cleanup(cancel)
	return ctx
}

// readBenchEvent reads an event file; a webhook's is restamped now (the
// replay window refuses the sample's fixed date).
func readBenchEvent(b *testing.B, name string) []byte {
	p, err := os.ReadFile(filepath.Join("..", "..", "events", name))
	if err != nil {
		b.Fatal(err)
	}
	if strings.HasPrefix(name, "webhook-") {
		if p, err = signing.Restamp(p, sandbox.SigningKey, benchPublicBaseURL+"/webhooks/signalwire", time.Now()); err != nil {
			b.Fatal(err)
		}
	}
	return p
}

// cannedTransport answers every participant GET with the sandbox's body for
// it, rendered once, without a connection: what is left is the client's own
// work.
type cannedTransport struct{ bodies map[string][]byte }

// newCannedTransport renders every participant the sandbox holds.
func newCannedTransport(sb *sandbox.Server) cannedTransport {
	t := cannedTransport{bodies: map[string][]byte{}}
	for _, c := range sb.Conferences() {
		for _, p := range c.Participants {
			body, _ := sb.ParticipantJSON(c.Sid, p.CallSid)
			t.bodies[c.Sid+"/"+p.CallSid] = body
		}
	}
	return t
}

func (t cannedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	parts := strings.Split(strings.TrimSuffix(req.URL.Path, ".json"), "/")
	if len(parts) < 4 {
		return nil, fmt.Errorf("canned: unexpected path %s", req.URL.Path)
	}
	body, ok := t.bodies[parts[len(parts)-3]+"/"+parts[len(parts)-1]]
	if !ok {
		return nil, fmt.Errorf("canned: no participant at %s", req.URL.Path)
	}
	return &http.Response{
		StatusCode:    http.StatusOK,
		Status:        "200 OK",
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        http.Header{"Content-Type": {"application/json; charset=utf-8"}},
		Body:          io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)),
		Request:       req,
	}, nil
}
