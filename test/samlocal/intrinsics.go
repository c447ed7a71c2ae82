package samlocal

import (
	"fmt"
	"reflect"
	"regexp"
	"strings"
)

// resolver is SAM CLI's IntrinsicResolver with its IntrinsicsSymbolTable,
// for the intrinsic functions CloudFormation templates commonly use.
type resolver struct {
	params     map[string]any // pseudo parameters, Defaults, overrides
	templateP  map[string]any // the Parameters section
	resources  map[string]any
	mappings   map[string]any
	conditions map[string]any
}

func newResolver(doc map[string]any, overrides map[string]string) *resolver {
	r := &resolver{params: map[string]any{}}
	r.templateP, _ = doc["Parameters"].(map[string]any)
	r.resources, _ = doc["Resources"].(map[string]any)
	r.mappings, _ = doc["Mappings"].(map[string]any)
	r.conditions, _ = doc["Conditions"].(map[string]any)
	for k, v := range PseudoParameters {
		r.params[k] = v
	}
	for k, p := range r.templateP {
		if d, ok := lookup(p, "Default"); ok {
			r.params[k] = d
		}
	}
	for k, v := range overrides {
		r.params[k] = v
	}
	return r
}

// resolveLenient is intrinsic_property_resolver with ignore_errors: an
// object that is not an intrinsic function has each member resolved, and a
// member that fails keeps its original, unresolved value.
func (r *resolver) resolveLenient(v any) any {
	switch x := v.(type) {
	case []any:
		out := make([]any, len(x))
		for i, item := range x {
			out[i] = r.resolveLenient(item)
		}
		return out
	case map[string]any:
		if isIntrinsic(x) {
			got, err := r.resolve(x)
			if err != nil {
				return x
			}
			return got
		}
		out := make(map[string]any, len(x))
		for k, val := range x {
			got, err := r.resolve(val)
			if err != nil {
				got = val
			}
			out[k] = got
		}
		return out
	}
	return v
}

var intrinsicKeys = map[string]bool{
	"Ref": true, "Fn::GetAtt": true, "Fn::Sub": true, "Fn::If": true, "Fn::Equals": true,
	"Fn::Not": true, "Fn::And": true, "Fn::Or": true, "Fn::FindInMap": true, "Fn::Select": true,
	"Fn::Split": true, "Fn::Join": true, "Fn::Base64": true, "Fn::GetAZs": true,
	"Fn::ImportValue": true, "Fn::Transform": true, "Condition": true,
}

func isIntrinsic(m map[string]any) bool {
	if len(m) != 1 {
		return false
	}
	for k := range m {
		return intrinsicKeys[k]
	}
	return false
}

// resolve resolves v strictly: an unresolvable part is an error (SAM's
// InvalidIntrinsicException / InvalidSymbolException).
func (r *resolver) resolve(v any) (any, error) {
	switch x := v.(type) {
	case nil:
		return nil, fmt.Errorf("%w: missing intrinsic property", errUnresolved)
	case []any:
		out := make([]any, len(x))
		for i, item := range x {
			if m, ok := item.(map[string]any); ok && isNoValue(m) {
				out[i] = nil // resolved to None inside a list without error
				continue
			}
			got, err := r.resolve(item)
			if err != nil {
				return nil, err
			}
			out[i] = got
		}
		return out, nil
	case map[string]any:
		if !isIntrinsic(x) {
			out := make(map[string]any, len(x))
			for k, val := range x {
				got, err := r.resolve(val)
				if err != nil {
					got = val // SAM keeps the member as is (aws-sam-cli#1386)
				}
				out[k] = got
			}
			return out, nil
		}
		for k, arg := range x {
			return r.intrinsic(k, arg)
		}
	}
	return v, nil
}

func isNoValue(m map[string]any) bool {
	ref, ok := m["Ref"]
	return ok && len(m) == 1 && ref == "AWS::NoValue"
}

