package function

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/signalwire-lambda/participants/test/sandbox"
)

// TestShortAPITokenIsRefusedAndNeverLeaks (issue 19): a secret whose
// api_token has 5 characters (below what the log redactor hides) is refused
// when loaded, naming api_token; no request reaches SignalWire, whose
// answer could echo the credentials, and neither the token nor
// base64(project_id:token) appears in a log line, the error or the answer.
func TestShortAPITokenIsRefusedAndNeverLeaks(t *testing.T) {
	offline(t)
	const projectID, token = "5a3e1c2b-7d4f-4e8a-9b6c-0d1e2f3a4b5c", "PTq7x"
	var calls atomic.Int64
	// A Space that echoes the credentials it was sent, as SignalWire did.
	space := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		user, pass, _ := r.BasicAuth()
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, `{"code":20003,"message":"bad credentials `+user+`:`+pass+` (`+r.Header.Get("Authorization")+`)","status":401}`)
	}))
	defer space.Close()
	secret, _ := json.Marshal(map[string]string{"project_id": projectID, "api_token": token,
		"space_host": space.Listener.Addr().String(), "signing_key": sandbox.SigningKey})
	newFakeSecretsManager(t, func(int) (string, string) { return string(secret), "" })
	var logs bytes.Buffer
	env := map[string]string{"SIGNALWIRE_SECRET_ID": "sw", "LOG_LEVEL": "debug"}
	r, err := New(context.Background(), func(k string) string { return env[k] }, &logs, WithSignalWireHTTPClient(space.Client()))
	if err != nil {
		t.Fatal(err)
	}
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "test"})
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	direct, derr := r.Invoke(ctx, []byte(`{"account_sid":"`+projectID+`","conference_sid":"`+sandbox.ConferenceStandup+`","call_sid":"`+sandbox.CallAlice+`"}`))
	path := "/accounts/" + projectID + "/conferences/" + sandbox.ConferenceStandup + "/participants/" + sandbox.CallAlice
	answer, herr := r.Invoke(ctx, []byte(`{"version":"2.0","rawPath":"`+path+`","requestContext":{"http":{"method":"GET","path":"`+path+`"}}}`))
	if herr != nil || !strings.Contains(string(answer), "credentials-unavailable") {
		t.Fatalf("HTTP read: %s, %v; want a credentials-unavailable problem", answer, herr)
	}
	if derr == nil || !strings.Contains(logs.String(), "api_token is shorter than") {
		t.Fatalf("direct read: %s, %v; want an error, and a log line naming api_token:\n%s", direct, derr, logs.String())
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("SignalWire got %d requests with a refused secret", n)
	}
	basic := base64.StdEncoding.EncodeToString([]byte(projectID + ":" + token))
	for _, leak := range []string{token, basic, strings.TrimRight(basic, "=")} {
		for name, text := range map[string]string{"logs": logs.String(), "direct answer": string(direct) + derr.Error(), "HTTP answer": string(answer)} {
			if strings.Contains(text, leak) {
				t.Errorf("%s contain %q", name, leak)
			}
		}
	}
}
