//go:build linux

package rehearsal

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
)

// unsupportedByMoto lists the resource types that moto's CloudFormation
// cannot create (it logs "No Moto CloudFormation support for TYPE", skips
// the resource and leaves references to it unresolved: "${HttpApi}" in an
// output, "None" in a permission's SourceArn). The rehearsal strips the
// template's resources of these types and gives each reference to them a
// stand-in: what CloudFormation's Ref and Fn::GetAtt would return. The test
// fails when the template has a type moto cannot create that is not listed
// here, and, through a probe stack of the stripped resources alone, when
// moto learns to create one of them.
var unsupportedByMoto = map[string]standIn{
	"AWS::ApiGatewayV2::Api": {
		ref:   func(string) string { return standInAPIID },
		attrs: map[string]string{"ApiId": standInAPIID, "ApiEndpoint": "https://" + standInAPIID + ".execute-api." + region + ".amazonaws.com"},
	},
	"AWS::ApiGatewayV2::Stage": {ref: func(string) string { return "$default" }},
	// The stack's alarms; checked unsupported by moto 5.2.1.
	"AWS::CloudWatch::Alarm": {
		ref:   func(id string) string { return stackName + "-" + id },
		attrs: map[string]string{"Arn": "arn:aws:cloudwatch:" + region + ":" + account + ":alarm:" + stackName + "-ALARM"},
	},
}

// standIn is what references to a resource moto cannot create resolve to.
type standIn struct {
	ref func(logicalID string) string
	// attrs are the Fn::GetAtt values; ALARM in a value stands for the logical id.
	attrs map[string]string
}

// standInAPIID is the HTTP API id in the rehearsal (API Gateway ids are 10
// lower-case alphanumerics).
const standInAPIID = "rehearse01"

// template is a CloudFormation template as JSON.
type template map[string]any

func (t template) section(name string) map[string]any {
	m, _ := t[name].(map[string]any)
	return m
}

// resourceType returns the Type of a resource.
func (t template) resourceType(logicalID string) string {
	r, _ := t.section("Resources")[logicalID].(map[string]any)
	typ, _ := r["Type"].(string)
	return typ
}

// properties returns a resource's Properties.
func (t template) properties(logicalID string) map[string]any {
	r, _ := t.section("Resources")[logicalID].(map[string]any)
	p, _ := r["Properties"].(map[string]any)
	return p
}

// samTransform runs scripts/sam-transform.py (aws-sam-translator) on
// template.yaml with the parameters, as CloudFormation's
// AWS::Serverless-2016-10-31 transform would after `sam package` uploaded the
// code to codeURI.
func samTransform(t *testing.T, python, root, codeURI string, params map[string]string) template {
	t.Helper()
	args := []string{filepath.Join(root, "scripts", "sam-transform.py"), filepath.Join(root, "template.yaml"),
		"--code-uri", codeURI, "--region", region}
	for _, k := range slices.Sorted(maps.Keys(params)) {
		args = append(args, "--parameter", k+"="+params[k])
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("sam-transform: %v\n%s", err, stderr.String())
	}
	var tpl template
	if err := json.Unmarshal(out, &tpl); err != nil {
		t.Fatalf("sam-transform output: %v", err)
	}
	if _, ok := tpl["Transform"]; ok {
		t.Fatal("the transformed template still has a Transform")
	}
	return tpl
}

