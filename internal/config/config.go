// Package config reads and validates the function's settings once, at init.
package config

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/signalwire-lambda/participants/internal/credentials"
)

// Config is the validated configuration (docs/CONFIGURATION.md); "" or 0
// is a setting not configured.
type Config struct {
	SecretID           string
	SpaceHost          string // host[:port], known before the secret: init connects early
	CredentialsTTL     time.Duration
	LogLevel           slog.Level
	PublicBaseURL      string
	PublicWebhookURL   string // wins over PublicBaseURL
	VerifySignatures   bool
	WebhookMaxAge      time.Duration // 0 (off) only in local runs
	ForwardHTTPSURL    string
	ForwardEventBus    string
	ForwardQueueURL    string
	RetryQueueURL      string
	DeadLetterQueueURL string
	MaxReceiveCount    int // the retry queue's redrive maxReceiveCount
	MetricsNamespace   string
	MetricsService     string // the Service dimension (default: the function name)
	FunctionName       string // AWS_LAMBDA_FUNCTION_NAME
	Local              bool   // AWS_SAM_LOCAL=true: sam local and the README's local run
	Warnings           []string
}

// variable is one environment variable; docs/CONFIGURATION.md's table
// lists exactly these, in this order (a test compares them).
type variable struct {
	name     string
	required bool
	def      string
	form     string // the expected form, in error messages
	override string // a variable Lambda sets that wins when set
	// set validates the value (trimmed; def when blank) and stores it. Its
	// error is the detail after the name ("is not https"); it never echoes
	// a URL (URLs can carry tokens).
	set func(c *Config, v string) error
}

var variables = []variable{
	{name: "SIGNALWIRE_SECRET_ID", required: true, form: "a Secrets Manager secret name or ARN",
		set: func(c *Config, v string) error { c.SecretID = v; return nil }},
	{name: "SIGNALWIRE_SPACE_HOST", form: "the Space host of the secret's space_host, e.g. example.signalwire.com", set: setSpaceHost},
	{name: "CREDENTIALS_TTL", def: "5m", form: "a Go duration between 1s and 24h, e.g. 5m",
		set: func(c *Config, v string) error { return setDuration(&c.CredentialsTTL, v, time.Second) }},
	{name: "LOG_LEVEL", def: "info", form: "one of debug, info, warn, error", override: "AWS_LAMBDA_LOG_LEVEL", set: setLogLevel},
	{name: "PUBLIC_BASE_URL", form: "an absolute https URL without query, e.g. https://hooks.example.com/prod",
		set: func(c *Config, v string) error {
			return setURL(&c.PublicBaseURL, strings.TrimRight(v, "/"), c.Local, true)
		}},
	{name: "PUBLIC_WEBHOOK_URL", form: "an absolute https URL without query, e.g. https://example.ngrok.io/webhook",
		set: func(c *Config, v string) error { return setURL(&c.PublicWebhookURL, v, c.Local, true) }},
	{name: "WEBHOOK_SIGNATURE_VERIFICATION", def: "on", form: "on or off (off only when AWS_SAM_LOCAL=true)", set: setVerification},
	{name: "WEBHOOK_MAX_AGE", def: "1h", form: "a Go duration between 1m and 24h, or off (only when AWS_SAM_LOCAL=true)", set: setWebhookMaxAge},
	{name: "FORWARD_HTTPS_URL", form: "an absolute https URL",
		set: func(c *Config, v string) error { return setURL(&c.ForwardHTTPSURL, v, c.Local, false) }},
	{name: "FORWARD_EVENT_BUS", form: "an EventBridge bus name or ARN", set: setForwardEventBus},
	{name: "FORWARD_SQS_QUEUE_URL", form: "an SQS queue URL", set: queueURL("FORWARD_SQS_QUEUE_URL", func(c *Config) *string { return &c.ForwardQueueURL })},
	{name: "RETRY_QUEUE_URL", form: "an SQS queue URL", set: queueURL("RETRY_QUEUE_URL", func(c *Config) *string { return &c.RetryQueueURL })},
	{name: "RETRY_MAX_RECEIVE_COUNT", def: "5", form: "an integer from 1 to 1000, the retry queue's redrive maxReceiveCount", set: setMaxReceiveCount},
	{name: "DEAD_LETTER_QUEUE_URL", form: "an SQS queue URL", set: queueURL("DEAD_LETTER_QUEUE_URL", func(c *Config) *string { return &c.DeadLetterQueueURL })},
	{name: "METRICS_NAMESPACE", def: "SignalWireParticipants", form: "a CloudWatch namespace (1-255 of A-Za-z0-9 . - _ / # :)", set: setMetricsNamespace},
	{name: "METRICS_SERVICE", form: "a dimension value of 1-255 characters", set: func(c *Config, v string) error {
		c.MetricsService = cmp.Or(v, c.FunctionName, "signalwire-participants")
		if len(v) > 255 {
			return errors.New("is too long")
		}
		return nil
	}},
}

