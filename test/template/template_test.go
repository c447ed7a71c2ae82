package template_test

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/awslabs/goformation/v7/cloudformation/serverless"
)

// designEnvVars are the environment variables the template sets on the
// function, exactly (docs/CONFIGURATION.md documents each).
var designEnvVars = []string{
	"AWS_ENDPOINT_URL",
	"CREDENTIALS_TTL",
	"DEAD_LETTER_QUEUE_URL",
	"FORWARD_EVENT_BUS",
	"FORWARD_HTTPS_URL",
	"FORWARD_SQS_QUEUE_URL",
	"LOG_LEVEL",
	"METRICS_NAMESPACE",
	"PUBLIC_BASE_URL",
	"PUBLIC_WEBHOOK_URL",
	"RETRY_MAX_RECEIVE_COUNT",
	"RETRY_QUEUE_URL",
	"SIGNALWIRE_SECRET_ID",
	"SIGNALWIRE_SPACE_HOST",
	"SSL_CERT_DIR",
	"WEBHOOK_MAX_AGE",
	"WEBHOOK_SIGNATURE_VERIFICATION",
}

// allDestinations enables every optional forwarding destination.
var allDestinations = map[string]string{
	"ForwardHttpsUrl":     "https://hooks.example.net/signalwire",
	"ForwardEventBusName": "participants-bus",
	"ForwardQueueArn":     "arn:aws:sqs:us-west-2:210987654321:participant-events.fifo",
}

func function(t *testing.T) *serverless.Function {
	t.Helper()
	fn, err := typedTemplate(t).GetServerlessFunctionWithName(functionID)
	if err != nil {
		t.Fatal(err)
	}
	return fn
}

// deref renders an optional string of goformation's typed model.
func deref(p *string) string {
	if p == nil {
		return "<unset>"
	}
	return *p
}

func TestTransformIsSAM(t *testing.T) {
	doc := rawTemplate(t)
	assertJSON(t, "Transform", doc["Transform"], `"AWS::Serverless-2016-10-31"`)
}

func TestFunctionRuntime(t *testing.T) {
	fn := function(t)
	if fn.CodeUri == nil || deref(fn.CodeUri.String) != "." {
		t.Errorf("CodeUri is not the string \".\" (the Makefile builds from the module root)")
	}
	for name, c := range map[string]struct{ got *string }{
		"Handler:bootstrap":       {fn.Handler},
		"Runtime:provided.al2023": {fn.Runtime},
		"Tracing:Active":          {fn.Tracing},
	} {
		field, want, _ := strings.Cut(name, ":")
		if c.got == nil || *c.got != want {
			t.Errorf("%s = %s, want %s", field, deref(c.got), want)
		}
	}
	// arm64 as deployed; the Architecture parameter (x86_64 for sam local on
	// an x86-64 host) is what the Makefile's SAM target builds for.
	if !slices.Equal(fn.Architectures, []string{"arm64"}) {
		t.Errorf("Architectures = %v, want [arm64]", fn.Architectures)
	}
	for arch, want := range map[string]string{"": "arm64", "arm64": "arm64", "x86_64": "x86_64"} {
		params := map[string]string{}
		if arch != "" {
			params["Architecture"] = arch
		}
		got := dig(t, render(t, params), "Resources", functionID, "Properties", "Architectures")
		if l, _ := got.([]any); len(l) != 1 || l[0] != want {
			t.Errorf("Architecture=%q: Architectures = %v, want [%s]", arch, got, want)
		}
	}
	if got := fn.AWSCloudFormationMetadata["BuildMethod"]; got != "makefile" {
		t.Errorf("Metadata.BuildMethod = %v, want makefile", got)
	}
	if fn.MemorySize == nil || *fn.MemorySize != 256 {
		t.Errorf("MemorySize = %v, want 256", fn.MemorySize)
	}
	// The SignalWire call, its retries and a forward must fit well inside
	// API Gateway's 30 s integration timeout.
	if fn.Timeout == nil || *fn.Timeout < 5 || *fn.Timeout > 15 {
		t.Errorf("Timeout = %v, want 5..15 s", fn.Timeout)
	}
	if fn.FunctionUrlConfig != nil {
		t.Errorf("FunctionUrlConfig is set; the HTTP API is the only public surface")
	}
	if fn.Policies != nil {
		t.Errorf("Policies is set; permissions belong to %s (SAM adds managed policies with * resources otherwise)", roleID)
	}
	raw := rawTemplate(t)
	assertJSON(t, "Role", dig(t, raw, "Resources", functionID, "Properties", "Role"), `{"Fn::GetAtt": ["`+roleID+`", "Arn"]}`)
}

func TestLoggingConfig(t *testing.T) {
	got := dig(t, rawTemplate(t), "Resources", functionID, "Properties", "LoggingConfig")
	assertJSON(t, "LoggingConfig", got, `{
		"LogFormat": "JSON",
		"ApplicationLogLevel": {"Ref": "LogLevel"},
		"SystemLogLevel": "WARN",
		"LogGroup": {"Ref": "ParticipantsLogGroup"}
	}`)
	for _, level := range []string{"DEBUG", "INFO", "WARN", "ERROR"} {
		doc := render(t, map[string]string{"LogLevel": level})
		if got := dig(t, doc, "Resources", functionID, "Properties", "LoggingConfig", "ApplicationLogLevel"); got != level {
			t.Errorf("LogLevel=%s: ApplicationLogLevel = %v", level, got)
		}
		if got := dig(t, doc, "Resources", functionID, "Properties", "Environment", "Variables", "LOG_LEVEL"); got != strings.ToLower(level) {
			t.Errorf("LogLevel=%s: LOG_LEVEL = %v, want %s", level, got, strings.ToLower(level))
		}
	}
}

func TestEnvironmentVariableNames(t *testing.T) {
	vars := digMap(t, rawTemplate(t), "Resources", functionID, "Properties", "Environment", "Variables")
	if got := keys(vars); !slices.Equal(got, designEnvVars) {
		t.Errorf("environment variables = %v, want %v", got, designEnvVars)
	}
}

