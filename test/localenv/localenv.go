// Package localenv runs the function's whole world on loopback, for
// cmd/demo, the end-to-end tests and the benchmarks: kumo (an in-process AWS
// emulator: Secrets Manager, SQS, EventBridge), the SignalWire sandbox, an
// HTTPS webhook receiver, a view of the events put on the bus, and the AWS
// Lambda Runtime Interface Emulator (RIE) that runs the real bootstrap.
//
// Nothing it starts listens beyond 127.0.0.1, and every AWS client it builds
// or configures uses static test credentials with IMDS disabled.
//
// kumo keeps its service state process-wide: every kumo server in a process
// sees the same secrets, queues and buses, and kumo's server construction is
// not safe for concurrent use. Hence Start gives the resources of each Env a
// random name suffix (unless Options.ExactNames), Close deletes them, and
// Start must not be called from parallel tests at the same time.
package localenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/sivchari/kumo"

	"github.com/signalwire-lambda/participants/test/sandbox"
)

// Fixed values of the local environment.
const (
	// Region is the AWS region of every client and of the function.
	Region = "us-east-1"
	// AccessKeyID and SecretAccessKey are kumo's static test credentials.
	AccessKeyID     = "test"
	SecretAccessKey = "test"
	// DefaultSecretName is the Secrets Manager secret holding the credentials JSON.
	DefaultSecretName = "signalwire/participants"
	// DefaultEventBusName is the EventBridge destination bus.
	DefaultEventBusName = "signalwire-events"
	// DefaultPublicBaseURL is the public URL prefix the demo and the tests
	// sign webhooks for (PUBLIC_BASE_URL); nothing resolves or serves it.
	DefaultPublicBaseURL = "https://hooks.local.test"
	// DefaultMaxReceiveCount is the retry queue's redrive maxReceiveCount.
	DefaultMaxReceiveCount = 3
	// DefaultFunctionTimeout is the function deadline (AWS_LAMBDA_FUNCTION_TIMEOUT, seconds).
	DefaultFunctionTimeout = 30
)

// Base queue names, before the per-Env suffix.
const (
	retryQueueBase       = "signalwire-retry"
	retryDLQBase         = "signalwire-retry-dlq"
	destinationQueueBase = "signalwire-destination"
	ruleBase             = "signalwire-events-observe"
)

// Options configures Start. The zero value is ready to use.
type Options struct {
	// ExactNames uses the resource names as given, without the random
	// per-Env suffix: for cmd/demo, where one Env runs per process.
	ExactNames bool
	// SecretName defaults to DefaultSecretName.
	SecretName string
	// EventBusName defaults to DefaultEventBusName.
	EventBusName string
	// MaxReceiveCount is the retry queue's redrive maxReceiveCount
	// (default DefaultMaxReceiveCount).
	MaxReceiveCount int
	// RetryVisibilityTimeout is the retry queue's visibility timeout, whole
	// seconds (default: SQS's 30s).
	RetryVisibilityTimeout time.Duration
	// PublicBaseURL defaults to DefaultPublicBaseURL.
	PublicBaseURL string
	// LogLevel is the function's LOG_LEVEL (default "info").
	LogLevel string
	// Sandbox options, e.g. sandbox.WithLatency for benchmarks.
	Sandbox []sandbox.Option
}

// Secret is the credentials JSON stored in Secrets Manager (docs/SECURITY.md).
type Secret struct {
	ProjectID            string `json:"project_id"`
	APIToken             string `json:"api_token"`
	SpaceHost            string `json:"space_host"`
	SigningKey           string `json:"signing_key"`
	ForwardSigningSecret string `json:"forward_signing_secret,omitempty"`
}

