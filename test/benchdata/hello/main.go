// Command hello is the floor's peer: a Lambda function answering every
// event with a fixed 200, built like the bootstrap. Its cold first response
// is what any Go function pays before its own work (process start, the Go
// runtime, the Runtime API's next and response), so cmd/bench's floor of a
// cold read is hello's plus the 4 round trips no implementation can skip.
package main

import (
	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func() (events.APIGatewayV2HTTPResponse, error) {
		return events.APIGatewayV2HTTPResponse{StatusCode: 200, Body: "hello"}, nil
	})
}
