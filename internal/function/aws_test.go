package function

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// clientView is what a service client built from a configuration uses:
// compared between awsConfig and config.LoadDefaultConfig.
type clientView struct {
	Region, BaseEndpoint, Endpoint, AppID string
	RetryMaxAttempts                      int
	RetryMode                             aws.RetryMode
	FIPS                                  aws.FIPSEndpointState
	DualStack                             aws.DualStackEndpointState
	DefaultsMode                          aws.DefaultsMode
	ClockSkew                             bool
	Creds                                 aws.Credentials
}

func views(t *testing.T, cfg aws.Config) map[string]clientView {
	t.Helper()
	ctx := context.Background()
	creds, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	creds.Source, creds.CanExpire, creds.Expires = "", false, creds.Expires.UTC()
	view := func(region string, base *string, eo any, app string, n int, mode aws.RetryMode, dm aws.DefaultsMode, endpoint string) clientView {
		v := clientView{Region: region, AppID: app, RetryMaxAttempts: n, RetryMode: mode, DefaultsMode: dm, Endpoint: endpoint, Creds: creds,
			ClockSkew: cfg.DisableClockSkewCorrection}
		if base != nil {
			v.BaseEndpoint = *base
		}
		switch o := eo.(type) {
		case sqs.EndpointResolverOptions:
			v.FIPS, v.DualStack = o.UseFIPSEndpoint, o.UseDualStackEndpoint
		case secretsmanager.EndpointResolverOptions:
			v.FIPS, v.DualStack = o.UseFIPSEndpoint, o.UseDualStackEndpoint
		case eventbridge.EndpointResolverOptions:
			v.FIPS, v.DualStack = o.UseFIPSEndpoint, o.UseDualStackEndpoint
		}
		return v
	}
	q := sqs.NewFromConfig(cfg).Options()
	sm := secretsmanager.NewFromConfig(cfg).Options()
	eb := eventbridge.NewFromConfig(cfg).Options()
	smEndpoint, err := sm.EndpointResolverV2.ResolveEndpoint(ctx, secretsmanager.EndpointParameters{Region: aws.String(sm.Region), Endpoint: sm.BaseEndpoint,
		UseFIPS: aws.Bool(sm.EndpointOptions.UseFIPSEndpoint == aws.FIPSEndpointStateEnabled), UseDualStack: aws.Bool(sm.EndpointOptions.UseDualStackEndpoint == aws.DualStackEndpointStateEnabled)})
	if err != nil {
		t.Fatal(err)
	}
	return map[string]clientView{
		"sqs":            view(q.Region, q.BaseEndpoint, q.EndpointOptions, q.AppID, q.RetryMaxAttempts, q.RetryMode, q.DefaultsMode, sqsAddr(ctx, q)),
		"secretsmanager": view(sm.Region, sm.BaseEndpoint, sm.EndpointOptions, sm.AppID, sm.RetryMaxAttempts, sm.RetryMode, sm.DefaultsMode, smEndpoint.URI.String()),
		"eventbridge":    view(eb.Region, eb.BaseEndpoint, eb.EndpointOptions, eb.AppID, eb.RetryMaxAttempts, eb.RetryMode, eb.DefaultsMode, eventBridgeAddr(ctx, eb)),
	}
}