func TestEnvironmentVariableValues(t *testing.T) {
	vars := digMap(t, rawTemplate(t), "Resources", functionID, "Properties", "Environment", "Variables")
	for name, want := range map[string]string{
		"SIGNALWIRE_SECRET_ID":           `{"Ref": "SignalWireSecretArn"}`,
		"SIGNALWIRE_SPACE_HOST":          `{"Fn::If": ["HasSpaceHost", {"Ref": "SignalWireSpaceHost"}, {"Ref": "AWS::NoValue"}]}`,
		"CREDENTIALS_TTL":                `{"Ref": "CredentialsTtl"}`,
		"LOG_LEVEL":                      `{"Fn::FindInMap": ["LogLevels", {"Ref": "LogLevel"}, "Env"]}`,
		"PUBLIC_BASE_URL":                `{"Ref": "PublicBaseUrl"}`,
		"PUBLIC_WEBHOOK_URL":             `{"Ref": "PublicWebhookUrl"}`,
		"WEBHOOK_SIGNATURE_VERIFICATION": `"on"`,
		"WEBHOOK_MAX_AGE":                `{"Ref": "WebhookMaxAge"}`,
		"FORWARD_HTTPS_URL":              `{"Fn::If": ["HasForwardHttps", {"Ref": "ForwardHttpsUrl"}, {"Ref": "AWS::NoValue"}]}`,
		"FORWARD_EVENT_BUS":              `{"Fn::If": ["HasForwardEventBus", {"Ref": "ForwardEventBusName"}, {"Ref": "AWS::NoValue"}]}`,
		"RETRY_QUEUE_URL":                `{"Ref": "RetryQueue"}`,
		"RETRY_MAX_RECEIVE_COUNT":        `"5"`,
		"DEAD_LETTER_QUEUE_URL":          `{"Ref": "RetryDeadLetterQueue"}`,
		"METRICS_NAMESPACE":              `{"Ref": "MetricsNamespace"}`,
		"SSL_CERT_DIR":                   `"/nonexistent"`,
		"AWS_ENDPOINT_URL":               `{"Ref": "AWS::NoValue"}`,
	} {
		assertJSON(t, name, vars[name], want)
	}
	queueURL, _ := vars["FORWARD_SQS_QUEUE_URL"].(map[string]any)["Fn::If"].([]any)
	if len(queueURL) != 3 || queueURL[0] != "HasForwardQueue" {
		t.Fatalf("FORWARD_SQS_QUEUE_URL = %v, want Fn::If on HasForwardQueue", vars["FORWARD_SQS_QUEUE_URL"])
	}
	assertJSON(t, "FORWARD_SQS_QUEUE_URL when no queue", queueURL[2], `{"Ref": "AWS::NoValue"}`)

	t.Run("defaults", func(t *testing.T) {
		got := digMap(t, render(t, nil), "Resources", functionID, "Properties", "Environment", "Variables")
		assertJSON(t, "Variables", got, `{
			"SIGNALWIRE_SECRET_ID": "`+testSecretArn+`",
			"CREDENTIALS_TTL": "5m",
			"LOG_LEVEL": "info",
			"PUBLIC_BASE_URL": "",
			"PUBLIC_WEBHOOK_URL": "",
			"WEBHOOK_SIGNATURE_VERIFICATION": "on",
			"WEBHOOK_MAX_AGE": "1h",
			"RETRY_QUEUE_URL": "ref:RetryQueue",
			"RETRY_MAX_RECEIVE_COUNT": "5",
			"DEAD_LETTER_QUEUE_URL": "ref:RetryDeadLetterQueue",
			"METRICS_NAMESPACE": "SignalWireParticipants",
			"SSL_CERT_DIR": "/nonexistent"
		}`)
	})
	t.Run("every destination", func(t *testing.T) {
		got := digMap(t, render(t, allDestinations), "Resources", functionID, "Properties", "Environment", "Variables")
		for name, want := range map[string]string{
			"FORWARD_HTTPS_URL":     "https://hooks.example.net/signalwire",
			"FORWARD_EVENT_BUS":     "participants-bus",
			"FORWARD_SQS_QUEUE_URL": "https://sqs.us-west-2.amazonaws.com/210987654321/participant-events.fifo",
		} {
			if got[name] != want {
				t.Errorf("%s = %v, want %s", name, got[name], want)
			}
		}
	})
	t.Run("one destination", func(t *testing.T) {
		got := digMap(t, render(t, map[string]string{"ForwardEventBusName": "default"}), "Resources", functionID, "Properties", "Environment", "Variables")
		if got["FORWARD_EVENT_BUS"] != "default" {
			t.Errorf("FORWARD_EVENT_BUS = %v, want default", got["FORWARD_EVENT_BUS"])
		}
		for _, name := range []string{"FORWARD_HTTPS_URL", "FORWARD_SQS_QUEUE_URL"} {
			if v, ok := got[name]; ok {
				t.Errorf("%s = %v, want it absent", name, v)
			}
		}
	})
}

