// Package signalwire is a client for the calls of SignalWire's
// Compatibility (LaML) REST API this function needs: strict validation of
// what callers send, bounded retries, failures mapped to *APIError, lenient
// decoding of answers. Credentials are passed per call (Auth), so a refresh
// needs no new Client; no error or log contains the API token.
package signalwire

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/signalwire-lambda/participants/internal/obs"
	"github.com/signalwire-lambda/participants/internal/retry"
)

// defaultUserAgent is sent as User-Agent unless Options sets one; the
// function adds "/" + its version.
const defaultUserAgent = "signalwire-participants-lambda"

// The bounds of a call: a longer response body is KindBadResponse, and an
// honoured Retry-After is capped; the error body parsed and the unread body
// discarded (so the connection can be reused) are bounded too.
const (
	maxBodyBytes      int64 = 1 << 20
	maxRetryAfter           = 5 * time.Second
	maxErrorBodyBytes       = 64 << 10
	maxDrainBytes           = 64 << 10
)

// apiBasePath is the Compatibility API base. The older "/2010-04-01" base
// has been reported to 404.
const apiBasePath = "/api/laml/2010-04-01"

// Auth is what a call needs from the credentials secret.
type Auth struct {
	// ProjectID is the HTTP Basic user name.
	ProjectID string
	// APIToken is the HTTP Basic password. It never appears in an error.
	APIToken string
	// SpaceHost is the Space's host[:port], e.g. "example.signalwire.com".
	SpaceHost string
}

// String redacts the token so that a stray %v never prints it.
func (a Auth) String() string {
	return "signalwire.Auth{ProjectID:" + a.ProjectID + " SpaceHost:" + a.SpaceHost + " APIToken:[redacted]}"
}

// GoString redacts the token, like String.
func (a Auth) GoString() string { return a.String() }

// Options configures a Client. Zero fields take the defaults.
type Options struct {
	// HTTPClient sends the requests. Nil: a keep-alive client, TLS 1.2+,
	// HTTP/2 when offered, no redirects, no timeout (the context bounds
	// each call), its first connection opened ahead by Preconnect.
	HTTPClient *http.Client
	// UserAgent is sent as User-Agent.
	UserAgent string
	// Log, when set, gets a line for each attempt that got no answer
	// (obs.Reach).
	Log *slog.Logger
}

// Client calls SignalWire's Compatibility REST API. Build it once with
// NewClient and share it: it is safe for concurrent use.
type Client struct {
	http      *http.Client
	log       *slog.Logger
	retry     retry.Policy
	userAgent string
	// preconnect opens the default client's first TLS connection ahead
	// (Preconnect); nil when Options.HTTPClient was given or a proxy is
	// configured.
	preconnect func(host string)
	validHost  atomic.Pointer[string] // the last space host ValidateSpaceHost accepted
}

// NewClient returns a Client configured by opts. A call makes at most 4
// attempts, with a full-jitter backoff doubling from 100ms to 2s, and retries
// only while the deadline leaves 50ms for another attempt.
func NewClient(opts Options) *Client {
	c := &Client{
		http:      opts.HTTPClient,
		log:       cmp.Or(opts.Log, slog.New(slog.DiscardHandler)),
		userAgent: cmp.Or(opts.UserAgent, defaultUserAgent),
		retry:     retry.Policy{MaxAttempts: 4, Base: 100 * time.Millisecond, Max: 2 * time.Second, Reserve: 50 * time.Millisecond},
	}
	if c.http == nil {
		c.http, c.preconnect = PreconnectingClient(nil)
		// A redirect would be a misconfigured Space host, and the request
		// carries the credentials.
		c.http.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	}
	return c
}

