// Package security holds cross-cutting hostile-input tests: SID and path
// injection through every HTTP trigger shape and the direct invocation,
// oversized and mistyped webhook bodies, forged, tampered and unsigned
// webhooks, and wrong methods. They run in process through the real
// trigger.Router and app core, with the SignalWire sandbox (HTTPS on
// loopback) as the upstream and counting fakes as the destinations and
// the retry queue. It has no non-test code.
package security
