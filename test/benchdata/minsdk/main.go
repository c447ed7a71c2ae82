// Command minsdk is cmd/bench's SDK baseline: at init it loads the AWS SDK
// configuration (config.LoadDefaultConfig) and builds a Secrets Manager
// client, as the real function does; per request it only echoes its input.
// It links what every function using the SDK and Secrets Manager pays for.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

func main() {
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	sm := secretsmanager.NewFromConfig(cfg)
	lambda.Start(func(_ context.Context, in json.RawMessage) (json.RawMessage, error) {
		_ = sm // constructed at init, unused per request
		return in, nil
	})
}
