package credentials

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"

	"github.com/signalwire-lambda/participants/internal/obs"
)

// secretsAPI is the one Secrets Manager call the cache needs.
type secretsAPI interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// RefreshInterval is the least time between two forced refreshes (a
// signature matching no key, a SignalWire 401, an HTTPS destination's
// 401/403), so forged traffic causes at most 12 GetSecretValue calls a
// minute; and the pause after a failed fetch.
const RefreshInterval = 5 * time.Second

const (
	maxStale        = time.Hour              // how long past its TTL a set is served while fetches fail
	fetchTimeout    = 5 * time.Second        // one GetSecretValue call, on a context detached from its caller
	maxStaleWait    = 500 * time.Millisecond // how long a caller past the TTL waits before being served the cached set
	maxRefreshAhead = time.Minute            // caps how long before expiry a refresh starts (else a fifth of the TTL)
)

// EMF metrics (docs/OPERATIONS.md).
const (
	metricRefreshFailures = "CredentialsRefreshFailures"
	metricStaleServed     = "CredentialsStaleServed"
	metricRefreshLimited  = "CredentialsRefreshLimited"
	metricUnavailable     = "CredentialsUnavailable"
)

// ErrUnavailable is wrapped by every error about loading the credentials
// (503 credentials-unavailable), through the kinds below.
var ErrUnavailable = errors.New("credentials secret unavailable")

type kind string

func (k kind) Error() string { return string(k) }
func (kind) Unwrap() error   { return ErrUnavailable }

const (
	errNotFound     kind = "credentials secret not found"
	errAccessDenied kind = "access to the credentials secret denied"
	errMalformed    kind = "credentials secret is malformed"
)

// Options configure a Cache.
type Options struct {
	TTL                  time.Duration // CREDENTIALS_TTL
	ForwardSigningSecret bool          // require and check forward_signing_secret
	SpaceHost            string        // SIGNALWIRE_SPACE_HOST, where init connected: another space_host is refused
	Log                  *slog.Logger  // failed fetches: the cause, never a value
	Redact               *obs.Secrets  // learns each loaded set's secret values before any caller sees them
}

// Cache holds the parsed credentials for a TTL (Get) and replaces a
// rejected set (Refresh). Concurrent callers share one fetch, on its own
// context, so a cancelled caller never fails the others.
type Cache struct {
	api      secretsAPI
	secretID string
	opts     Options

	mu         sync.Mutex
	cur        *entry
	inflight   *fetch
	version    uint64
	lastForced time.Time // when Refresh last started a fetch
	retryAt    time.Time // after a failed fetch: no TTL-driven fetch before
	// lastErr is the last fetch's error: with no usable set, callers
	// before retryAt get it without a fetch, so a flood cannot turn a
	// broken or throttled secret into one call per request.
	lastErr    error
	unreported int // failed background fetches, for the next invocation's metrics
}

type entry struct { // one loaded set
	creds     Credentials
	fetchedAt time.Time
	version   uint64
}

type fetch struct {
	done    chan struct{}
	ent     *entry
	err     error
	started time.Time
	initial bool // Prefetch's: its failure holds back no later fetch
}

// New returns a cache for secretID.
func New(api secretsAPI, secretID string, opts Options) *Cache {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	return &Cache{api: api, secretID: secretID, opts: opts}
}

// Prefetch starts fetching the secret and returns at once (init never
// waits for Secrets Manager). Callers arriving meanwhile wait for it within
// their own deadline; if it failed, they fetch again. Call it once, first.
func (c *Cache) Prefetch() {
	c.mu.Lock()
	c.startLocked(context.Background()).initial = true
	c.mu.Unlock()
}

// Get returns the credentials and their version (for Refresh). Within the
// TTL the cached set comes at once; in its last fifth a background fetch
// replaces it. Past the TTL the first caller waits up to maxStaleWait for a
// fetch, else is served the cached set (counted) up to maxStale past it.
// With no usable set, callers get a fetch's error (for RefreshInterval
// after a failure, at once).
func (c *Cache) Get(ctx context.Context) (Credentials, uint64, error) {
	cr, v, err := c.get(ctx)
	if err != nil {
		obs.InvocationFrom(ctx).Batch().Add(metricUnavailable, obs.UnitCount, 1)
	}
	return cr, v, err
}

