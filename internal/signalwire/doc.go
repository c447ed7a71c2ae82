// Package signalwire is a client for the one call of SignalWire's
// Compatibility (LaML) REST API this function needs, "Retrieve a
// Participant": strict validation of what callers send (SIDs, the Space
// host), bounded retries, upstream failures mapped to *APIError with a Kind,
// lenient decoding of what SignalWire answers. Credentials are passed per
// call (Auth), so a refresh needs no new Client. No error or log of this
// package contains the API token.
package signalwire
