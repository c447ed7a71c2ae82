package function

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/signalwire-lambda/participants/internal/credentials"
	"github.com/signalwire-lambda/participants/internal/forward"
)

func offline(t *testing.T) {
	for k, v := range map[string]string{"AWS_EC2_METADATA_DISABLED": "true", "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_REGION": "us-east-1"} {
		t.Setenv(k, v)
	}
}

func TestNewFailsFastOnConfiguration(t *testing.T) {
	offline(t)
	_, err := New(context.Background(), func(k string) string {
		return map[string]string{"SIGNALWIRE_SECRET_ID": "s", "FORWARD_EVENT_BUS": "not a bus!"}[k]
	}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "FORWARD_EVENT_BUS") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("err = %v, want one line naming FORWARD_EVENT_BUS", err)
	}
}

func TestNewWarnsWhenVerificationIsOff(t *testing.T) {
	offline(t)
	var out bytes.Buffer
	env := map[string]string{"SIGNALWIRE_SECRET_ID": "s", "WEBHOOK_SIGNATURE_VERIFICATION": "off", "AWS_SAM_LOCAL": "true"}
	if _, err := New(context.Background(), func(k string) string { return env[k] }, &out); err != nil {
		t.Fatal(err)
	}
	var warns []string
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var line map[string]any
		if err := json.Unmarshal([]byte(l), &line); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		if line["level"] == "WARN" {
			warns = append(warns, line["message"].(string))
		}
	}
	if len(warns) != 1 || !strings.Contains(warns[0], "VERIFICATION IS OFF") {
		t.Fatalf("want one loud WARN line, got %q", out.String())
	}
}

type versioned struct {
	secret  atomic.Pointer[string]
	version atomic.Uint64
}

func (v *versioned) Get(ctx context.Context) (credentials.Credentials, uint64, error) {
	return credentials.Credentials{ForwardSigningSecret: *v.secret.Load()}, v.version.Load(), nil
}

func (v *versioned) Refresh(ctx context.Context, stale uint64) (credentials.Credentials, uint64, error) {
	return v.Get(ctx)
}

// TestSignedHTTPSFollowsRotation: the HTTPS destination signs with the
// secret of the current credentials and rebuilds its signer on rotation.
func TestSignedHTTPSFollowsRotation(t *testing.T) {
	var sigs, stamps []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sigs = append(sigs, r.Header.Get("webhook-signature"))
		stamps = append(stamps, r.Header.Get("webhook-timestamp"))
	}))
	defer srv.Close()
	src := &versioned{}
	one := "whsec_" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 32))
	two := "whsec_" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{2}, 32))
	src.secret.Store(&one)
	src.version.Store(1)
	d := forward.NewHTTPS(srv.URL, srv.Client(), forwardSecrets{src}, "")
	m := forward.Message{ID: "evt_1", Body: []byte(`{}`)}
	d.Send(context.Background(), m)
	d.Send(context.Background(), m)
	src.secret.Store(&two)
	src.version.Store(2)
	d.Send(context.Background(), m)
	if len(sigs) != 3 || sigs[0] == "" {
		t.Fatalf("signatures %v", sigs)
	}
	expect := func(key byte, stamp string) string {
		mac := hmac.New(sha256.New, bytes.Repeat([]byte{key}, 32))
		mac.Write([]byte("evt_1." + stamp + ".{}"))
		return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	}
	if sigs[0] != expect(1, stamps[0]) || sigs[1] != expect(1, stamps[1]) || sigs[2] != expect(2, stamps[2]) {
		t.Fatalf("signatures %v do not follow the rotation", sigs)
	}
	bad := "not-a-secret"
	src.secret.Store(&bad)
	src.version.Store(3)
	if err := d.Send(context.Background(), m); err == nil || strings.Contains(err.Error(), bad) {
		t.Fatalf("invalid secret: err = %v", err)
	}
}
