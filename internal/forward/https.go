package forward

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/signalwire-lambda/participants/internal/obs"
)

// SigningSecretPrefix is the optional prefix of a Standard Webhooks secret.
const SigningSecretPrefix = "whsec_"

const (
	// Signing key sizes the Standard Webhooks specification recommends.
	minSigningKeyBytes = 24
	maxSigningKeyBytes = 64
	// maxDrainBytes bounds the response body read so the connection can be
	// reused without trusting the endpoint's body size.
	maxDrainBytes = 16 << 10
)

// errInvalidSigningSecret is wrapped by every secret error (none holds the secret).
var errInvalidSigningSecret = errors.New("invalid webhook signing secret")

// ValidateSigningSecret checks that s is a usable Standard Webhooks secret:
// standard base64 (after an optional "whsec_" prefix) of a 24 to 64 byte key.
func ValidateSigningSecret(s string) error {
	_, err := decodeSigningSecret(s)
	return err
}

// decodeSigningSecret returns the HMAC key a secret encodes.
func decodeSigningSecret(s string) ([]byte, error) {
	encoded := strings.TrimPrefix(s, SigningSecretPrefix)
	if encoded == "" {
		return nil, fmt.Errorf("%w: empty", errInvalidSigningSecret)
	}
	key, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		// The base64 error names only an offset, never the input.
		return nil, fmt.Errorf("%w: not standard base64: %w", errInvalidSigningSecret, err)
	}
	if len(key) < minSigningKeyBytes || len(key) > maxSigningKeyBytes {
		return nil, fmt.Errorf("%w: key is %d bytes, want %d to %d", errInvalidSigningSecret, len(key), minSigningKeyBytes, maxSigningKeyBytes)
	}
	return key, nil
}

// Secrets are the HTTPS destination's Standard Webhooks secrets: Current
// signs every request, Previous (during a rotation) too; Version changes
// whenever they may have.
type Secrets struct {
	Current, Previous string
	Version           uint64
}

// SecretSource yields the current Secrets and, when the endpoint rejects a
// signature, a forced (rate-limited) refresh of them.
type SecretSource interface {
	Secrets(ctx context.Context) (Secrets, error)
	RefreshSecrets(ctx context.Context, stale uint64) (Secrets, error)
}

type httpsDest struct {
	endpoint  string
	safeURL   string // no user info, query or fragment: fit for errors
	err       error  // the endpoint's validation error
	client    *http.Client
	source    SecretSource
	userAgent string
}

// NewHTTPS returns the destination POSTing to endpoint (https, or http on a
// loopback host) with a copy of client that follows no redirect, signed with
// source's secrets (both during a rotation). A 401 or 403 forces a refresh;
// new secrets get the message sent once more.
func NewHTTPS(endpoint string, client *http.Client, source SecretSource, userAgent string) Destination {
	c := *client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	safe, err := validateEndpoint(endpoint)
	return &httpsDest{endpoint: endpoint, safeURL: safe, err: err, client: &c, source: source, userAgent: userAgent}
}

// validateEndpoint returns the endpoint without user info, query or fragment.
func validateEndpoint(endpoint string) (string, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return "", errors.New("https destination: endpoint is not a valid URL")
	}
	if u.Host == "" {
		return "", errors.New("https destination: endpoint has no host")
	}
	safe := (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
	switch u.Scheme {
	case "https":
	case "http":
		if ip := net.ParseIP(u.Hostname()); !strings.EqualFold(u.Hostname(), "localhost") && (ip == nil || !ip.IsLoopback()) {
			return "", fmt.Errorf("https destination: %s: plain http is allowed only for loopback hosts", safe)
		}
	default:
		return "", fmt.Errorf("https destination: %s: scheme must be https", safe)
	}
	return safe, nil
}

func (h *httpsDest) Name() string { return "https" }

// Send POSTs m.Body once, twice after a signature rejection that a refresh
// answers; a non-2xx answer is a *StatusError.
func (h *httpsDest) Send(ctx context.Context, m Message) error {
	if h.err != nil {
		return h.err
	}
	s, err := h.source.Secrets(ctx)
	if err != nil {
		return fmt.Errorf("https destination: %w", err)
	}
	err = h.post(ctx, m, s)
	var status *StatusError
	if !errors.As(err, &status) || (status.StatusCode != http.StatusUnauthorized && status.StatusCode != http.StatusForbidden) {
		return err
	}
	fresh, rerr := h.source.RefreshSecrets(ctx, s.Version)
	if rerr != nil || fresh.Version == s.Version {
		return err // nothing newer (or refreshed too recently): the endpoint's answer stands
	}
	obs.InvocationFrom(ctx).Batch().Add(obs.MetricCredentialsRefresh, obs.UnitCount, 1)
	return h.post(ctx, m, fresh)
}

// signingKeys returns the keys of s, current first.
func signingKeys(s Secrets) ([][]byte, error) {
	key, err := decodeSigningSecret(s.Current)
	if err != nil {
		return nil, fmt.Errorf("https destination: %w", err)
	}
	keys := [][]byte{key}
	if s.Previous != "" {
		prev, err := decodeSigningSecret(s.Previous)
		if err != nil {
			return nil, fmt.Errorf("https destination: previous secret: %w", err)
		}
		if !bytes.Equal(prev, key) {
			keys = append(keys, prev)
		}
	}
	return keys, nil
}

// post sends one signed request.
func (h *httpsDest) post(ctx context.Context, m Message, s Secrets) error {
	if m.ID == "" {
		return errors.New("https destination: message has no id")
	}
	keys, err := signingKeys(s)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.endpoint, bytes.NewReader(m.Body))
	if err != nil {
		return fmt.Errorf("https destination %s: build request: %w", h.safeURL, err)
	}
	timestamp := strconv.FormatInt(time.Now().Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	if h.userAgent != "" {
		req.Header.Set("User-Agent", h.userAgent)
	}
	req.Header.Set("webhook-id", m.ID)
	req.Header.Set("webhook-timestamp", timestamp)
	req.Header.Set("webhook-signature", signatures(keys, m.ID, timestamp, m.Body))
	if trace := obs.TraceID(ctx); trace != "" {
		req.Header.Set("X-Amzn-Trace-Id", trace)
	}
	resp, err := h.client.Do(req)
	if err != nil {
		var urlErr *url.Error
		if errors.As(err, &urlErr) {
			urlErr.URL = h.safeURL // keep query strings (tokens) out of errors
		}
		return fmt.Errorf("https destination: POST %s: %w", h.safeURL, err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrainBytes))
	_ = resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("https destination: POST %s: %w", h.safeURL, &StatusError{StatusCode: resp.StatusCode})
	}
	return nil
}

// signatures returns the webhook-signature value: "v1,<sig>" per key,
// space-separated, where sig is base64(HMAC-SHA256(key, id.timestamp.body)).
func signatures(keys [][]byte, id, timestamp string, body []byte) string {
	sigs := make([]string, len(keys))
	for i, k := range keys {
		mac := hmac.New(sha256.New, k)
		mac.Write([]byte(id + "." + timestamp + "."))
		mac.Write(body)
		sigs[i] = "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	}
	return strings.Join(sigs, " ")
}
