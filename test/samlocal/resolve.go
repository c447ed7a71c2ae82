// Package samlocal reproduces how the AWS SAM CLI computes a function's
// environment for `sam local invoke` and `sam local start-api`, so that tests
// and the demo can run the real bootstrap with exactly the environment SAM's
// container would give it, without SAM or Docker.
//
// The rules follow SAM CLI's public source (aws/aws-sam-cli,
// samcli/lib/providers/sam_base_provider.py, samcli/lib/intrinsic_resolver/
// and samcli/local/lambdafn/env_vars.py, samcli/commands/local/lib/
// local_lambda.py), re-implemented for the intrinsic functions this
// project's template uses:
//
//   - parameter values are SAM's pseudo-parameter defaults (AWS::Region
//     us-east-1, AWS::AccountId 123456789012, AWS::URLSuffix "localhost",
//     …), then the template's Defaults, then --parameter-overrides;
//   - a Ref to a resource SAM cannot create locally resolves to the
//     resource's logical id (`!Ref RetryQueue` is the string "RetryQueue");
//     a Fn::GetAtt of "Arn" resolves to a Lambda-style ARN
//     (arn:aws:lambda:us-east-1:123456789012:function:<id>); any other
//     attribute is unresolvable;
//   - a value that cannot be resolved stays as it was (an object), and an
//     object or list becomes the empty string in the environment; this
//     includes every Fn::If with an AWS::NoValue branch, whichever branch
//     the condition picks (SAM resolves both and fails on the NoValue one);
//   - the --env-vars file's "Parameters" object applies to every function,
//     the function's own object (by logical id) wins over it, and both apply
//     only to variables the template declares for that function; the shell's
//     value of a declared variable wins over the template's and loses to the
//     file's (env_vars.py, EnvironmentVariables.resolve);
//   - SAM adds the AWS_* variables of env_vars.py (AWS_SAM_LOCAL=true, the
//     function's memory, timeout, handler and name, credentials and region,
//     and from LoggingConfig AWS_LAMBDA_LOG_FORMAT / AWS_LAMBDA_LOG_LEVEL /
//     AWS_LAMBDA_LOG_GROUP_NAME).
package samlocal

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/awslabs/goformation/v7/intrinsics"
)

// PseudoParameters are SAM CLI's defaults for CloudFormation's pseudo
// parameters in local runs (IntrinsicsSymbolTable.DEFAULT_PSEUDO_PARAM_VALUES).
var PseudoParameters = map[string]string{
	"AWS::AccountId": "123456789012",
	"AWS::Partition": "aws",
	"AWS::Region":    "us-east-1",
	"AWS::StackName": "local",
	"AWS::StackId":   "arn:aws:cloudformation:us-east-1:123456789012:stack/local/51af3dc0-da77-11e4-872e-1234567db123",
	"AWS::URLSuffix": "localhost",
}

// Credentials are what SAM CLI passes as AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY and AWS_REGION (its defaults are "defaultkey",
// "defaultsecret" and us-east-1 when the shell has none).
type Credentials struct {
	Key, Secret, Region, SessionToken string
}

// Input is what SAM CLI reads to build a function's environment.
type Input struct {
	// Template is the SAM template (YAML or JSON, short-form tags allowed).
	Template []byte
	// FunctionID is the function's logical id.
	FunctionID string
	// ParameterOverrides are --parameter-overrides (or samconfig.toml's).
	ParameterOverrides map[string]string
	// EnvVars is the --env-vars file's content (nil: none). SAM refuses
	// --env-vars "" (exit 2) and an empty file; a file holding {} is the way
	// to run without samconfig.toml's env_vars.
	EnvVars []byte
	// Shell is the shell environment SAM CLI runs in; only values of
	// declared variables are used. Nil: an empty shell.
	Shell map[string]string
	// Credentials; zero value: SAM's defaults.
	Credentials Credentials
}

// errUnresolved marks a value SAM CLI leaves unresolved.
var errUnresolved = errors.New("unresolvable")

