package samlocal_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/signalwire-lambda/participants/test/localenv"
	"github.com/signalwire-lambda/participants/test/samlocal"
)

const functionID = "ParticipantsFunction"

// localCreds are the stand-in AWS's credentials, as SAM passes the shell's.
var localCreds = samlocal.Credentials{Key: localenv.AccessKeyID, Secret: localenv.SecretAccessKey, Region: localenv.Region}

var bootstrapBin, rieBin, root string

func TestMain(m *testing.M) {
	flag.Parse()
	var err error
	if root, err = localenv.ModuleRoot(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := localenv.UseOfflineAWS(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if testing.Short() {
		os.Exit(m.Run())
	}
	code, err := func() (int, error) {
		dir, err := os.MkdirTemp("", "samlocal-bin-")
		if err != nil {
			return 1, err
		}
		defer os.RemoveAll(dir)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		if bootstrapBin, err = localenv.BuildBootstrap(ctx, dir, runtime.GOARCH); err != nil {
			return 1, err
		}
		if rieBin, err = localenv.BuildRIE(ctx, dir); err != nil {
			return 1, err
		}
		return m.Run(), nil
	}()
	if err != nil {
		fmt.Fprintln(os.Stderr, "samlocal setup:", err)
	}
	os.Exit(code)
}

func read(t *testing.T, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// samEnv is what `sam local invoke -e events/X.json` (samconfig.toml's
// [default.local_invoke] parameters: parameter_overrides and env_vars)
// gives the function, in an empty shell with the given credentials.
func samEnv(t *testing.T, command string, creds samlocal.Credentials) map[string]string {
	t.Helper()
	overrides, err := samlocal.SamconfigParameterOverrides(filepath.Join(root, "samconfig.toml"), "default", command)
	if err != nil {
		t.Fatal(err)
	}
	env, err := samlocal.FunctionEnv(samlocal.Input{
		Template:           read(t, "template.yaml"),
		FunctionID:         functionID,
		ParameterOverrides: overrides,
		EnvVars:            read(t, "events/env.json"),
		Credentials:        creds,
	})
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// TestResolutionRules pins SAM CLI's rules on a small template.
func TestResolutionRules(t *testing.T) {
	tpl := []byte(`
Parameters:
  Name: {Type: String, Default: dflt}
  Flag: {Type: String, Default: ""}
Conditions:
  HasFlag: !Not [!Equals [!Ref Flag, ""]]
Mappings:
  M: {a: {b: mapped}}
Resources:
  Q: {Type: AWS::SQS::Queue}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Handler: bootstrap
      Timeout: 7
      LoggingConfig: {LogFormat: JSON, ApplicationLogLevel: !Ref Name, LogGroup: !Ref Q}
      Environment:
        Variables:
          REF_RESOURCE: !Ref Q
          GETATT_ARN: !GetAtt Q.Arn
          GETATT_URL: !GetAtt Q.QueueUrl
          PARAM: !Ref Name
          IF_NOVALUE: !If [HasFlag, !Ref Flag, !Ref AWS::NoValue]
          IF_BOTH: !If [HasFlag, yes, no]
          SUB: !Sub "https://sqs.${AWS::Region}.${AWS::URLSuffix}/${AWS::AccountId}/${Q}"
          MAP: !FindInMap [M, a, b]
          SPLIT: !Select [1, !Split [":", "x:y:z"]]
          NUM: 5
          BOOL: true
          FROM_SHELL: template
          FROM_FILE: template
          FROM_GLOBAL: template
`)
	env, err := samlocal.FunctionEnv(samlocal.Input{
		Template:           tpl,
		FunctionID:         "Fn",
		ParameterOverrides: map[string]string{"Flag": "on"},
		EnvVars:            []byte(`{"Parameters":{"FROM_GLOBAL":"global","FROM_FILE":"global","UNDECLARED":"x"},"Fn":{"FROM_FILE":"file"}}`),
		Shell:              map[string]string{"FROM_SHELL": "shell", "FROM_FILE": "shell", "PATH": "/bin"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"REF_RESOURCE":                "Q",
		"GETATT_ARN":                  "arn:aws:lambda:us-east-1:123456789012:function:Q",
		"GETATT_URL":                  "",
		"PARAM":                       "dflt",
		"IF_NOVALUE":                  "", // even though HasFlag is true
		"IF_BOTH":                     "yes",
		"SUB":                         "https://sqs.us-east-1.localhost/123456789012/Q",
		"MAP":                         "mapped",
		"SPLIT":                       "y",
		"NUM":                         "5",
		"BOOL":                        "true",
		"FROM_SHELL":                  "shell",
		"FROM_FILE":                   "file",
		"FROM_GLOBAL":                 "global",
		"AWS_SAM_LOCAL":               "true",
		"AWS_LAMBDA_FUNCTION_NAME":    "Fn",
		"AWS_LAMBDA_FUNCTION_TIMEOUT": "7",
		"AWS_LAMBDA_LOG_FORMAT":       "JSON",
		"AWS_LAMBDA_LOG_LEVEL":        "dflt",
		"AWS_LAMBDA_LOG_GROUP_NAME":   "Q",
		"AWS_ACCESS_KEY_ID":           "defaultkey",
		"AWS_REGION":                  "us-east-1",
	}
	for k, v := range want {
		if got, ok := env[k]; !ok || got != v {
			t.Errorf("%s = %q (set: %v), want %q", k, got, ok, v)
		}
	}
	for _, k := range []string{"UNDECLARED", "PATH"} {
		if _, ok := env[k]; ok {
			t.Errorf("%s is set; SAM passes only declared variables", k)
		}
	}
}

// TestTemplateUnderSAMResolution pins what SAM CLI makes of template.yaml
// with samconfig.toml and events/env.json: the values the template cannot
// give locally are overridden in env.json or harmless.
func TestTemplateUnderSAMResolution(t *testing.T) {
	for _, cmd := range []string{"local_invoke", "local_start_api"} {
		env := samEnv(t, cmd, samlocal.Credentials{})
		if env["SIGNALWIRE_SECRET_ID"] != localenv.DefaultSecretName {
			t.Errorf("%s: SIGNALWIRE_SECRET_ID = %q, want env.json's %q", cmd, env["SIGNALWIRE_SECRET_ID"], localenv.DefaultSecretName)
		}
		// Without env.json, !Ref RetryQueue is the logical id.
		if env["RETRY_QUEUE_URL"] == "RetryQueue" {
			t.Errorf("%s: RETRY_QUEUE_URL is the unresolved logical id; events/env.json must override it", cmd)
		}
		// Parameters with defaults resolve to them.
		if env["CREDENTIALS_TTL"] != "5m" {
			t.Errorf("%s: CREDENTIALS_TTL = %q, want the parameter's default 5m", cmd, env["CREDENTIALS_TTL"])
		}
		// The samples of events/ are signed for a fixed date: env.json turns
		// the replay window off (allowed under sam local only).
		if env["WEBHOOK_MAX_AGE"] != "off" {
			t.Errorf("%s: WEBHOOK_MAX_AGE = %q, want env.json's off", cmd, env["WEBHOOK_MAX_AGE"])
		}
		for _, k := range []string{"FORWARD_HTTPS_URL", "FORWARD_EVENT_BUS", "FORWARD_SQS_QUEUE_URL", "DEAD_LETTER_QUEUE_URL", "AWS_ENDPOINT_URL", "PUBLIC_WEBHOOK_URL"} {
			if env[k] != "" {
				t.Errorf("%s: %s = %q, want empty (SAM leaves Fn::If with AWS::NoValue unresolved; env.json empties the others)", cmd, k, env[k])
			}
		}
	}
}

// worldEnv stands in for what the container reaches in a real `sam local
// invoke`: AWS (here kumo, through service endpoint variables the template
// does not declare, so SAM would never set them) and SignalWire's public
// TLS (here the sandbox's CA).
func worldEnv(t *testing.T, e *localenv.Env) map[string]string {
	t.Helper()
	declared, err := samlocal.Declared(read(t, "template.yaml"), functionID)
	if err != nil {
		t.Fatal(err)
	}
	world := map[string]string{
		"PATH":                             "/usr/local/bin:/usr/bin:/bin",
		"HOME":                             e.Dir,
		"AWS_EC2_METADATA_DISABLED":        "true",
		"AWS_ENDPOINT_URL_SECRETS_MANAGER": e.KumoURL,
		"AWS_ENDPOINT_URL_SQS":             e.KumoURL,
		"AWS_ENDPOINT_URL_EVENTBRIDGE":     e.KumoURL,
		"SSL_CERT_FILE":                    e.CAFile,
	}
	for k := range world {
		if slices.Contains(declared, k) {
			t.Fatalf("the test's stand-in for AWS sets %s, which template.yaml declares: it would hide SAM's value", k)
		}
	}
	return world
}

// startFunction runs the bootstrap under the RIE with SAM's environment
// plus the stand-in world's.
func startFunction(t *testing.T, e *localenv.Env, env map[string]string) *localenv.RIE {
	t.Helper()
	list := make([]string, 0, len(env))
	for k, v := range env {
		list = append(list, k+"="+v)
	}
	for k, v := range worldEnv(t, e) {
		list = append(list, k+"="+v)
	}
	sort.Strings(list)
	fn, err := localenv.StartRIE(context.Background(), rieBin, bootstrapBin, list, localenv.RIEOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fn.Close() })
	return fn
}

// TestSAMLocalInvokeEveryEvent runs the real bootstrap under the RIE with
// exactly the environment `sam local invoke` computes from template.yaml,
// samconfig.toml and events/env.json, and invokes every file in events/.
func TestSAMLocalInvokeEveryEvent(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the bootstrap")
	}
	ctx := context.Background()
	e, err := localenv.Start(ctx, localenv.Options{ExactNames: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })

	fn := startFunction(t, e, samEnv(t, "local_invoke", localCreds))

	type httpAnswer struct {
		StatusCode int               `json:"statusCode"`
		Headers    map[string]string `json:"headers"`
		Body       string            `json:"body"`
	}
	status := func(want int, bodyHas string) func(t *testing.T, out []byte) {
		return func(t *testing.T, out []byte) {
			var a httpAnswer
			if json.Unmarshal(out, &a) != nil || a.StatusCode != want || !strings.Contains(a.Body, bodyHas) {
				t.Fatalf("want HTTP %d with %q, got %s", want, bodyHas, out)
			}
		}
	}
	check := map[string]func(t *testing.T, out []byte){
		"direct-read.json": func(t *testing.T, out []byte) {
			if !strings.Contains(string(out), `"call_sid"`) || strings.Contains(string(out), "errorType") {
				t.Fatalf("direct read: %s", out)
			}
		},
		"http-api-read.json":     status(200, `"call_sid"`),
		"rest-api-read.json":     status(200, `"call_sid"`),
		"function-url-read.json": status(200, `"call_sid"`),
		"direct-list.json": func(t *testing.T, out []byte) {
			if !strings.HasPrefix(string(out), `{"schema_version":1,"participants":[{`) {
				t.Fatalf("direct list: %s", out)
			}
		},
		"http-api-list.json":                      status(200, `"participants":[{`),
		"rest-api-list.json":                      status(200, `"participants":[{`),
		"function-url-list.json":                  status(200, `"participants":[{`),
		"http-api-invalid-sid.json":               status(400, "invalid-sid"),
		"http-api-not-found.json":                 status(404, "participant-not-found"),
		"webhook-participant-join.json":           status(200, `"participant_lookup":"found"`),
		"webhook-participant-leave.json":          status(200, `"participant_lookup":"not_found"`),
		"webhook-call-status.json":                status(200, `"participant_lookup":"found"`),
		"webhook-json-call-state.json":            status(200, `"type":"signalwire.calling.call.state.answered"`),
		"webhook-json-call-state-bodysha256.json": status(200, `"type":"signalwire.calling.call.state.ended"`),
		"webhook-forged.json":                     status(403, "invalid-signature"),
		"sqs-retry-batch.json": func(t *testing.T, out []byte) {
			var r struct {
				Failures []struct {
					ID string `json:"itemIdentifier"`
				} `json:"batchItemFailures"`
			}
			if json.Unmarshal(out, &r) != nil || len(r.Failures) != 1 || r.Failures[0].ID != "7e2a4c6d-1b3f-4a5e-8c9d-0e1f2a3b4c5d" {
				t.Fatalf("want only the poison record reported: %s", out)
			}
		},
	}
	files, _ := filepath.Glob(filepath.Join(root, "events", "*.json"))
	var passed, total int
	for _, f := range files {
		name := filepath.Base(f)
		if name == "env.json" {
			continue
		}
		total++
		c, ok := check[name]
		if !ok {
			t.Errorf("events/%s has no expectation in this test", name)
			continue
		}
		if t.Run(name, func(t *testing.T) {
			out, err := fn.Invoke(ctx, read(t, filepath.Join("events", name)))
			if err != nil {
				t.Fatalf("invoke: %v\n%s", err, fn.Logs())
			}
			c(t, out)
		}) {
			passed++
		}
	}
	t.Logf("event files answering as expected under the SAM-resolved environment: %d of %d", passed, total)
	if strings.Contains(fn.Logs(), "invalid configuration") {
		t.Errorf("init failed:\n%s", fn.Logs())
	}
}

// noEnvFile is docs/DEPLOY.md's way to run without samconfig.toml's
// env_vars: SAM refuses --env-vars "" (exit 2), so a file holding {}.
const noEnvFile = "--env-vars .aws-sam/no-env.json"

// TestSAMLocalWithoutEnvFile: `sam local start-api` (or invoke) with an env
// file that overrides nothing hands the function RETRY_QUEUE_URL=RetryQueue.
// The function starts, warns, and answers.
func TestSAMLocalWithoutEnvFile(t *testing.T) {
	doc := string(read(t, "docs/DEPLOY.md"))
	if !strings.Contains(doc, "echo '{}' > .aws-sam/no-env.json") || !strings.Contains(doc, noEnvFile) {
		t.Errorf("docs/DEPLOY.md does not give the command this test runs (%s holding {})", noEnvFile)
	}
	if _, err := samlocal.FunctionEnv(samlocal.Input{Template: read(t, "template.yaml"), FunctionID: functionID, EnvVars: []byte{}}); err == nil {
		t.Error("an empty env vars file is accepted; SAM refuses it")
	}
	if testing.Short() {
		t.Skip("builds and runs the bootstrap")
	}
	ctx := context.Background()
	e, err := localenv.Start(ctx, localenv.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	overrides, err := samlocal.SamconfigParameterOverrides(filepath.Join(root, "samconfig.toml"), "default", "local_start_api")
	if err != nil {
		t.Fatal(err)
	}
	env, err := samlocal.FunctionEnv(samlocal.Input{Template: read(t, "template.yaml"), FunctionID: functionID, ParameterOverrides: overrides, EnvVars: []byte("{}\n")})
	if err != nil {
		t.Fatal(err)
	}
	if env["RETRY_QUEUE_URL"] != "RetryQueue" {
		t.Fatalf("RETRY_QUEUE_URL = %q, want SAM's unresolved logical id", env["RETRY_QUEUE_URL"])
	}
	fn := startFunction(t, e, env)
	out, err := fn.Invoke(ctx, read(t, "events/http-api-invalid-sid.json"))
	if err != nil || !strings.Contains(string(out), `"statusCode":400`) {
		t.Fatalf("invalid-sid: %v %s\n%s", err, out, fn.Logs())
	}
	if !strings.Contains(fn.Logs(), `RETRY_QUEUE_URL is \"RetryQueue\"`) {
		t.Errorf("no warning about the unresolved retry queue:\n%s", fn.Logs())
	}
}

// shellEffects covers every variable template.yaml declares: SAM passes a
// declared variable's value from the user's shell over the template's, and
// an --env-vars file's over both (env_vars.py, EnvironmentVariables.resolve).
// fileWins: events/env.json sets it, so with samconfig.toml's env_vars the
// shell's value never reaches the function; without an env file every one
// does. effect is what the shell's value then does (docs/DEPLOY.md).
var shellEffects = map[string]struct {
	fileWins bool
	effect   string
}{
	"AWS_ENDPOINT_URL":               {false, "every AWS call goes to that endpoint"},
	"CREDENTIALS_TTL":                {false, "cache lifetime; an invalid value fails init"},
	"DEAD_LETTER_QUEUE_URL":          {true, "permanent forward failures go to that queue"},
	"FORWARD_EVENT_BUS":              {true, "webhooks are forwarded to that bus"},
	"FORWARD_HTTPS_URL":              {true, "webhooks are forwarded to that URL"},
	"FORWARD_SQS_QUEUE_URL":          {true, "webhooks are forwarded to that queue"},
	"LOG_LEVEL":                      {true, "log level"},
	"METRICS_NAMESPACE":              {false, "EMF namespace"},
	"PUBLIC_BASE_URL":                {false, "webhooks verify against that prefix (and, under sam local, the URL the client called)"},
	"PUBLIC_WEBHOOK_URL":             {false, "webhooks verify against that URL (and, under sam local, the URL the client called)"},
	"RETRY_MAX_RECEIVE_COUNT":        {false, "dead-letter threshold of the retry consumer"},
	"RETRY_QUEUE_URL":                {true, "failed webhooks are parked on that queue"},
	"SIGNALWIRE_SECRET_ID":           {true, "the secret read"},
	"SIGNALWIRE_SPACE_HOST":          {false, "a secret naming another Space host is refused: reads fail"},
	"SSL_CERT_DIR":                   {false, "Go also parses that directory's certificates: a slower first TLS handshake"},
	"WEBHOOK_MAX_AGE":                {true, "replay window; an invalid value fails init, and with one set the dated samples get 403"},
	"WEBHOOK_SIGNATURE_VERIFICATION": {true, "off skips verification under sam local"},
}

// TestSAMShellPrecedence: for each declared variable set in the shell, what
// reaches the function with samconfig.toml (events/env.json), with the
// documented no-env file ({}) and with no file.
func TestSAMShellPrecedence(t *testing.T) {
	tpl := read(t, "template.yaml")
	declared, err := samlocal.Declared(tpl, functionID)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := slices.Sorted(slices.Values(declared)), slices.Sorted(maps.Keys(shellEffects)); !slices.Equal(got, want) {
		t.Fatalf("declared variables %v, shellEffects covers %v", got, want)
	}
	overrides, err := samlocal.SamconfigParameterOverrides(filepath.Join(root, "samconfig.toml"), "default", "local_invoke")
	if err != nil {
		t.Fatal(err)
	}
	var file map[string]map[string]string
	if err := json.Unmarshal(read(t, "events/env.json"), &file); err != nil {
		t.Fatal(err)
	}
	for _, name := range declared {
		shell := map[string]string{name: "from-shell"}
		for _, c := range []struct {
			what    string
			envVars []byte
			want    string
		}{
			{"events/env.json", read(t, "events/env.json"), "from-shell"},
			{"{}", []byte("{}"), "from-shell"},
			{"no file", nil, "from-shell"},
		} {
			if c.what == "events/env.json" && shellEffects[name].fileWins {
				c.want = file[functionID][name]
			}
			env, err := samlocal.FunctionEnv(samlocal.Input{Template: tpl, FunctionID: functionID, ParameterOverrides: overrides, EnvVars: c.envVars, Shell: shell})
			if err != nil {
				t.Fatal(err)
			}
			if env[name] != c.want {
				t.Errorf("%s in the shell, %s: the function gets %q, want %q", name, c.what, env[name], c.want)
			}
		}
	}
}

// TestSAMLocalShellValues runs the bootstrap with samconfig.toml and
// events/env.json and a declared variable set in the user's shell: what the
// shell's value does to the answers.
func TestSAMLocalShellValues(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the bootstrap")
	}
	ctx := context.Background()
	e, err := localenv.Start(ctx, localenv.Options{ExactNames: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	overrides, err := samlocal.SamconfigParameterOverrides(filepath.Join(root, "samconfig.toml"), "default", "local_invoke")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, value, event, want string
	}{
		{"SSL_CERT_DIR", "/etc/ssl/certs", "http-api-read.json", `"statusCode":200`},
		// The signed samples still verify (under sam local, for the URL of
		// their own Host header too); a forged one shows the URL tried first.
		{"PUBLIC_WEBHOOK_URL", "https://example.ngrok.io/webhook", "webhook-forged.json", `"candidate_urls":["https://example.ngrok.io/webhook"`},
		{"PUBLIC_BASE_URL", "https://hooks.example.com/prod", "webhook-forged.json", `"candidate_urls":["https://hooks.example.com/prod/webhooks/signalwire"`},
		{"SIGNALWIRE_SPACE_HOST", "other.signalwire.com", "http-api-read.json", `"statusCode":503`},
		{"CREDENTIALS_TTL", "forever", "http-api-read.json", "invalid configuration"},
	} {
		t.Run(c.name, func(t *testing.T) {
			env, err := samlocal.FunctionEnv(samlocal.Input{
				Template: read(t, "template.yaml"), FunctionID: functionID, ParameterOverrides: overrides,
				EnvVars: read(t, "events/env.json"), Shell: map[string]string{c.name: c.value}, Credentials: localCreds,
			})
			if err != nil {
				t.Fatal(err)
			}
			if env[c.name] != c.value {
				t.Fatalf("%s = %q, want the shell's %q", c.name, env[c.name], c.value)
			}
			fn := startFunction(t, e, env)
			out, err := fn.Invoke(ctx, read(t, filepath.Join("events", c.event)))
			if got := string(out) + fn.Logs(); !strings.Contains(got, c.want) {
				t.Errorf("%s=%s, events/%s: want %q in the answer or logs, got %v %s", c.name, c.value, c.event, c.want, err, got)
			}
		})
	}
}