func TestEvents(t *testing.T) {
	fn := function(t)
	if got := keys(fn.Events); !slices.Equal(got, []string{"ListParticipants", "ReadParticipant", "RetryQueueEvent", "SignalWireWebhook"}) {
		t.Fatalf("events = %v", got)
	}
	for id, want := range map[string]struct{ path, method string }{
		"ReadParticipant":   {readPath, "GET"},
		"ListParticipants":  {listPath, "GET"},
		"SignalWireWebhook": {hookPath, "POST"},
	} {
		ev := fn.Events[id]
		if ev.Type != "HttpApi" {
			t.Errorf("%s: Type = %s, want HttpApi", id, ev.Type)
			continue
		}
		p := ev.Properties
		if p == nil || p.HttpApiEvent == nil {
			t.Errorf("%s: goformation decoded no HttpApi properties", id)
			continue
		}
		h := p.HttpApiEvent
		if h.Path == nil || *h.Path != want.path || h.Method == nil || *h.Method != want.method {
			t.Errorf("%s: %s %s, want %s %s", id, deref(h.Method), deref(h.Path), want.method, want.path)
		}
		if h.PayloadFormatVersion == nil || *h.PayloadFormatVersion != "2.0" {
			t.Errorf("%s: PayloadFormatVersion = %s, want 2.0", id, deref(h.PayloadFormatVersion))
		}
		// SAM rejects Authorizer NONE without a DefaultAuthorizer and accepts
		// no intrinsic function there: authorization is the OpenAPI security.
		if h.Auth != nil {
			t.Errorf("%s: Auth = %+v, want none (see TestRouteAuthorization)", id, h.Auth)
		}
	}

	raw := rawTemplate(t)
	for _, id := range []string{"ReadParticipant", "ListParticipants", "SignalWireWebhook"} {
		assertJSON(t, id+".ApiId", dig(t, raw, "Resources", functionID, "Properties", "Events", id, "Properties", "ApiId"), `{"Ref": "`+apiID+`"}`)
	}

	// goformation's SQSEvent has no FunctionResponseTypes and drops the
	// whole event when it meets one: read the raw document.
	if fn.Events["RetryQueueEvent"].Type != "SQS" {
		t.Errorf("RetryQueueEvent: Type = %s, want SQS", fn.Events["RetryQueueEvent"].Type)
	}
	assertJSON(t, "RetryQueueEvent", dig(t, raw, "Resources", functionID, "Properties", "Events", "RetryQueueEvent"), `{
		"Type": "SQS",
		"Properties": {
			"Queue": {"Fn::GetAtt": ["RetryQueue", "Arn"]},
			"BatchSize": 10,
			"FunctionResponseTypes": ["ReportBatchItemFailures"],
			"ScalingConfig": {"MaximumConcurrency": {"Ref": "RetryConsumerMaximumConcurrency"}}
		}
	}`)
}

func TestHttpApi(t *testing.T) {
	api, err := typedTemplate(t).GetServerlessHttpApiWithName(apiID)
	if err != nil {
		t.Fatal(err)
	}
	if api.FailOnWarnings == nil || !*api.FailOnWarnings {
		t.Errorf("FailOnWarnings = %v, want true", api.FailOnWarnings)
	}
	raw := rawTemplate(t)
	// The IAM authorizer is enabled and there is no default authorizer: each
	// route states its own security.
	assertJSON(t, "HttpApi.Auth", dig(t, raw, "Resources", apiID, "Properties", "Auth"), `{"EnableIamAuthorizer": true}`)

	// Every event route has a path in the body with an explicit security,
	// and the body has no path without an event (it would have no integration).
	paths := digMap(t, raw, "Resources", apiID, "Properties", "DefinitionBody", "paths")
	routes := map[string]bool{}
	for id, ev := range digMap(t, raw, "Resources", functionID, "Properties", "Events") {
		if dig(t, ev, "Type") != "HttpApi" {
			continue
		}
		path, _ := dig(t, ev, "Properties", "Path").(string)
		method, _ := dig(t, ev, "Properties", "Method").(string)
		routes[strings.ToLower(method)+" "+path] = true
		if _, ok := lookup(paths, path, strings.ToLower(method), "security"); !ok {
			t.Errorf("event %s (%s %s) has no security in the OpenAPI body", id, method, path)
		}
	}
	for path, item := range paths {
		for method := range item.(map[string]any) {
			if !routes[method+" "+path] {
				t.Errorf("OpenAPI body has %s %s but no event routes it", method, path)
			}
		}
	}
}

func TestRouteAuthorization(t *testing.T) {
	raw := rawTemplate(t)
	assertJSON(t, "Conditions.ReadRouteIsPublic", dig(t, raw, "Conditions", "ReadRouteIsPublic"),
		`{"Fn::Equals": [{"Ref": "ReadRouteAuthorization"}, "NONE"]}`)
	assertJSON(t, "ReadRouteAuthorization.AllowedValues", dig(t, raw, "Parameters", "ReadRouteAuthorization", "AllowedValues"), `["AWS_IAM", "NONE"]`)
	assertJSON(t, "ReadRouteAuthorization.Default", dig(t, raw, "Parameters", "ReadRouteAuthorization", "Default"), `"AWS_IAM"`)
	body := []string{"Resources", apiID, "Properties", "DefinitionBody", "paths"}
	for _, path := range []string{readPath, listPath} {
		assertJSON(t, path+" security", dig(t, raw, append(body, path, "get", "security")...),
			`{"Fn::If": ["ReadRouteIsPublic", [], [{"AWS_IAM": []}]]}`)
	}

	for _, tt := range []struct {
		param    string // "" means the default
		wantRead string
	}{
		{"", `[{"AWS_IAM": []}]`},
		{"AWS_IAM", `[{"AWS_IAM": []}]`},
		{"NONE", `[]`},
	} {
		t.Run("ReadRouteAuthorization="+tt.param, func(t *testing.T) {
			params := map[string]string{}
			if tt.param != "" {
				params["ReadRouteAuthorization"] = tt.param
			}
			doc := render(t, params)
			assertJSON(t, "read route security", dig(t, doc, append(body, readPath, "get", "security")...), tt.wantRead)
			assertJSON(t, "list route security", dig(t, doc, append(body, listPath, "get", "security")...), tt.wantRead)
			assertJSON(t, "webhook route security", dig(t, doc, append(body, hookPath, "post", "security")...), `[]`)
			want := tt.param
			if want == "" {
				want = "AWS_IAM"
			}
			if got := dig(t, doc, "Outputs", "ReadRouteAuthorizationMode", "Value"); got != want {
				t.Errorf("ReadRouteAuthorizationMode = %v, want %s", got, want)
			}
		})
	}
}

