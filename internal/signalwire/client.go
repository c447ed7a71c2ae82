package signalwire

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/signalwire-lambda/participants/internal/backoff"
	"github.com/signalwire-lambda/participants/internal/preconnect"
	"github.com/signalwire-lambda/participants/internal/redact"
)

// Defaults applied by NewClient to zero (or negative) Options fields.
const (
	DefaultMaxBodyBytes  int64 = 1 << 20
	DefaultMaxAttempts         = 4
	DefaultBaseBackoff         = 100 * time.Millisecond
	DefaultMaxBackoff          = 2 * time.Second
	DefaultMaxRetryAfter       = 5 * time.Second
	DefaultUserAgent           = "signalwire-participants-lambda" // the function adds "/" + its version
)

// minAttemptBudget is the least time an attempt must have left before the
// context's deadline for a retry to be worth starting.
const minAttemptBudget = 50 * time.Millisecond

// maxErrorBodyBytes bounds how much of an error response is read and parsed.
const maxErrorBodyBytes = 64 << 10

// maxDrainBytes bounds how much of an unread body is discarded to let the
// connection be reused; a longer remainder closes the connection instead.
const maxDrainBytes = 64 << 10

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

// Options configures a Client. Zero fields take the documented defaults.
type Options struct {
	// HTTPClient sends the requests. Nil: a client with a keep-alive
	// transport, TLS 1.2+, HTTP/2 when offered, no redirects followed and
	// no client-level timeout (the context bounds each call).
	HTTPClient *http.Client
	// RootCAs, when set, replaces the system roots for the default
	// client's TLS connections (tests trusting a local server). Ignored with
	// HTTPClient.
	RootCAs *x509.CertPool
	// MaxBodyBytes caps a response body; a longer one is a KindBadResponse
	// error. Default 1 MiB.
	MaxBodyBytes int64
	// MaxAttempts is the total number of tries, retries included. Default 4.
	MaxAttempts int
	// BaseBackoff is the backoff ceiling before the first retry; it doubles
	// for each later retry up to MaxBackoff. The wait is drawn uniformly
	// below the ceiling (full jitter). Defaults 100ms and 2s.
	BaseBackoff time.Duration
	// MaxBackoff caps the backoff ceiling. Default 2s.
	MaxBackoff time.Duration
	// MaxRetryAfter caps an honoured Retry-After. Default 5s.
	MaxRetryAfter time.Duration
	// Jitter returns a number in [0,1); it must be safe for concurrent use.
	// Nil: math/rand/v2.
	Jitter func() float64
	// OnAttempt, if set, is called synchronously after every HTTP attempt
	// (for metrics and logs).
	OnAttempt func(Attempt)
	// UserAgent is sent as User-Agent. Default DefaultUserAgent.
	UserAgent string
}

// Attempt describes one HTTP attempt, for Options.OnAttempt.
type Attempt struct {
	// N is the attempt number, from 1.
	N int
	// StatusCode is the HTTP status; 0 when no response was received.
	StatusCode int
	// Latency is the time from sending the request to having read the body.
	Latency time.Duration
	// Err is the attempt's error (an *APIError), nil on success.
	Err error
}

// Client calls SignalWire's Compatibility REST API. Build it once with
// NewClient and share it: it is safe for concurrent use.
type Client struct {
	http          *http.Client
	maxBody       int64
	maxAttempts   int
	baseBackoff   time.Duration
	maxBackoff    time.Duration
	maxRetryAfter time.Duration
	jitter        func() float64
	onAttempt     func(Attempt)
	userAgent     string
	// dialer opens the default client's TLS connections (Preconnect); nil
	// when Options.HTTPClient was given or a proxy is configured.
	dialer *preconnect.Dialer

	// Seams for tests in this package.
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error
}

// NewClient returns a Client configured by opts.
func NewClient(opts Options) *Client {
	c := &Client{
		http:          opts.HTTPClient,
		maxBody:       opts.MaxBodyBytes,
		maxAttempts:   opts.MaxAttempts,
		baseBackoff:   opts.BaseBackoff,
		maxBackoff:    opts.MaxBackoff,
		maxRetryAfter: opts.MaxRetryAfter,
		jitter:        opts.Jitter,
		onAttempt:     opts.OnAttempt,
		userAgent:     opts.UserAgent,
		now:           time.Now,
		sleep:         backoff.Sleep,
	}
	if c.http == nil {
		tlsConf := &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: opts.RootCAs}
		if !preconnect.ProxyConfigured() {
			// h2 first, as the transport offers it (ForceAttemptHTTP2).
			c.dialer = preconnect.New(&tls.Config{MinVersion: tls.VersionTLS12, RootCAs: opts.RootCAs, NextProtos: []string{"h2", "http/1.1"}})
		}
		c.http = defaultHTTPClient(tlsConf, c.dialer)
	}
	if c.maxBody <= 0 {
		c.maxBody = DefaultMaxBodyBytes
	}
	if c.maxAttempts <= 0 {
		c.maxAttempts = DefaultMaxAttempts
	}
	if c.baseBackoff <= 0 {
		c.baseBackoff = DefaultBaseBackoff
	}
	if c.maxBackoff <= 0 {
		c.maxBackoff = DefaultMaxBackoff
	}
	if c.maxBackoff < c.baseBackoff {
		c.maxBackoff = c.baseBackoff
	}
	if c.maxRetryAfter <= 0 {
		c.maxRetryAfter = DefaultMaxRetryAfter
	}
	if c.jitter == nil {
		c.jitter = rand.Float64
	}
	if c.userAgent == "" {
		c.userAgent = DefaultUserAgent
	}
	return c
}