// GetParticipant retrieves one conference participant ("Retrieve a
// Participant"). An invalid SID returns its *InvalidSIDError, an invalid
// Space host or missing credentials a plain error, before any request;
// every other failure is an *APIError. Transport errors and the statuses
// retry.Status accepts are retried with backoff, honouring Retry-After
// (capped), while the deadline leaves room for the wait and one attempt.
func (c *Client) GetParticipant(ctx context.Context, auth Auth, ref ParticipantRef) (*Participant, error) {
	if err := ref.Validate(); err != nil {
		return nil, err
	}
	target := "https://" + auth.SpaceHost + apiBasePath + "/Accounts/" + ref.AccountSID +
		"/Conferences/" + ref.ConferenceSID + "/Participants/" + ref.CallSID + ".json" // the SIDs are validated UUIDs
	var p *Participant
	err := c.get(ctx, auth, target, func(body []byte) (err error) {
		p, err = DecodeParticipant(body)
		return err
	})
	return p, err
}

// get GETs target with GetParticipant's checks and retries, and hands a
// success's body to decode; a decode error is a KindBadResponse *APIError.
func (c *Client) get(ctx context.Context, auth Auth, target string, decode func([]byte) error) error {
	if h := c.validHost.Load(); h == nil || *h != auth.SpaceHost {
		if err := ValidateSpaceHost(auth.SpaceHost); err != nil {
			return fmt.Errorf("signalwire: GET participant: %w", err)
		}
		c.validHost.Store(&auth.SpaceHost)
	}
	if auth.ProjectID == "" || auth.APIToken == "" {
		return errors.New("signalwire: GET participant: project id and api token are required")
	}
	if strings.Contains(auth.ProjectID, ":") {
		return errors.New("signalwire: GET participant: project id must not contain ':'")
	}
	n, last, stop := retry.Do(ctx, c.retry, retryable, func(n int) (time.Duration, error) {
		apiErr, retryAfter := c.roundTrip(ctx, auth, target, decode)
		if apiErr == nil {
			return 0, nil
		}
		apiErr.Attempts = n
		redactError(apiErr, auth)
		return min(retryAfter, maxRetryAfter), apiErr // still negative when absent
	})
	if stop != nil && !errors.Is(stop, retry.ErrNoTimeLeft) {
		lastErr, _ := last.(*APIError)
		return timeoutError(stop, nil, n, lastErr)
	}
	return last
}

// retryable reports whether the failure of one attempt may be retried: a
// transport error, or an error status retry.Status accepts.
func retryable(err error) bool {
	e, ok := err.(*APIError)
	return ok && (e.Kind == KindNetwork || (e.Kind != KindBadResponse && retry.Status(e.StatusCode)))
}

// roundTrip makes one HTTP attempt. On failure it returns the attempt's
// *APIError and the Retry-After it carried (negative when absent).
func (c *Client) roundTrip(ctx context.Context, auth Auth, target string, decode func([]byte) error) (*APIError, time.Duration) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		// Unreachable with a validated host and SIDs.
		return &APIError{Kind: kindBadRequest, Err: fmt.Errorf("building request: %w", err)}, -1
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	req.SetBasicAuth(auth.ProjectID, auth.APIToken)

	resp, err := obs.Reach(c.log, "SignalWire", req, c.http.Do)
	if err != nil {
		return transportError(ctx, err, 0), -1
	}
	defer func() {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrainBytes)) // so the connection can be reused
		_ = resp.Body.Close()
	}()
	retryAfter := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return decodeSuccess(ctx, resp, decode), retryAfter
	}
	return errorResponse(ctx, resp, retryAfter), retryAfter
}

// decodeSuccess reads a 2xx response's body and decodes it.
func decodeSuccess(ctx context.Context, resp *http.Response, decode func([]byte) error) *APIError {
	status := resp.StatusCode
	// Sized by the Content-Length, if any, up to 64 KiB (io.ReadAll grows from 512 bytes).
	buf := bytes.NewBuffer(make([]byte, 0, min(max(resp.ContentLength, 0), 64<<10)+bytes.MinRead))
	if _, err := buf.ReadFrom(io.LimitReader(resp.Body, maxBodyBytes+1)); err != nil {
		return transportError(ctx, fmt.Errorf("reading response body: %w", err), status)
	}
	body := buf.Bytes()
	if int64(len(body)) > maxBodyBytes {
		return &APIError{Kind: KindBadResponse, StatusCode: status, Err: fmt.Errorf("response exceeds %d bytes", maxBodyBytes)}
	}
	if err := decode(body); err != nil {
		return &APIError{Kind: KindBadResponse, StatusCode: status,
			Err: fmt.Errorf("decoding body (content type %q): %w", obs.Truncate(resp.Header.Get("Content-Type"), maxQuotedValue), err)}
	}
	return nil
}

