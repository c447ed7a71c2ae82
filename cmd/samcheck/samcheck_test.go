package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// decode unmarshals JSON the way TemplateJSON's output is compared in tests.
func decode(t *testing.T, data []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %s: %v", data, err)
	}
	return v
}

func TestTemplateJSONKeepsIntrinsicsInLongForm(t *testing.T) {
	const tpl = `
Transform: AWS::Serverless-2016-10-31
Conditions:
  IsPublic: !Equals [!Ref Mode, NONE]
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Timeout: 10
      Tracing: Active
      Architectures: [arm64]
      Role: !GetAtt Role.Arn
      Env: !Sub "https://${Api}.execute-api.${AWS::Region}.${AWS::URLSuffix}"
      Url: !Sub
        - "https://sqs.${R}.${AWS::URLSuffix}/${N}"
        - R: !Select [3, !Split [":", !Ref QueueArn]]
          N: name
      Security: !If [IsPublic, [], [{AWS_IAM: []}]]
      Nothing: !Ref AWS::NoValue
      Version: "2012-10-17"
      Enabled: true
      Ratio: 0.5
      Dotted: !GetAtt Db.Endpoint.Address
      LongForm:
        Fn::GetAtt: [Queue, Arn]
`
	got, err := TemplateJSON([]byte(tpl))
	if err != nil {
		t.Fatal(err)
	}
	const want = `{
  "Transform": "AWS::Serverless-2016-10-31",
  "Conditions": {"IsPublic": {"Fn::Equals": [{"Ref": "Mode"}, "NONE"]}},
  "Resources": {"Fn": {
    "Type": "AWS::Serverless::Function",
    "Properties": {
      "Timeout": 10,
      "Tracing": "Active",
      "Architectures": ["arm64"],
      "Role": {"Fn::GetAtt": ["Role", "Arn"]},
      "Env": {"Fn::Sub": "https://${Api}.execute-api.${AWS::Region}.${AWS::URLSuffix}"},
      "Url": {"Fn::Sub": [
        "https://sqs.${R}.${AWS::URLSuffix}/${N}",
        {"R": {"Fn::Select": [3, {"Fn::Split": [":", {"Ref": "QueueArn"}]}]}, "N": "name"}
      ]},
      "Security": {"Fn::If": ["IsPublic", [], [{"AWS_IAM": []}]]},
      "Nothing": {"Ref": "AWS::NoValue"},
      "Version": "2012-10-17",
      "Enabled": true,
      "Ratio": 0.5,
      "Dotted": {"Fn::GetAtt": ["Db", "Endpoint.Address"]},
      "LongForm": {"Fn::GetAtt": ["Queue", "Arn"]}
    }
  }}
}`
	if g, w := decode(t, got), decode(t, []byte(want)); !reflect.DeepEqual(g, w) {
		t.Errorf("TemplateJSON =\n%s\nwant\n%s", got, want)
	}
}

func TestTemplateJSONAcceptsJSON(t *testing.T) {
	const tpl = `{"Resources": {"Q": {"Type": "AWS::SQS::Queue", "Properties": {"VisibilityTimeout": {"Ref": "T"}}}}}`
	got, err := TemplateJSON([]byte(tpl))
	if err != nil {
		t.Fatal(err)
	}
	if g, w := decode(t, got), decode(t, []byte(tpl)); !reflect.DeepEqual(g, w) {
		t.Errorf("TemplateJSON = %s, want %s", got, tpl)
	}
}

func TestTemplateJSONRejects(t *testing.T) {
	for name, tpl := range map[string]string{
		"unsupported tag": "Conditions:\n  Both: !And [!Condition A, !Condition B]\n",
		"invalid YAML":    "Resources: [unclosed\n",
		"not a mapping":   "- just\n- a list\n",
	} {
		t.Run(name, func(t *testing.T) {
			if got, err := TemplateJSON([]byte(tpl)); err == nil {
				t.Errorf("TemplateJSON(%q) = %s, want an error", tpl, got)
			}
		})
	}
}

// tinySchema mimics the SAM schema's shape: resources are an anyOf over
// resource types told apart by Type.
const tinySchema = `{
  "$schema": "http://json-schema.org/draft-04/schema#",
  "type": "object",
  "required": ["Resources"],
  "properties": {"Resources": {"type": "object", "additionalProperties": {"anyOf": [
    {"$ref": "#/definitions/Function"},
    {"$ref": "#/definitions/Other"}
  ]}}},
  "definitions": {
    "Function": {
      "type": "object", "additionalProperties": false, "required": ["Type"],
      "properties": {
        "Type": {"enum": ["AWS::Serverless::Function"]},
        "Properties": {"type": "object", "additionalProperties": false, "properties": {
          "Tracing": {"anyOf": [{"type": "object"}, {"enum": ["Active", "PassThrough"]}]},
          "Timeout": {}
        }}
      }
    },
    "Other": {
      "type": "object", "required": ["Type"],
      "properties": {"Type": {"type": "string", "not": {"pattern": "^AWS::Serverless::"}}}
    }
  }
}`

func compileTiny(t *testing.T) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(tinySchema))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("mem://tiny.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("mem://tiny.json")
	if err != nil {
		t.Fatal(err)
	}
	return sch
}

func TestCheck(t *testing.T) {
	sch := compileTiny(t)
	tests := []struct {
		name string
		tpl  string
		want []string
	}{
		{
			name: "valid with intrinsics",
			tpl:  "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n      Tracing: !If [C, Active, PassThrough]\n      Timeout: !Ref T\n  Q:\n    Type: AWS::SQS::Queue\n",
		},
		{
			name: "violations of the matching type only",
			tpl:  "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n      Tracing: Bogus\n      Memory: 1\n",
			want: []string{
				"at /Resources/Fn/Properties/Tracing: got string, want object",
				"at /Resources/Fn/Properties/Tracing: value must be one of 'Active', 'PassThrough'",
				"at /Resources/Fn/Properties: additional properties 'Memory' not allowed",
			},
		},
		{
			name: "missing Resources",
			tpl:  "Outputs: {}\n",
			want: []string{`at "": missing property 'Resources'`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Check(sch, []byte(tt.tpl))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Check =\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

func TestRun(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	schema := write("schema.json", tinySchema)
	good := write("good.yaml", "Resources:\n  Q:\n    Type: AWS::SQS::Queue\n")
	bad := write("bad.yaml", "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties: {Tracing: Off}\n")

	tests := []struct {
		name       string
		args       []string
		wantStatus int
		wantOut    []string
	}{
		{"valid", []string{"-schema", schema, good}, 0, []string{good + ": valid against " + schema}},
		{"invalid", []string{"-schema", schema, good, bad}, 1, []string{good + ": valid against ", bad + ": at /Resources/Fn/Properties/Tracing: "}},
		{"missing template", []string{"-schema", schema, filepath.Join(dir, "nope.yaml")}, 1, nil},
		{"no schema flag", []string{good}, 2, nil},
		{"no template", []string{"-schema", schema}, 2, nil},
		{"unreadable schema", []string{"-schema", filepath.Join(dir, "nope.json"), good}, 2, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if got := run(tt.args, &stdout, &stderr); got != tt.wantStatus {
				t.Errorf("run(%q) = %d, want %d; stdout:\n%s\nstderr:\n%s", tt.args, got, tt.wantStatus, &stdout, &stderr)
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(stdout.String(), w) {
					t.Errorf("stdout lacks %q:\n%s", w, &stdout)
				}
			}
		})
	}
}