// defaultHTTPClient keeps connections alive across warm invocations. Its
// TLS connections come from dialer when there is one (TLS 1.2+, h2
// offered), which can open one ahead of the first request.
func defaultHTTPClient(tlsConf *tls.Config, dialer *preconnect.Dialer) *http.Client {
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          16,
		MaxIdleConnsPerHost:   8,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		TLSClientConfig:       tlsConf,
	}
	if dialer != nil {
		tr.DialTLSContext = dialer.DialTLSContext
	}
	return &http.Client{
		Transport: tr,
		// A redirect would be a misconfigured Space host; never follow it
		// with the credentials.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// participantURL builds the resource URL. The SIDs are validated already;
// they are path-escaped anyway.
func participantURL(host string, ref ParticipantRef) string {
	return "https://" + host + apiBasePath +
		"/Accounts/" + url.PathEscape(ref.AccountSID) +
		"/Conferences/" + url.PathEscape(ref.ConferenceSID) +
		"/Participants/" + url.PathEscape(ref.CallSID) + ".json"
}

// GetParticipant retrieves one conference participant ("Retrieve a
// Participant"). Invalid input is rejected before any request: an invalid
// SID returns its *InvalidSIDError, an invalid Space host or missing
// credentials a plain error. Every other failure is an *APIError.
//
// 429, 5xx and transport errors are retried with exponential backoff and
// full jitter, honouring Retry-After (capped by MaxRetryAfter), while the
// context's deadline leaves room for the wait and one more attempt; when it
// does not, the last error is returned at once.
func (c *Client) GetParticipant(ctx context.Context, auth Auth, ref ParticipantRef) (*Participant, error) {
	if err := ref.Validate(); err != nil {
		return nil, err
	}
	if err := ValidateSpaceHost(auth.SpaceHost); err != nil {
		return nil, fmt.Errorf("signalwire: GET participant: %w", err)
	}
	if auth.ProjectID == "" || auth.APIToken == "" {
		return nil, errors.New("signalwire: GET participant: project id and api token are required")
	}
	if strings.Contains(auth.ProjectID, ":") {
		return nil, errors.New("signalwire: GET participant: project id must not contain ':'")
	}
	target := participantURL(auth.SpaceHost, ref)

	var last *APIError
	for n := 1; ; n++ {
		if err := ctx.Err(); err != nil {
			return nil, timeoutError(err, nil, n-1, last)
		}
		p, apiErr, retryAfter := c.attempt(ctx, auth, target, n)
		if apiErr == nil {
			return p, nil
		}
		last = apiErr
		if !apiErr.retryable() || n >= c.maxAttempts {
			return nil, apiErr
		}
		wait := c.backoff(n, retryAfter)
		if !backoff.Leaves(ctx, wait+minAttemptBudget) {
			return nil, apiErr
		}
		if err := c.sleep(ctx, wait); err != nil {
			return nil, timeoutError(err, nil, n, last)
		}
	}
}

// retryable reports whether the failure of one attempt may be retried.
func (e *APIError) retryable() bool {
	switch e.Kind {
	case KindNetwork:
		return true
	case KindRateLimited, KindUpstream:
		return retryableStatus(e.StatusCode)
	}
	return false
}

// attempt makes one HTTP attempt. On failure it returns the attempt's
// *APIError and the Retry-After it carried (negative when absent).
func (c *Client) attempt(ctx context.Context, auth Auth, target string, n int) (*Participant, *APIError, time.Duration) {
	start := time.Now()
	p, status, apiErr, retryAfter := c.roundTrip(ctx, auth, target)
	if apiErr != nil {
		apiErr.Attempts = n
		redactError(apiErr, auth)
	}
	if c.onAttempt != nil {
		a := Attempt{N: n, StatusCode: status, Latency: time.Since(start)}
		if apiErr != nil {
			a.Err = apiErr
		}
		c.onAttempt(a)
	}
	return p, apiErr, retryAfter
}

func (c *Client) roundTrip(ctx context.Context, auth Auth, target string) (*Participant, int, *APIError, time.Duration) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		// Unreachable with a validated host and SIDs.
		return nil, 0, &APIError{Kind: KindBadRequest, Err: fmt.Errorf("building request: %w", err)}, -1
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	req.SetBasicAuth(auth.ProjectID, auth.APIToken)

	resp, err := c.http.Do(req)
	if err != nil {
		return nil, 0, transportError(ctx, err, 0), -1
	}
	defer closeBody(resp.Body)

	status := resp.StatusCode
	retryAfter := c.parseRetryAfter(resp.Header.Get("Retry-After"))

	if status >= 200 && status <= 299 {
		body, err := io.ReadAll(io.LimitReader(resp.Body, c.maxBody+1))
		if err != nil {
			return nil, status, transportError(ctx, fmt.Errorf("reading response body: %w", err), status), retryAfter
		}
		if int64(len(body)) > c.maxBody {
			return nil, status, &APIError{Kind: KindBadResponse, StatusCode: status,
				Err: fmt.Errorf("response exceeds %d bytes", c.maxBody)}, retryAfter
		}
		p, err := DecodeParticipant(body)
		if err != nil {
			return nil, status, &APIError{Kind: KindBadResponse, StatusCode: status,
				Err: fmt.Errorf("decoding body (content type %q): %w", truncate(resp.Header.Get("Content-Type"), maxQuotedValue), err)}, retryAfter
		}
		return p, status, nil, retryAfter
	}

	limit := min(c.maxBody, maxErrorBodyBytes)
	body, readErr := io.ReadAll(io.LimitReader(resp.Body, limit))
	if readErr != nil && ctx.Err() != nil {
		return nil, status, transportError(ctx, fmt.Errorf("reading error body: %w", readErr), status), retryAfter
	}
	// A read error on an error body still leaves the status to act on.
	eb := parseErrorBody(body)
	apiErr := &APIError{
		Kind:       kindForStatus(status),
		StatusCode: status,
		Code:       eb.code,
		Message:    truncate(eb.message, maxMessageBytes),
		MoreInfo:   truncate(eb.moreInfo, maxMessageBytes),
	}
	if apiErr.Message == "" {
		apiErr.Message = http.StatusText(status)
	}
	if retryAfter > 0 {
		apiErr.RetryAfter = retryAfter
	}
	if apiErr.Kind == KindBadResponse {
		apiErr.Err = fmt.Errorf("unexpected status %d", status)
	}
	return nil, status, apiErr, retryAfter
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

// redactError removes the API token, and every form derived from it (the
// Basic credentials project:token in each base64 encoding, percent- and
// JSON-escaped forms), from the upstream text an error carries, in case a
// proxy or upstream echoes it.
func redactError(e *APIError, auth Auth) {
	if auth.APIToken == "" {
		return
	}
	e.Message = redact.Text(e.Message, auth.ProjectID, auth.APIToken)
	e.MoreInfo = redact.Text(e.MoreInfo, auth.ProjectID, auth.APIToken)
	if e.Err != nil {
		if msg := e.Err.Error(); redact.Text(msg, auth.ProjectID, auth.APIToken) != msg {
			e.Err = errors.New(redact.Text(msg, auth.ProjectID, auth.APIToken))
		}
	}
}

// closeBody discards a bounded remainder, so the connection can be reused,
// and closes the body.
func closeBody(body io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(body, maxDrainBytes))
	_ = body.Close()
}

