// Package function builds the Lambda handler from the environment: it reads
// the configuration, builds the AWS and SignalWire clients once, and wires
// them into the core and the trigger router. functions/participants/main.go
// calls New and hands the result to lambda.Start. New builds everything in
// dependency order; docs/DESIGN.md ("Request flows") follows a read and a
// webhook through what it builds.
package function

import (
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/signalwire-lambda/participants/internal/app"
	"github.com/signalwire-lambda/participants/internal/config"
	"github.com/signalwire-lambda/participants/internal/credentials"
	"github.com/signalwire-lambda/participants/internal/forward"
	"github.com/signalwire-lambda/participants/internal/obs"
	"github.com/signalwire-lambda/participants/internal/signalwire"
	"github.com/signalwire-lambda/participants/internal/trigger"
)

// Option adjusts what New builds; the Lambda entry point uses none.
type Option func(*options)

type options struct {
	signalwireHTTP *http.Client
	signalwireCAs  *x509.CertPool
	forwardHTTP    *http.Client
}

// WithSignalWireHTTPClient replaces the HTTP client used for SignalWire
// (tests and benchmarks that trust a local sandbox's certificate).
func WithSignalWireHTTPClient(c *http.Client) Option {
	return func(o *options) { o.signalwireHTTP = c }
}

// WithSignalWireRootCAs makes the function's own SignalWire client trust
// pool instead of the system roots (tests of the connection opened at init,
// which WithSignalWireHTTPClient would replace).
func WithSignalWireRootCAs(pool *x509.CertPool) Option {
	return func(o *options) { o.signalwireCAs = pool }
}

// WithForwardHTTPClient replaces the HTTP client of the HTTPS destination.
func WithForwardHTTPClient(c *http.Client) Option { return func(o *options) { o.forwardHTTP = c } }

// New reads the configuration through getenv and returns the handler.
// Logs and EMF metrics go to stdout. A configuration error comes back as
// one line naming the variable and the expected form. The AWS SDK reads its
// own settings (region, credentials, AWS_ENDPOINT_URL_*) from the process
// environment, as on Lambda.
func New(ctx context.Context, getenv func(string) string, stdout io.Writer, opts ...Option) (*trigger.Router, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	var warmForward func(addr string)
	if o.forwardHTTP == nil {
		o.forwardHTTP, warmForward = preconnectingHTTP()
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		return nil, err
	}
	log, onLoad := newLogger(stdout, cfg.LogLevel)
	metrics := obs.NewMetrics(stdout, cfg.MetricsNamespace, cfg.MetricsService)

	// A cold request needs the secret and a TLS connection to the Space
	// (and, for a webhook, to its destinations): open the connections and
	// fetch the secret now, concurrently, without waiting for any of them.
	v := version()
	userAgent := "signalwire-participants-lambda/" + v // one name for SignalWire and the HTTPS destination
	sw := signalwire.NewClient(signalwire.Options{UserAgent: userAgent, HTTPClient: o.signalwireHTTP, RootCAs: o.signalwireCAs})
	if cfg.SpaceHost != "" {
		sw.Preconnect(cfg.SpaceHost)
	}
	awsCfg, err := awsConfig(os.Getenv)
	if err != nil {
		return nil, err
	}
	warmAWS := preconnectingAWS(&awsCfg)
	creds := credentials.New(secretsmanager.NewFromConfig(awsCfg), cfg.SecretID, credentials.Options{
		TTL: cfg.CredentialsTTL, ForwardSigningSecret: cfg.ForwardHTTPSURL != "", SpaceHost: cfg.SpaceHost,
		Log: log, OnLoad: onLoad,
	})
	creds.Prefetch()
	core := app.New(creds, sw, log)
	hookOpts, warmDestinations, err := destinations{
		cfg: cfg, aws: awsCfg, warmAWS: warmAWS, forwardHTTP: o.forwardHTTP, warmForward: warmForward,
		creds: creds, userAgent: userAgent,
	}.webhookOptions(ctx)
	if err != nil {
		return nil, err
	}
	hooks := app.NewWebhooks(core, hookOpts)
	logInit(log, cfg, v)
	router := trigger.NewRouter(app.NewRoutes(core, hooks), hooks, log, metrics)
	if len(warmDestinations) > 0 {
		router.BeforeFirstWebhook(func() {
			for _, warm := range warmDestinations {
				warm()
			}
		})
	}
	return router, nil
}

// logInit writes the init log line (the version) and the configuration's
// warnings.
func logInit(log *slog.Logger, cfg config.Config, version string) {
	log.Info("function initialized", "version", version)
	for _, w := range cfg.Warnings {
		log.Warn(w)
	}
	if !cfg.VerifySignatures {
		log.Warn("WEBHOOK SIGNATURE VERIFICATION IS OFF: the webhook route accepts unsigned requests. This is allowed only in local runs (AWS_SAM_LOCAL=true).")
	}
}

