package function

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/signalwire-lambda/participants/internal/credentials"
)

// prefetchTimeout bounds the wait for the secret fetch started at init
// (the cache bounds the fetch itself by credentials.FetchTimeout, which this
// exceeds, so the wait ends with the fetch's own result). Init never waits
// for it; an invocation that joined it and saw it fail fetches again
// within its own deadline.
const prefetchTimeout = credentials.FetchTimeout + time.Second

// initCreds is the credentials cache as the function uses it: its first
// fetch starts at init (prefetch), and the secret's space_host is checked
// against SIGNALWIRE_SPACE_HOST when that is set. Every other method of the
// cache is used as is.
type initCreds struct {
	*credentials.Cache
	// spaceHost is SIGNALWIRE_SPACE_HOST, empty when not set.
	spaceHost string
	// prefetched is closed when the init fetch has finished, successfully
	// or not; it is nil when no init fetch was started.
	prefetched chan struct{}
}

func newInitCreds(c *credentials.Cache, spaceHost string) *initCreds {
	return &initCreds{Cache: c, spaceHost: spaceHost}
}

// prefetch starts fetching the secret in the background and returns at
// once. Call it once, before the first Get.
func (c *initCreds) prefetch() {
	done := make(chan struct{})
	c.prefetched = done
	go func() {
		defer close(done)
		ctx, cancel := context.WithTimeout(context.Background(), prefetchTimeout)
		defer cancel()
		if _, _, err := c.Cache.Get(ctx); err != nil {
			// A failed init fetch does not hold back the first
			// invocation's own (see credentials.Cache.AllowRetry).
			c.Cache.AllowRetry()
		}
	}()
}

// Get returns the cached credentials. The first callers wait for the init
// fetch (within their own deadline) and then read the cache: when that
// fetch failed (Secrets Manager unreachable or slow at init), the cache is
// empty and they fetch again with their own context, so the first
// invocation retries within its deadline instead of inheriting the init
// fetch's error.
func (c *initCreds) Get(ctx context.Context) (credentials.Credentials, uint64, error) {
	if c.prefetched != nil {
		select {
		case <-c.prefetched:
		case <-ctx.Done():
			credentials.CountUnavailable(ctx)
			return credentials.Credentials{}, 0, fmt.Errorf("waiting for the credentials fetched at init: %w: %w", credentials.ErrUnavailable, ctx.Err())
		}
	}
	cr, v, err := c.Cache.Get(ctx)
	if err != nil {
		return cr, v, err
	}
	if err := c.check(cr); err != nil {
		credentials.CountUnavailable(ctx)
		return cr, v, err
	}
	return cr, v, nil
}

// Refresh replaces credentials SignalWire rejected, with the same check.
func (c *initCreds) Refresh(ctx context.Context, stale uint64) (credentials.Credentials, uint64, error) {
	cr, v, err := c.Cache.Refresh(ctx, stale)
	if err != nil {
		return cr, v, err
	}
	return cr, v, c.check(cr)
}

// check refuses a secret whose space_host is not SIGNALWIRE_SPACE_HOST:
// the connection opened at init went to the configured host, and a
// mismatch is a misconfiguration to fix, not something to guess around.
// The host is not a secret; the error names both.
func (c *initCreds) check(cr credentials.Credentials) error {
	if c.spaceHost == "" || sameHost(cr.SpaceHost, c.spaceHost) {
		return nil
	}
	return fmt.Errorf("%w: its space_host %q is not SIGNALWIRE_SPACE_HOST %q", credentials.ErrMalformed, cr.SpaceHost, c.spaceHost)
}

// sameHost compares two host[:port] ignoring case and the default port.
func sameHost(a, b string) bool {
	return strings.EqualFold(strings.TrimSuffix(a, ":443"), strings.TrimSuffix(b, ":443"))
}
