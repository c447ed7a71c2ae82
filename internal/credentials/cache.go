package credentials

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
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

// DefaultTTL is how long credentials are cached when no TTL is configured.
const DefaultTTL = 5 * time.Minute

const (
	// RefreshInterval is the least time between two forced refreshes
	// (Refresh: a signature matching no cached key, a SignalWire 401, an
	// HTTPS destination's 401/403), whatever their cause: at most 12
	// GetSecretValue calls a minute, however much forged traffic arrives. It
	// is also the pause after a failed fetch before the next attempt.
	RefreshInterval = 5 * time.Second
	// MaxStale is how long past its TTL a cached set is still served while
	// Secrets Manager fails (throttled, down). Beyond it, callers get the
	// error (503 credentials-unavailable).
	MaxStale = time.Hour
	// FetchTimeout bounds one GetSecretValue call. The fetch runs on a
	// context detached from the caller that started it, so callers waiting
	// for it are not failed by that caller's cancellation.
	FetchTimeout = 5 * time.Second
	// MaxStaleWait is how long the caller that starts a fetch past the TTL
	// waits for it before it is served the cached set (the fetch goes on).
	MaxStaleWait = 500 * time.Millisecond
	// maxRefreshAhead caps how long before expiry a background refresh may
	// start (a fifth of the TTL otherwise).
	maxRefreshAhead = time.Minute
)

// EMF metric names the cache reports into the invocation's batch.
const (
	// MetricRefreshFailures counts failed GetSecretValue calls while cached
	// credentials were still usable (they were served instead).
	MetricRefreshFailures = "CredentialsRefreshFailures"
	// MetricStaleServed counts requests served credentials past their TTL.
	MetricStaleServed = "CredentialsStaleServed"
	// MetricRefreshLimited counts forced refreshes refused by RefreshInterval.
	MetricRefreshLimited = "CredentialsRefreshLimited"
	// MetricUnavailable counts requests that got no credentials at all (no
	// usable set and the fetch failed): they answer credentials-unavailable.
	MetricUnavailable = "CredentialsUnavailable"
)

// Error kinds for a failed load, wrapped by the errors Cache returns.
var (
	ErrNotFound     = errors.New("credentials secret not found")
	ErrAccessDenied = errors.New("access to the credentials secret denied")
	ErrUnavailable  = errors.New("credentials secret unavailable")
)

// Cache holds the parsed credentials for a TTL. Concurrent callers share one
// fetch; a fetch runs on its own context (FetchTimeout), so a cancelled
// caller never fails the others. Near expiry the cache refreshes in the
// background while serving the cached set; when a refresh fails it keeps
// serving that set for up to MaxStale past the TTL. Refresh replaces a set
// that was rejected, at most once per RefreshInterval. The zero value is not
// usable: build one with NewCache.
type Cache struct {
	api      SecretsAPI
	secretID string
	ttl      time.Duration
	ahead    time.Duration
	req      Requirements
	now      func() time.Time
	// fetchTimeout is FetchTimeout (tests shorten it).
	fetchTimeout time.Duration
	log          *slog.Logger
	onLoad       func(Credentials)

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

	fetches  atomic.Int64
	failures atomic.Int64
	stale    atomic.Int64
	limited  atomic.Int64
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
}

// liveInflightLocked returns the fetch in flight, nil when there is none or
// it started more than twice FetchTimeout ago: that one was frozen with the
// execution environment (its goroutine may not have run since the thaw) and
// can only fail; callers start a new one instead of waiting for it. c.mu
// must be held.
func (c *Cache) liveInflightLocked(now time.Time) *fetch {
	if f := c.inflight; f != nil && now.Sub(f.started) <= 2*c.fetchTimeout {
		return f
	}
	return nil
}

// Option configures a Cache.
type Option func(*Cache)

// WithClock replaces time.Now (tests).
func WithClock(now func() time.Time) Option { return func(c *Cache) { c.now = now } }

// WithRequirements names optional keys the configuration needs.
func WithRequirements(r Requirements) Option { return func(c *Cache) { c.req = r } }

