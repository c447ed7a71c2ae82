package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/signalwire-lambda/participants/test/localenv"
	"github.com/signalwire-lambda/participants/test/sandbox"
	"github.com/signalwire-lambda/participants/test/signing"
)

// TestNoSecretInAnyOutput runs every path — reads, errors, webhooks
// (signed, forged, queued), the SQS trigger, a key rotation and a broken
// secret — with distinctive secret values, and asserts that none of them
// appears in any log line, error or response.
func TestNoSecretInAnyOutput(t *testing.T) {
	const (
		token    = "PTdistinctiveApiToken7f3a9c"
		rotated  = "PTdistinctiveRotatedToken2b8e"
		signing  = "PSK_distinctiveSigningKey5d1c"
		fwdBytes = "distinctive-forward-secret-0123456789!"
	)
	fwd := "whsec_" + base64.StdEncoding.EncodeToString([]byte(fwdBytes))
	secrets := []string{token, rotated, signing, fwd, strings.TrimPrefix(fwd, "whsec_"), fwdBytes}
	// Every derived form too (issue 10 §6): base64 with and without padding,
	// Basic credentials, percent-encoded.
	for _, v := range []string{token, rotated, signing, fwd, sandbox.ProjectID + ":" + token, sandbox.ProjectID + ":" + rotated} {
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			secrets = append(secrets, enc.EncodeToString([]byte(v)))
		}
		secrets = append(secrets, url.QueryEscape(v))
	}

	s := start(t, localenv.Options{Sandbox: []sandbox.Option{sandbox.WithCredentials(sandbox.ProjectID, token)}})
	ctx := context.Background()
	sec := s.env.Secret()
	sec.APIToken, sec.SigningKey, sec.ForwardSigningSecret = token, signing, fwd
	if err := s.env.PutSecret(ctx, sec); err != nil {
		t.Fatal(err)
	}
	var outputs []string
	invoke := func(payload []byte) {
		out, err := s.fn.Invoke(ctx, payload)
		outputs = append(outputs, string(out))
		if err != nil {
			outputs = append(outputs, err.Error())
		}
	}
	// Every sample event; webhooks re-signed with the distinctive key.
	files, _ := filepath.Glob(filepath.Join(moduleRoot, "events", "*.json"))
	for _, f := range files {
		if filepath.Base(f) == "env.json" {
			continue
		}
		b, _ := os.ReadFile(f)
		if strings.HasPrefix(filepath.Base(f), "webhook-") && !strings.Contains(f, "forged") {
			b = resign(t, b, s.env.PublicBaseURL, signing)
		}
		invoke(b)
	}
	// Destination down → queued → drained after recovery.
	s.env.Receiver.FailUntilRecover(503)
	invoke(resign(t, readEvent(t, "webhook-participant-join.json"), s.env.PublicBaseURL, signing))
	s.env.Receiver.Recover()
	s.drainRetryQueue(t)
	// Key rotation: 401 with the old token, refresh, success. The forged
	// webhook above may have used the container's forced refresh less than
	// credentials.RefreshInterval ago: until then the read gets 502.
	if err := s.env.RotateToken(ctx, rotated); err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		invoke(readEvent(t, "http-api-read.json"))
		if strings.Contains(outputs[len(outputs)-1], `"statusCode":200`) {
			break
		}
		if i == 40 {
			t.Fatalf("the read never succeeded after the rotation: %s", outputs[len(outputs)-1])
		}
		time.Sleep(250 * time.Millisecond)
	}
	// The received deliveries are outputs too.
	for _, r := range s.env.Receiver.Requests() {
		outputs = append(outputs, string(r.Body))
		for k, v := range r.Header {
			outputs = append(outputs, k+": "+strings.Join(v, ","))
		}
	}
	outputs = append(outputs, s.fn.Logs())

	// A broken secret (a key missing, another of the wrong type) on a fresh
	// cold start: the log names the keys, never the values.
	if err := s.env.PutSecretString(ctx, `{"project_id":"`+sandbox.ProjectID+`","api_token":"`+rotated+`","space_host":"`+s.env.Sandbox.Host()+`","signing_key":["`+signing+`"]}`); err != nil {
		t.Fatal(err)
	}
	cold, err := localenv.StartRIE(ctx, rieBin, bootstrapBin, s.env.FunctionEnv(), localenv.RIEOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out, _ := cold.Invoke(ctx, readEvent(t, "http-api-read.json"))
	cold.Close()
	outputs = append(outputs, string(out), cold.Logs())
	if !strings.Contains(string(out), `"statusCode":503`) || !strings.Contains(cold.Logs(), "signing_key must be strings") {
		t.Fatalf("broken secret: %s\n%s", out, cold.Logs())
	}

	all := strings.Join(outputs, "\n")
	if !strings.Contains(all, `"message":"webhook delivered"`) || !strings.Contains(all, `"CredentialsRefresh":1`) || !strings.Contains(all, `"message":"webhook queued for retry"`) {
		t.Fatalf("the run did not exercise delivery, queueing and rotation:\n%s", all)
	}
	for _, secret := range secrets {
		if strings.Contains(all, secret) {
			t.Errorf("secret value %q appears in the output", secret)
		}
	}
}

// resign replaces the signature of a webhook event with one made by key.
func resign(t *testing.T, event []byte, base, key string) []byte {
	t.Helper()
	var e map[string]any
	if err := json.Unmarshal(event, &e); err != nil {
		t.Fatal(err)
	}
	body := e["body"].(string)
	if e["isBase64Encoded"] == true {
		raw, _ := base64.StdEncoding.DecodeString(body)
		body = string(raw)
	}
	form, _ := url.ParseQuery(body)
	u := base + "/webhooks/signalwire"
	if q, _ := e["rawQueryString"].(string); q != "" {
		u += "?" + q
	}
	e["headers"].(map[string]any)["x-signalwire-signature"] = signing.Form(key, u, form)
	b, _ := json.Marshal(e)
	return b
}
