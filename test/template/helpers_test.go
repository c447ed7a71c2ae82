package template_test

import (
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/awslabs/goformation/v7"
	"github.com/awslabs/goformation/v7/cloudformation"
	"github.com/awslabs/goformation/v7/intrinsics"
)

const (
	templatePath  = "../../template.yaml"
	samconfigPath = "../../samconfig.toml"
	envJSONPath   = "../../events/env.json"

	functionID = "ParticipantsFunction"
	roleID     = "ParticipantsFunctionRole"
	apiID      = "HttpApi"
	readPath   = "/accounts/{account_sid}/conferences/{conference_sid}/participants/{call_sid}"
	listPath   = "/accounts/{account_sid}/conferences/{conference_sid}/participants"
	hookPath   = "/webhooks/signalwire"

	// testSecretArn is a well-formed Secrets Manager ARN for rendering.
	testSecretArn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:signalwire/participants-AbCdEf"
)

// pseudoParameters are the values the rendered template sees for
// CloudFormation's pseudo parameters.
var pseudoParameters = map[string]string{
	"AWS::AccountId": "123456789012",
	"AWS::Partition": "aws",
	"AWS::Region":    "eu-west-1",
	"AWS::StackName": "participants-test",
	"AWS::URLSuffix": "amazonaws.com",
}

// readTemplate returns the bytes of template.yaml.
func readTemplate(t *testing.T) []byte {
	t.Helper()
	data, err := os.ReadFile(templatePath)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// goformationGaps are the template properties that goformation v7's typed
// model predates. Its resources reject unknown fields, so typedTemplate
// removes exactly these (and fails if one is no longer there); the raw
// document tests cover them.
var goformationGaps = [][]string{
	{"Resources", functionID, "Properties", "LoggingConfig"},
	{"Resources", functionID, "Properties", "Events", "RetryQueueEvent", "Properties", "FunctionResponseTypes"},
	{"Resources", apiID, "Properties", "Auth", "EnableIamAuthorizer"},
	{"Resources", apiID, "Properties", "RouteSettings"},
}

// typedTemplate parses template.yaml into goformation's typed model, with
// intrinsic functions processed as goformation.Open does.
func typedTemplate(t *testing.T) *cloudformation.Template {
	t.Helper()
	doc := rawTemplate(t)
	for _, path := range goformationGaps {
		parent, ok := lookup(doc, path[:len(path)-1]...)
		m, isMap := parent.(map[string]any)
		if _, found := m[path[len(path)-1]]; !ok || !isMap || !found {
			t.Fatalf("goformationGaps: template has no %s any more; update the list", strings.Join(path, "."))
		}
		delete(m, path[len(path)-1])
	}
	data, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := goformation.ParseJSON(data)
	if err != nil {
		t.Fatalf("goformation.ParseJSON(template.yaml less goformationGaps): %v", err)
	}
	return tpl
}

// rawTemplate returns template.yaml as a generic JSON document with every
// intrinsic function in long form, unevaluated. The short form
// `!GetAtt A.B` is normalized to {"Fn::GetAtt": ["A", "B"]}.
func rawTemplate(t *testing.T) map[string]any {
	t.Helper()
	out, err := intrinsics.ProcessYAML(readTemplate(t), &intrinsics.ProcessorOptions{NoProcess: true})
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	normalizeGetAtt(doc)
	return doc
}

func normalizeGetAtt(v any) {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if s, ok := e.(string); ok && k == "Fn::GetAtt" {
				if res, attr, found := strings.Cut(s, "."); found {
					v[k] = []any{res, attr}
				}
				continue
			}
			normalizeGetAtt(e)
		}
	case []any:
		for _, e := range v {
			normalizeGetAtt(e)
		}
	}
}