func (c *Cache) get(ctx context.Context) (Credentials, uint64, error) {
	now := time.Now()
	c.mu.Lock()
	c.reportLocked(ctx)
	if e := c.cur; e != nil {
		if age := now.Sub(e.fetchedAt); age < c.opts.TTL+maxStale {
			return c.cachedLocked(ctx, e, now, age) // unlocks c.mu
		}
	}
	f := c.liveInflightLocked(now)
	if f == nil {
		if c.lastErr != nil && now.Before(c.retryAt) {
			err := c.lastErr
			c.mu.Unlock()
			return Credentials{}, 0, err
		}
		f = c.startLocked(ctx)
	}
	c.mu.Unlock()
	ent, err := f.wait(ctx)
	switch {
	case err == nil:
		return ent.creds, ent.version, nil
	case f.initial && ctx.Err() == nil:
		// The init fetch failed (Secrets Manager unreachable or slow at
		// init): fetch again within this caller's deadline.
		return c.get(ctx)
	case f.initial:
		return Credentials{}, 0, fmt.Errorf("waiting for the credentials fetched at init: %w: %w", ErrUnavailable, ctx.Err())
	}
	return Credentials{}, 0, err
}

// cachedLocked serves the cached set e (age under TTL + maxStale), starting
// the fetch that replaces it when due. It unlocks c.mu, which must be held.
func (c *Cache) cachedLocked(ctx context.Context, e *entry, now time.Time, age time.Duration) (Credentials, uint64, error) {
	idle := c.liveInflightLocked(now) == nil && !now.Before(c.retryAt)
	if age < c.opts.TTL {
		if idle && age >= c.opts.TTL-min(c.opts.TTL/5, maxRefreshAhead) {
			c.startLocked(ctx) // refresh ahead: nobody waits for it
		}
		c.mu.Unlock()
		return e.creds, e.version, nil
	}
	if !idle {
		c.mu.Unlock()
		c.serveStale(ctx, age)
		return e.creds, e.version, nil
	}
	f := c.startLocked(ctx)
	c.mu.Unlock()
	// Wait briefly: the cached set still works, so a hanging Secrets
	// Manager must not take the caller's deadline.
	wctx, cancel := context.WithTimeout(ctx, maxStaleWait)
	ent, err := f.wait(wctx)
	cancel()
	if err == nil {
		return ent.creds, ent.version, nil
	}
	c.serveStale(ctx, age)
	return e.creds, e.version, nil
}

// liveInflightLocked returns the fetch in flight, nil when there is none or
// it started more than twice fetchTimeout ago: that one was frozen with the
// execution environment and can only fail. c.mu must be held.
func (c *Cache) liveInflightLocked(now time.Time) *fetch {
	if f := c.inflight; f != nil && now.Sub(f.started) <= 2*fetchTimeout {
		return f
	}
	return nil
}

// Refresh fetches the secret again after the set with version stale was
// rejected (a rotation), or returns a newer set already loaded. Within
// RefreshInterval of the last forced refresh or failed fetch, it returns the
// cached set unchanged (version == stale) without a call.
func (c *Cache) Refresh(ctx context.Context, stale uint64) (Credentials, uint64, error) {
	now := time.Now()
	c.mu.Lock()
	c.reportLocked(ctx)
	e := c.cur
	if e != nil && e.version != stale {
		c.mu.Unlock()
		return e.creds, e.version, nil
	}
	f := c.liveInflightLocked(now)
	if f == nil {
		// A fetch that failed less than RefreshInterval ago holds a forced
		// one back too: during an outage the two causes share one limit.
		if e != nil && (!c.lastForced.IsZero() && now.Sub(c.lastForced) < RefreshInterval || now.Before(c.retryAt)) {
			c.mu.Unlock()
			obs.InvocationFrom(ctx).Batch().Add(metricRefreshLimited, obs.UnitCount, 1)
			return e.creds, e.version, nil
		}
		c.lastForced = now
		f = c.startLocked(ctx)
	}
	c.mu.Unlock()
	ent, err := f.wait(ctx)
	if err != nil {
		return Credentials{}, 0, err
	}
	return ent.creds, ent.version, nil
}

// sameHost compares two host[:port] ignoring case and the default port.
func sameHost(a, b string) bool {
	return strings.EqualFold(strings.TrimSuffix(a, ":443"), strings.TrimSuffix(b, ":443"))
}

func (f *fetch) wait(ctx context.Context) (*entry, error) {
	select {
	case <-f.done:
		return f.ent, f.err
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for credentials: %w", ctx.Err())
	}
}

