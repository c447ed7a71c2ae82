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
)

// Variable describes one environment variable the function reads.
// docs/CONFIGURATION.md's table lists exactly these (a test compares them).
type Variable struct {
	Name     string
	Required bool
	Default  string
	Form     string // the expected form, used in error messages
	// Override names a variable Lambda sets that wins over this one when
	// set (AWS_LAMBDA_LOG_LEVEL over LOG_LEVEL); errors then name it.
	Override string
	// set validates the value (trimmed; Default when unset or blank) and
	// stores it in c. Its error is the detail after the variable's name,
	// such as "is not https"; it never echoes a URL (URLs can carry tokens).
	set func(c *Config, v string) error
}

// Variables is every setting, in docs/CONFIGURATION.md order. Load reads them in this
// order, so the same bad configuration always gives the same message.
var Variables = []Variable{
	{Name: "SIGNALWIRE_SECRET_ID", Required: true, Form: "a Secrets Manager secret name or ARN", set: setSecretID},
	{Name: "SIGNALWIRE_SPACE_HOST", Form: "the Space host of the secret's space_host, e.g. example.signalwire.com", set: setSpaceHost},
	{Name: "CREDENTIALS_TTL", Default: "5m", Form: "a Go duration between 1s and 24h, e.g. 5m", set: setCredentialsTTL},
	{Name: "LOG_LEVEL", Default: "info", Form: "one of debug, info, warn, error", Override: "AWS_LAMBDA_LOG_LEVEL", set: setLogLevel},
	{Name: "PUBLIC_BASE_URL", Form: "an absolute https URL without query, e.g. https://hooks.example.com/prod", set: setPublicBaseURL},
	{Name: "PUBLIC_WEBHOOK_URL", Form: "an absolute https URL without query, e.g. https://example.ngrok.io/webhook", set: urlVar(func(c *Config) *string { return &c.PublicWebhookURL }, true)},
	{Name: "WEBHOOK_SIGNATURE_VERIFICATION", Default: "on", Form: "on or off (off only when AWS_SAM_LOCAL=true)", set: setVerification},
	{Name: "FORWARD_HTTPS_URL", Form: "an absolute https URL", set: urlVar(func(c *Config) *string { return &c.ForwardHTTPSURL }, false)},
	{Name: "FORWARD_EVENT_BUS", Form: "an EventBridge bus name or ARN", set: setForwardEventBus},
	{Name: "FORWARD_SQS_QUEUE_URL", Form: "an SQS queue URL", set: queueURL("FORWARD_SQS_QUEUE_URL", func(c *Config) *string { return &c.ForwardQueueURL })},
	{Name: "RETRY_QUEUE_URL", Form: "an SQS queue URL", set: queueURL("RETRY_QUEUE_URL", func(c *Config) *string { return &c.RetryQueueURL })},
	{Name: "RETRY_MAX_RECEIVE_COUNT", Default: "5", Form: "an integer from 1 to 1000, the retry queue's redrive maxReceiveCount", set: setMaxReceiveCount},
	{Name: "DEAD_LETTER_QUEUE_URL", Form: "an SQS queue URL", set: queueURL("DEAD_LETTER_QUEUE_URL", func(c *Config) *string { return &c.DeadLetterQueueURL })},
	{Name: "METRICS_NAMESPACE", Default: "SignalWireParticipants", Form: "a CloudWatch namespace (1-255 of A-Za-z0-9 . - _ / # :)", set: setMetricsNamespace},
	{Name: "METRICS_SERVICE", Form: "a dimension value of 1-255 characters", set: setMetricsService},
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
// every cold start (make bench). They are compiled on first use, so a
// configuration without the variable never pays for them.
var (
	busName = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^([A-Za-z0-9._\-/]+|arn:aws[a-z-]*:events:[a-z0-9-]+:\d{12}:event-bus/[A-Za-z0-9._\-/]+)$`)
	})
	// logicalID is a CloudFormation logical id: what `sam local` puts in a
	// variable whose value is a Ref to a resource it cannot create.
	logicalID = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]*$`) })
)

