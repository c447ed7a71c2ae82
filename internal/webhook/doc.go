// Package webhook turns a SignalWire status callback into the event this function
// delivers downstream. It is pure: no AWS, no HTTP server, no clock (callers pass
// times in).
//
// The steps, in the order a caller applies them:
//
//   - [DecodeBody] reads an API Gateway body, enforcing [MaxBodyBytes];
//     [ParseForm] parses a form-encoded one.
//   - [RequestURL.Candidates] reconstructs the public URL(s) SignalWire may have
//     called, and [SignedRequest.Verify] checks the X-SignalWire-Signature over
//     them with the project's Signing Key, in any [Scheme] SignalWire uses.
//   - [Normalize] (a form) or [ParseJSON] (a JSON callback) converts the
//     parameters into a typed, snake_case [Source].
//   - [NewEnvelope] wraps the Source into the schema v1 [Envelope]
//     (schema/envelope.v1.schema.json).
package webhook

import "errors"

// Sentinel errors. Every error this package returns wraps exactly one of them;
// match them with errors.Is.
var (
	// ErrBodyTooLarge: the request body exceeds MaxBodyBytes (caller answers 413).
	ErrBodyTooLarge = errors.New("webhook: body too large")
	// ErrMalformedBody: the body is not valid base64 or not a valid
	// application/x-www-form-urlencoded form (caller answers 400).
	ErrMalformedBody = errors.New("webhook: malformed body")
	// ErrMissingSignature: neither X-SignalWire-Signature nor X-Twilio-Signature
	// was sent (caller answers 403).
	ErrMissingSignature = errors.New("webhook: missing signature")
	// ErrInvalidSignature: a signature was sent but does not match (caller
	// answers 403).
	ErrInvalidSignature = errors.New("webhook: invalid signature")
	// ErrNoSigningKey: Verify was called with an empty signing key, so no
	// signature can match: a server misconfiguration, answered like any
	// other failed verification (403) and logged with this reason.
	ErrNoSigningKey = errors.New("webhook: no signing key configured")
	// ErrInvalidWebhook: the parameters are not a usable status callback, for
	// example AccountSid is missing (caller answers 400).
	ErrInvalidWebhook = errors.New("webhook: invalid webhook parameters")
)