// startLocked starts one GetSecretValue call on a context detached from
// the caller's cancellation (not its values). c.mu must be held.
func (c *Cache) startLocked(ctx context.Context) *fetch {
	f := &fetch{done: make(chan struct{}), started: time.Now()}
	c.inflight = f
	go func() {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), fetchTimeout)
		defer cancel()
		creds, err := c.fetch(fctx)
		c.mu.Lock()
		defer c.mu.Unlock()
		defer close(f.done)
		if c.inflight == f {
			c.inflight = nil
		}
		if err != nil {
			f.err = err
			c.failedLocked(f, err)
			return
		}
		if c.cur != nil && c.cur.fetchedAt.After(f.started) {
			// A fetch started after this frozen one replaced the set.
			f.ent = c.cur
			return
		}
		if c.cur == nil || c.cur.creds != creds {
			c.version++
		}
		f.ent = &entry{creds: creds, fetchedAt: time.Now(), version: c.version}
		c.cur = f.ent
		c.retryAt, c.lastErr = time.Time{}, nil
	}()
	return f
}

// failedLocked records fetch f's failure. c.mu must be held.
func (c *Cache) failedLocked(f *fetch, err error) {
	// A refresh ahead that outlived its invocation was frozen with the
	// environment and timed out on thaw: no Secrets Manager failure.
	if errors.Is(err, context.DeadlineExceeded) && time.Since(f.started) > 2*fetchTimeout {
		c.opts.Log.Debug("credentials refresh interrupted by a frozen execution environment; retrying on next use")
		return
	}
	c.lastErr = err
	if f.initial {
		c.opts.Log.Warn("the secret could not be loaded at init", "error", err.Error())
	} else {
		c.retryAt = time.Now().Add(RefreshInterval)
	}
	if c.cur != nil {
		c.unreported++
		c.opts.Log.Warn("credentials refresh failed; serving the cached credentials",
			"cause", err.Error(), "age_seconds", int(time.Since(c.cur.fetchedAt).Seconds()))
	}
}

// reportLocked counts failed background fetches in the invocation's metrics.
func (c *Cache) reportLocked(ctx context.Context) {
	if c.unreported == 0 {
		return
	}
	if b := obs.InvocationFrom(ctx).Batch(); b != nil {
		b.Add(metricRefreshFailures, obs.UnitCount, float64(c.unreported))
		c.unreported = 0
	}
}

// serveStale counts and logs a set served past its TTL.
func (c *Cache) serveStale(ctx context.Context, age time.Duration) {
	obs.InvocationFrom(ctx).Batch().Add(metricStaleServed, obs.UnitCount, 1)
	c.opts.Log.DebugContext(ctx, "serving credentials past their TTL", "age_seconds", int(age.Seconds()))
}

// fetch makes one GetSecretValue call and parses the secret, refusing one
// whose space_host is not SIGNALWIRE_SPACE_HOST (a misconfiguration to fix,
// not to guess around; the error names both hosts, not secrets).
func (c *Cache) fetch(ctx context.Context) (Credentials, error) {
	out, err := c.api.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(c.secretID)})
	if err != nil {
		return Credentials{}, c.classify(err)
	}
	var raw []byte
	switch {
	case out.SecretString != nil:
		raw = []byte(*out.SecretString)
	case out.SecretBinary != nil:
		raw = out.SecretBinary
	default:
		return Credentials{}, fmt.Errorf("secret %s: %w: it has no value", c.secretID, errMalformed)
	}
	creds, err := parse(raw, c.opts.ForwardSigningSecret)
	if err != nil {
		return Credentials{}, fmt.Errorf("secret %s: %w", c.secretID, err)
	}
	if h := c.opts.SpaceHost; h != "" && !sameHost(creds.SpaceHost, h) {
		return Credentials{}, fmt.Errorf("secret %s: %w: its space_host %q is not SIGNALWIRE_SPACE_HOST %q", c.secretID, errMalformed, creds.SpaceHost, h)
	}
	if c.opts.Redact != nil {
		c.opts.Redact.Add(creds.secretValues()...)
		c.opts.Redact.AddBasic(creds.ProjectID, creds.APIToken)
	}
	return creds, nil
}

// classify wraps an SDK error (it never holds the secret's value) in its kind.
func (c *Cache) classify(err error) error {
	var kind error = ErrUnavailable
	var api smithy.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode() {
		case "ResourceNotFoundException":
			kind = errNotFound
		case "AccessDeniedException", "AccessDenied":
			kind = errAccessDenied
		}
	}
	return fmt.Errorf("secret %s: %w: %w", c.secretID, kind, err)
}
