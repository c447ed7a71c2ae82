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

// Standard Webhooks header names.
const (
	// headerWebhookID carries the event id (Message.ID).
	headerWebhookID = "webhook-id"
	// headerWebhookTimestamp carries the signing time in unix seconds.
	headerWebhookTimestamp = "webhook-timestamp"
	// headerWebhookSignature carries "v1,<base64 HMAC-SHA256>".
	headerWebhookSignature = "webhook-signature"
	// headerTraceID carries the AWS X-Ray trace header on to the endpoint.
	headerTraceID = "X-Amzn-Trace-Id"
)

// SigningSecretPrefix is the optional prefix of a Standard Webhooks secret.
const SigningSecretPrefix = "whsec_"

// Signing key size bounds recommended by the Standard Webhooks specification.
const (
	minSigningKeyBytes = 24
	maxSigningKeyBytes = 64
)

// maxDrainBytes caps how much of a response body is read (and discarded) so
// the connection can be reused without trusting the endpoint's body size.
const maxDrainBytes = 16 << 10

// ErrInvalidSigningSecret is returned (wrapped) for a signing secret that is
// not a base64-encoded key of 24 to 64 bytes, optionally prefixed "whsec_".
// Errors wrapping it never contain the secret.
var ErrInvalidSigningSecret = errors.New("invalid webhook signing secret")

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
		return nil, fmt.Errorf("%w: empty", ErrInvalidSigningSecret)
	}
	key, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		// The base64 error names only an offset, never the input.
		return nil, fmt.Errorf("%w: not standard base64: %w", ErrInvalidSigningSecret, err)
	}
	if len(key) < minSigningKeyBytes || len(key) > maxSigningKeyBytes {
		return nil, fmt.Errorf("%w: key is %d bytes, want %d to %d", ErrInvalidSigningSecret, len(key), minSigningKeyBytes, maxSigningKeyBytes)
	}
	return key, nil
}

// HTTPSOption configures an HTTPS destination.
type HTTPSOption func(*HTTPS)

// WithPreviousSecret adds a second signing secret (see
// ValidateSigningSecret) for a rotation: each request then carries two
// signatures in webhook-signature, space-separated as Standard Webhooks
// allows, so a receiver verifying with either secret accepts it. An empty
// secret adds nothing; an invalid one makes NewHTTPS fail.
func WithPreviousSecret(secret string) HTTPSOption {
	return func(h *HTTPS) { h.previous = secret }
}

// WithUserAgent sets the User-Agent header sent with every request.
func WithUserAgent(ua string) HTTPSOption {
	return func(h *HTTPS) { h.userAgent = ua }
}

// HTTPS delivers events by POSTing them to an endpoint, signed as Standard
// Webhooks specifies. Redirects are not followed.
type HTTPS struct {
	endpoint  string
	safeURL   string
	keys      [][]byte // current first
	previous  string   // WithPreviousSecret, decoded into keys by NewHTTPS
	client    *http.Client
	userAgent string
}

// NewHTTPS returns a destination that POSTs to endpoint, signing with secret
// (see ValidateSigningSecret). The endpoint must be https, or http on a
// loopback host (local runs). client may be nil for a default client; it is
// copied, not modified. Requests are bounded by the Send context.
func NewHTTPS(endpoint, secret string, client *http.Client, opts ...HTTPSOption) (*HTTPS, error) {
	safe, err := validateEndpoint(endpoint)
	if err != nil {
		return nil, err
	}
	key, err := decodeSigningSecret(secret)
	if err != nil {
		return nil, fmt.Errorf("https destination: %w", err)
	}
	c := &http.Client{}
	if client != nil {
		copied := *client
		c = &copied
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	h := &HTTPS{
		endpoint:  endpoint,
		safeURL:   safe,
		keys:      [][]byte{key},
		client:    c,
		userAgent: "signalwire-participants-lambda", // the function adds "/" + its version (WithUserAgent)
	}
	for _, opt := range opts {
		opt(h)
	}
	if h.previous != "" {
		prev, err := decodeSigningSecret(h.previous)
		if err != nil {
			return nil, fmt.Errorf("https destination: previous secret: %w", err)
		}
		if !bytes.Equal(prev, key) {
			h.keys = append(h.keys, prev)
		}
		h.previous = ""
	}
	return h, nil
}

// validateEndpoint checks the endpoint URL and returns a form of it safe to
// put in errors (no user info, query or fragment).
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
		if !isLoopback(u.Hostname()) {
			return "", fmt.Errorf("https destination: %s: plain http is allowed only for loopback hosts", safe)
		}
	default:
		return "", fmt.Errorf("https destination: %s: scheme must be https", safe)
	}
	return safe, nil
}

// isLoopback reports whether host is localhost or a loopback IP address.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Name returns "https".
func (h *HTTPS) Name() string { return "https" }

// Send POSTs m.Body once. A 2xx answer is success; other answers are returned
// as *StatusError (408, 429 and 5xx retryable), transport failures as they come.
func (h *HTTPS) Send(ctx context.Context, m Message) error {
	if m.ID == "" {
		return errors.New("https destination: message has no id")
	}
	timestamp := strconv.FormatInt(time.Now().Unix(), 10)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.endpoint, bytes.NewReader(m.Body))
	if err != nil {
		return fmt.Errorf("https destination %s: build request: %w", h.safeURL, err)
	}
	req.Header.Set("Content-Type", "application/json")
	if h.userAgent != "" {
		req.Header.Set("User-Agent", h.userAgent)
	}
	req.Header.Set(headerWebhookID, m.ID)
	req.Header.Set(headerWebhookTimestamp, timestamp)
	req.Header.Set(headerWebhookSignature, h.signatures(m.ID, timestamp, m.Body))
	if trace := obs.TraceID(ctx); trace != "" {
		req.Header.Set(headerTraceID, trace)
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
// space-separated (Standard Webhooks), the current key's first.
func (h *HTTPS) signatures(id, timestamp string, body []byte) string {
	sigs := make([]string, len(h.keys))
	for i, k := range h.keys {
		sigs[i] = "v1," + sign(k, id, timestamp, body)
	}
	return strings.Join(sigs, " ")
}

// sign returns base64(HMAC-SHA256(key, id.timestamp.body)).
func sign(key []byte, id, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id))
	mac.Write([]byte{'.'})
	mac.Write([]byte(timestamp))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}
