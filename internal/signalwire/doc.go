// Package signalwire is a small client for SignalWire's Compatibility (LaML)
// REST API. It implements the one call this function needs, "Retrieve a
// Participant", together with strict validation of what callers send (SIDs,
// the Space host), bounded retries with exponential backoff and full jitter,
// mapping of upstream failures to a single error type (*APIError with a Kind),
// and lenient decoding of what SignalWire answers (see DecodeParticipant).
//
// A Client is built once (at Lambda init) and reused across warm
// invocations; it is safe for concurrent use. Credentials are passed per
// call (Auth) so that a credentials refresh needs no new Client.
//
// No error or log produced by this package contains the API token.
package signalwire