// FunctionEnv returns the environment SAM CLI gives the function's container.
func FunctionEnv(in Input) (map[string]string, error) {
	p, err := properties(in.Template, in.FunctionID, in.ParameterOverrides)
	if err != nil {
		return nil, err
	}

	var overrides map[string]any
	if in.EnvVars != nil && len(bytes.TrimSpace(in.EnvVars)) == 0 {
		// SAM tries JSON, then .env, and refuses a file that is neither.
		return nil, errors.New("samlocal: env vars file is empty (SAM: InvalidEnvironmentVariablesFileException); {} overrides nothing")
	}
	if in.EnvVars != nil {
		var file map[string]any
		if err := json.Unmarshal(in.EnvVars, &file); err != nil {
			return nil, fmt.Errorf("samlocal: env vars file: %w", err)
		}
		overrides = map[string]any{}
		for k, v := range file {
			m, ok := v.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("samlocal: env vars file: %s is not an object (SAM: OverridesNotWellDefinedError)", k)
			}
			file[k] = m
		}
		if g, ok := file["Parameters"].(map[string]any); ok {
			maps.Copy(overrides, g)
		}
		if f, ok := file[in.FunctionID].(map[string]any); ok && len(f) > 0 {
			maps.Copy(overrides, f)
		}
	}

	creds := in.Credentials
	if creds.Key == "" {
		creds = Credentials{Key: "defaultkey", Secret: "defaultsecret", Region: creds.Region}
	}
	if creds.Region == "" {
		creds.Region = "us-east-1"
	}
	name := in.FunctionID
	out := map[string]string{
		"AWS_SAM_LOCAL":                   "true",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": stringify(withDefault(p["MemorySize"], 128.0)),
		"AWS_LAMBDA_FUNCTION_TIMEOUT":     stringify(withDefault(p["Timeout"], 3.0)),
		"AWS_LAMBDA_FUNCTION_HANDLER":     stringify(p["Handler"]),
		"AWS_LAMBDA_FUNCTION_NAME":        name,
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_LAMBDA_LOG_GROUP_NAME":       "aws/lambda/" + name,
		"AWS_LAMBDA_LOG_STREAM_NAME":      "$LATEST",
		"AWS_REGION":                      creds.Region,
		"AWS_DEFAULT_REGION":              creds.Region,
		"AWS_ACCESS_KEY_ID":               creds.Key,
		"AWS_SECRET_ACCESS_KEY":           creds.Secret,
		"AWS_ACCOUNT_ID":                  "123456789012",
		"AWS_LAMBDA_INITIALIZATION_TYPE":  "on-demand",
	}
	if creds.SessionToken != "" {
		out["AWS_SESSION_TOKEN"] = creds.SessionToken
	}
	if lc, ok := p["LoggingConfig"].(map[string]any); ok {
		if g, ok := lc["LogGroup"]; ok && g != nil && g != "" {
			out["AWS_LAMBDA_LOG_GROUP_NAME"] = stringify(g)
		}
		if f, ok := lc["LogFormat"]; ok && f != nil && f != "" {
			out["AWS_LAMBDA_LOG_FORMAT"] = stringify(f)
			if f == "JSON" {
				out["AWS_LAMBDA_LOG_LEVEL"] = stringify(withDefault(lc["ApplicationLogLevel"], "INFO"))
			}
		}
	}
	vars, _ := lookup(p, "Environment", "Variables")
	declared, _ := vars.(map[string]any)
	for k, v := range declared {
		if s, ok := in.Shell[k]; ok {
			v = s
		}
		if o, ok := overrides[k]; ok {
			v = o
		}
		out[k] = stringify(v)
	}
	return out, nil
}

// Architecture is the function's Architectures entry as SAM CLI resolves it
// (x86_64 when the template sets none): what `sam build` records in its
// build graph (.aws-sam/build.toml) and the image `sam local` runs.
func Architecture(template []byte, functionID string, overrides map[string]string) (string, error) {
	p, err := properties(template, functionID, overrides)
	if err != nil {
		return "", err
	}
	list, _ := p["Architectures"].([]any)
	if len(list) == 0 {
		return "x86_64", nil
	}
	if a, ok := list[0].(string); ok && len(list) == 1 {
		return a, nil
	}
	return "", fmt.Errorf("samlocal: %s: Architectures %v: %w", functionID, list, errUnresolved)
}