func TestRolePolicies(t *testing.T) {
	raw := rawTemplate(t)
	role := digMap(t, raw, "Resources", roleID)
	if role["Type"] != "AWS::IAM::Role" {
		t.Fatalf("%s is %v", roleID, role["Type"])
	}
	assertJSON(t, "AssumeRolePolicyDocument", dig(t, role, "Properties", "AssumeRolePolicyDocument"), `{
		"Version": "2012-10-17",
		"Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]
	}`)
	assertJSON(t, "ManagedPolicyArns", dig(t, role, "Properties", "ManagedPolicyArns"),
		`[{"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/AWSXrayWriteOnlyAccess"}]`)

	type want struct {
		actions  []string
		resource string
	}
	fixed := map[string]want{
		"WriteOwnLogs":                {[]string{"logs:CreateLogStream", "logs:PutLogEvents"}, `{"Fn::GetAtt": ["ParticipantsLogGroup", "Arn"]}`},
		"ReadSignalWireSecret":        {[]string{"secretsmanager:GetSecretValue"}, `{"Ref": "SignalWireSecretArn"}`},
		"ParkFailedWebhooks":          {[]string{"sqs:SendMessage"}, `{"Fn::GetAtt": ["RetryQueue", "Arn"]}`},
		"DeadLetterPermanentFailures": {[]string{"sqs:SendMessage"}, `{"Fn::GetAtt": ["RetryDeadLetterQueue", "Arn"]}`},
		"ConsumeRetryQueue": {[]string{"sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"},
			`{"Fn::GetAtt": ["RetryQueue", "Arn"]}`},
	}
	conditional := map[string]struct {
		condition string
		want
	}{
		"ForwardToEventBus": {"HasForwardEventBus", want{[]string{"events:PutEvents"},
			`{"Fn::Sub": "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/${ForwardEventBusName}"}`}},
		"ForwardToQueue": {"HasForwardQueue", want{[]string{"sqs:SendMessage"}, `{"Ref": "ForwardQueueArn"}`}},
		// A customer-managed key: decrypt the secret (and SQS messages),
		// generate data keys for SQS sends; only when KmsKeyArn is set.
		"UseCustomerManagedKey": {"HasKmsKey", want{[]string{"kms:Decrypt", "kms:GenerateDataKey"}, `{"Ref": "KmsKeyArn"}`}},
	}

	check := func(sid string, st map[string]any, w want) {
		t.Helper()
		if st["Effect"] != "Allow" {
			t.Errorf("%s: Effect = %v", sid, st["Effect"])
		}
		if got := actions(st); !slices.Equal(got, w.actions) {
			t.Errorf("%s: Action = %v, want %v", sid, got, w.actions)
		}
		assertJSON(t, sid+".Resource", st["Resource"], w.resource)
		for k := range st {
			if !slices.Contains([]string{"Sid", "Effect", "Action", "Resource"}, k) {
				t.Errorf("%s: unexpected key %s", sid, k)
			}
		}
	}

	sts := statements(t, raw)
	found := map[string]bool{}
	for sid, st := range sts {
		if w, ok := fixed[sid]; ok {
			check(sid, st, w)
			found[sid] = true
			continue
		}
		// A conditional statement: {"Fn::If": [cond, statement, NoValue]}.
		branches, _ := st["Fn::If"].([]any)
		if len(branches) != 3 {
			t.Errorf("statement %s: %v is neither known nor Fn::If", sid, st)
			continue
		}
		inner, _ := branches[1].(map[string]any)
		isid, _ := inner["Sid"].(string)
		c, ok := conditional[isid]
		if !ok {
			t.Errorf("unexpected conditional statement %v", inner)
			continue
		}
		if branches[0] != c.condition {
			t.Errorf("%s: condition %v, want %s", isid, branches[0], c.condition)
		}
		assertJSON(t, isid+" else", branches[2], `{"Ref": "AWS::NoValue"}`)
		check(isid, inner, c.want)
		found[isid] = true
	}
	for sid := range fixed {
		if !found[sid] {
			t.Errorf("statement %s missing", sid)
		}
	}
	for sid := range conditional {
		if !found[sid] {
			t.Errorf("conditional statement %s missing", sid)
		}
	}

	t.Run("rendered", func(t *testing.T) {
		for _, tt := range []struct {
			name   string
			params map[string]string
			want   map[string]string // Sid -> rendered Resource
		}{
			{"defaults", nil, map[string]string{
				"WriteOwnLogs":                "getatt:ParticipantsLogGroup.Arn",
				"ReadSignalWireSecret":        testSecretArn,
				"ParkFailedWebhooks":          "getatt:RetryQueue.Arn",
				"DeadLetterPermanentFailures": "getatt:RetryDeadLetterQueue.Arn",
				"ConsumeRetryQueue":           "getatt:RetryQueue.Arn",
			}},
			{"every destination", allDestinations, map[string]string{
				"WriteOwnLogs":                "getatt:ParticipantsLogGroup.Arn",
				"ReadSignalWireSecret":        testSecretArn,
				"ParkFailedWebhooks":          "getatt:RetryQueue.Arn",
				"DeadLetterPermanentFailures": "getatt:RetryDeadLetterQueue.Arn",
				"ConsumeRetryQueue":           "getatt:RetryQueue.Arn",
				"ForwardToEventBus":           "arn:aws:events:eu-west-1:123456789012:event-bus/participants-bus",
				"ForwardToQueue":              "arn:aws:sqs:us-west-2:210987654321:participant-events.fifo",
			}},
			{"https only", map[string]string{"ForwardHttpsUrl": "https://x.example/h"}, map[string]string{
				"WriteOwnLogs":                "getatt:ParticipantsLogGroup.Arn",
				"ReadSignalWireSecret":        testSecretArn,
				"ParkFailedWebhooks":          "getatt:RetryQueue.Arn",
				"DeadLetterPermanentFailures": "getatt:RetryDeadLetterQueue.Arn",
				"ConsumeRetryQueue":           "getatt:RetryQueue.Arn",
			}},
		} {
			t.Run(tt.name, func(t *testing.T) {
				got := map[string]string{}
				for sid, st := range statements(t, render(t, tt.params)) {
					got[sid] = fmt.Sprint(st["Resource"])
				}
				if !mapsEqual(got, tt.want) {
					t.Errorf("statements = %v, want %v", got, tt.want)
				}
			})
		}
	})
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// iamKeys are the policy keys whose values must never hold a wildcard.
var iamKeys = map[string]bool{"Action": true, "NotAction": true, "Resource": true, "NotResource": true, "Principal": true, "NotPrincipal": true}

// iamWildcards reports every "*" inside an IAM Action, NotAction, Resource,
// NotResource, Principal or NotPrincipal anywhere in v, including inside
// intrinsic functions, conditional statements and inline policies, and
// every NotAction/NotResource/NotPrincipal (which grant by exclusion).
func iamWildcards(v any, at string) []string {
	var out []string
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			here := at + "/" + k
			if strings.HasPrefix(k, "Not") && iamKeys[k] {
				out = append(out, here+": grants by exclusion")
			}
			if iamKeys[k] {
				for _, s := range stringLeaves(e) {
					if strings.Contains(s, "*") {
						out = append(out, fmt.Sprintf("%s: %q", here, s))
					}
				}
			}
			out = append(out, iamWildcards(e, here)...)
		}
	case []any:
		for i, e := range v {
			out = append(out, iamWildcards(e, fmt.Sprintf("%s/%d", at, i))...)
		}
	}
	return out
}