// forwardSecrets hands the HTTPS destination its secrets from the
// credentials (forward.SecretSource over app.CredentialSource).
type forwardSecrets struct{ creds app.CredentialSource }

func (f forwardSecrets) Secrets(ctx context.Context) (forward.Secrets, error) {
	c, v, err := f.creds.Get(ctx)
	return forward.Secrets{Current: c.ForwardSigningSecret, Previous: c.PreviousForwardSigningSecret, Version: v}, err
}

func (f forwardSecrets) RefreshSecrets(ctx context.Context, stale uint64) (forward.Secrets, error) {
	c, v, err := f.creds.Refresh(ctx, stale)
	return forward.Secrets{Current: c.ForwardSigningSecret, Previous: c.PreviousForwardSigningSecret, Version: v}, err
}

// destinations is what New has built that the webhook destinations and
// queues use.
type destinations struct {
	cfg         config.Config
	aws         aws.Config
	warmAWS     func(addr string) // opens a connection to AWS early; nil: none
	forwardHTTP *http.Client
	warmForward func(addr string) // the same for forwardHTTP; nil: none
	creds       app.CredentialSource
	userAgent   string
}

// webhookOptions builds the webhook processor's options: the destinations,
// the retry and dead-letter queues the configuration names, and the
// warm-ups that open the destinations' connections.
func (d destinations) webhookOptions(ctx context.Context) (app.WebhookOptions, []func(), error) {
	// The destinations' connections open when the first webhook arrives
	// (Router.BeforeFirstWebhook), while it waits for the secret and the
	// participant: a cold read does not pay for them.
	var warmDestinations []func()
	if d.cfg.ForwardHTTPSURL != "" {
		warmDestinations = warm(warmDestinations, d.warmForward, urlAddr(d.cfg.ForwardHTTPSURL))
	}

	hookOpts := app.WebhookOptions{PublicBaseURL: d.cfg.PublicBaseURL, PublicWebhookURL: d.cfg.PublicWebhookURL, Verify: d.cfg.VerifySignatures, MaxReceiveCount: d.cfg.MaxReceiveCount}
	// forward.Deliver retries destinations itself, so their SDK clients make
	// one attempt each; the retry queue keeps the SDK's standard retries.
	once := func(o *sqs.Options) { o.RetryMaxAttempts = 1 }
	if d.cfg.ForwardHTTPSURL != "" {
		hookOpts.Destinations = append(hookOpts.Destinations, forward.NewHTTPS(d.cfg.ForwardHTTPSURL, d.forwardHTTP, forwardSecrets{d.creds}, d.userAgent))
	}
	if d.cfg.ForwardEventBus != "" {
		eb := eventbridge.NewFromConfig(d.aws, func(o *eventbridge.Options) { o.RetryMaxAttempts = 1 })
		dest, err := forward.NewEventBridge(eb, d.cfg.ForwardEventBus)
		if err != nil {
			return app.WebhookOptions{}, nil, fmt.Errorf("FORWARD_EVENT_BUS: %w", err)
		}
		hookOpts.Destinations = append(hookOpts.Destinations, dest)
		o := eb.Options()
		warmDestinations = warm(warmDestinations, d.warmAWS, endpointAddr(ctx, o.EndpointResolverV2,
			eventbridge.EndpointParameters{Region: aws.String(o.Region), Endpoint: o.BaseEndpoint}))
	}
	if d.cfg.ForwardQueueURL != "" {
		q := sqs.NewFromConfig(d.aws, once)
		dest, err := forward.NewQueue(q, d.cfg.ForwardQueueURL)
		if err != nil {
			return app.WebhookOptions{}, nil, fmt.Errorf("FORWARD_SQS_QUEUE_URL: %w", err)
		}
		hookOpts.Destinations = append(hookOpts.Destinations, dest)
		o := q.Options()
		warmDestinations = warm(warmDestinations, d.warmAWS, endpointAddr(ctx, o.EndpointResolverV2,
			sqs.EndpointParameters{Region: aws.String(o.Region), Endpoint: o.BaseEndpoint}))
	}
	if d.cfg.RetryQueueURL != "" {
		q, err := forward.NewQueue(sqs.NewFromConfig(d.aws), d.cfg.RetryQueueURL)
		if err != nil {
			return app.WebhookOptions{}, nil, fmt.Errorf("RETRY_QUEUE_URL: %w", err)
		}
		hookOpts.Retry = q
	}
	if d.cfg.DeadLetterQueueURL != "" {
		q, err := forward.NewQueue(sqs.NewFromConfig(d.aws), d.cfg.DeadLetterQueueURL)
		if err != nil {
			return app.WebhookOptions{}, nil, fmt.Errorf("DEAD_LETTER_QUEUE_URL: %w", err)
		}
		hookOpts.DeadLetter = q
	}
	return hookOpts, warmDestinations, nil
}
