package samlocal_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
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

	env := samEnv(t, "local_invoke", samlocal.Credentials{Key: localenv.AccessKeyID, Secret: localenv.SecretAccessKey, Region: localenv.Region})
	for k, v := range worldEnv(t, e) {
		env[k] = v
	}
	var list []string
	for k, v := range env {
		list = append(list, k+"="+v)
	}
	sort.Strings(list)
	fn, err := localenv.StartRIE(ctx, rieBin, bootstrapBin, list, localenv.RIEOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fn.Close() })

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
		"http-api-read.json":                      status(200, `"call_sid"`),
		"rest-api-read.json":                      status(200, `"call_sid"`),
		"function-url-read.json":                  status(200, `"call_sid"`),
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

// TestSAMLocalWithoutEnvFile: `sam local start-api` (or invoke) without
// --env-vars hands the function RETRY_QUEUE_URL=RetryQueue. The function
// starts, warns, and answers.
func TestSAMLocalWithoutEnvFile(t *testing.T) {
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
	env, err := samlocal.FunctionEnv(samlocal.Input{Template: read(t, "template.yaml"), FunctionID: functionID, ParameterOverrides: overrides})
	if err != nil {
		t.Fatal(err)
	}
	if env["RETRY_QUEUE_URL"] != "RetryQueue" {
		t.Fatalf("RETRY_QUEUE_URL = %q, want SAM's unresolved logical id", env["RETRY_QUEUE_URL"])
	}
	for k, v := range worldEnv(t, e) {
		env[k] = v
	}
	var list []string
	for k, v := range env {
		list = append(list, k+"="+v)
	}
	fn, err := localenv.StartRIE(ctx, rieBin, bootstrapBin, list, localenv.RIEOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fn.Close() })
	out, err := fn.Invoke(ctx, read(t, "events/http-api-invalid-sid.json"))
	if err != nil || !strings.Contains(string(out), `"statusCode":400`) {
		t.Fatalf("invalid-sid: %v %s\n%s", err, out, fn.Logs())
	}
	if !strings.Contains(fn.Logs(), `RETRY_QUEUE_URL is \"RetryQueue\"`) {
		t.Errorf("no warning about the unresolved retry queue:\n%s", fn.Logs())
	}
}
