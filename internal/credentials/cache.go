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
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/smithy-go"

	"github.com/signalwire-lambda/participants/internal/obs"
)

// SecretsAPI is the one Secrets Manager call the cache needs.
type SecretsAPI interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// RefreshInterval is the least time between two forced refreshes (Refresh:
// a signature matching no cached key, a SignalWire 401, an HTTPS
// destination's 401/403), whatever their cause: at most 12 GetSecretValue
// calls a minute, however much forged traffic arrives. It is also the pause
// after a failed fetch before the next attempt.
const RefreshInterval = 5 * time.Second

const (
	// defaultTTL is how long credentials are cached when no TTL is configured.
	defaultTTL = 5 * time.Minute
	// maxStale is how long past its TTL a cached set is still served while
	// Secrets Manager fails (throttled, down). Beyond it, callers get the
	// error (503 credentials-unavailable).
	maxStale = time.Hour
	// fetchTimeout bounds one GetSecretValue call. The fetch runs on a
	// context detached from the caller that started it, so callers waiting
	// for it are not failed by that caller's cancellation.
	fetchTimeout = 5 * time.Second
	// maxStaleWait is how long the caller that starts a fetch past the TTL
	// waits for it before it is served the cached set (the fetch goes on).
	maxStaleWait = 500 * time.Millisecond
	// maxRefreshAhead caps how long before expiry a background refresh may
	// start (a fifth of the TTL otherwise).
	maxRefreshAhead = time.Minute
)

// EMF metric names the cache reports into the invocation's batch
// (docs/OPERATIONS.md).
const (
	// metricRefreshFailures counts failed GetSecretValue calls while cached
	// credentials were still usable (they were served instead).
	metricRefreshFailures = "CredentialsRefreshFailures"
	// metricStaleServed counts requests served credentials past their TTL.
	metricStaleServed = "CredentialsStaleServed"
	// metricRefreshLimited counts forced refreshes refused by RefreshInterval.
	metricRefreshLimited = "CredentialsRefreshLimited"
	// metricUnavailable counts requests that got no credentials at all (no
	// usable set and the fetch failed, or a space_host mismatch): they answer
	// credentials-unavailable.
	metricUnavailable = "CredentialsUnavailable"
)

// Error kinds for a failed load, wrapped by the errors Cache returns.
var (
	ErrNotFound     = errors.New("credentials secret not found")
	ErrAccessDenied = errors.New("access to the credentials secret denied")
	ErrUnavailable  = errors.New("credentials secret unavailable")
)

// Options configure a Cache.
type Options struct {
	// TTL is how long a fetched set is used; <= 0 means 5 minutes.
	TTL time.Duration
	// ForwardSigningSecret requires forward_signing_secret (an HTTPS
	// destination is configured) and checks it.
	ForwardSigningSecret bool
	// SpaceHost is SIGNALWIRE_SPACE_HOST: when set, a secret whose
	// space_host differs is refused (the connection opened at init went
	// there).
	SpaceHost string
	// Log receives failed fetches (the cause, never a value).
	Log *slog.Logger
	// OnLoad is called with every set the cache loads, before any caller
	// sees it (to register the values with a log redactor).
	OnLoad func(Credentials)
}

// Cache holds the parsed credentials for a TTL. Concurrent callers share one
// fetch; a fetch runs on its own context (fetchTimeout), so a cancelled
// caller never fails the others. Near expiry the cache refreshes in the
// background while serving the cached set; when a refresh fails it keeps
// serving that set for up to an hour past the TTL. Refresh replaces a set
// that was rejected, at most once per RefreshInterval. Build one with New.
type Cache struct {
	api      SecretsAPI
	secretID string
	opts     Options
	ahead    time.Duration

	mu         sync.Mutex
	cur        *entry
	inflight   *fetch
	version    uint64
	lastForced time.Time // when Refresh last started a fetch
	retryAt    time.Time // after a failed fetch: no TTL-driven fetch before
	// lastErr is the last fetch's error (nil after a success): with no
	// usable set, callers before retryAt get it without a fetch, so a flood
	// cannot turn a broken or throttled secret into one call per request.
	lastErr error
	// unreported counts failures of background fetches, reported into the
	// next invocation's metrics.
	unreported int
}

