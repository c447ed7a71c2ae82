package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/signalwire-lambda/participants/internal/credentials"
	"github.com/signalwire-lambda/participants/internal/signalwire"
)

const problemContentType = "application/problem+json"

// problemTypeBase prefixes every problem type: each kind is an anchor of
// docs/problems.md (a test checks every kind has one).
const problemTypeBase = "https://github.com/signalwire-lambda/participants/blob/main/docs/problems.md#"

// Problem is one RFC 9457 problem details object; it travels as an error.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
	// Extension members: the request field at fault, when to retry a 503.
	Field             string `json:"field,omitempty"`
	RetryAfterSeconds int    `json:"retry_after_seconds,omitempty"`
}

func newProblem(kind string, status int, detail string) Problem {
	return Problem{Type: problemTypeBase + kind, Title: http.StatusText(status), Status: status, Detail: detail}
}

func (p Problem) Error() string {
	if p.Detail == "" {
		return p.Title
	}
	return p.Title + ": " + p.Detail
}

// Problem types (their type URIs' suffixes, each in docs/problems.md) and the
// Lambda errorTypes direct invocations get for them.
const (
	problemInvalidSID             = "invalid-sid"
	problemBadRequest             = "bad-request"
	problemNotFound               = "participant-not-found"
	problemAccountNotFound        = "account-not-found"
	problemRouteNotFound          = "route-not-found"
	problemMethodNotAllowed       = "method-not-allowed"
	problemPayloadTooLarge        = "payload-too-large"
	problemUnsupportedMediaType   = "unsupported-media-type"
	problemInvalidSignature       = "invalid-signature"
	problemWebhookExpired         = "webhook-expired"
	problemUpstreamUnauthorized   = "upstream-unauthorized"
	problemUpstreamRateLimited    = "upstream-rate-limited"
	problemUpstreamError          = "upstream-error"
	problemUpstreamTimeout        = "upstream-timeout"
	problemCredentialsUnavailable = "credentials-unavailable"
	problemUnavailable            = "service-unavailable"
	problemInternal               = "internal-error"
)

var errorTypes = map[string]string{
	problemInvalidSID:             "InvalidSid",
	problemBadRequest:             "BadRequest",
	problemNotFound:               "ParticipantNotFound",
	problemPayloadTooLarge:        "PayloadTooLarge",
	problemAccountNotFound:        "AccountNotFound",
	problemUpstreamUnauthorized:   "UpstreamUnauthorized",
	problemUpstreamRateLimited:    "UpstreamRateLimited",
	problemUpstreamError:          "UpstreamError",
	problemUpstreamTimeout:        "UpstreamTimeout",
	problemCredentialsUnavailable: "CredentialsUnavailable",
	problemInternal:               "InternalError",
}

// BadRequest returns a 400 problem for a malformed request.
func BadRequest(detail string) Problem {
	return newProblem(problemBadRequest, http.StatusBadRequest, detail)
}

// ProblemFor maps an error from the core to the problem the caller sees.
// Details describe the cause without internals: no secret id, no credentials.
func ProblemFor(err error) Problem {
	var p Problem
	var sidErr *signalwire.InvalidSIDError
	var apiErr *signalwire.APIError
	switch {
	case errors.As(err, &p):
		return p
	case errors.Is(err, errNoNewerCredentials) && errors.As(err, &apiErr) && apiErr.Kind == signalwire.KindUnauthorized:
		n := int(credentials.RefreshInterval / time.Second)
		return newProblem(problemUpstreamUnauthorized, http.StatusBadGateway, fmt.Sprintf(
			"SignalWire rejected the function's credentials and the secret holds no newer ones (it was fetched again just now, "+
				"or less than %d s ago: forced refreshes are limited to one every %d s). If the secret was just rotated, "+
				"retry after %d s: the next read fetches it again; if this persists, check the API token and its Voice scope", n, n, n))
	case errors.As(err, &sidErr):
		p = newProblem(problemInvalidSID, http.StatusBadRequest, sidErr.Error()+"; SIDs are UUIDs such as 3f2b6a1e-5c4d-4e8f-9a0b-1c2d3e4f5a6b")
		p.Field = sidErr.Field
		return p
	case errors.Is(err, credentials.ErrUnavailable):
		return newProblem(problemCredentialsUnavailable, http.StatusServiceUnavailable, "the function could not load its SignalWire credentials; see its logs")
	case errors.Is(err, signalwire.ErrListTooLong):
		return newProblem(problemUpstreamError, http.StatusBadGateway, "SignalWire "+signalwire.ErrListTooLong.Error()+
			", over what the function answers at once; it never answers part of a list: narrow it with muted or hold")
	case errors.As(err, &apiErr):
		return upstreamProblem(apiErr)
	case errors.Is(err, context.DeadlineExceeded):
		return newProblem(problemUpstreamTimeout, http.StatusGatewayTimeout, "an upstream service did not answer before the function's deadline")
	}
	return newProblem(problemInternal, http.StatusInternalServerError, "unexpected error; see the function's logs")
}

func upstreamProblem(e *signalwire.APIError) Problem {
	switch e.Kind {
	case signalwire.KindNotFound:
		return newProblem(problemNotFound, http.StatusNotFound, "SignalWire has no such participant in that conference (it may have left, or the conference ended)")
	case signalwire.KindUnauthorized:
		return newProblem(problemUpstreamUnauthorized, http.StatusBadGateway, "SignalWire rejected the function's credentials, also after the secret was fetched again (check the API token and its Voice scope)")
	case signalwire.KindRateLimited:
		p := newProblem(problemUpstreamRateLimited, http.StatusServiceUnavailable, "SignalWire is rate limiting requests; retry later")
		p.RetryAfterSeconds = max(1, int(e.RetryAfter.Seconds()))
		return p
	case signalwire.KindTimeout:
		return newProblem(problemUpstreamTimeout, http.StatusGatewayTimeout, "SignalWire did not answer before the function's deadline")
	default:
		return newProblem(problemUpstreamError, http.StatusBadGateway, fmt.Sprintf("SignalWire answered with an error (%s, HTTP %d)", e.Kind, e.StatusCode))
	}
}

// ErrorType is the errorType a direct invocation gets for p ("Error" for a
// kind without one; the README lists them).
func ErrorType(p Problem) string {
	return cmp.Or(errorTypes[strings.TrimPrefix(p.Type, problemTypeBase)], "Error")
}