func TestIAMWildcardWalker(t *testing.T) {
	doc := map[string]any{"R": map[string]any{"Properties": map[string]any{"Policies": []any{
		map[string]any{"PolicyDocument": map[string]any{"Statement": []any{
			map[string]any{"Fn::If": []any{"C", map[string]any{"Action": []any{"s3:Get*"}, "Resource": "arn:x"}, nil}},
			map[string]any{"Action": "sqs:SendMessage", "Resource": map[string]any{"Fn::Sub": "arn:${AWS::Partition}:sqs:*"}},
			map[string]any{"NotAction": "iam:PassRole", "Resource": "arn:y"},
		}}},
	}}}}
	got := iamWildcards(doc, "")
	slices.Sort(got)
	want := []string{
		`/R/Properties/Policies/0/PolicyDocument/Statement/0/Fn::If/1/Action: "s3:Get*"`,
		`/R/Properties/Policies/0/PolicyDocument/Statement/1/Resource: "arn:${AWS::Partition}:sqs:*"`,
		`/R/Properties/Policies/0/PolicyDocument/Statement/2/NotAction: grants by exclusion`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("iamWildcards =\n%q\nwant\n%q", got, want)
	}
}

func TestNoWildcardInIAM(t *testing.T) {
	if bad := iamWildcards(rawTemplate(t), ""); len(bad) > 0 {
		t.Errorf("wildcards in the template:\n%s", strings.Join(bad, "\n"))
	}
	if bad := iamWildcards(render(t, allDestinations), ""); len(bad) > 0 {
		t.Errorf("wildcards in the rendered template:\n%s", strings.Join(bad, "\n"))
	}
	// SAM policy templates and managed policies would bring statements this
	// test cannot see; only the role may grant anything, and its only managed
	// policy is the X-Ray one SAM itself uses for Tracing: Active.
	raw := rawTemplate(t)
	for id, res := range digMap(t, raw, "Resources") {
		typ := dig(t, res, "Type")
		if _, ok := lookup(res, "Properties", "Policies"); ok && typ != "AWS::IAM::Role" {
			t.Errorf("%s (%s) has Policies", id, typ)
		}
		if typ == "AWS::IAM::Role" && id != roleID || typ == "AWS::IAM::Policy" || typ == "AWS::IAM::ManagedPolicy" {
			t.Errorf("%s (%s): unexpected IAM resource", id, typ)
		}
	}
}

func TestQueues(t *testing.T) {
	raw := rawTemplate(t)
	retry := digMap(t, raw, "Resources", "RetryQueue")
	dlq := digMap(t, raw, "Resources", "RetryDeadLetterQueue")
	for id, q := range map[string]map[string]any{"RetryQueue": retry, "RetryDeadLetterQueue": dlq} {
		if q["Type"] != "AWS::SQS::Queue" {
			t.Errorf("%s: Type = %v", id, q["Type"])
		}
		if dig(t, q, "Properties", "SqsManagedSseEnabled") != true {
			t.Errorf("%s: SSE is not enabled", id)
		}
	}
	timeout := float64(*function(t).Timeout)
	if vt, _ := dig(t, retry, "Properties", "VisibilityTimeout").(float64); vt < 6*timeout {
		t.Errorf("RetryQueue VisibilityTimeout = %v, want >= 6 x %v", vt, timeout)
	}
	assertJSON(t, "RetryQueue RedrivePolicy", dig(t, retry, "Properties", "RedrivePolicy"), `{
		"deadLetterTargetArn": {"Fn::GetAtt": ["RetryDeadLetterQueue", "Arn"]},
		"maxReceiveCount": 5
	}`)
	// The function reports the receive count at which a message leaves for
	// the DLQ; it must be the redrive policy's.
	maxReceive := dig(t, retry, "Properties", "RedrivePolicy", "maxReceiveCount")
	envCount := dig(t, rawTemplate(t), "Resources", functionID, "Properties", "Environment", "Variables", "RETRY_MAX_RECEIVE_COUNT")
	if fmt.Sprint(maxReceive) != envCount {
		t.Errorf("RETRY_MAX_RECEIVE_COUNT = %v, RedrivePolicy maxReceiveCount = %v", envCount, maxReceive)
	}
	if got := dig(t, dlq, "Properties", "MessageRetentionPeriod"); got != float64(14*24*3600) {
		t.Errorf("DLQ MessageRetentionPeriod = %v, want 14 days", got)
	}
	if _, ok := lookup(dlq, "Properties", "RedrivePolicy"); ok {
		t.Error("the DLQ must not redrive further")
	}
}

