package forward_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/signalwire-lambda/participants/internal/forward"
)

// sdkError builds the error chain the SDK returns for an API error answered
// with the given HTTP status.
func sdkError(status int, apiErr error) error {
	return &smithy.OperationError{
		ServiceID:     "SQS",
		OperationName: "SendMessage",
		Err: &awshttp.ResponseError{
			ResponseError: &smithyhttp.ResponseError{
				Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}},
				Err:      apiErr,
			},
		},
	}
}

func TestRetryable(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"plain error", errors.New("bad input"), false},
		{"canceled", context.Canceled, false},
		{"wrapped canceled", fmt.Errorf("send: %w", context.Canceled), false},
		{"deadline exceeded", context.DeadlineExceeded, true},
		{"sdk request canceled", &aws.RequestCanceledError{Err: context.Canceled}, false},
		{"dial error", &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}, true},
		{"status 503", &forward.StatusError{StatusCode: 503}, true},
		{"status 404", &forward.StatusError{StatusCode: 404}, false},
		{"entry throttled", &forward.EntryError{Code: "ThrottlingException"}, true},
		{"entry internal", &forward.EntryError{Code: "InternalException"}, true},
		{"entry malformed", &forward.EntryError{Code: "MalformedDetail"}, false},
		{"sdk throttling 400", sdkError(400, &smithy.GenericAPIError{Code: "ThrottlingException"}), true},
		{"sdk internal 500", sdkError(500, &smithy.GenericAPIError{Code: "InternalFailure"}), true},
		{"sdk 502 unknown code", sdkError(502, &smithy.GenericAPIError{Code: "Whatever"}), true},
		{"sdk 429 modeled", sdkError(429, &smithy.GenericAPIError{Code: "TooManyRequestsException"}), true},
		{"sdk server fault", sdkError(400, &smithy.GenericAPIError{Code: "Odd", Fault: smithy.FaultServer}), true},
		{"sdk validation 400", sdkError(400, &smithy.GenericAPIError{Code: "ValidationException"}), false},
		{"sdk access denied 403", sdkError(403, &smithy.GenericAPIError{Code: "AccessDeniedException"}), false},
		{"join: permanent + transient", errors.Join(&forward.StatusError{StatusCode: 400}, &forward.StatusError{StatusCode: 500}), true},
		{"join: permanent only", errors.Join(&forward.StatusError{StatusCode: 400}, errors.New("x")), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := forward.Retryable(tc.err); got != tc.want {
				t.Errorf("Retryable(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}

func TestFIFOID(t *testing.T) {
	if forward.FIFOID("") != "" {
		t.Error(`FIFOID("") != ""`)
	}
	if got := forward.FIFOID("CF0123"); got != "CF0123" {
		t.Errorf("FIFOID kept id = %q", got)
	}
	if a, b := forward.FIFOID("a b"), forward.FIFOID("a_b"); a == b || len(a) != 64 {
		t.Errorf("FIFOID(%q) = %q collides with or mis-sized against %q", "a b", a, b)
	}
}
