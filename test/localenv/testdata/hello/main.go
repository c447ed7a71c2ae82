// Command hello is a trivial Lambda function for localenv's RIE tests: it
// echoes its input, and reports HELLO_MARK on stderr at start-up.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	fmt.Fprintf(os.Stderr, "hello: init HELLO_MARK=%s\n", os.Getenv("HELLO_MARK"))
	lambda.Start(func(_ context.Context, in json.RawMessage) (json.RawMessage, error) {
		fmt.Fprintf(os.Stderr, "hello: invoked with %s\n", in)
		return in, nil
	})
}
