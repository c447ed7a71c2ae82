// Package function builds the Lambda handler from the environment: it reads
// the configuration, builds the AWS and SignalWire clients once and wires
// them into the core and the trigger router (docs/DESIGN.md, "Request
// flows"). functions/participants/main.go hands New's result to lambda.Start.
package function

import (
	"cmp"
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
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

type option func(*options)

type options struct {
	signalwireHTTP *http.Client
	signalwireCAs  *x509.CertPool
	forwardHTTP    *http.Client
}

// WithSignalWireHTTPClient replaces the HTTP client used for SignalWire
// (tests and benchmarks that trust a local sandbox's certificate).
func WithSignalWireHTTPClient(c *http.Client) option {
	return func(o *options) { o.signalwireHTTP = c }
}

// withSignalWireRootCAs makes the function's own SignalWire client (and so
// the connection opened at init) trust pool instead of the system roots.
func withSignalWireRootCAs(pool *x509.CertPool) option {
	return func(o *options) { o.signalwireCAs = pool }
}

// WithForwardHTTPClient replaces the HTTP client of the HTTPS destination.
func WithForwardHTTPClient(c *http.Client) option { return func(o *options) { o.forwardHTTP = c } }

// New reads the configuration through getenv and returns the handler; logs
// and EMF metrics go to stdout. A configuration error is one line naming
// the variable and the expected form. The AWS settings (region,
// credentials, AWS_ENDPOINT_URL*) come from the process environment.
func New(ctx context.Context, getenv func(string) string, stdout io.Writer, opts ...option) (*trigger.Router, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		return nil, err
	}
	secrets := &obs.Secrets{}
	log := slog.New(secrets.Handler(obs.NewLogger(stdout, cfg.LogLevel).Handler()))

	// A cold request needs the secret and a TLS connection to the Space
	// (and, for a webhook, to its destinations): open the connections and
	// fetch the secret now, concurrently, waiting for none of them.
	v := version()
	userAgent := "signalwire-participants-lambda/" + v // one name for SignalWire and the HTTPS destination
	sw := signalwire.NewClient(signalwire.Options{UserAgent: userAgent, HTTPClient: o.signalwireHTTP, RootCAs: o.signalwireCAs, Log: log})
	if cfg.SpaceHost != "" {
		sw.Preconnect(cfg.SpaceHost)
	}
	d := destinations{cfg: cfg, userAgent: userAgent, forwardHTTP: o.forwardHTTP}
	if d.forwardHTTP == nil {
		d.forwardHTTP, d.warmHTTPS = preconnectingHTTP(nil)
	}
	if d.aws, d.warmAWS, err = awsConfig(os.Getenv); err != nil {
		return nil, err
	}
	d.aws.HTTPClient = reportingAWS{d.aws.HTTPClient, log}
	d.creds = credentials.New(secretsmanager.NewFromConfig(d.aws), cfg.SecretID, credentials.Options{
		TTL: cfg.CredentialsTTL, ForwardSigningSecret: cfg.ForwardHTTPSURL != "", SpaceHost: cfg.SpaceHost, Log: log, Redact: secrets,
	})
	d.creds.Prefetch()
	go func() { _, _ = x509.SystemCertPool() }() // the CA bundle (1.7 ms on Lambda) parsed before the handshakes need it
	core := app.New(d.creds, sw, log)
	hookOpts, warmups, err := d.webhookOptions(ctx)
	if err != nil {
		return nil, err
	}
	hooks := app.NewWebhooks(core, hookOpts)
	log.Info("function initialized", "version", v)
	for _, w := range cfg.Warnings {
		log.Warn(w)
	}
	if !cfg.VerifySignatures {
		log.Warn("WEBHOOK SIGNATURE VERIFICATION IS OFF: the webhook route accepts unsigned requests. This is allowed only in local runs (AWS_SAM_LOCAL=true).")
	}
	metrics := obs.NewMetrics(stdout, cfg.MetricsNamespace, cfg.MetricsService)
	router := trigger.NewRouter(app.NewRoutes(core, hooks), hooks, log, metrics)
	if len(warmups) > 0 {
		// While the first webhook waits for the secret and the participant:
		// a cold read does not pay for the destinations' connections.
		router.BeforeFirstWebhook(func() {
			for _, warm := range warmups {
				warm()
			}
		})
	}
	return router, nil
}

// forwardSecrets is the HTTPS destination's forward.SecretSource over the
// credentials.
type forwardSecrets struct{ creds app.CredentialSource }

