package app

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/signalwire-lambda/participants/internal/credentials"
	"github.com/signalwire-lambda/participants/internal/problem"
	"github.com/signalwire-lambda/participants/internal/signalwire"
)

// Problem types (the suffixes of their type URIs) and the Lambda error
// types direct invocations get for them. docs/problems.md documents each.
const (
	ProblemInvalidSID             = "invalid-sid"
	ProblemBadRequest             = "bad-request"
	ProblemNotFound               = "participant-not-found"
	ProblemAccountNotFound        = "account-not-found"
	ProblemRouteNotFound          = "route-not-found"
	ProblemMethodNotAllowed       = "method-not-allowed"
	ProblemPayloadTooLarge        = "payload-too-large"
	ProblemUnsupportedMediaType   = "unsupported-media-type"
	ProblemInvalidSignature       = "invalid-signature"
	ProblemUpstreamUnauthorized   = "upstream-unauthorized"
	ProblemUpstreamRateLimited    = "upstream-rate-limited"
	ProblemUpstreamError          = "upstream-error"
	ProblemUpstreamTimeout        = "upstream-timeout"
	ProblemCredentialsUnavailable = "credentials-unavailable"
	ProblemUnavailable            = "service-unavailable"
	ProblemInternal               = "internal-error"
)

var errorTypes = map[string]string{
	ProblemInvalidSID:             "InvalidSid",
	ProblemBadRequest:             "BadRequest",
	ProblemNotFound:               "ParticipantNotFound",
	ProblemPayloadTooLarge:        "PayloadTooLarge",
	ProblemAccountNotFound:        "AccountNotFound",
	ProblemUpstreamUnauthorized:   "UpstreamUnauthorized",
	ProblemUpstreamRateLimited:    "UpstreamRateLimited",
	ProblemUpstreamError:          "UpstreamError",
	ProblemUpstreamTimeout:        "UpstreamTimeout",
	ProblemCredentialsUnavailable: "CredentialsUnavailable",
	ProblemInternal:               "InternalError",
}

// BadRequest returns a 400 problem for a malformed request.
func BadRequest(detail string) problem.Problem {
	return problem.New(ProblemBadRequest, http.StatusBadRequest, detail)
}

// ProblemFor maps an error from the core to the problem the caller sees.
// Details describe the cause without internals: no secret id, no credentials.
func ProblemFor(err error) problem.Problem {
	var p problem.Problem
	var sidErr *signalwire.InvalidSIDError
	var apiErr *signalwire.APIError
	switch {
	case errors.As(err, &p):
		return p
	case errors.Is(err, ErrNoNewerCredentials) && errors.As(err, &apiErr) && apiErr.Kind == signalwire.KindUnauthorized:
		n := secs(credentials.RefreshInterval)
		return problem.New(ProblemUpstreamUnauthorized, http.StatusBadGateway, fmt.Sprintf(
			"SignalWire rejected the function's credentials and the secret holds no newer ones (it was fetched again just now, "+
				"or less than %d s ago: forced refreshes are limited to one every %d s). If the secret was just rotated, "+
				"retry after %d s: the next read fetches it again; if this persists, check the API token and its Voice scope", n, n, n))
	case errors.As(err, &sidErr):
		p = problem.New(ProblemInvalidSID, http.StatusBadRequest, sidErr.Error()+"; SIDs are UUIDs such as 3f2b6a1e-5c4d-4e8f-9a0b-1c2d3e4f5a6b")
		p.Field = sidErr.Field
		return p
	case errors.Is(err, credentials.ErrNotFound), errors.Is(err, credentials.ErrAccessDenied),
		errors.Is(err, credentials.ErrMalformed), errors.Is(err, credentials.ErrUnavailable):
		return problem.New(ProblemCredentialsUnavailable, http.StatusServiceUnavailable, "the function could not load its SignalWire credentials; see its logs")
	case errors.As(err, &apiErr):
		return upstreamProblem(apiErr)
	case errors.Is(err, context.DeadlineExceeded):
		// Time ran out in a step that is not a SignalWire call (waiting for
		// another caller's credentials fetch, for instance).
		return problem.New(ProblemUpstreamTimeout, http.StatusGatewayTimeout, "an upstream service did not answer before the function's deadline")
	}
	return problem.New(ProblemInternal, http.StatusInternalServerError, "unexpected error; see the function's logs")
}

func upstreamProblem(e *signalwire.APIError) problem.Problem {
	switch e.Kind {
	case signalwire.KindNotFound:
		return problem.New(ProblemNotFound, http.StatusNotFound, "SignalWire has no such participant in that conference (it may have left, or the conference ended)")
	case signalwire.KindUnauthorized:
		return problem.New(ProblemUpstreamUnauthorized, http.StatusBadGateway, "SignalWire rejected the function's credentials, also after the secret was fetched again (check the API token and its Voice scope)")
	case signalwire.KindRateLimited:
		p := problem.New(ProblemUpstreamRateLimited, http.StatusServiceUnavailable, "SignalWire is rate limiting requests; retry later")
		p.RetryAfterSeconds = max(1, int(e.RetryAfter.Seconds()))
		return p
	case signalwire.KindTimeout:
		return problem.New(ProblemUpstreamTimeout, http.StatusGatewayTimeout, "SignalWire did not answer before the function's deadline")
	default:
		return problem.New(ProblemUpstreamError, http.StatusBadGateway, fmt.Sprintf("SignalWire answered with an error (%s, HTTP %d)", e.Kind, e.StatusCode))
	}
}

// ErrorType is the errorType a direct invocation gets for p ("InvalidSid",
// "ParticipantNotFound", ...; "Error" for a kind without one). The README's
// error table lists them; the trigger package builds the Lambda error.
func ErrorType(p problem.Problem) string {
	if t, ok := errorTypes[strings.TrimPrefix(p.Type, problem.TypeBase)]; ok {
		return t
	}
	return "Error"
}

// secs renders d in whole seconds.
func secs(d time.Duration) int { return int(d / time.Second) }