// backoff returns the wait before the retry that follows failed attempt n:
// the Retry-After when the response had one (capped by MaxRetryAfter),
// otherwise full jitter below min(MaxBackoff, BaseBackoff*2^(n-1)).
func (c *Client) backoff(n int, retryAfter time.Duration) time.Duration {
	if retryAfter >= 0 {
		return min(retryAfter, c.maxRetryAfter)
	}
	ceiling := backoff.Ceiling(c.baseBackoff, c.maxBackoff, n)
	j := c.jitter()
	if !(j >= 0) { // also catches NaN
		j = 0
	}
	if j >= 1 {
		j = 0.999999
	}
	return time.Duration(j * float64(ceiling))
}

// parseRetryAfter reads a Retry-After header: delta-seconds or an HTTP-date.
// It returns -1 when the header is absent or unusable; a date in the past
// gives 0.
func (c *Client) parseRetryAfter(v string) time.Duration {
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
	return max(t.Sub(c.now()), 0)
}

// Preconnect starts opening the TLS connection to the Space host in the
// background, so that the first request finds it ready (the function calls
// it at init, while the secret is being fetched). It returns at once and
// never fails: an invalid host, an unreachable Space, a proxy or a client
// built with Options.HTTPClient (whose transport is not the client's own)
// make it do nothing useful, and the first request then dials as usual.
func (c *Client) Preconnect(spaceHost string) {
	if c.dialer == nil || ValidateSpaceHost(spaceHost) != nil {
		return
	}
	c.dialer.Preconnect(preconnect.HostPort(spaceHost))
}