func TestOutputs(t *testing.T) {
	raw := rawTemplate(t)
	want := []string{"ApiUrl", "DeadLetterQueueAlarmName", "DeadLetterQueueArn", "DeadLetterQueueUrl", "FunctionArn", "ReadRouteAuthorizationMode", "ReadRouteUrlTemplate", "RetryQueueArn", "RetryQueueUrl", "WebhookUrl"}
	if got := keys(digMap(t, raw, "Outputs")); !slices.Equal(got, want) {
		t.Errorf("Outputs = %v, want %v", got, want)
	}
	for _, tt := range []struct {
		name    string
		params  map[string]string
		webhook string
	}{
		{"execute-api", nil, "https://ref:HttpApi.execute-api.eu-west-1.amazonaws.com/webhooks/signalwire"},
		{"public base URL", map[string]string{"PublicBaseUrl": "https://hooks.example.com/prod"}, "https://hooks.example.com/prod/webhooks/signalwire"},
		{"public webhook URL", map[string]string{"PublicWebhookUrl": "https://example.ngrok.io/webhook"}, "https://example.ngrok.io/webhook"},
		{"public webhook URL wins", map[string]string{"PublicBaseUrl": "https://hooks.example.com/prod", "PublicWebhookUrl": "https://example.ngrok.io/webhook"}, "https://example.ngrok.io/webhook"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out := digMap(t, render(t, tt.params), "Outputs")
			for name, want := range map[string]string{
				"ApiUrl":                   "https://ref:HttpApi.execute-api.eu-west-1.amazonaws.com",
				"ReadRouteUrlTemplate":     "https://ref:HttpApi.execute-api.eu-west-1.amazonaws.com" + readPath,
				"WebhookUrl":               tt.webhook,
				"RetryQueueUrl":            "ref:RetryQueue",
				"DeadLetterQueueUrl":       "ref:RetryDeadLetterQueue",
				"DeadLetterQueueArn":       "getatt:RetryDeadLetterQueue.Arn",
				"RetryQueueArn":            "getatt:RetryQueue.Arn",
				"DeadLetterQueueAlarmName": "ref:DeadLetterQueueAlarm",
				"FunctionArn":              "getatt:ParticipantsFunction.Arn",
			} {
				if got := dig(t, out, name, "Value"); got != want {
					t.Errorf("%s = %v, want %s", name, got, want)
				}
			}
		})
	}
}