// stripUnsupported removes the resources whose type is in unsupportedByMoto
// and replaces every reference to them (Ref, ${Name} in Fn::Sub, DependsOn)
// with the stand-in value. It returns the stripped resources as a template
// of their own (the probe) and the stripped logical ids with their types.
func stripUnsupported(t *testing.T, tpl template) (probe template, stripped map[string]string) {
	t.Helper()
	resources := tpl.section("Resources")
	stripped = map[string]string{}
	probeResources := map[string]any{}
	standIns := map[string]standIn{}
	for id, r := range resources {
		typ := tpl.resourceType(id)
		if v, ok := unsupportedByMoto[typ]; ok {
			stripped[id] = typ
			standIns[id] = v
			// The probe has no Conditions section for a resource's Condition.
			pr := maps.Clone(r.(map[string]any))
			delete(pr, "Condition")
			probeResources[id] = pr
		}
	}
	for id := range stripped {
		delete(resources, id)
	}
	for id, r := range resources {
		rm := r.(map[string]any)
		if deps, ok := rm["DependsOn"]; ok {
			var keep []any
			for _, d := range anyList(deps) {
				if _, gone := stripped[d.(string)]; !gone {
					keep = append(keep, d)
				}
			}
			rm["DependsOn"] = keep
			if len(keep) == 0 {
				delete(rm, "DependsOn")
			}
		}
		v, err := replaceRefs(rm, standIns)
		if err != nil {
			t.Fatalf("resource %s: %v", id, err)
		}
		resources[id] = v
	}
	for id, o := range tpl.section("Outputs") {
		v, err := replaceRefs(o, standIns)
		if err != nil {
			t.Fatalf("output %s: %v", id, err)
		}
		tpl.section("Outputs")[id] = v
	}
	return template{"AWSTemplateFormatVersion": "2010-09-09", "Resources": probeResources}, stripped
}

// strippedTypes returns the distinct types of stripped, sorted.
func strippedTypes(stripped map[string]string) []string {
	types := slices.Collect(maps.Values(stripped))
	slices.Sort(types)
	return slices.Compact(types)
}

func anyList(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	return []any{v}
}

// replaceRefs returns v with the references to the stand-ins' logical ids
// (Ref, Fn::GetAtt, ${Name} and ${Name.Attr} in Fn::Sub) replaced by their
// values.
func replaceRefs(v any, standIns map[string]standIn) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		if ref, ok := x["Ref"].(string); ok && len(x) == 1 {
			if s, ok := standIns[ref]; ok {
				return s.ref(ref), nil
			}
			return x, nil
		}
		if ga, ok := x["Fn::GetAtt"]; ok && len(x) == 1 {
			id, attr := getAttParts(ga)
			if s, ok := standIns[id]; ok {
				val, ok := s.attrs[attr]
				if !ok {
					return nil, fmt.Errorf("Fn::GetAtt %s.%s of a resource moto cannot create: give it a stand-in", id, attr)
				}
				return strings.ReplaceAll(val, "ALARM", id), nil
			}
			return x, nil
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			if k == "Fn::Sub" {
				var err error
				if e, err = replaceSub(e, standIns); err != nil {
					return nil, err
				}
			}
			r, err := replaceRefs(e, standIns)
			if err != nil {
				return nil, err
			}
			out[k] = r
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			r, err := replaceRefs(e, standIns)
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	default:
		return v, nil
	}
}

// getAttParts splits Fn::GetAtt's ["Id", "Attr"] or "Id.Attr".
func getAttParts(v any) (id, attr string) {
	if l, ok := v.([]any); ok && len(l) == 2 {
		id, _ = l[0].(string)
		attr, _ = l[1].(string)
		return id, attr
	}
	s, _ := v.(string)
	id, attr, _ = strings.Cut(s, ".")
	return id, attr
}

var subVar = regexp.MustCompile(`\$\{([A-Za-z0-9]+)(?:\.([A-Za-z0-9.]+))?\}`)

// replaceSub replaces ${Name} and ${Name.Attr} of a stand-in in a Fn::Sub
// string (either form); the variables of the list form are left to
// replaceRefs.
func replaceSub(v any, standIns map[string]standIn) (any, error) {
	var err error
	repl := func(s string) string {
		return subVar.ReplaceAllStringFunc(s, func(m string) string {
			sm := subVar.FindStringSubmatch(m)
			st, ok := standIns[sm[1]]
			if !ok {
				return m
			}
			if sm[2] == "" {
				return st.ref(sm[1])
			}
			val, ok := st.attrs[sm[2]]
			if !ok {
				err = fmt.Errorf("${%s.%s} of a resource moto cannot create: give it a stand-in", sm[1], sm[2])
			}
			return strings.ReplaceAll(val, "ALARM", sm[1])
		})
	}
	switch x := v.(type) {
	case string:
		return repl(x), err
	case []any:
		if len(x) > 0 {
			if s, ok := x[0].(string); ok {
				out := slices.Clone(x)
				out[0] = repl(s)
				return out, err
			}
		}
	}
	return v, nil
}