// render evaluates template.yaml for the given parameter values (defaults
// fill the rest) the way CloudFormation would: Conditions, Fn::If,
// Fn::Equals, Fn::Not, Fn::FindInMap, Fn::Select, Fn::Split and Fn::Sub are
// resolved, AWS::NoValue removes its key or list item, and a resource whose
// Condition is false is left out. A Ref to a resource renders as
// "ref:<ID>", Fn::GetAtt as "getatt:<ID>.<Attr>", and anything
// unresolvable as "unresolved:<name>", which fails the test.
func render(t *testing.T, params map[string]string) map[string]any {
	t.Helper()
	overrides := map[string]any{"SignalWireSecretArn": testSecretArn}
	for k, v := range params {
		overrides[k] = v
	}
	opts := &intrinsics.ProcessorOptions{
		ParameterOverrides: overrides,
		EvaluateConditions: true,
		IntrinsicHandlerOverrides: map[string]intrinsics.IntrinsicHandler{
			"Ref":        renderRef,
			"Fn::GetAtt": renderGetAtt,
			"Fn::Sub":    renderSub,
			"Fn::Split":  renderSplit,
		},
	}
	// The processor would replace a resource holding a Condition key by
	// the condition's value: the resources' conditions are set aside.
	raw := rawTemplate(t)
	conditional := map[string]string{}
	for id, r := range raw["Resources"].(map[string]any) {
		if c, ok := r.(map[string]any)["Condition"].(string); ok {
			conditional[id] = c
			delete(r.(map[string]any), "Condition")
		}
	}
	data, err := json.Marshal(raw)
	if err != nil {
		t.Fatal(err)
	}
	out, err := intrinsics.ProcessJSON(data, opts)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	pruned := pruneNoValue(doc).(map[string]any)
	for id, c := range conditional {
		on, ok := pruned["Conditions"].(map[string]any)[c].(bool)
		if !ok {
			t.Fatalf("render(%v): resource %s has the undefined condition %s", params, id, c)
		}
		if !on {
			delete(pruned["Resources"].(map[string]any), id)
		}
	}
	for _, s := range stringLeaves(pruned["Resources"], pruned["Outputs"]) {
		if strings.Contains(s, "unresolved:") {
			t.Errorf("render(%v): %q holds an unresolved reference", params, s)
		}
	}
	for name, c := range pruned["Conditions"].(map[string]any) {
		if _, ok := c.(bool); !ok {
			t.Errorf("render(%v): condition %s evaluated to %v, want a bool", params, name, c)
		}
	}
	return pruned
}

func renderRef(_ string, input any, tpl any) any {
	name, _ := input.(string)
	if name == "AWS::NoValue" {
		return nil
	}
	if v, ok := pseudoParameters[name]; ok {
		return v
	}
	doc, _ := tpl.(map[string]any)
	if p, ok := doc["Parameters"].(map[string]any)[name].(map[string]any); ok {
		if def, ok := p["Default"]; ok {
			return def
		}
		return "unresolved:" + name
	}
	if _, ok := doc["Resources"].(map[string]any)[name]; ok {
		return "ref:" + name
	}
	return "unresolved:" + name
}

func renderGetAtt(_ string, input any, tpl any) any {
	var res, attr string
	switch in := input.(type) {
	case string:
		res, attr, _ = strings.Cut(in, ".")
	case []any:
		if len(in) == 2 {
			res, _ = in[0].(string)
			attr, _ = in[1].(string)
		}
	}
	doc, _ := tpl.(map[string]any)
	if _, ok := doc["Resources"].(map[string]any)[res]; !ok || attr == "" {
		return fmt.Sprintf("unresolved:%v", input)
	}
	return "getatt:" + res + "." + attr
}

var subVariable = regexp.MustCompile(`\$\{([^}]*)\}`)