func TestParameters(t *testing.T) {
	params := digMap(t, rawTemplate(t), "Parameters")
	want := map[string]any{ // name -> default (nil: required)
		"SignalWireSecretArn":     nil,
		"SignalWireSpaceHost":     "",
		"LogLevel":                "INFO",
		"CredentialsTtl":          "5m",
		"ReadRouteAuthorization":  "AWS_IAM",
		"PublicBaseUrl":           "",
		"PublicWebhookUrl":        "",
		"ForwardHttpsUrl":         "",
		"ForwardEventBusName":     "",
		"ForwardQueueArn":         "",
		"MetricsNamespace":        "SignalWireParticipants",
		"DeadLetterAlarmTopicArn": "",
		"KmsKeyArn":               "",
		// Each alarm's switch (TestAlarms).
		"AlarmCredentialsUnavailable": "on",
		"AlarmUpstreamErrors":         "on",
		"AlarmFunctionErrors":         "on",
		"AlarmFunctionThrottles":      "on",
		"AlarmRetryQueueAge":          "on",
		"Architecture":                "arm64",
		"WebhookMaxAge":               "1h",
	}
	numeric := map[string]float64{
		"WebhookThrottlingRateLimit":      20,
		"WebhookThrottlingBurstLimit":     40,
		"ReadThrottlingRateLimit":         4,
		"ReadThrottlingBurstLimit":        10,
		"RetryConsumerMaximumConcurrency": 10,
		"ReservedConcurrency":             0,
	}
	for name, def := range numeric {
		p, _ := params[name].(map[string]any)
		if p["Type"] != "Number" || p["Default"] != def {
			t.Errorf("%s: Type %v Default %v, want Number %v", name, p["Type"], p["Default"], def)
		}
		if lo, ok := p["MinValue"].(float64); !ok || def < lo {
			t.Errorf("%s: MinValue %v (default %v)", name, p["MinValue"], def)
		}
		if hi, ok := p["MaxValue"].(float64); ok && def > hi {
			t.Errorf("%s: default %v over MaxValue %v", name, def, hi)
		}
		want[name] = nil // listed; checked above
	}
	if got, w := keys(params), keys(want); !slices.Equal(got, w) {
		t.Errorf("Parameters = %v, want %v", got, w)
	}
	for name, def := range want {
		if _, ok := numeric[name]; ok {
			continue
		}
		p, _ := params[name].(map[string]any)
		if got := p["Default"]; got != def {
			t.Errorf("%s: Default = %#v, want %#v", name, got, def)
		}
		if p["Type"] != "String" {
			t.Errorf("%s: Type = %v", name, p["Type"])
		}
		// The default must satisfy the parameter's own constraints.
		if d, ok := def.(string); ok {
			if pat, ok := p["AllowedPattern"].(string); ok && !regexp.MustCompile(pat).MatchString(d) {
				t.Errorf("%s: default %q does not match %s", name, d, pat)
			}
			if av, ok := p["AllowedValues"].([]any); ok && !slices.Contains(av, any(d)) {
				t.Errorf("%s: default %q is not in %v", name, d, av)
			}
		}
	}
	assertJSON(t, "LogLevel.AllowedValues", dig(t, params, "LogLevel", "AllowedValues"), `["DEBUG", "INFO", "WARN", "ERROR"]`)
	assertJSON(t, "Architecture.AllowedValues", dig(t, params, "Architecture", "AllowedValues"), `["arm64", "x86_64"]`)

	for name, cases := range map[string]struct{ good, bad []string }{
		"SignalWireSecretArn": {
			good: []string{testSecretArn, "arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:sw-Ab12Cd"},
			bad: []string{"", "signalwire/participants", "arn:aws:secretsmanager:us-east-1:123456789012:secret:*", "arn:aws:sqs:us-east-1:123456789012:q",
				// a partial ARN (no 6-character suffix), which IAM does not match to the secret
				"arn:aws:secretsmanager:us-east-1:123456789012:secret:signalwire/participants",
				"arn:aws:secretsmanager:us-east-1:123456789012:secret:sw-AbC"},
		},
		"SignalWireSpaceHost": {
			good: []string{"", "example.signalwire.com", "acme-1.signalwire.com"},
			bad:  []string{"https://example.signalwire.com", "example.signalwire.com/", "-bad.example.com", "localhost"},
		},
		"DeadLetterAlarmTopicArn": {
			good: []string{"", "arn:aws:sns:us-east-1:123456789012:ops-alerts"},
			bad:  []string{"ops-alerts", "arn:aws:sqs:us-east-1:123456789012:q", "arn:aws:sns:us-east-1:123456789012:*"},
		},
		"KmsKeyArn": {
			good: []string{"", "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"},
			bad:  []string{"alias/aws/secretsmanager", "arn:aws:kms:us-east-1:123456789012:alias/mine", "arn:aws:kms:us-east-1:123456789012:key/*"},
		},
		"CredentialsTtl": {
			good: []string{"5m", "30s", "1h30m", "1.5s"},
			bad:  []string{"", "5", "5 minutes", "-5m"},
		},
		"WebhookMaxAge": {
			good: []string{"1h", "15m", "24h"},
			bad:  []string{"", "3600", "off", "-1h"},
		},
		"PublicBaseUrl": {
			good: []string{"", "https://hooks.example.com", "https://hooks.example.com/prod"},
			bad:  []string{"http://hooks.example.com", "https://hooks.example.com/prod/", "https://h.example/?a=b"},
		},
		"PublicWebhookUrl": {
			good: []string{"", "https://example.ngrok.io/webhook", "https://example.ngrok.io/webhook/", "https://hooks.example.com"},
			bad:  []string{"http://example.ngrok.io/webhook", "https://example.ngrok.io/webhook?token=x", "https://h.example/w#f", "example.ngrok.io/webhook"},
		},
		"ForwardHttpsUrl": {
			good: []string{"", "https://hooks.example.net/signalwire"},
			bad:  []string{"http://hooks.example.net", "ftp://x"},
		},
		"ForwardEventBusName": {
			good: []string{"", "default", "participants-bus", "aws.partner/example.com/123/events"},
			bad:  []string{"arn:aws:events:us-east-1:123456789012:event-bus/x", "*"},
		},
		"ForwardQueueArn": {
			good: []string{"", "arn:aws:sqs:us-east-1:123456789012:events", "arn:aws:sqs:us-east-1:123456789012:events.fifo"},
			bad:  []string{"https://sqs.us-east-1.amazonaws.com/123456789012/events", "arn:aws:sqs:us-east-1:123456789012:*"},
		},
		"MetricsNamespace": {
			good: []string{"SignalWireParticipants", "Team/Participants"},
			bad:  []string{"", "has space"},
		},
	} {
		pat, ok := dig(t, params, name, "AllowedPattern").(string)
		if !ok {
			t.Errorf("%s has no AllowedPattern", name)
			continue
		}
		re, err := regexp.Compile(pat)
		if err != nil {
			t.Errorf("%s: AllowedPattern %q: %v", name, pat, err)
			continue
		}
		for _, s := range cases.good {
			if !re.MatchString(s) {
				t.Errorf("%s: AllowedPattern rejects %q", name, s)
			}
		}
		for _, s := range cases.bad {
			if re.MatchString(s) {
				t.Errorf("%s: AllowedPattern accepts %q", name, s)
			}
		}
	}
}

// TestReferencesResolve checks that every Ref, Fn::GetAtt, Fn::Sub variable,
// Fn::FindInMap map and Fn::If condition names something the template
// defines, and that every parameter, mapping and condition is used.
func TestReferencesResolve(t *testing.T) {
	raw := rawTemplate(t)
	params := digMap(t, raw, "Parameters")
	resources := digMap(t, raw, "Resources")
	conditions := digMap(t, raw, "Conditions")
	mappings := digMap(t, raw, "Mappings")
	used := map[string]bool{}

	ref := func(name, at string) {
		used[name] = true
		if _, ok := pseudoParameters[name]; ok || name == "AWS::NoValue" {
			return
		}
		if _, ok := params[name]; ok {
			return
		}
		if _, ok := resources[name]; ok {
			return
		}
		t.Errorf("%s: Ref to undefined %s", at, name)
	}
	getAtt := func(res, at string) {
		if _, ok := resources[res]; !ok {
			t.Errorf("%s: Fn::GetAtt of undefined %s", at, res)
		}
	}
	var walk func(v any, at string, subVars map[string]bool)
	walk = func(v any, at string, subVars map[string]bool) {
		switch v := v.(type) {
		case map[string]any:
			for k, e := range v {
				here := at + "/" + k
				switch k {
				case "Ref":
					s, _ := e.(string)
					ref(s, here)
				case "Fn::GetAtt":
					l, _ := e.([]any)
					if len(l) != 2 {
						t.Errorf("%s: malformed Fn::GetAtt %v", here, e)
						continue
					}
					res, _ := l[0].(string)
					getAtt(res, here)
				case "Fn::FindInMap":
					l, _ := e.([]any)
					if len(l) == 3 {
						name, _ := l[0].(string)
						used[name] = true
						if _, ok := mappings[name]; !ok {
							t.Errorf("%s: Fn::FindInMap of undefined mapping %s", here, name)
						}
					}
				case "Fn::If":
					l, _ := e.([]any)
					if len(l) != 3 {
						t.Errorf("%s: malformed Fn::If %v", here, e)
						continue
					}
					name, _ := l[0].(string)
					used[name] = true
					if _, ok := conditions[name]; !ok {
						t.Errorf("%s: Fn::If on undefined condition %s", here, name)
					}
				case "Fn::Sub":
					src, vars := "", map[string]bool{}
					switch s := e.(type) {
					case string:
						src = s
					case []any:
						src, _ = s[0].(string)
						m, _ := s[1].(map[string]any)
						for name := range m {
							vars[name] = true
						}
					}
					for _, m := range subVariable.FindAllStringSubmatch(src, -1) {
						name := m[1]
						switch {
						case strings.HasPrefix(name, "!") || vars[name]:
						case strings.Contains(name, "."):
							res, _, _ := strings.Cut(name, ".")
							getAtt(res, here)
						default:
							ref(name, here)
						}
					}
				case "Condition":
					if s, ok := e.(string); ok {
						used[s] = true
					}
				}
				walk(e, here, subVars)
			}
		case []any:
			for i, e := range v {
				walk(e, fmt.Sprintf("%s/%d", at, i), subVars)
			}
		}
	}
	for _, section := range []string{"Conditions", "Resources", "Outputs"} {
		walk(raw[section], "/"+section, nil)
	}
	for _, section := range []map[string]any{params, conditions, mappings} {
		for name := range section {
			if !used[name] {
				t.Errorf("%s is defined but never used", name)
			}
		}
	}
}

