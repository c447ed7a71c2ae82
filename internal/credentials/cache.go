package credentials

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/smithy-go"
)

// SecretsAPI is the one Secrets Manager call the cache needs.
type SecretsAPI interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// DefaultTTL is how long credentials are cached when no TTL is configured.
const DefaultTTL = 5 * time.Minute

// Error kinds for a failed load, wrapped by the errors Cache returns.
var (
	ErrNotFound     = errors.New("credentials secret not found")
	ErrAccessDenied = errors.New("access to the credentials secret denied")
	ErrUnavailable  = errors.New("credentials secret unavailable")
)

// Cache holds the parsed credentials for a TTL. Concurrent callers share one
// fetch; Refresh replaces credentials that SignalWire rejected. The zero
// value is not usable: build one with NewCache.
type Cache struct {
	api      SecretsAPI
	secretID string
	ttl      time.Duration
	req      Requirements
	now      func() time.Time

	mu       sync.Mutex
	cur      *entry
	inflight *fetch
	fetches  atomic.Int64
}

type entry struct {
	creds     Credentials
	fetchedAt time.Time
	version   uint64
}

type fetch struct {
	done chan struct{}
	ent  *entry
	err  error
}

// Option configures a Cache.
type Option func(*Cache)

// WithClock replaces time.Now (tests).
func WithClock(now func() time.Time) Option { return func(c *Cache) { c.now = now } }

// WithRequirements names optional keys the configuration needs.
func WithRequirements(r Requirements) Option { return func(c *Cache) { c.req = r } }

// NewCache returns a cache for secretID; ttl <= 0 means DefaultTTL.
func NewCache(api SecretsAPI, secretID string, ttl time.Duration, opts ...Option) *Cache {
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	c := &Cache{api: api, secretID: secretID, ttl: ttl, now: time.Now}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Fetches reports how many GetSecretValue calls the cache has made.
func (c *Cache) Fetches() int64 { return c.fetches.Load() }

// Get returns cached credentials, fetching them when none are cached or the
// TTL has passed. The version identifies this set for Refresh.
func (c *Cache) Get(ctx context.Context) (Credentials, uint64, error) {
	c.mu.Lock()
	if e := c.cur; e != nil && c.now().Sub(e.fetchedAt) < c.ttl {
		c.mu.Unlock()
		return e.creds, e.version, nil
	}
	c.mu.Unlock()
	e, err := c.load(ctx, 0, false)
	if err != nil {
		return Credentials{}, 0, err
	}
	return e.creds, e.version, nil
}

// Refresh fetches new credentials after SignalWire rejected the set with the
// given version (key rotation). When another caller already replaced that
// set, Refresh returns the newer one without fetching again.
func (c *Cache) Refresh(ctx context.Context, stale uint64) (Credentials, uint64, error) {
	e, err := c.load(ctx, stale, true)
	if err != nil {
		return Credentials{}, 0, err
	}
	return e.creds, e.version, nil
}

// load coalesces concurrent fetches into one GetSecretValue call.
func (c *Cache) load(ctx context.Context, stale uint64, refresh bool) (*entry, error) {
	c.mu.Lock()
	if e := c.cur; e != nil {
		fresh := c.now().Sub(e.fetchedAt) < c.ttl
		if (!refresh && fresh) || (refresh && e.version != stale) {
			c.mu.Unlock()
			return e, nil
		}
	}
	f := c.inflight
	if f == nil {
		f = &fetch{done: make(chan struct{})}
		c.inflight = f
		c.mu.Unlock()
		f.ent, f.err = c.fetch(ctx)
		c.mu.Lock()
		c.inflight = nil
		if f.err == nil {
			c.cur = f.ent
		}
		close(f.done)
		c.mu.Unlock()
	} else {
		c.mu.Unlock()
		select {
		case <-f.done:
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for credentials: %w", ctx.Err())
		}
	}
	return f.ent, f.err
}

func (c *Cache) fetch(ctx context.Context) (*entry, error) {
	c.fetches.Add(1)
	out, err := c.api.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(c.secretID)})
	if err != nil {
		return nil, c.classify(err)
	}
	var raw []byte
	switch {
	case out.SecretString != nil:
		raw = []byte(*out.SecretString)
	case out.SecretBinary != nil:
		raw = out.SecretBinary
	default:
		return nil, fmt.Errorf("secret %s: %w: it has no value", c.secretID, ErrMalformed)
	}
	creds, err := Parse(raw, c.req)
	if err != nil {
		return nil, fmt.Errorf("secret %s: %w", c.secretID, err)
	}
	c.mu.Lock()
	var v uint64 = 1
	if c.cur != nil {
		v = c.cur.version + 1
	}
	c.mu.Unlock()
	return &entry{creds: creds, fetchedAt: c.now(), version: v}, nil
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
