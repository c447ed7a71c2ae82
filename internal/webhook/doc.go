// Package webhook verifies a SignalWire callback ([RequestURL.Candidates],
// [SignedRequest.Verify]), parses it into a [Source] ([Normalize], [ParseJSON])
// and wraps that into the schema v1 [Envelope]. It is pure: no AWS, no HTTP
// server, no clock.
package webhook

import "errors"

// Every error this package returns wraps exactly one of these.
var (
	ErrBodyTooLarge     = errors.New("webhook: body too large")    // over MaxBodyBytes (413)
	ErrInvalidSignature = errors.New("webhook: invalid signature") // sent, matching no candidate URL (403)

	errMalformedBody    = errors.New("webhook: malformed body")
	errMissingSignature = errors.New("webhook: missing signature")
	errNoSigningKey     = errors.New("webhook: no signing key configured")
	errInvalidWebhook   = errors.New("webhook: invalid webhook parameters")
)