// Env is a running local environment. Its fields are read-only.
type Env struct {
	// Kumo is the AWS emulator; KumoURL its base URL (plain HTTP on loopback).
	Kumo    *kumo.Server
	KumoURL string
	// Sandbox is the SignalWire Compatibility API sandbox.
	Sandbox *sandbox.Server
	// Receiver is the HTTPS destination (FORWARD_HTTPS_URL).
	Receiver *Receiver
	// Dir is the Env's temporary directory (removed by Close); CAFile, in
	// it, holds the certificates of the sandbox and the receiver.
	Dir    string
	CAFile string

	SecretName   string
	SecretARN    string
	EventBusName string
	EventBusARN  string
	// RetryQueueURL is the retry queue (RETRY_QUEUE_URL); after
	// MaxReceiveCount receives a message moves to RetryDLQURL.
	RetryQueueURL string
	RetryDLQURL   string
	// DestinationQueueURL is the SQS destination (FORWARD_SQS_QUEUE_URL).
	DestinationQueueURL string
	PublicBaseURL       string
	MaxReceiveCount     int

	logLevel string
	cfg      aws.Config
	sm       *secretsmanager.Client
	sqs      *sqs.Client
	eb       *eventbridge.Client
	observer *observer

	ruleName string

	mu     sync.Mutex
	secret Secret
	closed bool
}

// Start starts kumo, the sandbox, the receiver and the observer, and creates
// the secret, the queues, the bus and the observation rule. ctx bounds the
// setup only. On error everything started is stopped.
func Start(ctx context.Context, opts Options) (_ *Env, err error) {
	suffix := ""
	if !opts.ExactNames {
		b := make([]byte, 4)
		if _, err := rand.Read(b); err != nil {
			return nil, fmt.Errorf("localenv: random suffix: %w", err)
		}
		suffix = "-" + hex.EncodeToString(b)
	}
	dir, err := os.MkdirTemp("", "localenv-")
	if err != nil {
		return nil, fmt.Errorf("localenv: temp dir: %w", err)
	}
	e := &Env{
		Dir:             dir,
		CAFile:          filepath.Join(dir, "ca.pem"),
		SecretName:      withDefault(opts.SecretName, DefaultSecretName) + suffix,
		EventBusName:    withDefault(opts.EventBusName, DefaultEventBusName) + suffix,
		PublicBaseURL:   withDefault(opts.PublicBaseURL, DefaultPublicBaseURL),
		MaxReceiveCount: opts.MaxReceiveCount,
		logLevel:        withDefault(opts.LogLevel, "info"),
		ruleName:        ruleBase + suffix,
	}
	if e.MaxReceiveCount <= 0 {
		e.MaxReceiveCount = DefaultMaxReceiveCount
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, e.Close())
		}
	}()

	e.Kumo = kumo.NewServer()
	e.KumoURL = e.Kumo.URL
	e.Sandbox = sandbox.New(opts.Sandbox...)
	e.Receiver = NewReceiver()
	// Both certificates: the sandbox's may be its own (sandbox.WithCertificate).
	ca := append(e.Sandbox.Certificate(), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: e.Receiver.ts.Certificate().Raw})...)
	if err := os.WriteFile(e.CAFile, ca, 0o600); err != nil {
		return nil, fmt.Errorf("localenv: CA file: %w", err)
	}
	e.cfg = AWSConfig()
	e.sm = secretsmanager.NewFromConfig(e.cfg, func(o *secretsmanager.Options) { o.BaseEndpoint = aws.String(e.KumoURL) })
	e.sqs = sqs.NewFromConfig(e.cfg, func(o *sqs.Options) { o.BaseEndpoint = aws.String(e.KumoURL) })
	e.eb = eventbridge.NewFromConfig(e.cfg, func(o *eventbridge.Options) { o.BaseEndpoint = aws.String(e.KumoURL) })

	projectID, token := e.Sandbox.Credentials()
	e.secret = Secret{
		ProjectID:            projectID,
		APIToken:             token,
		SpaceHost:            e.Sandbox.Host(),
		SigningKey:           sandbox.SigningKey,
		ForwardSigningSecret: sandbox.ForwardSigningSecret,
	}
	if err := e.createSecret(ctx); err != nil {
		return nil, err
	}
	if err := e.createQueues(ctx, suffix, opts.RetryVisibilityTimeout); err != nil {
		return nil, err
	}
	if err := e.createBus(ctx); err != nil {
		return nil, err
	}
	if e.observer, err = newObserver(ctx, e.KumoURL, e.EventBusName, e.ruleName); err != nil {
		return nil, err
	}
	return e, nil
}