type entry struct {
	creds     Credentials
	fetchedAt time.Time
	version   uint64
}

type fetch struct {
	done    chan struct{}
	ent     *entry
	err     error
	started time.Time
	// initial marks the fetch Prefetch started at init: its failure does
	// not hold back the first invocation's own fetch.
	initial bool
}

// New returns a cache for secretID.
func New(api SecretsAPI, secretID string, opts Options) *Cache {
	if opts.TTL <= 0 {
		opts.TTL = defaultTTL
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	return &Cache{api: api, secretID: secretID, opts: opts, ahead: min(opts.TTL/5, maxRefreshAhead)}
}

// Prefetch starts fetching the secret in the background and returns at
// once: init never waits for Secrets Manager. Callers that arrive while it
// runs wait for it within their own deadline; if it failed, they fetch
// again instead of inheriting its error. Call it once, before the first Get.
func (c *Cache) Prefetch() {
	c.mu.Lock()
	c.startLocked(context.Background()).initial = true
	c.mu.Unlock()
}

// Get returns the cached credentials, fetching them when none are usable.
// The version identifies this set for Refresh.
//
//   - Within the TTL the cached set is returned at once; in the TTL's last
//     fifth (at most a minute) a background fetch replaces it ahead of
//     expiry, off the caller's path.
//   - Past the TTL, the first caller waits for a fetch (at most
//     maxStaleWait); if it fails or is slower, or while it runs for others,
//     the cached set is served for up to an hour past the TTL, and the
//     failure is logged and counted.
//   - With no usable set, callers wait for a fetch and get its error; for
//     RefreshInterval after a failed fetch they get that error at once.
func (c *Cache) Get(ctx context.Context) (Credentials, uint64, error) {
	cr, v, err := c.get(ctx)
	if err == nil {
		err = c.checkHost(cr)
	}
	if err != nil {
		// No credentials: the request answers 503 or times out.
		obs.InvocationFrom(ctx).Batch().Add(metricUnavailable, obs.UnitCount, 1)
		return Credentials{}, 0, err
	}
	return cr, v, nil
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

// cachedLocked serves the cached set e of the given age (under TTL +
// maxStale), starting the fetch that replaces it when one is due. c.mu
// must be held; cachedLocked unlocks it.
func (c *Cache) cachedLocked(ctx context.Context, e *entry, now time.Time, age time.Duration) (Credentials, uint64, error) {
	idle := c.liveInflightLocked(now) == nil && !now.Before(c.retryAt)
	if age < c.opts.TTL {
		if idle && age >= c.opts.TTL-c.ahead {
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
// execution environment (its goroutine may not have run since the thaw) and
// can only fail; callers start a new one instead of waiting for it. c.mu
// must be held.
func (c *Cache) liveInflightLocked(now time.Time) *fetch {
	if f := c.inflight; f != nil && now.Sub(f.started) <= 2*fetchTimeout {
		return f
	}
	return nil
}

// Refresh fetches the secret again after the set with version stale was
// rejected (a key rotation). When another caller already replaced that set,
// it returns the newer one without fetching. Forced refreshes share one
// limit, whatever their cause: when the last one started less than
// RefreshInterval ago (or a fetch failed less than RefreshInterval ago),
// Refresh returns the cached set unchanged (the same version) without a
// GetSecretValue call. A version equal to stale means nothing newer is
// known.
func (c *Cache) Refresh(ctx context.Context, stale uint64) (Credentials, uint64, error) {
	cr, v, err := c.refresh(ctx, stale)
	if err == nil {
		err = c.checkHost(cr)
	}
	if err != nil {
		return Credentials{}, 0, err
	}
	return cr, v, nil
}

func (c *Cache) refresh(ctx context.Context, stale uint64) (Credentials, uint64, error) {
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

// checkHost refuses a secret whose space_host is not SIGNALWIRE_SPACE_HOST:
// the connection opened at init went to the configured host, and a
// mismatch is a misconfiguration to fix, not something to guess around.
// The host is not a secret; the error names both.
func (c *Cache) checkHost(cr Credentials) error {
	if c.opts.SpaceHost == "" || sameHost(cr.SpaceHost, c.opts.SpaceHost) {
		return nil
	}
	return fmt.Errorf("%w: its space_host %q is not SIGNALWIRE_SPACE_HOST %q", ErrMalformed, cr.SpaceHost, c.opts.SpaceHost)
}

// sameHost compares two host[:port] ignoring case and the default port.
func sameHost(a, b string) bool {
	return strings.EqualFold(strings.TrimSuffix(a, ":443"), strings.TrimSuffix(b, ":443"))
}

// wait returns the fetch's result, or the caller's context error.
func (f *fetch) wait(ctx context.Context) (*entry, error) {
	select {
	case <-f.done:
		return f.ent, f.err
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for credentials: %w", ctx.Err())
	}
}

// startLocked starts one GetSecretValue call on a context detached from
// the caller's cancellation (it keeps its values) and bounded by
// fetchTimeout. c.mu must be held.
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
			// A fetch started after this one (this one was frozen) has
			// already replaced the set: keep the newer one.
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

// failedLocked records the failure err of fetch f. c.mu must be held.
func (c *Cache) failedLocked(f *fetch, err error) {
	// A refresh ahead can outlive its invocation: Lambda then freezes the
	// environment, and the fetch's timer fires long after on thaw. That is
	// no Secrets Manager failure: do not count it or wait.
	if errors.Is(err, context.DeadlineExceeded) && time.Since(f.started) > 2*fetchTimeout {
		c.opts.Log.Debug("credentials refresh interrupted by a frozen execution environment; retrying on next use")
		return
	}
	c.lastErr = err
	if !f.initial { // a failed init fetch does not hold back the first invocation's
		c.retryAt = time.Now().Add(RefreshInterval)
	}
	if c.cur != nil {
		c.unreported++
		c.opts.Log.Warn("credentials refresh failed; serving the cached credentials",
			"cause", err.Error(), "age_seconds", int(time.Since(c.cur.fetchedAt).Seconds()))
	}
}

// reportLocked adds failures of background fetches to the invocation's
// metrics. c.mu must be held.
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

// fetch makes one GetSecretValue call and parses the secret.
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
		return Credentials{}, fmt.Errorf("secret %s: %w: it has no value", c.secretID, ErrMalformed)
	}
	creds, err := parse(raw, c.opts.ForwardSigningSecret)
	if err != nil {
		return Credentials{}, fmt.Errorf("secret %s: %w", c.secretID, err)
	}
	if c.opts.OnLoad != nil {
		c.opts.OnLoad(creds)
	}
	return creds, nil
}

// classify turns an SDK error into one of the package's error kinds, keeping
// the cause chain. SDK errors never contain the secret's value.
func (c *Cache) classify(err error) error {
	var nf *types.ResourceNotFoundException
	var api smithy.APIError
	switch {
	case errors.As(err, &nf):
		return fmt.Errorf("secret %s: %w: %w", c.secretID, ErrNotFound, err)
	case errors.As(err, &api) && (api.ErrorCode() == "AccessDeniedException" || api.ErrorCode() == "AccessDenied"):
		return fmt.Errorf("secret %s: %w: %w", c.secretID, ErrAccessDenied, err)
	case errors.As(err, &api) && api.ErrorCode() == "ResourceNotFoundException":
		return fmt.Errorf("secret %s: %w: %w", c.secretID, ErrNotFound, err)
	default:
		return fmt.Errorf("secret %s: %w: %w", c.secretID, ErrUnavailable, err)
	}
}
