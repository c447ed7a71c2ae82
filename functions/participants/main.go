// Command bootstrap is the Lambda entry point (runtime provided.al2023). It
// only wires: configuration → clients → handler → lambda.Start.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/signalwire-lambda/participants/internal/function"
)

func main() {
	handler, err := function.New(context.Background(), os.Getenv, os.Stdout)
	if err != nil {
		// One line naming the problem; Lambda reports it as an init error.
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	lambda.Start(handler)
}