// OfflineAWSEnv is the environment that keeps an AWS SDK on this machine:
// static test credentials, the region, and no EC2 metadata probe. The
// demo, the benchmarks and the end-to-end tests set it for
// their own SDK clients (FunctionEnv has it too, for the bootstrap).
func OfflineAWSEnv() []string {
	return []string{
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_ACCESS_KEY_ID=" + AccessKeyID,
		"AWS_SECRET_ACCESS_KEY=" + SecretAccessKey,
		"AWS_REGION=" + Region,
	}
}

// UseOfflineAWS sets OfflineAWSEnv in this process's environment.
func UseOfflineAWS() error {
	for _, kv := range OfflineAWSEnv() {
		k, v, _ := strings.Cut(kv, "=")
		if err := os.Setenv(k, v); err != nil {
			return fmt.Errorf("localenv: %w", err)
		}
	}
	return nil
}

// AWSConfig returns the SDK configuration for kumo: region, static test
// credentials, nothing read from the environment, shared files or IMDS. Set
// each client's BaseEndpoint to the kumo URL.
func AWSConfig() aws.Config {
	return aws.Config{
		Region:      Region,
		Credentials: credentials.NewStaticCredentialsProvider(AccessKeyID, SecretAccessKey, ""),
	}
}

// AWSConfig returns the SDK configuration the Env's clients use.
func (e *Env) AWSConfig() aws.Config { return e.cfg }

// SecretsManager returns a Secrets Manager client for kumo.
func (e *Env) SecretsManager() *secretsmanager.Client { return e.sm }

// SQS returns an SQS client for kumo.
func (e *Env) SQS() *sqs.Client { return e.sqs }

// EventBridge returns an EventBridge client for kumo.
func (e *Env) EventBridge() *eventbridge.Client { return e.eb }

func withDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func (e *Env) createSecret(ctx context.Context) error {
	out, err := e.sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name:         aws.String(e.SecretName),
		SecretString: aws.String(string(mustMarshal(e.secret))),
	})
	if err != nil {
		return fmt.Errorf("localenv: create secret %s: %w", e.SecretName, err)
	}
	e.SecretARN = aws.ToString(out.ARN)
	return nil
}

func (e *Env) createQueues(ctx context.Context, suffix string, visibility time.Duration) error {
	var err error
	if e.RetryDLQURL, err = e.createQueue(ctx, retryDLQBase+suffix, nil); err != nil {
		return err
	}
	attrs, err := e.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(e.RetryDLQURL),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn},
	})
	if err != nil {
		return fmt.Errorf("localenv: DLQ ARN: %w", err)
	}
	redrive := mustMarshal(map[string]string{
		"deadLetterTargetArn": attrs.Attributes[string(sqstypes.QueueAttributeNameQueueArn)],
		"maxReceiveCount":     strconv.Itoa(e.MaxReceiveCount),
	})
	retryAttrs := map[string]string{string(sqstypes.QueueAttributeNameRedrivePolicy): string(redrive)}
	if visibility > 0 {
		retryAttrs[string(sqstypes.QueueAttributeNameVisibilityTimeout)] = strconv.Itoa(int(visibility / time.Second))
	}
	if e.RetryQueueURL, err = e.createQueue(ctx, retryQueueBase+suffix, retryAttrs); err != nil {
		return err
	}
	if e.DestinationQueueURL, err = e.createQueue(ctx, destinationQueueBase+suffix, nil); err != nil {
		return err
	}
	return nil
}

// createQueue creates a queue and returns its URL on the kumo server (kumo
// answers URLs on its default port 4566; it resolves queues by path).
func (e *Env) createQueue(ctx context.Context, name string, attrs map[string]string) (string, error) {
	out, err := e.sqs.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
	if err != nil {
		return "", fmt.Errorf("localenv: create queue %s: %w", name, err)
	}
	u, err := url.Parse(aws.ToString(out.QueueUrl))
	if err != nil {
		return "", fmt.Errorf("localenv: queue URL %q: %w", aws.ToString(out.QueueUrl), err)
	}
	return e.KumoURL + u.Path, nil
}

