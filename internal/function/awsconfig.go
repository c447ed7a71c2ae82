package function

import (
	"context"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// awsConfig builds the AWS SDK configuration from what Lambda sets (region,
// the execution role's static credentials) and AWS_ENDPOINT_URL[_<SERVICE>]
// (local runs), instead of config.LoadDefaultConfig, which links the STS,
// SSO, SSO OIDC and sign-in clients (about 440 KB of the bootstrap) for
// credential providers a Lambda function never uses. client carries every
// AWS call.
func awsConfig(getenv func(string) string, client *http.Client) aws.Config {
	cfg := aws.Config{
		Region:        getenv("AWS_REGION"),
		HTTPClient:    client,
		ConfigSources: []any{endpoints(getenv)},
		DefaultsMode:  aws.DefaultsModeLegacy,
	}
	if cfg.Region == "" {
		cfg.Region = getenv("AWS_DEFAULT_REGION")
	}
	if id, key := getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY"); id != "" && key != "" {
		cfg.Credentials = credentials.NewStaticCredentialsProvider(id, key, getenv("AWS_SESSION_TOKEN"))
	}
	if v := getenv("AWS_ENDPOINT_URL"); v != "" {
		cfg.BaseEndpoint = aws.String(v)
	}
	return cfg
}

// endpoints answers the SDK clients' AWS_ENDPOINT_URL_<SERVICE> lookups
// (aws.Config.ConfigSources): the SDK id in upper case, spaces as
// underscores (AWS_ENDPOINT_URL_SECRETS_MANAGER).
type endpoints func(string) string

func (getenv endpoints) GetServiceBaseEndpoint(_ context.Context, sdkID string) (string, bool, error) {
	v := getenv("AWS_ENDPOINT_URL_" + strings.ReplaceAll(strings.ToUpper(sdkID), " ", "_"))
	return v, v != "", nil
}
