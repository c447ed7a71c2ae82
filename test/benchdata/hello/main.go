// Command hello is cmd/bench's smallest baseline: an aws-lambda-go function
// that echoes its input and does nothing else, at init or per request.
package main

import (
	"context"
	"encoding/json"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(_ context.Context, in json.RawMessage) (json.RawMessage, error) { return in, nil })
}
