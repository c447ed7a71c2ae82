package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/signalwire-lambda/participants/test/localenv"
	"github.com/signalwire-lambda/participants/test/sandbox"
	"github.com/signalwire-lambda/participants/test/signing"
)

func compileSchemas(t *testing.T) (participant, envelope *jsonschema.Schema) {
	t.Helper()
	c := schemaCompiler(t)
	var err error
	if participant, err = c.Compile("https://github.com/signalwire-lambda/participants/schema/participant.v1.schema.json"); err != nil {
		t.Fatal(err)
	}
	if envelope, err = c.Compile("https://github.com/signalwire-lambda/participants/schema/envelope.v1.schema.json"); err != nil {
		t.Fatal(err)
	}
	return participant, envelope
}

// compileListSchema compiles the list route's answer schema.
func compileListSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	s, err := schemaCompiler(t).Compile("https://github.com/signalwire-lambda/participants/schema/participant-list.v1.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// schemaCompiler has every schema in schema/ added, by its $id.
func schemaCompiler(t *testing.T) *jsonschema.Compiler {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	for _, name := range []string{"participant.v1.schema.json", "envelope.v1.schema.json", "participant-list.v1.schema.json"} {
		f, err := os.Open(filepath.Join(moduleRoot, "schema", name))
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if err := c.AddResource("https://github.com/signalwire-lambda/participants/schema/"+name, doc); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

func mustValidate(t *testing.T, s *jsonschema.Schema, body string) map[string]any {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(strings.NewReader(body))
	if err != nil {
		t.Fatalf("not JSON: %s", body)
	}
	if err := s.Validate(v); err != nil {
		t.Fatalf("%s\ndoes not match %s: %v", body, s.Location, err)
	}
	var m map[string]any
	json.Unmarshal([]byte(body), &m)
	return m
}

func problemType(t *testing.T, r httpResponse) string {
	t.Helper()
	if r.Headers["Content-Type"] != "application/problem+json" {
		t.Fatalf("status %d with content type %q, want problem+json: %s", r.StatusCode, r.Headers["Content-Type"], r.Body)
	}
	var p map[string]any
	if err := json.Unmarshal([]byte(r.Body), &p); err != nil || p["status"] != float64(r.StatusCode) || p["title"] == nil {
		t.Fatalf("not an RFC 9457 body: %s", r.Body)
	}
	typ, _ := p["type"].(string)
	return typ[strings.LastIndex(typ, "-problem")+1:]
}

// TestEveryEventFile invokes the real bootstrap under the RIE with every
// file in events/ and checks each answer.
func TestEveryEventFile(t *testing.T) {
	s := start(t, localenv.Options{})
	pSchema, eSchema := compileSchemas(t)
	lSchema := compileListSchema(t)
	files, _ := filepath.Glob(filepath.Join(moduleRoot, "events", "*.json"))
	seen := map[string]bool{}
	check := map[string]func(t *testing.T, out []byte){
		"direct-read.json": func(t *testing.T, out []byte) {
			p := mustValidate(t, pSchema, string(out))
			if p["call_sid"] != sandbox.CallCustomer || p["extra"].(map[string]any)["label"] != "customer" {
				t.Fatalf("direct read: %s", out)
			}
		},
		"http-api-read.json":     readCheck(pSchema, sandbox.CallAlice, "in-progress"),
		"rest-api-read.json":     readCheck(pSchema, sandbox.CallCoach, "in-progress"),
		"function-url-read.json": readCheck(pSchema, sandbox.CallDave, "ringing"),
		"http-api-list.json":     listCheck(lSchema, sandbox.CallAlice, sandbox.CallBob, sandbox.CallCarol, sandbox.CallDave),
		"rest-api-list.json":     listCheck(lSchema, sandbox.CallAlice, sandbox.CallCarol, sandbox.CallDave),
		"function-url-list.json": listCheck(lSchema, sandbox.CallAgent, sandbox.CallCoach, sandbox.CallCustomer),
		"direct-list.json": func(t *testing.T, out []byte) {
			l := mustValidate(t, lSchema, string(out))
			if ps := l["participants"].([]any); len(ps) != 1 || ps[0].(map[string]any)["call_sid"] != sandbox.CallErin {
				t.Fatalf("direct list: %s", out)
			}
		},
		"http-api-invalid-sid.json": func(t *testing.T, out []byte) {
			r := httpOf(t, out)
			if r.StatusCode != 400 || !strings.HasSuffix(problemType(t, r), "invalid-sid") {
				t.Fatalf("%d %s", r.StatusCode, r.Body)
			}
		},
		"http-api-not-found.json": func(t *testing.T, out []byte) {
			r := httpOf(t, out)
			if r.StatusCode != 404 || !strings.HasSuffix(problemType(t, r), "participant-not-found") {
				t.Fatalf("%d %s", r.StatusCode, r.Body)
			}
		},
		"webhook-participant-join.json":           webhookCheck("delivered"),
		"webhook-participant-leave.json":          webhookCheck("delivered"),
		"webhook-call-status.json":                webhookCheck("delivered"),
		"webhook-json-call-state.json":            webhookCheck("delivered"),
		"webhook-json-call-state-bodysha256.json": webhookCheck("delivered"),
		"webhook-forged.json": func(t *testing.T, out []byte) {
			r := httpOf(t, out)
			if r.StatusCode != 403 || !strings.HasSuffix(problemType(t, r), "invalid-signature") {
				t.Fatalf("%d %s", r.StatusCode, r.Body)
			}
		},
		"sqs-retry-batch.json": func(t *testing.T, out []byte) {
			var resp struct {
				Failures []struct {
					ID string `json:"itemIdentifier"`
				} `json:"batchItemFailures"`
			}
			if json.Unmarshal(out, &resp) != nil || len(resp.Failures) != 1 || resp.Failures[0].ID != "7e2a4c6d-1b3f-4a5e-8c9d-0e1f2a3b4c5d" {
				t.Fatalf("want only the poison message reported: %s", out)
			}
		},
	}
	for _, f := range files {
		name := filepath.Base(f)
		if name == "env.json" {
			continue
		}
		seen[name] = true
		fn, ok := check[name]
		if !ok {
			t.Errorf("events/%s has no expectation in this test", name)
			continue
		}
		t.Run(name, func(t *testing.T) { fn(t, s.invoke(t, readEvent(t, name))) })
	}
	for name := range check {
		if !seen[name] {
			t.Errorf("events/%s is missing", name)
		}
	}
	// Six accepted webhooks (five files plus the SQS batch's good record):
	// each reached every destination, matching the envelope schema.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	got, err := s.env.Receiver.WaitAccepted(ctx, 6)
	if err != nil || len(got) != 6 {
		t.Fatalf("HTTPS receiver got %d deliveries: %v", len(got), err)
	}
	lookups := map[string]int{}
	for _, r := range got {
		env := mustValidate(t, eSchema, string(r.Body))
		lookups[env["type"].(string)+"/"+env["participant_lookup"].(string)]++
		if r.Header.Get("webhook-id") != env["id"] || r.Header.Get("webhook-signature") == "" {
			t.Errorf("delivery headers %v", r.Header)
		}
	}
	want := map[string]int{"signalwire.conference.participant-join/found": 2, "signalwire.conference.participant-leave/not_found": 1, "signalwire.call.in-progress/found": 1,
		"signalwire.calling.call.state.answered/found": 1, "signalwire.calling.call.state.ended/skipped": 1}
	if fmt.Sprint(lookups) != fmt.Sprint(want) {
		t.Errorf("delivered %v, want %v", lookups, want)
	}
	if evs, _ := s.env.WaitEvents(ctx, 6); len(evs) != 6 {
		t.Errorf("EventBridge got %d events, want 6", len(evs))
	}
	if msgs, _ := s.env.WaitMessages(ctx, s.env.DestinationQueueURL, 6); len(msgs) != 6 {
		t.Errorf("SQS destination got %d messages, want 6", len(msgs))
	}
}

func httpOf(t *testing.T, out []byte) httpResponse {
	t.Helper()
	var r httpResponse
	if err := json.Unmarshal(out, &r); err != nil || r.StatusCode == 0 {
		t.Fatalf("not an HTTP answer: %s", out)
	}
	return r
}

func readCheck(s *jsonschema.Schema, call, status string) func(t *testing.T, out []byte) {
	return func(t *testing.T, out []byte) {
		r := httpOf(t, out)
		if r.StatusCode != 200 || r.Headers["Content-Type"] != "application/json" {
			t.Fatalf("%d %s", r.StatusCode, r.Body)
		}
		p := mustValidate(t, s, r.Body)
		if p["call_sid"] != call || p["status"] != status {
			t.Fatalf("participant %s", r.Body)
		}
		if _, err := time.Parse(time.RFC3339, p["date_created"].(string)); err != nil {
			t.Fatalf("date_created %v", p["date_created"])
		}
	}
}

// listCheck wants a 200 list of exactly calls, in order.
func listCheck(s *jsonschema.Schema, calls ...string) func(t *testing.T, out []byte) {
	return func(t *testing.T, out []byte) {
		r := httpOf(t, out)
		if r.StatusCode != 200 || r.Headers["Content-Type"] != "application/json" {
			t.Fatalf("%d %s", r.StatusCode, r.Body)
		}
		var got []any
		for _, p := range mustValidate(t, s, r.Body)["participants"].([]any) {
			got = append(got, p.(map[string]any)["call_sid"])
		}
		if fmt.Sprint(got) != fmt.Sprint(calls) {
			t.Fatalf("listed %v, want %v", got, calls)
		}
	}
}

func webhookCheck(outcome string) func(t *testing.T, out []byte) {
	return func(t *testing.T, out []byte) {
		r := httpOf(t, out)
		var body map[string]string
		if r.StatusCode != 200 || json.Unmarshal([]byte(r.Body), &body) != nil || body["outcome"] != outcome || !strings.HasPrefix(body["id"], "evt_") {
			t.Fatalf("%d %s", r.StatusCode, r.Body)
		}
	}
}

// TestWarmInvocationsMakeNoSecretsManagerCalls: one GetSecretValue per cold
// start, none in 1,000 warm invocations.
func TestWarmInvocationsMakeNoSecretsManagerCalls(t *testing.T) {
	s := start(t, localenv.Options{})
	read := readEvent(t, "http-api-read.json")
	if r := s.invokeHTTP(t, read); r.StatusCode != 200 {
		t.Fatalf("cold read: %d %s", r.StatusCode, r.Body)
	}
	if n := s.secretsCalls.Load(); n != 1 {
		t.Fatalf("cold start made %d GetSecretValue calls, want 1", n)
	}
	for i := 0; i < 1000; i++ {
		if r := s.invokeHTTP(t, read); r.StatusCode != 200 {
			t.Fatalf("warm read %d: %d", i, r.StatusCode)
		}
	}
	if n := s.secretsCalls.Load(); n != 1 {
		t.Fatalf("1,000 warm invocations made %d more GetSecretValue calls, want 0", n-1)
	}
	// One TLS connection to SignalWire served every read (keep-alive).
	if c := s.env.Sandbox.Connections(); c != 1 {
		t.Errorf("the sandbox saw %d connections for 1,001 reads, want 1", c)
	}
}

// TestKeyRotation: SignalWire rejects the cached token after rotation; the
// function refreshes the secret exactly once and answers 200.
func TestKeyRotation(t *testing.T) {
	s := start(t, localenv.Options{})
	read := readEvent(t, "http-api-read.json")
	s.invokeHTTP(t, read)
	if err := s.env.RotateToken(context.Background(), "PTrotated-e2e-token-0123456789"); err != nil {
		t.Fatal(err)
	}
	if r := s.invokeHTTP(t, read); r.StatusCode != 200 {
		t.Fatalf("after rotation: %d %s", r.StatusCode, r.Body)
	}
	if n := s.secretsCalls.Load(); n != 2 {
		t.Fatalf("GetSecretValue calls = %d, want 2 (cold start + one refresh)", n)
	}
	if r := s.invokeHTTP(t, read); r.StatusCode != 200 || s.secretsCalls.Load() != 2 {
		t.Fatalf("the refreshed secret must stay cached: %d, calls %d", r.StatusCode, s.secretsCalls.Load())
	}
	if !strings.Contains(s.fn.Logs(), `"CredentialsRefresh":1`) {
		t.Error("no CredentialsRefresh metric in the logs")
	}
}

// TestMisconfigurationFailsFast: a bad setting stops the bootstrap at init
// with one line naming the variable.
func TestMisconfigurationFailsFast(t *testing.T) {
	s := start(t, localenv.Options{}, localenv.WithVar("CREDENTIALS_TTL", "soon"))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := s.fn.Invoke(ctx, readEvent(t, "http-api-read.json"))
	if err == nil && !strings.Contains(string(out), "errorType") {
		t.Fatalf("a misconfigured function answered: %s", out)
	}
	if !strings.Contains(s.fn.Logs(), `invalid configuration: CREDENTIALS_TTL is "soon": want a Go duration`) {
		t.Fatalf("logs do not name the variable:\n%s", s.fn.Logs())
	}
}

// signedWebhook builds an HTTP API event for a fresh, correctly signed
// participant webhook (distinct sequence number, so a distinct event id).
func signedWebhook(t *testing.T, s *stack, event, call string, seq int) []byte {
	t.Helper()
	return signWebhook(t, s.env.PublicBaseURL, readEvent(t, "webhook-participant-join.json"), event, call, fmt.Sprint(seq))
}

// signWebhook turns the template event into a webhook for event/call/seq,
// signed with the sandbox key for base.
func signWebhook(tb testing.TB, base string, template []byte, event, call, seq string) []byte {
	tb.Helper()
	form := url.Values{
		"AccountSid": {sandbox.ProjectID}, "ConferenceSid": {sandbox.ConferenceStandup}, "CallSid": {call},
		"StatusCallbackEvent": {event}, "SequenceNumber": {seq}, "Timestamp": {"Thu, 26 Nov 2026 10:15:00 +0000"},
		"Muted": {"false"}, "Hold": {"false"}, "FriendlyName": {"daily-standup"},
	}
	var e map[string]any
	if err := json.Unmarshal(template, &e); err != nil {
		tb.Fatal(err)
	}
	e["body"] = form.Encode()
	e["isBase64Encoded"] = false
	e["headers"].(map[string]any)["x-signalwire-signature"] = signing.Form(sandbox.SigningKey, base+"/webhooks/signalwire", form)
	b, _ := json.Marshal(e)
	return b
}