func (r *resolver) intrinsic(fn string, arg any) (any, error) {
	switch fn {
	case "Ref":
		name, ok := arg.(string)
		if !ok {
			return nil, fmt.Errorf("%w: Ref of %v", errUnresolved, arg)
		}
		if name == "AWS::NoValue" {
			return nil, nil
		}
		return r.symbol(name, "Ref")
	case "Fn::GetAtt":
		var id, attr string
		switch a := arg.(type) {
		case string:
			id, attr, _ = strings.Cut(a, ".")
		case []any:
			if len(a) == 2 {
				id, _ = a[0].(string)
				attr, _ = a[1].(string)
			}
		}
		if id == "" || attr == "" {
			return nil, fmt.Errorf("%w: Fn::GetAtt %v", errUnresolved, arg)
		}
		return r.symbol(id, attr)
	case "Fn::Sub":
		return r.sub(arg)
	case "Fn::If":
		args, err := r.list(arg, 3, fn)
		if err != nil {
			return nil, err
		}
		// SAM resolves both branches; a None (AWS::NoValue) branch is a
		// "missing intrinsic property" whatever the condition says.
		if args[1] == nil || args[2] == nil {
			return nil, fmt.Errorf("%w: Fn::If with an AWS::NoValue branch", errUnresolved)
		}
		name, _ := args[0].(string)
		c, err := r.condition(name)
		if err != nil {
			return nil, err
		}
		if c {
			return args[1], nil
		}
		return args[2], nil
	case "Fn::Equals":
		args, err := r.list(arg, 2, fn)
		if err != nil {
			return nil, err
		}
		return reflect.DeepEqual(args[0], args[1]), nil
	case "Fn::Not", "Fn::And", "Fn::Or":
		args, err := r.list(arg, -1, fn)
		if err != nil {
			return nil, err
		}
		var bs []bool
		for _, a := range args {
			b, ok := a.(bool)
			if !ok {
				return nil, fmt.Errorf("%w: %s of a non-boolean", errUnresolved, fn)
			}
			bs = append(bs, b)
		}
		switch {
		case fn == "Fn::Not" && len(bs) == 1:
			return !bs[0], nil
		case fn == "Fn::And":
			all := true
			for _, b := range bs {
				all = all && b
			}
			return all, nil
		case fn == "Fn::Or":
			any := false
			for _, b := range bs {
				any = any || b
			}
			return any, nil
		}
		return nil, fmt.Errorf("%w: %s arguments", errUnresolved, fn)
	case "Condition":
		name, _ := arg.(string)
		return r.condition(name)
	case "Fn::FindInMap":
		args, err := r.list(arg, 3, fn)
		if err != nil {
			return nil, err
		}
		keys := make([]string, 3)
		for i, a := range args {
			keys[i], _ = a.(string)
		}
		v, ok := lookup(r.mappings, keys...)
		if !ok {
			return nil, fmt.Errorf("%w: Fn::FindInMap %v", errUnresolved, keys)
		}
		return v, nil
	case "Fn::Select":
		args, err := r.list(arg, 2, fn)
		if err != nil {
			return nil, err
		}
		list, ok := args[1].([]any)
		i, isNum := toIndex(args[0])
		if !ok || !isNum || i < 0 || i >= len(list) {
			return nil, fmt.Errorf("%w: Fn::Select %v", errUnresolved, args)
		}
		return list[i], nil
	case "Fn::Split":
		args, err := r.list(arg, 2, fn)
		if err != nil {
			return nil, err
		}
		d, ok1 := args[0].(string)
		s, ok2 := args[1].(string)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("%w: Fn::Split %v", errUnresolved, args)
		}
		var out []any
		for _, p := range strings.Split(s, d) {
			out = append(out, p)
		}
		return out, nil
	case "Fn::Join":
		args, err := r.list(arg, 2, fn)
		if err != nil {
			return nil, err
		}
		d, ok1 := args[0].(string)
		items, ok2 := args[1].([]any)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("%w: Fn::Join %v", errUnresolved, args)
		}
		parts := make([]string, len(items))
		for i, it := range items {
			parts[i] = fmt.Sprint(it)
		}
		return strings.Join(parts, d), nil
	}
	return nil, fmt.Errorf("%w: %s is not supported", errUnresolved, fn)
}