// properties are the function's Properties with SAM CLI's lenient resolution.
func properties(template []byte, functionID string, overrides map[string]string) (map[string]any, error) {
	doc, err := ParseTemplate(template)
	if err != nil {
		return nil, err
	}
	res, ok := lookup(doc, "Resources", functionID)
	if !ok {
		return nil, fmt.Errorf("samlocal: no resource %s", functionID)
	}
	props, _ := lookup(newResolver(doc, overrides).resolveLenient(res), "Properties")
	p, _ := props.(map[string]any)
	return p, nil
}

// Declared returns the environment variable names the template declares for
// the function: the only ones an --env-vars file can set.
func Declared(template []byte, functionID string) ([]string, error) {
	doc, err := ParseTemplate(template)
	if err != nil {
		return nil, err
	}
	vars, ok := lookup(doc, "Resources", functionID, "Properties", "Environment", "Variables")
	m, isMap := vars.(map[string]any)
	if !ok || !isMap {
		return nil, fmt.Errorf("samlocal: %s declares no environment variables", functionID)
	}
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	return names, nil
}

func withDefault(v, def any) any {
	if v == nil {
		return def
	}
	return v
}

// stringify is env_vars.py's _stringify_value: objects, lists and null
// become "", booleans "true"/"false", numbers as Python prints them.
func stringify(v any) string {
	switch x := v.(type) {
	case nil, map[string]any, []any:
		return ""
	case bool:
		return strconv.FormatBool(x)
	case string:
		return x
	case float64:
		if x == float64(int64(x)) {
			return strconv.FormatInt(int64(x), 10)
		}
		return strconv.FormatFloat(x, 'f', -1, 64)
	default:
		return fmt.Sprint(x)
	}
}

// ParseTemplate reads a CloudFormation/SAM template into a generic document,
// short-form tags expanded and intrinsic functions left unevaluated.
func ParseTemplate(data []byte) (map[string]any, error) {
	out, err := intrinsics.ProcessYAML(data, &intrinsics.ProcessorOptions{NoProcess: true})
	if err != nil {
		return nil, fmt.Errorf("samlocal: template: %w", err)
	}
	var doc map[string]any
	if err := json.Unmarshal(out, &doc); err != nil {
		return nil, fmt.Errorf("samlocal: template: %w", err)
	}
	return doc, nil
}

// ParameterOverrides parses SAM CLI's "Key=Value Key2='Value 2'" form.
func ParameterOverrides(s string) (map[string]string, error) {
	out := map[string]string{}
	re := regexp.MustCompile(`(?:ParameterKey=)?([A-Za-z0-9]+)(?:,ParameterValue)?=("[^"]*"|'[^']*'|\S*)`)
	rest := strings.TrimSpace(s)
	for rest != "" {
		m := re.FindStringSubmatchIndex(rest)
		if m == nil || m[0] != 0 {
			return nil, fmt.Errorf("samlocal: parameter overrides: cannot parse %q", rest)
		}
		k, v := rest[m[2]:m[3]], rest[m[4]:m[5]]
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') {
			v = v[1 : len(v)-1]
		}
		out[k] = v
		rest = strings.TrimSpace(rest[m[1]:])
	}
	return out, nil
}

// SamconfigParameterOverrides returns the parameter_overrides of
// [env.command.parameters] in a samconfig.toml (e.g. "default",
// "local_invoke"); a missing section or key gives an empty map.
func SamconfigParameterOverrides(path, env, command string) (map[string]string, error) {
	var cfg map[string]any
	if _, err := toml.DecodeFile(path, &cfg); err != nil {
		return nil, fmt.Errorf("samlocal: %s: %w", path, err)
	}
	v, _ := lookup(cfg, env, command, "parameters", "parameter_overrides")
	s, _ := v.(string)
	return ParameterOverrides(s)
}

// ReadFile is os.ReadFile with the path in the error.
func ReadFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("samlocal: %w", err)
	}
	return b, nil
}

func lookup(v any, keys ...string) (any, bool) {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[k]; !ok {
			return nil, false
		}
	}
	return v, true
}
