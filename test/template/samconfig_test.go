package template_test

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

// parameterOverrides parses SAM CLI's "Key=Value Key2=Value2" string.
func parameterOverrides(t *testing.T, s string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, kv := range strings.Fields(s) {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			t.Errorf("parameter_overrides item %q has no =", kv)
			continue
		}
		out[k] = v
	}
	return out
}

func TestSamconfig(t *testing.T) {
	var cfg map[string]any
	if _, err := toml.DecodeFile(samconfigPath, &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg["version"] != 0.1 {
		t.Errorf("version = %v, want 0.1", cfg["version"])
	}
	section := func(cmd string) map[string]any {
		t.Helper()
		return digMap(t, cfg, "default", cmd, "parameters")
	}
	if name, _ := section("global")["stack_name"].(string); name == "" {
		t.Error("default.global.parameters.stack_name is empty")
	}
	build := section("build")
	if build["cached"] != true || build["parallel"] != true {
		t.Errorf("build parameters = %v, want cached and parallel", build)
	}
	deploy := section("deploy")
	for k, want := range map[string]any{
		"capabilities":      "CAPABILITY_IAM",
		"confirm_changeset": true,
		"resolve_s3":        true,
		"region":            "us-east-1",
	} {
		if deploy[k] != want {
			t.Errorf("deploy.%s = %v, want %v", k, deploy[k], want)
		}
	}
	local := section("local_invoke")
	if local["env_vars"] != "events/env.json" {
		t.Errorf("local_invoke.env_vars = %v, want events/env.json", local["env_vars"])
	}

	params := digMap(t, rawTemplate(t), "Parameters")
	for _, cmd := range []string{"deploy", "local_invoke", "local_start_api"} {
		s, ok := section(cmd)["parameter_overrides"].(string)
		if !ok {
			if cmd != "local_start_api" {
				t.Errorf("%s has no parameter_overrides", cmd)
			}
			continue
		}
		overrides := parameterOverrides(t, s)
		_, hasSecret := overrides["SignalWireSecretArn"]
		switch {
		case cmd == "deploy" && hasSecret:
			// A placeholder would deploy silently; `sam deploy --guided`
			// asks for the real ARN when none is configured.
			t.Errorf("deploy.parameter_overrides sets SignalWireSecretArn: a placeholder would be deployed")
		case cmd != "deploy" && !hasSecret:
			t.Errorf("%s.parameter_overrides lacks SignalWireSecretArn (the template requires it even locally)", cmd)
		}
		if a, ok := overrides["Architecture"]; ok && cmd == "deploy" && a != "arm64" {
			t.Errorf("deploy.parameter_overrides sets Architecture=%s: a deployment keeps arm64", a)
		}
		for name, value := range overrides {
			p, ok := params[name].(map[string]any)
			if !ok {
				t.Errorf("%s.parameter_overrides sets unknown parameter %s", cmd, name)
				continue
			}
			if pat, ok := p["AllowedPattern"].(string); ok && !regexp.MustCompile(pat).MatchString(value) {
				t.Errorf("%s.parameter_overrides: %s=%q does not match %s", cmd, name, value, pat)
			}
			if av, ok := p["AllowedValues"].([]any); ok && !slices.Contains(av, any(value)) {
				t.Errorf("%s.parameter_overrides: %s=%q is not in %v", cmd, name, value, av)
			}
		}
	}
}

// TestEnvJSON checks events/env.json, when present: `sam local` only
// overrides variables the template declares, for a logical ID it has.
func TestEnvJSON(t *testing.T) {
	data, err := os.ReadFile(envJSONPath)
	if err != nil {
		t.Skipf("no %s: %v", envJSONPath, err)
	}
	var env map[string]map[string]any
	if err := json.Unmarshal(data, &env); err != nil {
		t.Fatalf("%s: %v", envJSONPath, err)
	}
	resources := digMap(t, rawTemplate(t), "Resources")
	for id, vars := range env {
		if id == "Parameters" { // global overrides apply to every function
			id = functionID
		}
		declared, ok := lookup(resources, id, "Properties", "Environment", "Variables")
		if !ok {
			t.Errorf("%s: %s is not a function with environment variables", envJSONPath, id)
			continue
		}
		for name := range vars {
			if _, ok := declared.(map[string]any)[name]; !ok {
				t.Errorf("%s: %s.%s is not declared in template.yaml, so sam local ignores it", envJSONPath, id, name)
			}
		}
	}
}