func toIndex(v any) (int, bool) {
	switch x := v.(type) {
	case float64:
		return int(x), true
	case string:
		var i int
		_, err := fmt.Sscanf(x, "%d", &i)
		return i, err == nil
	}
	return 0, false
}

func (r *resolver) list(arg any, n int, fn string) ([]any, error) {
	got, err := r.resolve(arg)
	if err != nil {
		return nil, err
	}
	l, ok := got.([]any)
	if !ok || (n >= 0 && len(l) != n) {
		return nil, fmt.Errorf("%w: %s takes %d arguments", errUnresolved, fn, n)
	}
	return l, nil
}

func (r *resolver) condition(name string) (bool, error) {
	c, ok := r.conditions[name]
	if !ok {
		return false, fmt.Errorf("%w: no condition %q", errUnresolved, name)
	}
	got, err := r.resolve(c)
	if err != nil {
		return false, err
	}
	b, ok := got.(bool)
	if !ok {
		return false, fmt.Errorf("%w: condition %q is not a boolean", errUnresolved, name)
	}
	return b, nil
}

// symbol is IntrinsicsSymbolTable.resolve_symbols.
func (r *resolver) symbol(id, attr string) (any, error) {
	if v, ok := r.params[id]; ok {
		if attr != "Ref" {
			return nil, fmt.Errorf("%w: %s.%s", errUnresolved, id, attr)
		}
		return v, nil
	}
	if res, ok := r.resources[id].(map[string]any); ok && res["Type"] == "AWS::ApiGateway::RestApi" && attr == "RootResourceId" {
		return "/", nil
	}
	switch attr {
	case "Ref":
		return id, nil // a resource SAM cannot create: its logical id
	case "Arn":
		region, _ := r.params["AWS::Region"].(string)
		account, _ := r.params["AWS::AccountId"].(string)
		partition, _ := r.params["AWS::Partition"].(string)
		name := id
		if fn, ok := lookup(r.resources, id, "Properties", "FunctionName"); ok {
			if s, ok := fn.(string); ok && s != "" {
				name = s
			}
		}
		return fmt.Sprintf("arn:%s:lambda:%s:%s:function:%s", partition, region, account, name), nil
	}
	return nil, fmt.Errorf("%w: %s.%s", errUnresolved, id, attr)
}

var subVar = regexp.MustCompile(`\$\{([^}!]+)\}`)

// sub is handle_fn_sub: each ${X} (or the value of X in the variable map)
// is looked up as a symbol; an unknown X.Attr becomes "$X.Attr".
func (r *resolver) sub(arg any) (any, error) {
	var tmpl string
	vars := map[string]any{}
	switch a := arg.(type) {
	case string:
		tmpl = a
	case []any:
		if len(a) != 2 {
			return nil, fmt.Errorf("%w: Fn::Sub arguments", errUnresolved)
		}
		s, ok := a[0].(string)
		if !ok {
			return nil, fmt.Errorf("%w: Fn::Sub template", errUnresolved)
		}
		tmpl = s
		got, err := r.resolve(a[1])
		if err != nil {
			return nil, err
		}
		m, ok := got.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%w: Fn::Sub variables", errUnresolved)
		}
		vars = m
	default:
		return nil, fmt.Errorf("%w: Fn::Sub %v", errUnresolved, arg)
	}
	return subVar.ReplaceAllStringFunc(tmpl, func(m string) string {
		item := m[2 : len(m)-1]
		if v, ok := vars[item]; ok {
			item = fmt.Sprint(v)
		}
		id, attr := item, "Ref"
		if i := strings.LastIndex(item, "."); i >= 0 {
			id, attr = item[:i], item[i+1:]
		}
		got, err := r.symbol(id, attr)
		if err != nil {
			return "$" + item // Python's "${}".format(item)
		}
		return fmt.Sprint(got)
	}), nil
}
