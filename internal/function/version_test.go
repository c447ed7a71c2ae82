package function

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/signalwire-lambda/participants/test/sandbox"
)

func TestVersionOf(t *testing.T) {
	vcs := []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: "69ef56e1a2b3c4d5e6f708192a3b4c5d6e7f8091"}}
	for _, tc := range []struct {
		name    string
		bi      *debug.BuildInfo
		stamped string
		want    string
	}{
		{"module version wins", &debug.BuildInfo{Main: debug.Module{Version: "v1.2.3"}, Settings: vcs}, "v0.9.0", "v1.2.3"},
		{"pseudo-version", &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261204211500-69ef56e1a2b3+dirty"}}, "", "v0.0.0-20261204211500-69ef56e1a2b3+dirty"},
		{"empty version", &debug.BuildInfo{Main: debug.Module{}}, "v0.9.0", "v0.9.0"},
		{"-buildvcs=false: make build's stamp", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "v1.4.0-3-g69ef56e", "v1.4.0-3-g69ef56e"},
		{"nothing", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "", "devel"},
		{"no build info", nil, "", "devel"},
	} {
		if got := versionOf(tc.bi, tc.stamped); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestVersionInUserAgentAndInitLog: the build's version is in the
// User-Agent SignalWire sees and in the one line init logs.
func TestVersionInUserAgentAndInitLog(t *testing.T) {
	offline(t)
	var mu sync.Mutex
	var agents []string
	space := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		agents = append(agents, r.UserAgent())
		mu.Unlock()
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"code":20404,"message":"not found","status":404}`)
	}))
	defer space.Close()
	projectID := sandbox.ProjectID
	secret, _ := json.Marshal(map[string]string{"project_id": projectID, "api_token": sandbox.APIToken,
		"space_host": space.Listener.Addr().String(), "signing_key": sandbox.SigningKey})
	newFakeSecretsManager(t, func(int) (string, string) { return string(secret), "" })
	var logs bytes.Buffer
	env := map[string]string{"SIGNALWIRE_SECRET_ID": "sw"}
	r, err := New(context.Background(), func(k string) string { return env[k] }, &logs, WithSignalWireHTTPClient(space.Client()))
	if err != nil {
		t.Fatal(err)
	}
	var init map[string]any
	if err := json.Unmarshal([]byte(strings.SplitN(logs.String(), "\n", 2)[0]), &init); err != nil || init["version"] != version() {
		t.Fatalf("init log line %q: want version %q", logs.String(), version())
	}
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "test"})
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	_, _ = r.Invoke(ctx, []byte(`{"account_sid":"`+projectID+`","conference_sid":"`+sandbox.ConferenceStandup+`","call_sid":"`+sandbox.CallAlice+`"}`))
	mu.Lock()
	defer mu.Unlock()
	if want := "signalwire-participants-lambda/" + version(); len(agents) == 0 || agents[0] != want {
		t.Fatalf("User-Agent %q, want %q", agents, want)
	}
}
