// Command barepeer is the bare peer's Lambda entry point (package bare):
// SIGNALWIRE_SECRET_ID names the secret, FORWARD_SQS_QUEUE_URL (optional)
// the queue a webhook's participant is forwarded to.
package main

import (
	"context"
	"fmt"
	"net/http"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/signalwire-lambda/participants/test/benchdata/bare"
)

func main() {
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	lambda.Start(&bare.Handler{
		SM:       secretsmanager.NewFromConfig(cfg),
		SQS:      sqs.NewFromConfig(cfg),
		HTTP:     http.DefaultClient,
		SecretID: os.Getenv("SIGNALWIRE_SECRET_ID"),
		QueueURL: os.Getenv("FORWARD_SQS_QUEUE_URL"),
	})
}