func renderSub(_ string, input any, tpl any) any {
	var src string
	vars := map[string]any{}
	switch in := input.(type) {
	case string:
		src = in
	case []any:
		if len(in) != 2 {
			return fmt.Sprintf("unresolved:%v", input)
		}
		src, _ = in[0].(string)
		vars, _ = in[1].(map[string]any)
	}
	return subVariable.ReplaceAllStringFunc(src, func(m string) string {
		name := m[2 : len(m)-1]
		if strings.HasPrefix(name, "!") {
			return "${" + name[1:] + "}"
		}
		var v any
		if val, ok := vars[name]; ok {
			v = val
		} else if res, attr, found := strings.Cut(name, "."); found {
			v = renderGetAtt("", []any{res, attr}, tpl)
		} else {
			v = renderRef("", name, tpl)
		}
		if s, ok := v.(string); ok {
			return s
		}
		return "unresolved:" + name
	})
}

// renderSplit is Fn::Split returning a generic list, which goformation's
// Fn::Select needs (its own Fn::Split returns []string).
func renderSplit(_ string, input any, _ any) any {
	in, _ := input.([]any)
	if len(in) != 2 {
		return fmt.Sprintf("unresolved:%v", input)
	}
	sep, _ := in[0].(string)
	src, ok := in[1].(string)
	if !ok || sep == "" {
		return fmt.Sprintf("unresolved:%v", input)
	}
	var out []any
	for _, part := range strings.Split(src, sep) {
		out = append(out, part)
	}
	return out
}

// pruneNoValue drops null map values and list items, as AWS::NoValue does.
func pruneNoValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if e == nil {
				delete(v, k)
				continue
			}
			v[k] = pruneNoValue(e)
		}
	case []any:
		kept := v[:0]
		for _, e := range v {
			if e != nil {
				kept = append(kept, pruneNoValue(e))
			}
		}
		return kept
	}
	return v
}

// stringLeaves returns every string anywhere in vs, map keys excluded.
func stringLeaves(vs ...any) []string {
	var out []string
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case string:
			out = append(out, v)
		case map[string]any:
			for _, e := range v {
				walk(e)
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	for _, v := range vs {
		walk(v)
	}
	return out
}

// lookup follows keys through nested maps.
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

// dig is lookup that fails the test when a key is missing.
func dig(t *testing.T, v any, keys ...string) any {
	t.Helper()
	got, ok := lookup(v, keys...)
	if !ok {
		t.Fatalf("template has no %s", strings.Join(keys, "."))
	}
	return got
}

// digMap is dig for a value that must be a mapping.
func digMap(t *testing.T, v any, keys ...string) map[string]any {
	t.Helper()
	m, ok := dig(t, v, keys...).(map[string]any)
	if !ok {
		t.Fatalf("%s is %T, want a mapping", strings.Join(keys, "."), dig(t, v, keys...))
	}
	return m
}

// assertJSON fails unless got equals the JSON document want.
func assertJSON(t *testing.T, what string, got any, want string) {
	t.Helper()
	var w any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad expectation for %s: %v", what, err)
	}
	if !reflect.DeepEqual(got, w) {
		g, _ := json.Marshal(got)
		t.Errorf("%s = %s, want %s", what, g, want)
	}
}

// keys returns the sorted keys of m.
func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// statements returns the statements of the role's inline policies by Sid.
// Statements that are not plain mappings (e.g. an unevaluated Fn::If) are
// returned under the key "Fn::If#<n>".
func statements(t *testing.T, doc map[string]any) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	policies, _ := dig(t, doc, "Resources", roleID, "Properties", "Policies").([]any)
	for _, p := range policies {
		list, _ := dig(t, p, "PolicyDocument", "Statement").([]any)
		for i, s := range list {
			st, ok := s.(map[string]any)
			if !ok {
				t.Fatalf("statement %d is %T", i, s)
			}
			sid, ok := st["Sid"].(string)
			if !ok {
				sid = fmt.Sprintf("Fn::If#%d", i)
			}
			if _, dup := out[sid]; dup {
				t.Errorf("duplicate statement %s", sid)
			}
			out[sid] = st
		}
	}
	return out
}

// actions returns a statement's Action as a sorted list.
func actions(st map[string]any) []string {
	var out []string
	switch a := st["Action"].(type) {
	case string:
		out = []string{a}
	case []any:
		for _, e := range a {
			s, _ := e.(string)
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out
}