func (f forwardSecrets) Secrets(ctx context.Context) (forward.Secrets, error) {
	c, v, err := f.creds.Get(ctx)
	return forward.Secrets{Current: c.ForwardSigningSecret, Previous: c.PreviousForwardSigningSecret, Version: v}, err
}

func (f forwardSecrets) RefreshSecrets(ctx context.Context, stale uint64) (forward.Secrets, error) {
	c, v, err := f.creds.Refresh(ctx, stale)
	return forward.Secrets{Current: c.ForwardSigningSecret, Previous: c.PreviousForwardSigningSecret, Version: v}, err
}

// destinations is what the webhook destinations and queues are built from.
type destinations struct {
	cfg config.Config
	aws aws.Config
	// warmAWS and warmHTTPS open a connection early through the AWS and the
	// HTTPS destination's client; nil: none (a proxy, an injected client).
	warmAWS, warmHTTPS func(addr string)
	forwardHTTP        *http.Client
	creds              *credentials.Cache
	userAgent          string
}

// webhookOptions builds the webhook processor's options (the destinations,
// the retry and dead-letter queues) and the warm-ups that open the
// destinations' connections when the first webhook arrives.
func (d destinations) webhookOptions(ctx context.Context) (app.WebhookOptions, []func(), error) {
	var warmups []func()
	add := func(open func(string), addr string) {
		if open != nil && addr != "" {
			warmups = append(warmups, func() { open(addr) })
		}
	}
	opts := app.WebhookOptions{PublicBaseURL: d.cfg.PublicBaseURL, PublicWebhookURL: d.cfg.PublicWebhookURL, Verify: d.cfg.VerifySignatures, Local: d.cfg.Local, MaxAge: d.cfg.WebhookMaxAge, MaxReceiveCount: d.cfg.MaxReceiveCount}
	if d.cfg.ForwardHTTPSURL != "" {
		opts.Destinations = append(opts.Destinations, forward.NewHTTPS(d.cfg.ForwardHTTPSURL, d.forwardHTTP, forwardSecrets{d.creds}, d.userAgent))
		if u, err := url.Parse(d.cfg.ForwardHTTPSURL); err == nil {
			add(d.warmHTTPS, httpsAddr(*u))
		}
	}
	addAWS := func(name string, dest forward.Destination, err error, addr string) error {
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		opts.Destinations = append(opts.Destinations, dest)
		add(d.warmAWS, addr)
		return nil
	}
	// forward.Deliver retries destinations itself: their SDK clients make
	// one attempt each; the queues keep the SDK's standard retries.
	var errs []error
	if bus := d.cfg.ForwardEventBus; bus != "" {
		eb := eventbridge.NewFromConfig(d.aws, func(o *eventbridge.Options) { o.RetryMaxAttempts = 1 })
		dest, err := forward.NewEventBridge(eb, bus)
		o := eb.Options()
		errs = append(errs, addAWS("FORWARD_EVENT_BUS", dest, err, endpointAddr(ctx, o.EndpointResolverV2, eventbridge.EndpointParameters{Region: aws.String(o.Region), Endpoint: o.BaseEndpoint})))
	}
	if queue := d.cfg.ForwardQueueURL; queue != "" {
		q := sqs.NewFromConfig(d.aws, func(o *sqs.Options) { o.RetryMaxAttempts = 1 })
		dest, err := forward.NewQueue(q, queue)
		errs = append(errs, addAWS("FORWARD_SQS_QUEUE_URL", dest, err, endpointAddr(ctx, q.Options().EndpointResolverV2,
			sqs.EndpointParameters{Region: aws.String(q.Options().Region), Endpoint: q.Options().BaseEndpoint})))
	}
	if err := cmp.Or(errs...); err != nil { // the first
		return opts, nil, err
	}
	for _, q := range []struct {
		name, url string
		set       func(*forward.Queue)
	}{
		{"RETRY_QUEUE_URL", d.cfg.RetryQueueURL, func(q *forward.Queue) { opts.Retry = q }},
		{"DEAD_LETTER_QUEUE_URL", d.cfg.DeadLetterQueueURL, func(q *forward.Queue) { opts.DeadLetter = q }},
	} {
		if q.url == "" {
			continue
		}
		queue, err := forward.NewQueue(sqs.NewFromConfig(d.aws), q.url)
		if err != nil {
			return opts, nil, fmt.Errorf("%s: %w", q.name, err)
		}
		q.set(queue)
	}
	return opts, warmups, nil
}