// TestFloodProtection: both HTTP routes are throttled, the retry consumer is
// capped, the reservation is wired (none by default, so the deploy works in
// any account), and the production reservation the docs give is the routes'
// worst-case in-flight invocations (burst + rate x Timeout) plus the
// consumer's cap: with it a flood within the throttles cannot starve the
// retry consumer.
func TestFloodProtection(t *testing.T) {
	raw := rawTemplate(t)
	api := digMap(t, raw, "Resources", apiID, "Properties")
	assertJSON(t, "DefaultRouteSettings", api["DefaultRouteSettings"], `{
		"ThrottlingRateLimit": {"Ref": "ReadThrottlingRateLimit"},
		"ThrottlingBurstLimit": {"Ref": "ReadThrottlingBurstLimit"}}`)
	assertJSON(t, "RouteSettings", api["RouteSettings"], `{"POST `+hookPath+`": {
		"ThrottlingRateLimit": {"Ref": "WebhookThrottlingRateLimit"},
		"ThrottlingBurstLimit": {"Ref": "WebhookThrottlingBurstLimit"}}}`)
	fn := digMap(t, raw, "Resources", functionID, "Properties")
	assertJSON(t, "ReservedConcurrentExecutions", fn["ReservedConcurrentExecutions"],
		`{"Fn::If": ["HasReservedConcurrency", {"Ref": "ReservedConcurrency"}, {"Ref": "AWS::NoValue"}]}`)
	assertJSON(t, "HasReservedConcurrency", dig(t, raw, "Conditions", "HasReservedConcurrency"),
		`{"Fn::Not": [{"Fn::Equals": [{"Ref": "ReservedConcurrency"}, 0]}]}`)

	def := func(name string) float64 {
		v, _ := dig(t, raw, "Parameters", name, "Default").(float64)
		return v
	}
	timeout, _ := fn["Timeout"].(float64)
	inFlight := def("WebhookThrottlingBurstLimit") + def("WebhookThrottlingRateLimit")*timeout +
		def("ReadThrottlingBurstLimit") + def("ReadThrottlingRateLimit")*timeout
	need := inFlight + def("RetryConsumerMaximumConcurrency")
	// The default reserves nothing: AWS refuses a reservation that leaves
	// the account under 100 unreserved, so any other default fails to
	// deploy in small (new) accounts.
	if got := def("ReservedConcurrency"); got != 0 {
		t.Errorf("ReservedConcurrency defaults to %v, want 0 (a reservation fails the deploy where the account limit is under it + 100)", got)
	}
	// The production value the docs give is the bound computed from the
	// other defaults, with the condition AWS puts on it.
	desc, _ := dig(t, raw, "Parameters", "ReservedConcurrency", "Description").(string)
	recommended := fmt.Sprintf("Production: %v", need)
	for _, want := range []string{recommended, "starve the retry consumer", "get-account-settings", fmt.Sprintf("UnreservedConcurrentExecutions >= %v", need+100)} {
		if !strings.Contains(desc, want) {
			t.Errorf("ReservedConcurrency's Description %q does not say %q", desc, want)
		}
	}
	ops, err := os.ReadFile("../../docs/OPERATIONS.md")
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("ReservedConcurrency=%v", need); !strings.Contains(string(ops), want) {
		t.Errorf("docs/OPERATIONS.md does not give the production value %s", want)
	}
	if def("RetryConsumerMaximumConcurrency") < 2 {
		t.Error("SQS MaximumConcurrency must be at least 2")
	}
}

// TestKmsKeyPermission: kms:Decrypt and kms:GenerateDataKey on the given key
// only when KmsKeyArn is set.
func TestKmsKeyPermission(t *testing.T) {
	key := "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	if st, ok := statements(t, render(t, nil))["UseCustomerManagedKey"]; ok {
		t.Errorf("KMS statement without a key: %v", st)
	}
	st, ok := statements(t, render(t, map[string]string{"KmsKeyArn": key}))["UseCustomerManagedKey"]
	if !ok {
		t.Fatal("no KMS statement with KmsKeyArn set")
	}
	if got := actions(st); !slices.Equal(got, []string{"kms:Decrypt", "kms:GenerateDataKey"}) || st["Resource"] != key {
		t.Errorf("KMS statement %v", st)
	}
}