// createBus creates the bus and a rule matching every event on it, whose
// target is a CloudWatch Logs log group: kumo records the rule's matches in
// its delivery log, which Events and WaitEvents read (see observer).
func (e *Env) createBus(ctx context.Context) error {
	bus, err := e.eb.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String(e.EventBusName)})
	if err != nil {
		return fmt.Errorf("localenv: create bus %s: %w", e.EventBusName, err)
	}
	e.EventBusARN = aws.ToString(bus.EventBusArn)
	if _, err := e.eb.PutRule(ctx, &eventbridge.PutRuleInput{
		Name:         aws.String(e.ruleName),
		EventBusName: aws.String(e.EventBusName),
		EventPattern: aws.String(`{"source":[{"prefix":""}]}`),
	}); err != nil {
		return fmt.Errorf("localenv: put rule: %w", err)
	}
	logGroup := "arn:aws:logs:" + Region + ":000000000000:log-group:/aws/events/" + e.EventBusName
	if _, err := e.eb.PutTargets(ctx, &eventbridge.PutTargetsInput{
		Rule:         aws.String(e.ruleName),
		EventBusName: aws.String(e.EventBusName),
		Targets:      []ebtypes.Target{{Id: aws.String("observer"), Arn: aws.String(logGroup)}},
	}); err != nil {
		return fmt.Errorf("localenv: put targets: %w", err)
	}
	return nil
}

// Secret returns the credentials currently stored in the secret.
func (e *Env) Secret() Secret {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.secret
}

// PutSecret stores s as the secret's new value (a new AWSCURRENT version).
func (e *Env) PutSecret(ctx context.Context, s Secret) error {
	if err := e.PutSecretString(ctx, string(mustMarshal(s))); err != nil {
		return err
	}
	e.mu.Lock()
	e.secret = s
	e.mu.Unlock()
	return nil
}

// PutSecretString stores raw as the secret's value, e.g. malformed JSON for
// error-path tests. Secret() is not updated.
func (e *Env) PutSecretString(ctx context.Context, raw string) error {
	if _, err := e.sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{
		SecretId:     aws.String(e.SecretName),
		SecretString: aws.String(raw),
	}); err != nil {
		return fmt.Errorf("localenv: put secret value: %w", err)
	}
	return nil
}

// RotateToken rotates the API token: the sandbox accepts only newToken from
// now on, and the secret holds it.
func (e *Env) RotateToken(ctx context.Context, newToken string) error {
	e.Sandbox.RotateToken(newToken)
	s := e.Secret()
	s.APIToken = newToken
	return e.PutSecret(ctx, s)
}

// EnvOption adjusts FunctionEnv.
type EnvOption func(*envBuilder)

type envBuilder struct {
	keys []string
	vals map[string]string
}

func (b *envBuilder) set(k, v string) {
	if !slices.Contains(b.keys, k) {
		b.keys = append(b.keys, k)
	}
	b.vals[k] = v
}

func (b *envBuilder) unset(k string) { delete(b.vals, k) }

// WithoutHTTPSDestination leaves FORWARD_HTTPS_URL out.
func WithoutHTTPSDestination() EnvOption { return func(b *envBuilder) { b.unset("FORWARD_HTTPS_URL") } }

// WithoutEventBus leaves FORWARD_EVENT_BUS out.
func WithoutEventBus() EnvOption { return func(b *envBuilder) { b.unset("FORWARD_EVENT_BUS") } }

// WithoutSQSDestination leaves FORWARD_SQS_QUEUE_URL out.
func WithoutSQSDestination() EnvOption {
	return func(b *envBuilder) { b.unset("FORWARD_SQS_QUEUE_URL") }
}

