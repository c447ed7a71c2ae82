// Command minsdkcall is minsdk plus a reachable Secrets Manager
// GetSecretValue call, so that the linker keeps the SDK's request pipeline
// (middleware stack, signing, endpoint rules, retries, deserialisers) that
// any function reading a secret links. It calls it only for an event
// {"secret_id": "..."}; cmd/bench sends it trivial events, and compares its
// size only.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
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
	lambda.Start(func(ctx context.Context, in json.RawMessage) (json.RawMessage, error) {
		var req struct {
			SecretID string `json:"secret_id"`
		}
		if json.Unmarshal(in, &req) != nil || req.SecretID == "" {
			return in, nil
		}
		out, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(req.SecretID)})
		if err != nil {
			return nil, err
		}
		return json.Marshal(map[string]int{"secret_bytes": len(aws.ToString(out.SecretString))})
	})
}
