// Package config reads and validates the function's settings once, at init.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Variable describes one environment variable the function reads. The
// README's configuration table lists exactly these (a test compares them).
type Variable struct {
	Name     string
	Required bool
	Default  string
	Form     string // the expected form, used in error messages
}

// Variables is every setting, in README order.
var Variables = []Variable{
	{Name: "SIGNALWIRE_SECRET_ID", Required: true, Form: "a Secrets Manager secret name or ARN"},
	{Name: "SIGNALWIRE_SPACE_HOST", Form: "the Space host of the secret's space_host, e.g. example.signalwire.com"},
	{Name: "CREDENTIALS_TTL", Default: "5m", Form: "a Go duration between 1s and 24h, e.g. 5m"},
	{Name: "LOG_LEVEL", Default: "info", Form: "one of debug, info, warn, error"},
	{Name: "PUBLIC_BASE_URL", Form: "an absolute https URL without query, e.g. https://hooks.example.com/prod"},
	{Name: "PUBLIC_WEBHOOK_URL", Form: "an absolute https URL without query, e.g. https://example.ngrok.io/webhook"},
	{Name: "WEBHOOK_SIGNATURE_VERIFICATION", Default: "on", Form: "on or off (off only when AWS_SAM_LOCAL=true)"},
	{Name: "FORWARD_HTTPS_URL", Form: "an absolute https URL"},
	{Name: "FORWARD_EVENT_BUS", Form: "an EventBridge bus name or ARN"},
	{Name: "FORWARD_SQS_QUEUE_URL", Form: "an SQS queue URL"},
	{Name: "RETRY_QUEUE_URL", Form: "an SQS queue URL"},
	{Name: "RETRY_MAX_RECEIVE_COUNT", Default: "5", Form: "an integer from 1 to 1000, the retry queue's redrive maxReceiveCount"},
	{Name: "DEAD_LETTER_QUEUE_URL", Form: "an SQS queue URL"},
	{Name: "METRICS_NAMESPACE", Default: "SignalWireParticipants", Form: "a CloudWatch namespace (1-255 of A-Za-z0-9 . - _ / # :)"},
	{Name: "METRICS_SERVICE", Form: "a dimension value of 1-255 characters"},
}

// Config is the validated configuration.
type Config struct {
	SecretID string
	// SpaceHost is the SignalWire Space host[:port] (no scheme), known
	// before the secret so that init can open the connection early; empty
	// when not configured.
	SpaceHost      string
	CredentialsTTL time.Duration
	LogLevel       slog.Level
	PublicBaseURL  string
	// PublicWebhookURL is the full public URL of the webhook route, for
	// proxies that rewrite the path; it wins over PublicBaseURL.
	PublicWebhookURL string
	VerifySignatures bool
	ForwardHTTPSURL  string
	ForwardEventBus  string
	ForwardQueueURL  string
	RetryQueueURL    string
	// DeadLetterQueueURL receives a destination's permanent failures at once
	// (the retry queue's dead-letter queue); empty leaves them to the retry
	// queue's redrive.
	DeadLetterQueueURL string
	// MaxReceiveCount mirrors the retry queue's redrive policy, so the
	// function can log and count a message's last attempt.
	MaxReceiveCount  int
	MetricsNamespace string
	// MetricsService is the Service dimension of every metric (default: the function name).
	MetricsService string
	// FunctionName is AWS_LAMBDA_FUNCTION_NAME (set by Lambda).
	FunctionName string
	// Local is true under `sam local` (AWS_SAM_LOCAL=true) and the README's local run.
	Local bool
	// Warnings are settings that were accepted with a caveat (logged at init).
	Warnings []string
}

