// Package signalwire is a client for the calls of SignalWire's
// Compatibility (LaML) REST API this function needs: strict validation of
// what callers send, bounded retries, failures mapped to *APIError, lenient
// decoding of answers. Credentials are passed per call (Auth), so a refresh
// needs no new Client; no error or log contains the API token.
package signalwire