// WithoutRetryQueue leaves RETRY_QUEUE_URL out.
func WithoutRetryQueue() EnvOption { return func(b *envBuilder) { b.unset("RETRY_QUEUE_URL") } }

// WithVar sets (or overrides) one variable, e.g. WithVar("CREDENTIALS_TTL", "1s").
func WithVar(key, value string) EnvOption { return func(b *envBuilder) { b.set(key, value) } }

// WithoutVar removes one variable.
func WithoutVar(key string) EnvOption { return func(b *envBuilder) { b.unset(key) } }

// FunctionEnv returns the complete environment for the bootstrap (and for
// the RIE that runs it), built from scratch rather than from os.Environ: the
// kumo endpoints, static test credentials, the region, IMDS disabled,
// SSL_CERT_FILE trusting the sandbox and the receiver, the function's
// variables (docs/CONFIGURATION.md) with every destination set, AWS_SAM_LOCAL=true,
// AWS_LAMBDA_FUNCTION_TIMEOUT, and a minimal PATH and HOME (the Env's Dir).
// Options remove destinations or set other variables.
func (e *Env) FunctionEnv(opts ...EnvOption) []string {
	b := &envBuilder{vals: make(map[string]string)}
	for _, kv := range [][2]string{
		{"PATH", "/usr/local/bin:/usr/bin:/bin"},
		{"HOME", e.Dir},
		{"AWS_REGION", Region},
		{"AWS_DEFAULT_REGION", Region},
		{"AWS_ACCESS_KEY_ID", AccessKeyID},
		{"AWS_SECRET_ACCESS_KEY", SecretAccessKey},
		{"AWS_EC2_METADATA_DISABLED", "true"},
		{"AWS_ENDPOINT_URL_SECRETS_MANAGER", e.KumoURL},
		{"AWS_ENDPOINT_URL_SQS", e.KumoURL},
		{"AWS_ENDPOINT_URL_EVENTBRIDGE", e.KumoURL},
		{"AWS_LAMBDA_FUNCTION_TIMEOUT", strconv.Itoa(DefaultFunctionTimeout)},
		{"AWS_SAM_LOCAL", "true"},
		{"SSL_CERT_FILE", e.CAFile},
		// As in template.yaml: no certificate directories to parse.
		{"SSL_CERT_DIR", filepath.Join(e.Dir, "no-cert-dir")},
		{"SIGNALWIRE_SECRET_ID", e.SecretName},
		{"LOG_LEVEL", e.logLevel},
		// The samples of events/ and the tests' callbacks are signed for a
		// fixed date: no replay window (allowed as AWS_SAM_LOCAL is true).
		{"WEBHOOK_MAX_AGE", "off"},
		{"PUBLIC_BASE_URL", e.PublicBaseURL},
		{"FORWARD_HTTPS_URL", e.Receiver.URL()},
		{"FORWARD_EVENT_BUS", e.EventBusName},
		{"FORWARD_SQS_QUEUE_URL", e.DestinationQueueURL},
		{"RETRY_QUEUE_URL", e.RetryQueueURL},
		{"DEAD_LETTER_QUEUE_URL", e.RetryDLQURL},
	} {
		b.set(kv[0], kv[1])
	}
	for _, o := range opts {
		o(b)
	}
	out := make([]string, 0, len(b.vals))
	for _, k := range b.keys {
		if v, ok := b.vals[k]; ok {
			out = append(out, k+"="+v)
		}
	}
	return out
}

// Close deletes the Env's AWS resources (kumo's state outlives its server),
// then stops the observer, the receiver, the sandbox and kumo, and removes
// Dir. It is safe to call more than once.
func (e *Env) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	e.mu.Unlock()

	var errs []error
	if e.Kumo != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		errs = append(errs, e.deleteResources(ctx)...)
		cancel()
	}
	if e.observer != nil {
		e.observer.close()
	}
	if e.Receiver != nil {
		e.Receiver.Close()
	}
	if e.Sandbox != nil {
		e.Sandbox.Close()
	}
	if e.Kumo != nil {
		e.Kumo.Close()
	}
	if err := os.RemoveAll(e.Dir); err != nil {
		errs = append(errs, fmt.Errorf("localenv: remove %s: %w", e.Dir, err))
	}
	return errors.Join(errs...)
}

