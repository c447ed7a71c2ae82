package credentials

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/signalwire-lambda/participants/internal/obs"
)

func whsec(fill byte) string {
	return "whsec_" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{fill}, 32))
}

// TestLogsRedactDerivedSecretForms: once the cache has loaded
// the secret, no log line carries any of its values in any derived form
// (the Basic credentials an upstream echoes, base64 without padding,
// percent-encoded), whatever path wrote it.
func TestLogsRedactDerivedSecretForms(t *testing.T) {
	var out bytes.Buffer
	secrets := &obs.Secrets{}
	log := slog.New(secrets.Handler(obs.NewLogger(&out, slog.LevelDebug).Handler()))
	c := Credentials{ProjectID: "5a3e1c2b-7d4f-4e8a-9b6c-0d1e2f3a4b5c", APIToken: "PTdistinctive-token-77", SigningKey: "PSK_distinctive-key-88",
		ForwardSigningSecret: whsec(5), PreviousForwardSigningSecret: whsec(6), PreviousSigningKey: "PSK_previous-key-99"}
	b, _ := json.Marshal(map[string]string{"project_id": c.ProjectID, "api_token": c.APIToken, "space_host": "example.signalwire.com",
		"signing_key": c.SigningKey, "previous_signing_key": c.PreviousSigningKey,
		"forward_signing_secret": c.ForwardSigningSecret, "previous_forward_signing_secret": c.PreviousForwardSigningSecret})
	if _, _, err := New(newFake(string(b)), "sw", Options{TTL: time.Hour, ForwardSigningSecret: true, Redact: secrets}).Get(context.Background()); err != nil {
		t.Fatal(err)
	}
	basic := base64.StdEncoding.EncodeToString([]byte(c.ProjectID + ":" + c.APIToken))
	var forms []string
	for _, v := range []string{c.APIToken, c.SigningKey, c.PreviousSigningKey, c.ForwardSigningSecret, strings.TrimPrefix(c.PreviousForwardSigningSecret, "whsec_")} {
		forms = append(forms, v, base64.RawStdEncoding.EncodeToString([]byte(v)), base64.URLEncoding.EncodeToString([]byte(v)), url.QueryEscape(v))
	}
	forms = append(forms, "Basic "+basic, strings.TrimRight(basic, "="), base64.RawURLEncoding.EncodeToString([]byte(c.ProjectID+":"+c.APIToken)), url.QueryEscape("Basic "+basic))
	for _, f := range forms {
		log.Warn("upstream answered "+f, "error", errors.New("body: "+f), "detail", f)
	}
	for _, f := range forms {
		if strings.Contains(out.String(), f) {
			t.Errorf("a log line contains %q", f)
		}
	}
	if n := strings.Count(out.String(), "\n"); n != len(forms) {
		t.Fatalf("%d log lines, want %d", n, len(forms))
	}
}
