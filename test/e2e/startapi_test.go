package e2e

import (
	"context"
	"encoding/json"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/signalwire-lambda/participants/test/localenv"
	"github.com/signalwire-lambda/participants/test/sandbox"
	"github.com/signalwire-lambda/participants/test/signing"
)

// startAPIEvent reads one of the events SAM CLI's start-api builds for curl
// at 127.0.0.1:3000 (testdata/startapi/gen.py).
func startAPIEvent(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "startapi", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// restamped returns a webhook event with its body's Timestamp now and, when
// signedFor is set, signed again for that URL: deployed, WEBHOOK_MAX_AGE
// cannot be off, and the samples are signed for a fixed date.
func restamped(t *testing.T, event []byte, signedFor string) []byte {
	t.Helper()
	var e map[string]any
	if err := json.Unmarshal(event, &e); err != nil {
		t.Fatal(err)
	}
	form, err := url.ParseQuery(e["body"].(string))
	if err != nil {
		t.Fatal(err)
	}
	form.Set("Timestamp", time.Now().UTC().Format("Mon, 02 Jan 2006 15:04:05 -0700"))
	e["body"] = form.Encode()
	if signedFor != "" {
		e["headers"].(map[string]any)["X-Signalwire-Signature"] = signing.Form(sandbox.SigningKey, signedFor, form)
	}
	b, _ := json.Marshal(e)
	return b
}

// Under AWS_SAM_LOCAL=true the URL the client called (SAM's Host header and
// X-Forwarded-Proto) verifies a webhook; deployed, only the URL rebuilt from
// requestContext.domainName does, whatever the headers say.
func TestStartAPIEvents(t *testing.T) {
	const local, domainName = "http://127.0.0.1:3000/webhooks/signalwire", "https://localhost/webhooks/signalwire"
	cases := []struct {
		file, signedFor string
		local, deployed int
	}{
		{"read-200.json", "", 200, 200},
		{"read-404.json", "", 404, 404},
		{"read-400.json", "", 400, 400},
		{"webhook-local.json", local, 200, 403},
		{"webhook-forged.json", "", 403, 403},
		{"webhook-deployed.json", domainName, 200, 200},
	}
	for _, mode := range []struct {
		name string
		opts []localenv.EnvOption
	}{
		{"AWS_SAM_LOCAL=true", nil},
		{"deployed", []localenv.EnvOption{localenv.WithoutVar("AWS_SAM_LOCAL"), localenv.WithoutVar("WEBHOOK_MAX_AGE")}},
	} {
		t.Run(mode.name, func(t *testing.T) {
			// As in cmd/demo's env file for sam local: no PUBLIC_BASE_URL.
			s := start(t, localenv.Options{}, append(mode.opts, localenv.WithVar("PUBLIC_BASE_URL", ""))...)
			for _, c := range cases {
				want, event := c.local, startAPIEvent(t, c.file)
				if mode.opts != nil {
					want = c.deployed
					if strings.HasPrefix(c.file, "webhook-") {
						event = restamped(t, event, c.signedFor)
					}
				}
				if r := s.invokeHTTP(t, event); r.StatusCode != want {
					t.Errorf("%s: HTTP %d, want %d: %s", c.file, r.StatusCode, want, r.Body)
				}
			}
		})
	}
}

// logLine returns the first JSON log line with this message, or nil.
func logLine(logs, message string) map[string]any {
	for _, l := range strings.Split(logs, "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["message"] == message {
			return m
		}
	}
	return nil
}

// A Secrets Manager nothing listens on: init says it could not load the
// secret, and the read's log names the host and the cause; the answer
// names neither.
func TestUnreachableSecretsManagerIsNamed(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	s := start(t, localenv.Options{}, localenv.WithVar("AWS_ENDPOINT_URL_SECRETS_MANAGER", "http://"+closed))
	r := s.invokeHTTP(t, startAPIEvent(t, "read-200.json"))
	if r.StatusCode < 500 || strings.Contains(r.Body, closed) || strings.Contains(r.Body, "refused") {
		t.Errorf("answer HTTP %d %s: want a 5xx naming neither host nor cause", r.StatusCode, r.Body)
	}
	logs := s.fn.Logs()
	if l := logLine(logs, "cannot reach Secrets Manager"); l == nil || l["host"] != closed || l["cause"] != "refused" {
		t.Errorf("no line naming %s and refused (got %v):\n%s", closed, l, logs)
	}
	if l := logLine(logs, "the secret could not be loaded at init"); l == nil {
		t.Errorf("init did not say the secret could not be loaded:\n%s", logs)
	}
}

// A space_host that resolves to no address: the log names the host and
// "lookup". The bootstrap's pure-Go resolver (CGO_ENABLED=0) never sends a
// DNS query for a .onion name (RFC 7686), so nothing leaves this machine.
func TestUnresolvableSignalWireIsNamed(t *testing.T) {
	const name, host = "unresolvable-space", "nowhere.onion"
	s := start(t, localenv.Options{}, localenv.WithVar("SIGNALWIRE_SECRET_ID", name))
	sec := s.env.Secret()
	sec.SpaceHost = host
	b, _ := json.Marshal(sec)
	if _, err := s.env.SecretsManager().CreateSecret(context.Background(), &secretsmanager.CreateSecretInput{
		Name: aws.String(name), SecretString: aws.String(string(b))}); err != nil {
		t.Fatal(err)
	}
	r := s.invokeHTTP(t, startAPIEvent(t, "read-200.json"))
	if r.StatusCode < 500 || strings.Contains(r.Body, host) {
		t.Errorf("answer HTTP %d %s: want a 5xx not naming the host", r.StatusCode, r.Body)
	}
	logs := s.fn.Logs()
	if l := logLine(logs, "cannot reach SignalWire"); l == nil || l["host"] != host || l["cause"] != "lookup" {
		t.Errorf("no line naming %s and lookup (got %v):\n%s", host, l, logs)
	}
}