func (e *Env) deleteResources(ctx context.Context) []error {
	var errs []error
	keep := func(what string, err error) {
		if err != nil {
			errs = append(errs, fmt.Errorf("localenv: delete %s: %w", what, err))
		}
	}
	if e.SecretARN != "" {
		_, err := e.sm.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{
			SecretId: aws.String(e.SecretName), ForceDeleteWithoutRecovery: aws.Bool(true),
		})
		keep("secret", err)
	}
	for _, q := range []string{e.RetryQueueURL, e.RetryDLQURL, e.DestinationQueueURL} {
		if q != "" {
			_, err := e.sqs.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: aws.String(q)})
			keep("queue "+q, err)
		}
	}
	if e.EventBusARN != "" {
		// Deleting the bus drops its rules and targets too; ignore a
		// missing rule, which a failed Start can leave behind.
		_, _ = e.eb.RemoveTargets(ctx, &eventbridge.RemoveTargetsInput{
			Rule: aws.String(e.ruleName), EventBusName: aws.String(e.EventBusName), Ids: []string{"observer"},
		})
		_, _ = e.eb.DeleteRule(ctx, &eventbridge.DeleteRuleInput{Name: aws.String(e.ruleName), EventBusName: aws.String(e.EventBusName)})
		_, err := e.eb.DeleteEventBus(ctx, &eventbridge.DeleteEventBusInput{Name: aws.String(e.EventBusName)})
		keep("event bus", err)
	}
	return errs
}

// WaitMessages receives (and deletes) messages from a queue until it has n
// of them or ctx is done; it returns what it received either way.
func (e *Env) WaitMessages(ctx context.Context, queueURL string, n int) ([]sqstypes.Message, error) {
	var got []sqstypes.Message
	for len(got) < n {
		out, err := e.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:                    aws.String(queueURL),
			MaxNumberOfMessages:         int32(min(n-len(got), 10)),
			WaitTimeSeconds:             1,
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll},
			MessageAttributeNames:       []string{"All"},
		})
		if err != nil {
			return got, fmt.Errorf("localenv: receive from %s (%d of %d): %w", queueURL, len(got), n, err)
		}
		for _, m := range out.Messages {
			got = append(got, m)
			if _, err := e.sqs.DeleteMessage(ctx, &sqs.DeleteMessageInput{
				QueueUrl: aws.String(queueURL), ReceiptHandle: m.ReceiptHandle,
			}); err != nil {
				return got, fmt.Errorf("localenv: delete message: %w", err)
			}
		}
	}
	return got, nil
}

// QueueDepth returns a queue's ApproximateNumberOfMessages (visible messages).
func (e *Env) QueueDepth(ctx context.Context, queueURL string) (int, error) {
	out, err := e.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(queueURL),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages},
	})
	if err != nil {
		return 0, fmt.Errorf("localenv: queue attributes of %s: %w", queueURL, err)
	}
	n, err := strconv.Atoi(out.Attributes[string(sqstypes.QueueAttributeNameApproximateNumberOfMessages)])
	if err != nil {
		return 0, fmt.Errorf("localenv: ApproximateNumberOfMessages of %s: %w", queueURL, err)
	}
	return n, nil
}

// Events returns the events put on the Env's bus so far, oldest first.
// kumo keeps only the last 1000 matched events of the whole process.
func (e *Env) Events(ctx context.Context) ([]Event, error) { return e.observer.fetch(ctx) }

// WaitEvents waits until at least n events were put on the Env's bus and
// returns all of them (oldest first), or what it has when ctx is done.
func (e *Env) WaitEvents(ctx context.Context, n int) ([]Event, error) { return e.observer.wait(ctx, n) }

// mustMarshal marshals values that cannot fail (plain structs and string maps).
func mustMarshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("localenv: marshal %T: %v", v, err))
	}
	return b
}