// errorResponse reads an error status's body into an *APIError.
func errorResponse(ctx context.Context, resp *http.Response, retryAfter time.Duration) *APIError {
	status := resp.StatusCode
	body, readErr := io.ReadAll(io.LimitReader(resp.Body, maxErrorBodyBytes))
	if readErr != nil && ctx.Err() != nil {
		return transportError(ctx, fmt.Errorf("reading error body: %w", readErr), status)
	}
	// A read error on an error body still leaves the status to act on.
	eb := parseErrorBody(body)
	apiErr := &APIError{
		Kind:       kindForStatus(status),
		StatusCode: status,
		Code:       eb.code,
		Message:    cmp.Or(obs.Truncate(eb.message, maxMessageBytes), http.StatusText(status)),
		MoreInfo:   obs.Truncate(eb.moreInfo, maxMessageBytes),
		RetryAfter: max(retryAfter, 0),
	}
	if apiErr.Kind == KindBadResponse {
		apiErr.Err = fmt.Errorf("unexpected status %d", status)
	}
	return apiErr
}

// transportError classifies an error from sending the request or reading
// the body: KindTimeout when ctx is done, KindNetwork (retryable) otherwise.
func transportError(ctx context.Context, err error, status int) *APIError {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return timeoutError(ctxErr, err, 0, nil)
	}
	return &APIError{Kind: KindNetwork, StatusCode: status, Err: err}
}

// timeoutError builds a KindTimeout error whose chain holds the context's
// error (so errors.Is(err, context.DeadlineExceeded) works) and cause.
func timeoutError(ctxErr, cause error, attempts int, last *APIError) *APIError {
	e := &APIError{Kind: KindTimeout, Attempts: attempts}
	switch {
	case cause != nil && errors.Is(cause, ctxErr):
		e.Err = cause
	case cause != nil:
		e.Err = fmt.Errorf("%w: %w", ctxErr, cause)
	case last != nil:
		e.Err = fmt.Errorf("%w (last attempt: %s)", ctxErr, strings.TrimPrefix(last.Error(), "signalwire: GET participant: "))
	default:
		e.Err = ctxErr
	}
	return e
}

// redactError removes the API token and every form derived from it
// (obs.RedactText) from the upstream text an error carries.
func redactError(e *APIError, auth Auth) {
	e.Message = obs.RedactText(e.Message, auth.ProjectID, auth.APIToken)
	e.MoreInfo = obs.RedactText(e.MoreInfo, auth.ProjectID, auth.APIToken)
	if e.Err != nil {
		if msg := e.Err.Error(); obs.RedactText(msg, auth.ProjectID, auth.APIToken) != msg {
			e.Err = errors.New(obs.RedactText(msg, auth.ProjectID, auth.APIToken))
		}
	}
}

// parseRetryAfter reads a Retry-After header: delta-seconds or an HTTP-date.
// It returns -1 when the header is absent or unusable; a date in the past
// gives 0.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return -1
	}
	if v[0] >= '0' && v[0] <= '9' {
		secs, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return -1
		}
		const maxSecs = int64(24 * time.Hour / time.Second)
		return time.Duration(min(secs, maxSecs)) * time.Second
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return -1
	}
	return max(t.Sub(now), 0)
}

// Preconnect starts opening the TLS connection to the Space host in the
// background (at init, while the secret is fetched: a cold read is 1.46x
// slower without it at 20 ms RTT). It never blocks or fails; with an
// invalid host, a proxy or Options.HTTPClient it does nothing.
func (c *Client) Preconnect(spaceHost string) {
	if c.preconnect != nil && ValidateSpaceHost(spaceHost) == nil {
		c.preconnect(spaceHost)
	}
}
