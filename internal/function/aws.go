package function

import (
	"context"
	"crypto/tls"
	"net/http"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	smithyendpoints "github.com/aws/smithy-go/endpoints"
	"github.com/signalwire-lambda/participants/internal/signalwire"
)

// preconnectingHTTP returns the HTTP client of the AWS calls and the HTTPS
// destination: a clone of http.DefaultTransport whose TLS connections come
// from a signalwire.Dialer, and the function that opens one early (a plain
// clone and nil when a proxy is configured).
func preconnectingHTTP() (*http.Client, func(addr string)) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 10 // as the AWS SDK's own client
	if signalwire.ProxyConfigured() {
		return &http.Client{Transport: tr}, nil
	}
	d := signalwire.NewDialer(&tls.Config{MinVersion: tls.VersionTLS12, NextProtos: []string{"h2", "http/1.1"}})
	tr.DialTLSContext = d.DialTLSContext
	return &http.Client{Transport: tr}, d.Preconnect
}

// endpointAddr resolves the host:port an SDK client sends to, as the SDK
// will (its resolver r with the client's region and base endpoint, e.g.
// AWS_ENDPOINT_URL_SQS); "" when unknown or not HTTPS.
func endpointAddr[P any](ctx context.Context, r interface {
	ResolveEndpoint(context.Context, P) (smithyendpoints.Endpoint, error)
}, params P) string {
	if ep, err := r.ResolveEndpoint(ctx, params); err == nil {
		return httpsAddr(ep.URI)
	}
	return ""
}

// httpsAddr is an https URL's host:port, "" for any other scheme.
func httpsAddr(u url.URL) string {
	if u.Scheme != "https" || u.Host == "" {
		return ""
	}
	return signalwire.HostPort(u.Host)
}

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
