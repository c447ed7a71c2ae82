package trigger_test

// Per-request overhead of the function, in process (cmd/bench runs these
// and prints them beside their baselines; `go test -bench . -benchmem
// ./internal/trigger/` runs them alone).
//
// "ours" is the real trigger.Router.Invoke, wired like internal/function
// does it (config aside): JSON logger and EMF metrics (to io.Discard), the
// credentials cache, the SignalWire client, the core and the webhook
// processor with signature verification on and no destinations. Only the
// Secrets Manager client is a fake returning the sandbox secret: the cache
// fetches it once, before the timed loop, as a warm function would have.
//
// "bare" is the least any implementation must do: a net/http GET of the
// same participant URL with Basic auth and a json.Unmarshal into a map.
//
// Two upstreams:
//   - loopback: the SignalWire sandbox over HTTPS on 127.0.0.1 (its server
//     side runs in this process too, for both variants);
//   - canned: an http.RoundTripper answering the sandbox's body from memory,
//     so that only the CPU work of each variant is left (no TLS, no socket).

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/signalwire-lambda/participants/internal/app"
	"github.com/signalwire-lambda/participants/internal/credentials"
	"github.com/signalwire-lambda/participants/internal/obs"
	"github.com/signalwire-lambda/participants/internal/sandbox"
	"github.com/signalwire-lambda/participants/internal/signalwire"
	"github.com/signalwire-lambda/participants/internal/trigger"
)

// benchPublicBaseURL is the PUBLIC_BASE_URL events/webhook-*.json are signed
// for (localenv.DefaultPublicBaseURL, not imported to keep kumo out of this
// test binary).
const benchPublicBaseURL = "https://hooks.local.test"

// benchUserAgent is the User-Agent internal/function sends.
const benchUserAgent = "signalwire-participants-lambda/0.1.0"

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
		for _, upstream := range []string{"loopback", "canned"} {
			b.Run("ours/"+upstream, func(b *testing.B) { benchOurs(b, r.event, upstream, r.want) })
			b.Run("bare/"+upstream, func(b *testing.B) { benchBare(b, r.conference, r.call, upstream) })
		}
	}
}

// benchOurs times trigger.Router.Invoke on one event file.
func benchOurs(b *testing.B, event, upstream, want string) {
	sb := sandbox.New()
	defer sb.Close()
	payload := readBenchEvent(b, event)
	router := newBenchRouter(sb, upstreamClient(b, sb, upstream))
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

// benchBare times the baseline: GET with Basic auth, json.Unmarshal into a map.
func benchBare(b *testing.B, conference, call, upstream string) {
	sb := sandbox.New()
	defer sb.Close()
	client := upstreamClient(b, sb, upstream)
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
		body, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %d: %s", resp.StatusCode, body)
		}
		var m map[string]any
		return json.Unmarshal(body, &m)
	}
	if err := get(); err != nil { // opens the keep-alive connection
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if err := get(); err != nil {
			b.Fatal(err)
		}
	}
}

// newBenchRouter wires the handler as internal/function.New does, with the
// sandbox as SignalWire and client as its HTTP client.
func newBenchRouter(sb *sandbox.Server, client *http.Client) *trigger.Router {
	log := obs.NewLogger(io.Discard, slog.LevelInfo)
	metrics := obs.NewMetrics(io.Discard, "SignalWireParticipants", "signalwire-participants")
	projectID, token := sb.Credentials()
	secret, _ := json.Marshal(map[string]string{
		credentials.KeyProjectID:  projectID,
		credentials.KeyAPIToken:   token,
		credentials.KeySpaceHost:  sb.Host(),
		credentials.KeySigningKey: sandbox.SigningKey,
	})
	creds := credentials.NewCache(fakeSecrets{secret: string(secret)}, "signalwire/participants", credentials.DefaultTTL)
	core := app.New(creds, signalwire.NewClient(signalwire.Options{HTTPClient: client, UserAgent: benchUserAgent}), log)
	hooks := app.NewWebhooks(core, app.WebhookOptions{PublicBaseURL: benchPublicBaseURL, Verify: true})
	return trigger.NewRouter(core, hooks, log, metrics)
}

// upstreamClient returns the HTTP client both variants use: the sandbox's
// (trusting its certificate) or one answering from memory.
func upstreamClient(b *testing.B, sb *sandbox.Server, upstream string) *http.Client {
	if upstream == "loopback" {
		return sb.Client()
	}
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

func readBenchEvent(b *testing.B, name string) []byte {
	p, err := os.ReadFile(filepath.Join("..", "..", "events", name))
	if err != nil {
		b.Fatal(err)
	}
	return p
}

// fakeSecrets is the Secrets Manager client: it returns the secret.
type fakeSecrets struct{ secret string }

func (f fakeSecrets) GetSecretValue(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	return &secretsmanager.GetSecretValueOutput{SecretString: aws.String(f.secret)}, nil
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
