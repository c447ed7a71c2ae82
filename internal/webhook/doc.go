// Package webhook turns a SignalWire status callback into the event this function
// delivers downstream. It is pure: no AWS, no HTTP server, no clock (callers pass
// times in).
//
// The steps, in the order a caller applies them:
//
//   - [DecodeBody] reads an API Gateway body, enforcing [MaxBodyBytes];
//     [ParseForm] parses a form-encoded one.
//   - [RequestURL.Candidates] reconstructs the public URL(s) SignalWire may have
//     called, and [SignedRequest.Verify] checks the signature over them with the
//     project's Signing Key, in any scheme SignalWire uses.
//   - [Normalize] (a form) or [ParseJSON] (a JSON callback) converts the
//     parameters into a typed, snake_case [Source].
//   - [NewEnvelope] wraps the Source into the schema v1 [Envelope]
//     (schema/envelope.v1.schema.json).
package webhook

import "errors"

// Every error this package returns wraps exactly one of these.
var (
	// ErrBodyTooLarge: the body exceeds MaxBodyBytes (the caller answers 413).
	ErrBodyTooLarge = errors.New("webhook: body too large")
	// ErrInvalidSignature: a signature was sent but matches no candidate URL
	// (the caller answers 403, after trying a fresh key).
	ErrInvalidSignature = errors.New("webhook: invalid signature")

	errMalformedBody    = errors.New("webhook: malformed body")
	errMissingSignature = errors.New("webhook: missing signature")
	errNoSigningKey     = errors.New("webhook: no signing key configured")
	errInvalidWebhook   = errors.New("webhook: invalid webhook parameters")
)
