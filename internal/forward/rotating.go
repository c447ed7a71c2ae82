package forward

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"

	"github.com/signalwire-lambda/participants/internal/obs"
)

// Secrets are the HTTPS destination's Standard Webhooks secrets at one
// version of the credentials they come from.
type Secrets struct {
	// Current signs every request; Previous, when set (during a rotation),
	// signs it too.
	Current, Previous string
	// Version changes whenever the secrets may have.
	Version uint64
}

// SecretSource yields the current Secrets and, when the endpoint rejects a
// signature, a forced (rate-limited) refresh of them.
type SecretSource interface {
	Secrets(ctx context.Context) (Secrets, error)
	RefreshSecrets(ctx context.Context, stale uint64) (Secrets, error)
}

// RotatingHTTPS is the HTTPS destination whose secrets come from a
// SecretSource (the Secrets Manager secret): its signer is built on first
// use and rebuilt when the secrets' version changes (rotation), never at
// init. During a rotation each request carries both signatures. A 401 or
// 403 from the endpoint (it may already verify with a newer secret) forces
// a refresh; when that brings new secrets the message is sent once more,
// signed with them.
type RotatingHTTPS struct {
	endpoint string
	client   *http.Client
	source   SecretSource
	opts     []HTTPSOption

	mu      sync.Mutex
	version uint64
	dest    *HTTPS
}

// NewRotatingHTTPS returns the destination posting to endpoint with client
// (nil: a default client), signed with source's secrets; opts apply to
// every signer it builds.
func NewRotatingHTTPS(endpoint string, client *http.Client, source SecretSource, opts ...HTTPSOption) *RotatingHTTPS {
	return &RotatingHTTPS{endpoint: endpoint, client: client, source: source, opts: opts}
}

// Name implements Destination.
func (r *RotatingHTTPS) Name() string { return "https" }

// Send implements Destination.
func (r *RotatingHTTPS) Send(ctx context.Context, m Message) error {
	s, err := r.source.Secrets(ctx)
	if err != nil {
		return fmt.Errorf("https destination: %w", err)
	}
	d, err := r.destination(s)
	if err != nil {
		return err
	}
	err = d.Send(ctx, m)
	var status *StatusError
	if !errors.As(err, &status) || (status.StatusCode != http.StatusUnauthorized && status.StatusCode != http.StatusForbidden) {
		return err
	}
	fresh, rerr := r.source.RefreshSecrets(ctx, s.Version)
	if rerr != nil || fresh.Version == s.Version {
		return err // nothing newer (or refreshed too recently): the endpoint's answer stands
	}
	obs.InvocationFrom(ctx).Batch().Add(obs.MetricCredentialsRefresh, obs.UnitCount, 1)
	if d, err = r.destination(fresh); err != nil {
		return err
	}
	return d.Send(ctx, m)
}

// destination returns the signer for s, rebuilding it when the version
// changed.
func (r *RotatingHTTPS) destination(s Secrets) (*HTTPS, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.dest != nil && s.Version == r.version {
		return r.dest, nil
	}
	d, err := NewHTTPS(r.endpoint, s.Current, r.client, append(slices.Clip(r.opts), WithPreviousSecret(s.Previous))...)
	if err != nil {
		return nil, fmt.Errorf("https destination: %w", err)
	}
	r.dest, r.version = d, s.Version
	return d, nil
}
