// Package forward delivers events to their destinations (an HTTPS endpoint
// signed as Standard Webhooks do, an EventBridge bus, an SQS queue) with
// bounded, jittered retries of transient failures, and parks webhooks on the
// retry queue.
package forward

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsretry "github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
	"github.com/signalwire-lambda/participants/internal/retry"
)

// Message is one event to deliver.
type Message struct {
	// ID is the Standard Webhooks webhook-id and the SQS FIFO deduplication
	// id, so redeliveries of one event share it.
	ID            string
	Type          string // the envelope's type
	ConferenceSID string // the FIFO group: one conference's events stay in order
	Body          []byte // the JSON envelope, sent unchanged
}

// Destination is somewhere a Message can be delivered.
type Destination interface {
	Name() string                              // "https", "eventbridge" or "sqs", for logs and metrics
	Send(ctx context.Context, m Message) error // once, no retry
}

// StatusError reports an HTTPS destination's answer that was not 2xx.
type StatusError struct{ StatusCode int }

func (e *StatusError) Error() string {
	return fmt.Sprintf("endpoint answered HTTP %d %s", e.StatusCode, http.StatusText(e.StatusCode))
}

// HTTPStatusCode returns StatusCode, for retryable's status rule.
func (e *StatusError) HTTPStatusCode() int { return e.StatusCode }

// entryError reports an event EventBridge refused in an otherwise successful
// PutEvents call: the entry's ErrorCode and ErrorMessage.
type entryError struct{ Code, Message string }

func (e *entryError) Error() string {
	if e.Message == "" {
		return "event bus rejected the event: " + e.Code
	}
	return "event bus rejected the event: " + e.Code + ": " + e.Message
}

func (e *entryError) RetryableError() bool { return retryableCode(e.Code) }

// retryable reports whether err (or any error it joins) is a transient
// delivery failure: transport errors, retry.Status, AWS throttling and
// internal errors.
func retryable(err error) bool {
	if err == nil {
		return false
	}
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		return slices.ContainsFunc(joined.Unwrap(), retryable)
	}
	if errors.Is(err, context.Canceled) {
		return false
	}
	switch awsretry.IsErrorRetryables(awsretry.DefaultRetryables).IsErrorRetryable(err) {
	case aws.TrueTernary:
		return true
	case aws.FalseTernary:
		return false
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && (retryableCode(apiErr.ErrorCode()) || apiErr.ErrorFault() == smithy.FaultServer) {
		return true
	}
	var status interface{ HTTPStatusCode() int }
	if errors.As(err, &status) {
		return retry.Status(status.HTTPStatusCode())
	}
	return false
}

// Permanent reports whether err is a destination's answer that another
// attempt cannot change: an HTTP 3xx, or a 4xx other than 408 and 429; a
// client fault of the destination's own AWS call that is not a throttling
// or timeout code; an EventBridge entry refused with a validation code. An
// error joining several failures is permanent when all of them are.
func Permanent(err error) bool {
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		errs := joined.Unwrap()
		return len(errs) > 0 && !slices.ContainsFunc(errs, func(e error) bool { return !Permanent(e) })
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || retryable(err) {
		return false
	}
	var entry *entryError
	if errors.As(err, &entry) {
		return permanentEntryCode(entry.Code)
	}
	var status *StatusError
	if errors.As(err, &status) {
		return status.StatusCode >= 300 && status.StatusCode <= 499
	}
	var answer *serviceAnswer
	var apiErr smithy.APIError
	if errors.As(err, &answer) && errors.As(answer.err, &apiErr) {
		if apiErr.ErrorFault() == smithy.FaultServer {
			return false
		}
		var code interface{ HTTPStatusCode() int }
		if errors.As(err, &code) {
			return code.HTTPStatusCode() >= 400 && code.HTTPStatusCode() <= 499 && !retry.Status(code.HTTPStatusCode())
		}
		return apiErr.ErrorFault() == smithy.FaultClient
	}
	return false
}

// serviceAnswer marks an error of a destination's own AWS call (SQS
// SendMessage, EventBridge PutEvents), not of another service on the way
// (e.g. Secrets Manager), which is never permanent.
type serviceAnswer struct{ err error }

func (e *serviceAnswer) Error() string { return e.err.Error() }
func (e *serviceAnswer) Unwrap() error { return e.err }

// permanentEntryCode reports whether an EventBridge entry's ErrorCode refuses
// the event itself, so that sending it again cannot succeed.
func permanentEntryCode(code string) bool {
	switch code {
	case "ValidationException", "InvalidArgument", "MalformedDetail", "InvalidEventPatternException",
		"NotAuthorizedForSourceException", "NotAuthorizedForDetailTypeException", "AccessDeniedException",
		"ResourceNotFoundException", "EventTooLarge":
		return true
	}
	return false
}

// retryableCode reports whether an AWS error code names a transient failure.
func retryableCode(code string) bool {
	switch code {
	case "ThrottlingException", "Throttling", "TooManyRequestsException", "RequestThrottled",
		"InternalException", "InternalFailure", "InternalError", "InternalServerError",
		"ServiceUnavailable", "ServiceUnavailableException",
		"KmsThrottled", "KMS.ThrottlingException", "RequestTimeout", "RequestTimeoutException",
		// Client faults that pass with time: expired temporary credentials
		// (the SDK reloads them), a request signed too long ago, SQS's
		// in-flight limit. Not permanent: they must not go to the DLQ at once.
		"ExpiredToken", "ExpiredTokenException", "RequestExpired", "OverLimit":
		return true
	}
	return false
}