// WithLogger logs failed fetches (the cause, never a value) to log.
func WithLogger(log *slog.Logger) Option { return func(c *Cache) { c.log = log } }

// OnLoad calls fn with every set the cache loads (before any caller sees
// it), e.g. to register the values with a log redactor.
func OnLoad(fn func(Credentials)) Option { return func(c *Cache) { c.onLoad = fn } }

// NewCache returns a cache for secretID; ttl <= 0 means DefaultTTL.
func NewCache(api SecretsAPI, secretID string, ttl time.Duration, opts ...Option) *Cache {
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	c := &Cache{api: api, secretID: secretID, ttl: ttl, ahead: min(ttl/5, maxRefreshAhead), now: time.Now, fetchTimeout: FetchTimeout}
	for _, o := range opts {
		o(c)
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	return c
}

// Fetches reports how many GetSecretValue calls the cache has made.
func (c *Cache) Fetches() int64 { return c.fetches.Load() }

// Failures reports how many GetSecretValue calls failed.
func (c *Cache) Failures() int64 { return c.failures.Load() }

// StaleServed reports how many times a set past its TTL was served because
// a refresh failed or was still running.
func (c *Cache) StaleServed() int64 { return c.stale.Load() }

// RefreshesLimited reports how many forced refreshes RefreshInterval refused.
func (c *Cache) RefreshesLimited() int64 { return c.limited.Load() }

// Get returns the cached credentials, fetching them when none are usable.
// The version identifies this set for Refresh.
//
//   - Within the TTL the cached set is returned at once; in the TTL's last
//     fifth (at most a minute) a background fetch replaces it ahead of
//     expiry, off the caller's path.
//   - Past the TTL, the first caller waits for a fetch (at most
//     MaxStaleWait); if it fails or is slower, or while it runs for others,
//     the cached set is served for up to MaxStale past the TTL, and the
//     failure is logged and counted.
//   - With no usable set, callers wait for a fetch and get its error; for
//     RefreshInterval after a failed fetch they get that error at once.
func (c *Cache) Get(ctx context.Context) (Credentials, uint64, error) {
	now := c.now()
	c.mu.Lock()
	c.reportLocked(ctx)
	e := c.cur
	if e != nil {
		age := now.Sub(e.fetchedAt)
		switch {
		case age < c.ttl:
			if age >= c.ttl-c.ahead && c.liveInflightLocked(now) == nil && !now.Before(c.retryAt) {
				c.startLocked(ctx) // refresh ahead: nobody waits for it
			}
			c.mu.Unlock()
			return e.creds, e.version, nil
		case age < c.ttl+MaxStale:
			if c.liveInflightLocked(now) != nil || now.Before(c.retryAt) {
				c.mu.Unlock()
				c.serveStale(ctx, age)
				return e.creds, e.version, nil
			}
			f := c.startLocked(ctx)
			c.mu.Unlock()
			// Wait briefly: the cached set still works, so a hanging
			// Secrets Manager must not take the caller's deadline.
			wctx, cancel := context.WithTimeout(ctx, MaxStaleWait)
			ent, err := f.wait(wctx)
			cancel()
			if err == nil {
				return ent.creds, ent.version, nil
			}
			c.serveStale(ctx, age)
			return e.creds, e.version, nil
		}
	}
	f := c.liveInflightLocked(now)
	if f == nil {
		if c.lastErr != nil && now.Before(c.retryAt) {
			err := c.lastErr
			c.mu.Unlock()
			return c.unavailable(ctx, err)
		}
		f = c.startLocked(ctx)
	}
	c.mu.Unlock()
	ent, err := f.wait(ctx)
	if err != nil {
		return c.unavailable(ctx, err)
	}
	return ent.creds, ent.version, nil
}

// unavailable counts a request left without credentials and returns err.
func (c *Cache) unavailable(ctx context.Context, err error) (Credentials, uint64, error) {
	CountUnavailable(ctx)
	return Credentials{}, 0, err
}

// CountUnavailable adds MetricUnavailable to the invocation's metrics: the
// request got no credentials (its answer is a 503 or a timeout). Wrappers
// of the Cache that refuse on their own call it too.
func CountUnavailable(ctx context.Context) {
	obs.InvocationFrom(ctx).Batch().Add(MetricUnavailable, obs.UnitCount, 1)
}

// AllowRetry lets the next Get fetch at once even if the last fetch failed
// less than RefreshInterval ago (the function's first invocation after a
// failed fetch at init).
func (c *Cache) AllowRetry() {
	c.mu.Lock()
	c.retryAt = time.Time{}
	c.mu.Unlock()
}

// Refresh fetches the secret again after the set with version stale was
// rejected (a key rotation). When another caller already replaced that set,
// it returns the newer one without fetching. Forced refreshes share one
// limit, whatever their cause: when the last one started less than
// RefreshInterval ago (or a fetch failed less than RefreshInterval ago),
// Refresh returns the cached set unchanged (the same
// version) without a GetSecretValue call. A version equal to stale means
// nothing newer is known.
func (c *Cache) Refresh(ctx context.Context, stale uint64) (Credentials, uint64, error) {
	now := c.now()
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
			c.limited.Add(1)
			obs.InvocationFrom(ctx).Batch().Add(MetricRefreshLimited, obs.UnitCount, 1)
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
// FetchTimeout. c.mu must be held.
func (c *Cache) startLocked(ctx context.Context) *fetch {
	start := c.now()
	f := &fetch{done: make(chan struct{}), started: start}
	c.inflight = f
	go func() {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.fetchTimeout)
		defer cancel()
		creds, err := c.fetch(fctx)
		c.mu.Lock()
		if c.inflight == f {
			c.inflight = nil
		}
		// A refresh ahead can outlive its invocation: Lambda then freezes
		// the environment, and the fetch's timer fires long after on thaw.
		// That is no Secrets Manager failure: do not count it or wait.
		frozen := err != nil && errors.Is(err, context.DeadlineExceeded) && c.now().Sub(start) > 2*c.fetchTimeout
		if err != nil && frozen {
			f.err = err
			c.log.Debug("credentials refresh interrupted by a frozen execution environment; retrying on next use")
		} else if err != nil {
			f.err = err
			c.lastErr = err
			c.retryAt = c.now().Add(RefreshInterval)
			if c.cur != nil {
				c.failures.Add(1)
				c.unreported++
				c.log.Warn("credentials refresh failed; serving the cached credentials",
					"cause", err.Error(), "age_seconds", int(c.now().Sub(c.cur.fetchedAt).Seconds()))
			}
		} else {
			if c.cur != nil && c.cur.fetchedAt.After(start) {
				// A fetch started after this one (this one was frozen)
				// has already replaced the set: keep the newer one.
				f.ent = c.cur
			} else {
				if c.cur == nil || c.cur.creds != creds {
					c.version++
				}
				f.ent = &entry{creds: creds, fetchedAt: c.now(), version: c.version}
				c.cur = f.ent
				c.retryAt, c.lastErr = time.Time{}, nil
			}
		}
		close(f.done)
		c.mu.Unlock()
	}()
	return f
}

// reportLocked adds failures of background fetches to the invocation's
// metrics. c.mu must be held.
func (c *Cache) reportLocked(ctx context.Context) {
	if c.unreported == 0 {
		return
	}
	if b := obs.InvocationFrom(ctx).Batch(); b != nil {
		b.Add(MetricRefreshFailures, obs.UnitCount, float64(c.unreported))
		c.unreported = 0
	}
}

// serveStale counts and logs a set served past its TTL.
func (c *Cache) serveStale(ctx context.Context, age time.Duration) {
	c.stale.Add(1)
	obs.InvocationFrom(ctx).Batch().Add(MetricStaleServed, obs.UnitCount, 1)
	c.log.DebugContext(ctx, "serving credentials past their TTL", "age_seconds", int(age.Seconds()))
}

// fetch makes one GetSecretValue call and parses the secret.
func (c *Cache) fetch(ctx context.Context) (Credentials, error) {
	c.fetches.Add(1)
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
	creds, err := Parse(raw, c.req)
	if err != nil {
		return Credentials{}, fmt.Errorf("secret %s: %w", c.secretID, err)
	}
	if c.onLoad != nil {
		c.onLoad(creds)
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
