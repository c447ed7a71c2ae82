// Package function builds the Lambda handler from the environment: the
// configuration, the AWS and SignalWire clients, wired into the core and the
// trigger router (docs/DESIGN.md). functions/participants/main.go starts it.
package function

import (
	"context"
	"crypto/x509"
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

type option func(*wiring)

// WithSignalWireHTTPClient replaces the HTTP client used for SignalWire
// (tests, and benchmarks that answer from memory).
func WithSignalWireHTTPClient(c *http.Client) option {
	return func(w *wiring) { w.signalwireHTTP = c }
}

// New reads the configuration through getenv (the AWS settings: the process
// environment) and returns the handler; logs and EMF metrics go to stdout. A
// configuration error is one line naming the variable and the expected form.
func New(ctx context.Context, getenv func(string) string, stdout io.Writer, opts ...option) (*trigger.Router, error) {
	var d wiring
	for _, opt := range opts {
		opt(&d)
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		return nil, err
	}
	d.cfg = cfg
	secrets := &obs.Secrets{}
	log := slog.New(secrets.Handler(obs.NewLogger(stdout, cfg.LogLevel).Handler()))

	// A cold request needs the secret and a TLS connection to the Space
	// (and, for a webhook, to its destinations): open the connections and
	// fetch the secret now, concurrently, waiting for none of them.
	v := version()
	d.userAgent = "signalwire-participants-lambda/" + v // one name for SignalWire and the HTTPS destination
	sw := signalwire.NewClient(signalwire.Options{HTTPClient: d.signalwireHTTP, UserAgent: d.userAgent, Log: log})
	sw.Preconnect(cfg.SpaceHost) // none when unset
	d.forwardHTTP, d.warmHTTPS = signalwire.PreconnectingClient(nil)
	if d.aws, d.warmAWS, err = awsConfig(os.Getenv, log); err != nil {
		return nil, err
	}
	d.creds = credentials.New(secretsmanager.NewFromConfig(d.aws), cfg.SecretID, credentials.Options{
		TTL: cfg.CredentialsTTL, ForwardSigningSecret: cfg.ForwardHTTPSURL != "", SpaceHost: cfg.SpaceHost, Log: log, Redact: secrets,
	})
	d.creds.Prefetch()
	go func() { _, _ = x509.SystemCertPool() }() // the CA bundle (1.7 ms on Lambda) parsed before the handshakes need it
	core := app.New(d.creds, sw, log)
	hookOpts, warm := d.webhookOptions(ctx)
	hooks := app.NewWebhooks(core, hookOpts)
	log.Info("function initialized", "version", v)
	for _, w := range cfg.Warnings {
		log.Warn(w)
	}
	if !cfg.VerifySignatures {
		log.Warn("WEBHOOK SIGNATURE VERIFICATION IS OFF: the webhook route accepts unsigned requests. This is allowed only in local runs (AWS_SAM_LOCAL=true).")
	}
	router := trigger.NewRouter(app.NewRoutes(core, hooks), hooks, log, obs.NewMetrics(stdout, cfg.MetricsNamespace, cfg.MetricsService))
	// While the first webhook waits for the secret and the participant: a
	// cold read does not pay for the destinations' connections.
	router.BeforeFirstWebhook(warm)
	return router, nil
}

// forwardSecrets is the HTTPS destination's forward.SecretSource.
type forwardSecrets struct{ creds app.CredentialSource }

func (f forwardSecrets) Secrets(ctx context.Context) (forward.Secrets, error) {
	c, v, err := f.creds.Get(ctx)
	return forward.Secrets{Current: c.ForwardSigningSecret, Previous: c.PreviousForwardSigningSecret, Version: v}, err
}

func (f forwardSecrets) RefreshSecrets(ctx context.Context, stale uint64) (forward.Secrets, error) {
	c, v, err := f.creds.Refresh(ctx, stale)
	return forward.Secrets{Current: c.ForwardSigningSecret, Previous: c.PreviousForwardSigningSecret, Version: v}, err
}

// wiring is what the clients, destinations and queues are built from.
type wiring struct {
	cfg                config.Config
	aws                aws.Config
	warmAWS, warmHTTPS func(addr string) // nil: none (a proxy)
	forwardHTTP        *http.Client
	signalwireHTTP     *http.Client // nil: signalwire's default, preconnecting one
	creds              *credentials.Cache
	userAgent          string
}

// webhookOptions builds the webhook processor's options and the warm-up of
// the destinations' connections (nil: none).
func (d wiring) webhookOptions(ctx context.Context) (app.WebhookOptions, func()) {
	opts := app.WebhookOptions{PublicBaseURL: d.cfg.PublicBaseURL, PublicWebhookURL: d.cfg.PublicWebhookURL, Verify: d.cfg.VerifySignatures, Local: d.cfg.Local, MaxAge: d.cfg.WebhookMaxAge, MaxReceiveCount: d.cfg.MaxReceiveCount}
	var warmups []func()
	add := func(dest forward.Destination, open func(string), addr string) {
		opts.Destinations = append(opts.Destinations, dest)
		if open != nil && addr != "" {
			warmups = append(warmups, func() { open(addr) })
		}
	}
	if u := d.cfg.ForwardHTTPSURL; u != "" {
		parsed, _ := url.Parse(u) // config.Load parsed it
		add(forward.NewHTTPS(u, d.forwardHTTP, forwardSecrets{d.creds}, d.userAgent), d.warmHTTPS, httpsAddr(*parsed))
	}
	// forward.Deliver retries destinations itself: their SDK clients make
	// one attempt each; the queues keep the SDK's standard retries.
	if bus := d.cfg.ForwardEventBus; bus != "" {
		eb := eventbridge.NewFromConfig(d.aws, func(o *eventbridge.Options) { o.RetryMaxAttempts = 1 })
		add(forward.NewEventBridge(eb, bus), d.warmAWS, eventBridgeAddr(ctx, eb.Options()))
	}
	if queue := d.cfg.ForwardQueueURL; queue != "" {
		q := sqs.NewFromConfig(d.aws, func(o *sqs.Options) { o.RetryMaxAttempts = 1 })
		add(forward.NewQueue(q, queue), d.warmAWS, sqsAddr(ctx, q.Options()))
	}
	if u := d.cfg.RetryQueueURL; u != "" {
		opts.Retry = forward.NewQueue(sqs.NewFromConfig(d.aws), u)
	}
	if u := d.cfg.DeadLetterQueueURL; u != "" {
		opts.DeadLetter = forward.NewQueue(sqs.NewFromConfig(d.aws), u)
	}
	if len(warmups) == 0 {
		return opts, nil
	}
	return opts, func() {
		for _, warm := range warmups {
			warm()
		}
	}
}