// TestAWSConfigMatchesLoadDefaultConfig (issue 20): for every environment
// setting awsConfig reads, the SDK clients the function builds see what
// config.LoadDefaultConfig would have given them.
func TestAWSConfigMatchesLoadDefaultConfig(t *testing.T) {
	base := map[string]string{"AWS_EC2_METADATA_DISABLED": "true", "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret-example",
		"AWS_REGION": "us-east-1", "AWS_CONFIG_FILE": filepath.Join(t.TempDir(), "none"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(t.TempDir(), "none")}
	for name, env := range map[string]map[string]string{
		"lambda":            {"AWS_SESSION_TOKEN": "session-token", "AWS_EXECUTION_ENV": "AWS_Lambda_provided.al2023"},
		"default region":    {"AWS_REGION": "", "AWS_DEFAULT_REGION": "eu-west-3", "AWS_ACCOUNT_ID": "123456789012"},
		"old key names":     {"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_ACCESS_KEY": "AKIDOLD", "AWS_SECRET_KEY": "old-secret"},
		"global endpoint":   {"AWS_ENDPOINT_URL": "https://localhost.localstack.cloud:4566"},
		"service endpoints": {"AWS_ENDPOINT_URL": "http://127.0.0.1:1", "AWS_ENDPOINT_URL_SQS": "https://sqs.local:8443", "AWS_ENDPOINT_URL_SECRETS_MANAGER": "https://sm.local:9443"},
		"ignored endpoints": {"AWS_ENDPOINT_URL": "https://a.local", "AWS_ENDPOINT_URL_SQS": "https://b.local", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"},
		"fips":              {"AWS_USE_FIPS_ENDPOINT": "true", "AWS_REGION": "us-gov-west-1"},
		"dual stack":        {"AWS_USE_DUALSTACK_ENDPOINT": "true", "AWS_USE_FIPS_ENDPOINT": "false"},
		"retries":           {"AWS_MAX_ATTEMPTS": "7", "AWS_RETRY_MODE": "adaptive"},
		"defaults mode": {"AWS_DEFAULTS_MODE": "in-region", "AWS_SDK_UA_APP_ID": "my-app", "AWS_DISABLE_CLOCK_SKEW_CORRECTION": "true",
			"AWS_AUTH_SCHEME_PREFERENCE": "sigv4a, \tsigv4,"},
	} {
		t.Run(name, func(t *testing.T) {
			for k, v := range base {
				t.Setenv(k, v)
			}
			for k, v := range env {
				t.Setenv(k, v)
			}
			want, err := config.LoadDefaultConfig(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			got, _, err := awsConfig(os.Getenv, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got.AuthSchemePreference, want.AuthSchemePreference) {
				t.Errorf("auth scheme preference %q, want %q", got.AuthSchemePreference, want.AuthSchemePreference)
			}
			g, w := views(t, got), views(t, want)
			for svc := range w {
				if g[svc] != w[svc] {
					t.Errorf("%s:\n got %+v\nwant %+v", svc, g[svc], w[svc])
				}
			}
		})
	}
}

func TestAWSConfigRefusesBadSettings(t *testing.T) {
	for k, v := range map[string]string{"AWS_USE_FIPS_ENDPOINT": "yes", "AWS_MAX_ATTEMPTS": "many", "AWS_RETRY_MODE": "eager",
		"AWS_DEFAULTS_MODE": "fast", "AWS_CA_BUNDLE": filepath.Join(t.TempDir(), "missing.pem")} {
		_, _, err := awsConfig(func(name string) string { return map[string]string{k: v, "AWS_REGION": "us-east-1"}[name] }, slog.New(slog.DiscardHandler))
		if err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("%s=%s: err = %v, want one naming %s", k, v, err, k)
		}
	}
	empty := filepath.Join(t.TempDir(), "empty.pem")
	if err := os.WriteFile(empty, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := awsConfig(func(name string) string { return map[string]string{"AWS_CA_BUNDLE": empty}[name] }, slog.New(slog.DiscardHandler)); err == nil {
		t.Error("a CA bundle without a certificate was accepted")
	}
}

// TestDestinationPreconnectIsWhereTheSDKSends: the connection a destination
// gets ahead (Router.BeforeFirstWebhook) is to the host its SDK client then
// sends to, FIPS and dual-stack endpoints included.
func TestDestinationPreconnectIsWhereTheSDKSends(t *testing.T) {
	for name, env := range map[string]map[string]string{
		"default":    {},
		"fips":       {"AWS_USE_FIPS_ENDPOINT": "true"},
		"dual stack": {"AWS_USE_DUALSTACK_ENDPOINT": "true"},
		"both":       {"AWS_USE_FIPS_ENDPOINT": "true", "AWS_USE_DUALSTACK_ENDPOINT": "true"},
		"endpoint":   {"AWS_ENDPOINT_URL": "https://aws.local:8443"},
	} {
		t.Run(name, func(t *testing.T) {
			getenv := func(k string) string {
				if v, ok := env[k]; ok {
					return v
				}
				return map[string]string{"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret-example"}[k]
			}
			cfg, _, err := awsConfig(getenv, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			var sent string
			cfg.HTTPClient = smithyhttp.ClientDoFunc(func(r *http.Request) (*http.Response, error) {
				sent = r.URL.Host
				return nil, errors.New("not sent")
			})
			cfg.RetryMaxAttempts = 1
			ctx := context.Background()
			q := sqs.NewFromConfig(cfg)
			_, _ = q.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String("https://sqs.us-east-1.amazonaws.com/000000000000/q"), MessageBody: aws.String("{}")})
			if got := sqsAddr(ctx, q.Options()); got != sent {
				t.Errorf("SQS: preconnect to %q, the SDK sends to %q", got, sent)
			}
			eb := eventbridge.NewFromConfig(cfg)
			_, _ = eb.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{Source: aws.String("s"), DetailType: aws.String("d"), Detail: aws.String("{}")}}})
			if got := eventBridgeAddr(ctx, eb.Options()); got != sent {
				t.Errorf("EventBridge: preconnect to %q, the SDK sends to %q", got, sent)
			}
		})
	}
}
