// Package e2e holds the end-to-end tests: the real bootstrap binary under
// the AWS Lambda Runtime Interface Emulator, against kumo (Secrets Manager,
// SQS, EventBridge) and the local SignalWire sandbox. It has no non-test code.
package e2e
