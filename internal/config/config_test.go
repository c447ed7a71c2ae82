package config

import (
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestDefaults(t *testing.T) {
	c, err := Load(env(map[string]string{"SIGNALWIRE_SECRET_ID": "sw/creds", "AWS_LAMBDA_FUNCTION_NAME": "fn"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.SecretID != "sw/creds" || c.CredentialsTTL != 5*time.Minute || c.LogLevel != slog.LevelInfo ||
		!c.VerifySignatures || c.WebhookMaxAge != time.Hour || c.MetricsNamespace != "SignalWireParticipants" || c.MaxReceiveCount != 5 || c.FunctionName != "fn" || c.Local || c.MetricsService != "fn" {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestEverySetting(t *testing.T) {
	c, err := Load(env(map[string]string{
		"SIGNALWIRE_SECRET_ID":           "arn:aws:secretsmanager:us-east-1:123456789012:secret:sw-AbCdEf",
		"SIGNALWIRE_SPACE_HOST":          "https://Example.signalwire.com/",
		"CREDENTIALS_TTL":                "90s",
		"LOG_LEVEL":                      "DEBUG",
		"PUBLIC_BASE_URL":                "https://hooks.example.com/prod/",
		"FORWARD_HTTPS_URL":              "https://sink.example.com/in",
		"FORWARD_EVENT_BUS":              "arn:aws:events:us-east-1:123456789012:event-bus/sw",
		"FORWARD_SQS_QUEUE_URL":          "https://sqs.us-east-1.amazonaws.com/123456789012/out.fifo",
		"RETRY_QUEUE_URL":                "https://sqs.us-east-1.amazonaws.com/123456789012/retry",
		"METRICS_NAMESPACE":              "Acme/SignalWire",
		"WEBHOOK_SIGNATURE_VERIFICATION": "on",
		"METRICS_SERVICE":                "participants-prod",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.CredentialsTTL != 90*time.Second || c.SpaceHost != "Example.signalwire.com" || c.LogLevel != slog.LevelDebug || c.PublicBaseURL != "https://hooks.example.com/prod" ||
		c.ForwardHTTPSURL == "" || c.ForwardEventBus == "" || c.ForwardQueueURL == "" || c.RetryQueueURL == "" || c.MetricsNamespace != "Acme/SignalWire" || c.MetricsService != "participants-prod" {
		t.Fatalf("parsed: %+v", c)
	}
}

func TestLambdaLogLevelWins(t *testing.T) {
	c, err := Load(env(map[string]string{"SIGNALWIRE_SECRET_ID": "s", "LOG_LEVEL": "debug", "AWS_LAMBDA_LOG_LEVEL": "WARN"}))
	if err != nil || c.LogLevel != slog.LevelWarn {
		t.Fatalf("level = %v, err = %v", c.LogLevel, err)
	}
}

func TestErrorsNameVariableAndForm(t *testing.T) {
	cases := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{}, "SIGNALWIRE_SECRET_ID is not set: want a Secrets Manager secret name or ARN"},
		{map[string]string{"SIGNALWIRE_SECRET_ID": "s", "SIGNALWIRE_SPACE_HOST": "example.signalwire.com/api"}, `SIGNALWIRE_SPACE_HOST is "example.signalwire.com/api": must be a bare host name`},
		{map[string]string{"SIGNALWIRE_SECRET_ID": "s", "SIGNALWIRE_SPACE_HOST": "http://example.signalwire.com"}, `SIGNALWIRE_SPACE_HOST is "http://example.signalwire.com": must use https: want the Space host`},
		{map[string]string{"SIGNALWIRE_SECRET_ID": "s", "SIGNALWIRE_SPACE_HOST": "example..com"}, `SIGNALWIRE_SPACE_HOST is "example..com"`},
		{map[string]string{"SIGNALWIRE_SECRET_ID": "s", "CREDENTIALS_TTL": "5"}, `CREDENTIALS_TTL is "5": want a Go duration`},
		{map[string]string{"SIGNALWIRE_SECRET_ID": "s", "CREDENTIALS_TTL": "1ms"}, `CREDENTIALS_TTL is "1ms"`},
		{map[string]string{"SIGNALWIRE_SECRET_ID": "s", "LOG_LEVEL": "loud"}, `LOG_LEVEL is "loud": want one of debug`},
		{map[string]string{"SIGNALWIRE_SECRET_ID": "s", "AWS_LAMBDA_LOG_LEVEL": "loud"}, `AWS_LAMBDA_LOG_LEVEL is "loud"`},
		{map[string]string{"SIGNALWIRE_SECRET_ID": "s", "PUBLIC_BASE_URL": "hooks.example.com"}, "PUBLIC_BASE_URL is not an absolute http(s) URL"},
		{map[string]string{"SIGNALWIRE_SECRET_ID": "s", "PUBLIC_BASE_URL": "https://h.example.com/p?x=1"}, "PUBLIC_BASE_URL has a query"},
		{map[string]string{"SIGNALWIRE_SECRET_ID": "s", "PUBLIC_BASE_URL": "http://h.example.com"}, "PUBLIC_BASE_URL is not https"},
		{map[string]string{"SIGNALWIRE_SECRET_ID": "s", "FORWARD_HTTPS_URL": "http://sink.example.com/?token=abc"}, "FORWARD_HTTPS_URL is not https"},
		{map[string]string{"SIGNALWIRE_SECRET_ID": "s", "FORWARD_EVENT_BUS": "bad bus!"}, "FORWARD_EVENT_BUS"},
		{map[string]string{"SIGNALWIRE_SECRET_ID": "s", "RETRY_QUEUE_URL": "retry"}, "RETRY_QUEUE_URL is not an absolute"},
		{map[string]string{"SIGNALWIRE_SECRET_ID": "s", "METRICS_NAMESPACE": "bad namespace"}, "METRICS_NAMESPACE"},
		{map[string]string{"SIGNALWIRE_SECRET_ID": "s", "METRICS_NAMESPACE": strings.Repeat("n", 256)}, "METRICS_NAMESPACE"},
		{map[string]string{"SIGNALWIRE_SECRET_ID": "s", "RETRY_MAX_RECEIVE_COUNT": "0"}, `RETRY_MAX_RECEIVE_COUNT is "0": want an integer`},
		{map[string]string{"SIGNALWIRE_SECRET_ID": "s", "WEBHOOK_SIGNATURE_VERIFICATION": "off"}, "WEBHOOK_SIGNATURE_VERIFICATION is off outside a local run"},
		{map[string]string{"SIGNALWIRE_SECRET_ID": "s", "WEBHOOK_SIGNATURE_VERIFICATION": "maybe"}, `WEBHOOK_SIGNATURE_VERIFICATION is "maybe"`},
	}
	for _, tc := range cases {
		_, err := Load(env(tc.env))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("env %v: err = %v, want it to contain %q", tc.env, err, tc.want)
			continue
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("error spans lines: %q", err)
		}
		if strings.Contains(err.Error(), "token=abc") {
			t.Errorf("error echoes a URL that may carry a token: %q", err)
		}
	}
}

// TestErrorsInVariablesOrder: with every variable bad, the error names them
// all, in variables order, so the same configuration gives the same message.
func TestErrorsInVariablesOrder(t *testing.T) {
	bad := map[string]string{
		"SIGNALWIRE_SPACE_HOST": "http://example.signalwire.com", "CREDENTIALS_TTL": "5", "LOG_LEVEL": "loud",
		"PUBLIC_BASE_URL": "x", "PUBLIC_WEBHOOK_URL": "x", "WEBHOOK_SIGNATURE_VERIFICATION": "maybe", "WEBHOOK_MAX_AGE": "48h",
		"FORWARD_HTTPS_URL": "x", "FORWARD_EVENT_BUS": "bad bus!", "FORWARD_SQS_QUEUE_URL": "x", "RETRY_QUEUE_URL": "x",
		"RETRY_MAX_RECEIVE_COUNT": "0", "DEAD_LETTER_QUEUE_URL": "x", "METRICS_NAMESPACE": "bad namespace",
		"METRICS_SERVICE": strings.Repeat("s", 256),
	} // SIGNALWIRE_SECRET_ID is bad by being unset
	_, err := Load(env(bad))
	if err == nil {
		t.Fatal("Load accepted every variable bad")
	}
	msg, at := err.Error(), 0
	for _, v := range variables {
		i := strings.Index(msg[at:], "; "+v.name+" ")
		if v.name == variables[0].name {
			i = strings.Index(msg[at:], ": "+v.name+" ")
		}
		if i < 0 {
			t.Fatalf("%s missing or out of variables order in %q", v.name, msg)
		}
		at += i + 1
	}
}

func TestVerificationOffOnlyLocally(t *testing.T) {
	c, err := Load(env(map[string]string{"SIGNALWIRE_SECRET_ID": "s", "WEBHOOK_SIGNATURE_VERIFICATION": "off", "AWS_SAM_LOCAL": "true", "FORWARD_HTTPS_URL": "http://127.0.0.1:9/in"}))
	if err != nil || c.VerifySignatures || !c.Local {
		t.Fatalf("local off: %+v %v", c, err)
	}
}

// TestWebhookMaxAge: a Go duration from 1m to 24h; off only in local runs.
func TestWebhookMaxAge(t *testing.T) {
	for v, want := range map[string]time.Duration{"15m": 15 * time.Minute, "24h": 24 * time.Hour, "1m": time.Minute} {
		if c, err := Load(env(map[string]string{"SIGNALWIRE_SECRET_ID": "s", "WEBHOOK_MAX_AGE": v})); err != nil || c.WebhookMaxAge != want {
			t.Errorf("%s: %v, %v", v, c.WebhookMaxAge, err)
		}
	}
	for _, v := range []string{"30s", "25h", "3600", "off", "-1h"} {
		if _, err := Load(env(map[string]string{"SIGNALWIRE_SECRET_ID": "s", "WEBHOOK_MAX_AGE": v})); err == nil || !strings.Contains(err.Error(), "WEBHOOK_MAX_AGE") {
			t.Errorf("%s accepted: %v", v, err)
		}
	}
	if c, err := Load(env(map[string]string{"SIGNALWIRE_SECRET_ID": "s", "WEBHOOK_MAX_AGE": "off", "AWS_SAM_LOCAL": "true"})); err != nil || c.WebhookMaxAge != 0 {
		t.Errorf("local off: %v, %v", c.WebhookMaxAge, err)
	}
}

// TestLocalUnresolvedQueueRef: `sam local` turns `!Ref RetryQueue` into the
// logical id "RetryQueue". Locally that means "no queue" (with a warning),
// not a function that cannot start; deployed, it stays an error.
func TestLocalUnresolvedQueueRef(t *testing.T) {
	vars := map[string]string{"SIGNALWIRE_SECRET_ID": "sw", "RETRY_QUEUE_URL": "RetryQueue", "FORWARD_SQS_QUEUE_URL": "DestinationQueue", "AWS_SAM_LOCAL": "true"}
	c, err := Load(env(vars))
	if err != nil {
		t.Fatalf("local run with unresolved refs: %v", err)
	}
	if c.RetryQueueURL != "" || c.ForwardQueueURL != "" || len(c.Warnings) != 2 || !strings.Contains(c.Warnings[1], `RETRY_QUEUE_URL is "RetryQueue"`) {
		t.Fatalf("config %+v", c)
	}
	delete(vars, "AWS_SAM_LOCAL")
	if _, err := Load(env(vars)); err == nil || !strings.Contains(err.Error(), "RETRY_QUEUE_URL is not an absolute http(s) URL") {
		t.Fatalf("deployed: err = %v, want the RETRY_QUEUE_URL error", err)
	}
	// A local value that is neither a URL nor a logical id is still an error.
	if _, err := Load(env(map[string]string{"SIGNALWIRE_SECRET_ID": "sw", "RETRY_QUEUE_URL": "not a url", "AWS_SAM_LOCAL": "true"})); err == nil {
		t.Fatal("local run accepted RETRY_QUEUE_URL=\"not a url\"")
	}
}

// TestValidNamespaceIsThePattern: the hand-written check accepts exactly
// what ^[A-Za-z0-9.\-_/#:]+$ accepts.
func TestValidNamespaceIsThePattern(t *testing.T) {
	re := regexp.MustCompile(`^[A-Za-z0-9.\-_/#:]+$`)
	for _, s := range []string{"", "SignalWireParticipants", "Acme/SignalWire", "a.b-c_d/e#f:g", "bad namespace", "ü", "a\x00", "a\n", "a$", "a\\b", "[x]", "a,b", "a+b"} {
		if got, want := setMetricsNamespace(&Config{}, s) == nil, re.MatchString(s); got != want {
			t.Errorf("namespace %q accepted: %v, the pattern says %v", s, got, want)
		}
	}
	for c := 0; c < 256; c++ {
		s := string([]byte{'a', byte(c)})
		if got, want := setMetricsNamespace(&Config{}, s) == nil, re.MatchString(s); got != want {
			t.Errorf("namespace %q accepted: %v, the pattern says %v", s, got, want)
		}
	}
}
