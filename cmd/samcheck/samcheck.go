package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/awslabs/goformation/v7/intrinsics"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"gopkg.in/yaml.v3"
)

// shortFormTags are the CloudFormation short-form tags that goformation's
// intrinsics package rewrites to their long form. A template using another
// local tag (for example !Condition) is refused rather than converted wrongly:
// yaml.v3 would silently drop the tag.
var shortFormTags = map[string]bool{
	"!Ref": true, "!GetAtt": true, "!Base64": true, "!FindInMap": true, "!GetAZs": true,
	"!ImportValue": true, "!Join": true, "!Select": true, "!Split": true, "!Sub": true,
	"!Equals": true, "!Cidr": true, "!And": true, "!If": true, "!Not": true, "!Or": true,
}

// TemplateJSON converts a CloudFormation/SAM template, YAML (short-form tags
// allowed) or JSON, to indented JSON without evaluating anything: intrinsic
// functions stay in their long form, e.g. {"Ref": "X"} and {"Fn::Sub": "..."}.
// The one rewrite is the one CloudFormation documents for the short form of
// Fn::GetAtt: "Resource.Attribute" becomes ["Resource", "Attribute"].
func TemplateJSON(data []byte) ([]byte, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("invalid YAML template: %w", err)
	}
	if err := checkTags(&root); err != nil {
		return nil, err
	}

	raw, err := intrinsics.ProcessYAML(data, &intrinsics.ProcessorOptions{NoProcess: true})
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, err
	}
	if _, ok := doc.(map[string]any); !ok {
		return nil, errors.New("template is not a mapping")
	}
	return json.MarshalIndent(normalizeGetAtt(doc), "", "  ")
}

// checkTags reports the first local YAML tag that TemplateJSON cannot convert.
func checkTags(n *yaml.Node) error {
	if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") && !shortFormTags[n.Tag] {
		return fmt.Errorf("line %d: unsupported YAML tag %s (write the long form instead)", n.Line, n.Tag)
	}
	for _, c := range n.Content {
		if err := checkTags(c); err != nil {
			return err
		}
	}
	return nil
}

// normalizeGetAtt rewrites {"Fn::GetAtt": "A.B"} to {"Fn::GetAtt": ["A", "B"]}
// everywhere in v. Logical IDs are alphanumeric, so the first dot separates
// the resource from its (possibly dotted) attribute.
func normalizeGetAtt(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if s, ok := e.(string); ok && k == "Fn::GetAtt" && len(v) == 1 {
				if res, attr, found := strings.Cut(s, "."); found {
					v[k] = []any{res, attr}
					continue
				}
			}
			v[k] = normalizeGetAtt(e)
		}
	case []any:
		for i, e := range v {
			v[i] = normalizeGetAtt(e)
		}
	}
	return v
}

// CompileSchema compiles the JSON schema stored at path (a file path or URL).
func CompileSchema(path string) (*jsonschema.Schema, error) {
	schema, err := jsonschema.NewCompiler().Compile(path)
	if err != nil {
		return nil, fmt.Errorf("compile schema %s: %w", path, err)
	}
	return schema, nil
}

// Check converts the template in data to JSON and validates it against
// schema. It returns the violations (none when the template is valid), or an
// error when the template cannot be converted at all.
func Check(schema *jsonschema.Schema, data []byte) ([]string, error) {
	doc, err := TemplateJSON(data)
	if err != nil {
		return nil, err
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return nil, err
	}
	err = schema.Validate(inst)
	var ve *jsonschema.ValidationError
	switch {
	case err == nil:
		return nil, nil
	case errors.As(err, &ve):
		return Violations(ve), nil
	default:
		return nil, err
	}
}

var printer = message.NewPrinter(language.English)

// Violations flattens a validation error into one "at <pointer>: <message>"
// line per failed leaf keyword. The SAM schema describes each resource and
// each function event as an anyOf over types told apart by "Type"; the
// branches for the other types only say that Type does not match, so when at
// least one branch accepts the Type, only those branches are reported.
func Violations(ve *jsonschema.ValidationError) []string {
	var out []string
	collect(ve, &out)
	slices.Sort(out)
	return slices.Compact(out)
}

func collect(ve *jsonschema.ValidationError, out *[]string) {
	causes := ve.Causes
	switch ve.ErrorKind.(type) {
	case *kind.AnyOf, *kind.OneOf:
		typeLoc := append(slices.Clone(ve.InstanceLocation), "Type")
		var matching []*jsonschema.ValidationError
		for _, c := range causes {
			if !failsAt(c, typeLoc) {
				matching = append(matching, c)
			}
		}
		if len(matching) > 0 {
			causes = matching
		}
	}
	if len(causes) == 0 {
		*out = append(*out, fmt.Sprintf("at %s: %s", pointer(ve.InstanceLocation), ve.ErrorKind.LocalizedString(printer)))
		return
	}
	for _, c := range causes {
		collect(c, out)
	}
}

// failsAt reports whether ve or one of its causes is about the value at loc.
func failsAt(ve *jsonschema.ValidationError, loc []string) bool {
	if slices.Equal(ve.InstanceLocation, loc) {
		return true
	}
	for _, c := range ve.Causes {
		if failsAt(c, loc) {
			return true
		}
	}
	return false
}

// pointer renders a location as a JSON pointer (RFC 6901); "" is the root.
func pointer(loc []string) string {
	if len(loc) == 0 {
		return `""`
	}
	var sb strings.Builder
	r := strings.NewReplacer("~", "~0", "/", "~1")
	for _, tok := range loc {
		sb.WriteByte('/')
		sb.WriteString(r.Replace(tok))
	}
	return sb.String()
}