// validNamespace is ^[A-Za-z0-9.\-_/#:]+$ without a regexp (every
// configuration checks it, the default included).
func validNamespace(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte(".-_/#:", c) >= 0) {
			return false
		}
	}
	return true
}

// Load reads every setting through getenv and validates it. The error names
// each bad variable and the form it expects, on one line, in Variables order.
func Load(getenv func(string) string) (Config, error) {
	c := Config{
		FunctionName: getenv("AWS_LAMBDA_FUNCTION_NAME"),
		Local:        strings.EqualFold(getenv("AWS_SAM_LOCAL"), "true"),
	}
	var errs []string
	for _, v := range Variables {
		name, value := v.Name, strings.TrimSpace(getenv(v.Name))
		if value == "" {
			value = v.Default
		}
		if v.Override != "" {
			if o := getenv(v.Override); o != "" {
				name, value = v.Override, o
			}
		}
		err := v.set(&c, value)
		if err == nil && v.Required && value == "" {
			err = errors.New("is not set")
		}
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s %s: want %s", name, err, v.Form))
		}
	}
	if len(errs) > 0 {
		return Config{}, errors.New("invalid configuration: " + strings.Join(errs, "; "))
	}
	return c, nil
}

func setSecretID(c *Config, v string) error {
	c.SecretID = v
	return nil
}

func setSpaceHost(c *Config, v string) error {
	if v == "" {
		return nil
	}
	h, err := spaceHost(v)
	c.SpaceHost = h
	return err
}

func setCredentialsTTL(c *Config, v string) error {
	d, err := time.ParseDuration(v)
	if err != nil || d < time.Second || d > 24*time.Hour {
		return fmt.Errorf("is %q", v)
	}
	c.CredentialsTTL = d
	return nil
}

func setLogLevel(c *Config, v string) error {
	l, ok := parseLevel(v)
	if !ok {
		return fmt.Errorf("is %q", v)
	}
	c.LogLevel = l
	return nil
}

func setPublicBaseURL(c *Config, v string) error {
	c.PublicBaseURL = strings.TrimRight(v, "/")
	if c.PublicBaseURL == "" {
		return nil
	}
	return checkURL(c.PublicBaseURL, c.Local, true)
}

// urlVar returns the setter of an absolute URL variable stored in the
// field that field(c) points at (https, or http in a local run); noQuery
// refuses a query or fragment.
func urlVar(field func(*Config) *string, noQuery bool) func(*Config, string) error {
	return func(c *Config, v string) error {
		*field(c) = v
		if v == "" {
			return nil
		}
		return checkURL(v, c.Local, noQuery)
	}
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

// queueURL returns the setter of an SQS queue URL variable (name) stored
// in the field that field(c) points at.
func queueURL(name string, field func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error {
		dst := field(c)
		*dst = v
		if v == "" {
			return nil
		}
		// Under `sam local`, a Ref to a queue SAM cannot create arrives
		// as the queue's logical id ("RetryQueue"): no queue in this
		// local run, rather than a function that cannot start.
		if c.Local && len(v) <= 255 && logicalID().MatchString(v) {
			c.Warnings = append(c.Warnings, fmt.Sprintf("%s is %q, a CloudFormation logical id that sam local could not resolve: no such queue in this local run (set it in the --env-vars file to use one)", name, v))
			*dst = ""
			return nil
		}
		return checkURL(v, true, false)
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
	if len(v) > 255 || !validNamespace(v) {
		return fmt.Errorf("is %q", v)
	}
	return nil
}

// setMetricsService defaults the Service dimension to the function's name.
func setMetricsService(c *Config, v string) error {
	if len(v) > 255 {
		return errors.New("is too long")
	}
	c.MetricsService = cmp.Or(v, c.FunctionName, "signalwire-participants")
	return nil
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