// The patterns use + and a length check: bounded repetitions ({1,256})
// compile into large automata, half a millisecond of a cold start (make
// bench). They compile on first use.
var (
	busName = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^([A-Za-z0-9._\-/]+|arn:aws[a-z-]*:events:[a-z0-9-]+:\d{12}:event-bus/[A-Za-z0-9._\-/]+)$`)
	})
	// logicalID: what `sam local` puts for a Ref to a resource it cannot create.
	logicalID = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]*$`) })
)

// Load reads every setting through getenv and validates it. The error names
// each bad variable and the form it expects, on one line, in table order.
func Load(getenv func(string) string) (Config, error) {
	c := Config{FunctionName: getenv("AWS_LAMBDA_FUNCTION_NAME"), Local: strings.EqualFold(getenv("AWS_SAM_LOCAL"), "true")}
	var errs []string
	for _, v := range variables {
		name, value := v.name, cmp.Or(strings.TrimSpace(getenv(v.name)), v.def)
		if o := v.override; o != "" && getenv(o) != "" {
			name, value = o, getenv(o)
		}
		err := v.set(&c, value)
		if err == nil && v.required && value == "" {
			err = errors.New("is not set")
		}
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s %s: want %s", name, err, v.form))
		}
	}
	if len(errs) > 0 {
		return Config{}, errors.New("invalid configuration: " + strings.Join(errs, "; "))
	}
	return c, nil
}

func setSpaceHost(c *Config, v string) (err error) {
	if v == "" {
		return nil
	}
	if c.SpaceHost, err = credentials.ParseSpaceHost(v); err != nil {
		return fmt.Errorf("is %q: %w", v, err)
	}
	return nil
}

func setWebhookMaxAge(c *Config, v string) error {
	if strings.EqualFold(v, "off") {
		if !c.Local {
			return errors.New("is off outside a local run (AWS_SAM_LOCAL is not true)")
		}
		return nil
	}
	return setDuration(&c.WebhookMaxAge, v, time.Minute)
}

// setDuration stores in *dst a duration from least to 24h.
func setDuration(dst *time.Duration, v string, least time.Duration) error {
	d, err := time.ParseDuration(v)
	if err != nil || d < least || d > 24*time.Hour {
		return fmt.Errorf("is %q", v)
	}
	*dst = d
	return nil
}

var levels = map[string]slog.Level{"TRACE": slog.LevelDebug, "DEBUG": slog.LevelDebug, "INFO": slog.LevelInfo,
	"WARN": slog.LevelWarn, "WARNING": slog.LevelWarn, "ERROR": slog.LevelError, "FATAL": slog.LevelError}

func setLogLevel(c *Config, v string) error {
	l, ok := levels[strings.ToUpper(v)]
	if !ok {
		return fmt.Errorf("is %q", v)
	}
	c.LogLevel = l
	return nil
}

func setVerification(c *Config, v string) error {
	switch v = strings.ToLower(v); v {
	case "on", "true":
		c.VerifySignatures = true
	case "off", "false":
		if !c.Local {
			return errors.New("is off outside a local run (AWS_SAM_LOCAL is not true)")
		}
	default:
		return fmt.Errorf("is %q", v)
	}
	return nil
}

func setForwardEventBus(c *Config, v string) error {
	c.ForwardEventBus = v
	if v != "" && (len(v) > 1600 || !busName().MatchString(v)) {
		return fmt.Errorf("is %q", v)
	}
	return nil
}

// queueURL returns the setter of the SQS queue URL variable name.
func queueURL(name string, field func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error {
		// Under `sam local`, a Ref to a queue SAM cannot create arrives as
		// the queue's logical id ("RetryQueue"): no queue in this local
		// run, rather than a function that cannot start.
		if c.Local && len(v) <= 255 && logicalID().MatchString(v) {
			c.Warnings = append(c.Warnings, fmt.Sprintf("%s is %q, a CloudFormation logical id that sam local could not resolve: no such queue in this local run (set it in the --env-vars file to use one)", name, v))
			return nil
		}
		return setURL(field(c), v, true, false)
	}
}

func setMaxReceiveCount(c *Config, v string) error {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 1000 {
		return fmt.Errorf("is %q", v)
	}
	c.MaxReceiveCount = n
	return nil
}

func setMetricsNamespace(c *Config, v string) error {
	c.MetricsNamespace = v
	// ^[A-Za-z0-9.\-_/#:]+$ without a regexp: every configuration checks
	// it, the default included.
	if v == "" || len(v) > 255 || strings.Trim(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_/#:") != "" {
		return fmt.Errorf("is %q", v)
	}
	return nil
}

// setURL stores an absolute URL in *dst: plain http only when allowHTTP
// (local runs, and SQS endpoints the SDK itself signs); noQuery refuses a
// query or fragment. Errors never echo the value: a URL can carry a token.
func setURL(dst *string, s string, allowHTTP, noQuery bool) error {
	*dst = s
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	switch {
	case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		return errors.New("is not an absolute http(s) URL")
	case u.Scheme == "http" && !allowHTTP:
		return errors.New("is not https")
	case u.User != nil:
		return errors.New("contains credentials")
	case noQuery && (u.RawQuery != "" || u.Fragment != ""):
		return errors.New("has a query or fragment")
	}
	return nil
}