// checkParameters checks each parameter value against the template's
// AllowedPattern and AllowedValues (moto does not), and that every
// parameter without a default has a value.
func checkParameters(t *testing.T, tpl template, params map[string]string) {
	t.Helper()
	for name, p := range tpl.section("Parameters") {
		spec := p.(map[string]any)
		v, ok := params[name]
		if !ok {
			if _, hasDefault := spec["Default"]; !hasDefault {
				t.Errorf("parameter %s has no default and no value", name)
			}
			continue
		}
		if pat, ok := spec["AllowedPattern"].(string); ok {
			re, err := regexp.Compile(pat)
			if err != nil {
				t.Errorf("parameter %s: AllowedPattern %q: %v", name, pat, err)
			} else if !re.MatchString(v) {
				t.Errorf("parameter %s=%q does not match its AllowedPattern %q", name, v, pat)
			}
		}
		if allowed, ok := spec["AllowedValues"].([]any); ok && !slices.Contains(allowed, any(v)) {
			t.Errorf("parameter %s=%q is not one of %v", name, v, allowed)
		}
	}
	for name := range params {
		if _, ok := tpl.section("Parameters")[name]; !ok {
			t.Errorf("parameter %s is not in the template", name)
		}
	}
}

// createStack creates a stack and waits until moto reports it complete.
func createStack(t *testing.T, cfn *cloudformation.Client, name string, tpl template, params map[string]string) *cfntypes.Stack {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	body, err := json.Marshal(tpl)
	if err != nil {
		t.Fatal(err)
	}
	in := &cloudformation.CreateStackInput{
		StackName:    aws.String(name),
		TemplateBody: aws.String(string(body)),
		Capabilities: []cfntypes.Capability{cfntypes.CapabilityCapabilityIam, cfntypes.CapabilityCapabilityNamedIam},
	}
	for _, k := range slices.Sorted(maps.Keys(params)) {
		in.Parameters = append(in.Parameters, cfntypes.Parameter{ParameterKey: aws.String(k), ParameterValue: aws.String(params[k])})
	}
	if _, err := cfn.CreateStack(ctx, in); err != nil {
		t.Fatalf("create stack %s: %v", name, err)
	}
	for {
		out, err := cfn.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(name)})
		if err != nil {
			t.Fatalf("describe stack %s: %v", name, err)
		}
		st := out.Stacks[0]
		switch st.StackStatus {
		case cfntypes.StackStatusCreateComplete:
			return &st
		case cfntypes.StackStatusCreateInProgress:
		default:
			t.Fatalf("stack %s: %s %s", name, st.StackStatus, aws.ToString(st.StackStatusReason))
		}
		select {
		case <-ctx.Done():
			t.Fatalf("stack %s not created: %v", name, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// stackResources returns the stack's resources by logical id. moto lists a
// resource it could not create with an empty logical id; those are
// returned under "".
func stackResources(t *testing.T, cfn *cloudformation.Client, name string) map[string]cfntypes.StackResourceSummary {
	t.Helper()
	out := map[string]cfntypes.StackResourceSummary{}
	p := cloudformation.NewListStackResourcesPaginator(cfn, &cloudformation.ListStackResourcesInput{StackName: aws.String(name)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("list stack resources of %s: %v", name, err)
		}
		for _, r := range page.StackResourceSummaries {
			out[aws.ToString(r.LogicalResourceId)] = r
		}
	}
	return out
}

// putS3 stores body at bucket/key in moto's S3 (creating the bucket), as
// `sam package` uploads the code; moto's S3 takes unsigned path-style
// requests.
func putS3(t *testing.T, motoURL, bucket, key string, body []byte) {
	t.Helper()
	for _, u := range []struct {
		url  string
		body []byte
	}{{motoURL + "/" + bucket, nil}, {motoURL + "/" + bucket + "/" + key, body}} {
		req, err := http.NewRequest(http.MethodPut, u.url, bytes.NewReader(u.body))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("PUT %s: %v", u.url, err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("PUT %s: %s", u.url, resp.Status)
		}
	}
}