// The patterns use + and a separate length check: bounded repetitions such
// as {1,256} compile into large automata, which cost half a millisecond of
// every cold start (make bench).
var (
	busName   = regexp.MustCompile(`^([A-Za-z0-9._\-/]+|arn:aws[a-z-]*:events:[a-z0-9-]+:\d{12}:event-bus/[A-Za-z0-9._\-/]+)$`)
	namespace = regexp.MustCompile(`^[A-Za-z0-9.\-_/#:]+$`)
	// logicalID is a CloudFormation logical id: what `sam local` puts in a
	// variable whose value is a Ref to a resource it cannot create.
	logicalID = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]*$`)
)

// Load reads every setting through getenv and validates it. The error names
// each bad variable and the form it expects, on one line.
func Load(getenv func(string) string) (Config, error) {
	var errs []string
	bad := func(name, detail string) {
		form := ""
		for _, v := range Variables {
			if v.Name == name {
				form = v.Form
			}
		}
		errs = append(errs, fmt.Sprintf("%s %s: want %s", name, detail, form))
	}
	get := func(name string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		for _, v := range Variables {
			if v.Name == name {
				return v.Default
			}
		}
		return ""
	}
	c := Config{
		FunctionName: getenv("AWS_LAMBDA_FUNCTION_NAME"),
		Local:        strings.EqualFold(getenv("AWS_SAM_LOCAL"), "true"),
	}

	if c.SecretID = get("SIGNALWIRE_SECRET_ID"); c.SecretID == "" {
		bad("SIGNALWIRE_SECRET_ID", "is not set")
	}
	if v := get("SIGNALWIRE_SPACE_HOST"); v != "" {
		if h, err := spaceHost(v); err != nil {
			bad("SIGNALWIRE_SPACE_HOST", err.Error())
		} else {
			c.SpaceHost = h
		}
	}
	if d, err := time.ParseDuration(get("CREDENTIALS_TTL")); err != nil || d < time.Second || d > 24*time.Hour {
		bad("CREDENTIALS_TTL", fmt.Sprintf("is %q", get("CREDENTIALS_TTL")))
	} else {
		c.CredentialsTTL = d
	}
	// Lambda's advanced logging controls win over our own variable.
	level, levelVar := get("LOG_LEVEL"), "LOG_LEVEL"
	if v := getenv("AWS_LAMBDA_LOG_LEVEL"); v != "" {
		level, levelVar = v, "AWS_LAMBDA_LOG_LEVEL"
	}
	if l, ok := parseLevel(level); ok {
		c.LogLevel = l
	} else {
		bad(levelVar, fmt.Sprintf("is %q", level))
	}
	if c.PublicBaseURL = strings.TrimRight(get("PUBLIC_BASE_URL"), "/"); c.PublicBaseURL != "" {
		if err := checkURL(c.PublicBaseURL, c.Local, true); err != nil {
			bad("PUBLIC_BASE_URL", err.Error())
		}
	}
	if c.PublicWebhookURL = get("PUBLIC_WEBHOOK_URL"); c.PublicWebhookURL != "" {
		if err := checkURL(c.PublicWebhookURL, c.Local, true); err != nil {
			bad("PUBLIC_WEBHOOK_URL", err.Error())
		}
	}
	switch v := strings.ToLower(get("WEBHOOK_SIGNATURE_VERIFICATION")); v {
	case "on", "true":
		c.VerifySignatures = true
	case "off", "false":
		if !c.Local {
			bad("WEBHOOK_SIGNATURE_VERIFICATION", "is off outside a local run (AWS_SAM_LOCAL is not true)")
		}
	default:
		bad("WEBHOOK_SIGNATURE_VERIFICATION", fmt.Sprintf("is %q", v))
	}
	if c.ForwardHTTPSURL = get("FORWARD_HTTPS_URL"); c.ForwardHTTPSURL != "" {
		if err := checkURL(c.ForwardHTTPSURL, c.Local, false); err != nil {
			bad("FORWARD_HTTPS_URL", err.Error())
		}
	}
	if c.ForwardEventBus = get("FORWARD_EVENT_BUS"); c.ForwardEventBus != "" && (len(c.ForwardEventBus) > 1600 || !busName.MatchString(c.ForwardEventBus)) {
		bad("FORWARD_EVENT_BUS", fmt.Sprintf("is %q", c.ForwardEventBus))
	}
	for _, q := range []struct {
		name string
		dst  *string
	}{{"FORWARD_SQS_QUEUE_URL", &c.ForwardQueueURL}, {"RETRY_QUEUE_URL", &c.RetryQueueURL}, {"DEAD_LETTER_QUEUE_URL", &c.DeadLetterQueueURL}} {
		name, dst := q.name, q.dst
		if *dst = get(name); *dst != "" {
			// Under `sam local`, a Ref to a queue SAM cannot create arrives
			// as the queue's logical id ("RetryQueue"): no queue in this
			// local run, rather than a function that cannot start.
			if c.Local && len(*dst) <= 255 && logicalID.MatchString(*dst) {
				c.Warnings = append(c.Warnings, fmt.Sprintf("%s is %q, a CloudFormation logical id that sam local could not resolve: no such queue in this local run (set it in the --env-vars file to use one)", name, *dst))
				*dst = ""
				continue
			}
			if err := checkURL(*dst, true, false); err != nil {
				bad(name, err.Error())
			}
		}
	}
	if n, err := strconv.Atoi(get("RETRY_MAX_RECEIVE_COUNT")); err != nil || n < 1 || n > 1000 {
		bad("RETRY_MAX_RECEIVE_COUNT", fmt.Sprintf("is %q", get("RETRY_MAX_RECEIVE_COUNT")))
	} else {
		c.MaxReceiveCount = n
	}
	if c.MetricsNamespace = get("METRICS_NAMESPACE"); len(c.MetricsNamespace) > 255 || !namespace.MatchString(c.MetricsNamespace) {
		bad("METRICS_NAMESPACE", fmt.Sprintf("is %q", c.MetricsNamespace))
	}
	c.MetricsService = get("METRICS_SERVICE")
	if len(c.MetricsService) > 255 {
		bad("METRICS_SERVICE", "is too long")
	}
	if c.MetricsService == "" {
		c.MetricsService = c.FunctionName
	}
	if c.MetricsService == "" {
		c.MetricsService = "signalwire-participants"
	}
	if len(errs) > 0 {
		return Config{}, errors.New("invalid configuration: " + strings.Join(errs, "; "))
	}
	return c, nil
}

// checkURL accepts an absolute URL; plain http only when allowHTTP (local
// runs, and SQS endpoints the SDK itself signs). Errors never echo the
// value: a URL can carry a token.
func checkURL(s string, allowHTTP, noQuery bool) error {
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

// spaceHost accepts a host[:port] or an https:// URL without path, as the
// secret's space_host, and returns the host[:port].
func spaceHost(v string) (string, error) {
	s := v
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	switch {
	case err != nil || u.Host == "" || u.Scheme != "https":
		return "", fmt.Errorf("is %q", v)
	case u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "":
		return "", fmt.Errorf("is %q (a bare host, no path or query)", v)
	}
	return u.Host, nil
}

func parseLevel(s string) (slog.Level, bool) {
	switch strings.ToUpper(s) {
	case "TRACE", "DEBUG":
		return slog.LevelDebug, true
	case "INFO":
		return slog.LevelInfo, true
	case "WARN", "WARNING":
		return slog.LevelWarn, true
	case "ERROR", "FATAL":
		return slog.LevelError, true
	}
	return 0, false
}
