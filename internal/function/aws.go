package function

import (
	"cmp"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	smithyendpoints "github.com/aws/smithy-go/endpoints"
	"github.com/aws/smithy-go/logging"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/signalwire-lambda/participants/internal/obs"
	"github.com/signalwire-lambda/participants/internal/signalwire"
)

// endpointAddr resolves, as the SDK will, the host:port a client sends to;
// "" when unknown or not HTTPS.
func endpointAddr[P any](ctx context.Context, r interface {
	ResolveEndpoint(context.Context, P) (smithyendpoints.Endpoint, error)
}, params P) string {
	if ep, err := r.ResolveEndpoint(ctx, params); err == nil {
		return httpsAddr(ep.URI)
	}
	return ""
}

// sqsAddr and eventBridgeAddr are the host:port a client's requests go to:
// the endpoint parameters its SDK binds (region, endpoint, FIPS, dual-stack).
func sqsAddr(ctx context.Context, o sqs.Options) string {
	fips, dualStack := endpointFlags(o.EndpointOptions.UseFIPSEndpoint, o.EndpointOptions.UseDualStackEndpoint)
	return endpointAddr(ctx, o.EndpointResolverV2, sqs.EndpointParameters{Region: aws.String(o.Region), Endpoint: o.BaseEndpoint, UseFIPS: fips, UseDualStack: dualStack})
}

func eventBridgeAddr(ctx context.Context, o eventbridge.Options) string {
	fips, dualStack := endpointFlags(o.EndpointOptions.UseFIPSEndpoint, o.EndpointOptions.UseDualStackEndpoint)
	return endpointAddr(ctx, o.EndpointResolverV2, eventbridge.EndpointParameters{Region: aws.String(o.Region), Endpoint: o.BaseEndpoint, UseFIPS: fips, UseDualStack: dualStack})
}

func endpointFlags(fips aws.FIPSEndpointState, dualStack aws.DualStackEndpointState) (*bool, *bool) {
	return aws.Bool(fips == aws.FIPSEndpointStateEnabled), aws.Bool(dualStack == aws.DualStackEndpointStateEnabled)
}

// httpsAddr is an https URL's host:port, "" for any other scheme.
func httpsAddr(u url.URL) string {
	if u.Scheme != "https" || u.Host == "" {
		return ""
	}
	return u.Host
}

// awsConfig reads every AWS SDK setting config.LoadDefaultConfig reads
// (TestAWSConfigMatchesLoadDefaultConfig) without linking it and its STS,
// SSO, SSO OIDC and sign-in clients (about 440 KB of the bootstrap). Every AWS
// call goes through one preconnecting HTTP client (warm opens connections
// early) that logs each attempt getting no answer (obs.Reach).
func awsConfig(getenv func(string) string, log *slog.Logger) (cfg aws.Config, warm func(addr string), err error) {
	src := endpointSources{getenv: getenv}
	cfg = aws.Config{
		Region:               cmp.Or(getenv("AWS_REGION"), getenv("AWS_DEFAULT_REGION")),
		AppID:                getenv("AWS_SDK_UA_APP_ID"),
		Logger:               logging.NewStandardLogger(os.Stderr),
		ConfigSources:        []any{&src},
		AuthSchemePreference: schemeList(getenv("AWS_AUTH_SCHEME_PREFERENCE")),
		DefaultsMode:         aws.DefaultsModeLegacy,
	}
	cfg.RuntimeEnvironment = aws.RuntimeEnvironment{EnvironmentIdentifier: aws.ExecutionEnvironmentID(getenv("AWS_EXECUTION_ENV")), Region: cfg.Region}
	id, key := cmp.Or(getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_ACCESS_KEY")), cmp.Or(getenv("AWS_SECRET_ACCESS_KEY"), getenv("AWS_SECRET_KEY"))
	if id != "" && key != "" {
		p := credentials.NewStaticCredentialsProvider(id, key, getenv("AWS_SESSION_TOKEN"))
		p.Value.AccountID = getenv("AWS_ACCOUNT_ID")
		cfg.Credentials = p
	}
	roots, err := readSettings(getenv, &cfg, &src)
	if err != nil {
		return aws.Config{}, nil, fmt.Errorf("AWS SDK settings: %w", err)
	}
	client, warm := signalwire.PreconnectingClient(roots)
	cfg.HTTPClient = smithyhttp.ClientDoFunc(func(req *http.Request) (*http.Response, error) {
		return obs.Reach(log, awsmiddleware.GetServiceID(req.Context()), req, client.Do)
	})
	return cfg, warm, nil
}

// readSettings reads into cfg and src the settings that can be malformed,
// and returns AWS_CA_BUNDLE's roots; the error names each malformed one.
func readSettings(getenv func(string) string, cfg *aws.Config, src *endpointSources) (*x509.CertPool, error) {
	var errs []error
	flag := func(name string, set func(bool)) {
		switch v := getenv(name); {
		case strings.EqualFold(v, "true"):
			set(true)
		case strings.EqualFold(v, "false"):
			set(false)
		case v != "":
			errs = append(errs, fmt.Errorf("%s is %q: want true or false", name, v))
		}
	}
	flag("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", func(b bool) { src.ignore, src.ignoreSet = b, true })
	flag("AWS_USE_FIPS_ENDPOINT", func(b bool) { src.fips = state(b, aws.FIPSEndpointStateEnabled, aws.FIPSEndpointStateDisabled) })
	flag("AWS_USE_DUALSTACK_ENDPOINT", func(b bool) {
		src.dualStack = state(b, aws.DualStackEndpointStateEnabled, aws.DualStackEndpointStateDisabled)
	})
	flag("AWS_DISABLE_CLOCK_SKEW_CORRECTION", func(b bool) { cfg.DisableClockSkewCorrection = b })
	if v := getenv("AWS_ENDPOINT_URL"); v != "" && !src.ignore {
		cfg.BaseEndpoint = aws.String(v)
	}
	if v := getenv("AWS_MAX_ATTEMPTS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			errs = append(errs, fmt.Errorf("AWS_MAX_ATTEMPTS is %q: want a positive integer", v))
		}
		cfg.RetryMaxAttempts = n
	}
	if v := getenv("AWS_RETRY_MODE"); v != "" {
		m, err := aws.ParseRetryMode(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("AWS_RETRY_MODE: %w", err))
		}
		cfg.RetryMode = m
	}
	if v := getenv("AWS_DEFAULTS_MODE"); v != "" && !cfg.DefaultsMode.SetFromString(v) {
		errs = append(errs, fmt.Errorf("AWS_DEFAULTS_MODE is %q: want auto, cross-region, in-region, legacy, mobile or standard", v))
	}
	var roots *x509.CertPool
	if path := getenv("AWS_CA_BUNDLE"); path != "" {
		// The only roots the AWS calls trust then, as with LoadDefaultConfig.
		pem, err := os.ReadFile(path)
		roots = x509.NewCertPool()
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("AWS_CA_BUNDLE: %w", err))
		case !roots.AppendCertsFromPEM(pem):
			errs = append(errs, errors.New("AWS_CA_BUNDLE: no PEM certificate in the file"))
		}
	}
	return roots, errors.Join(errs...)
}

func state[S any](b bool, on, off S) S {
	if b {
		return on
	}
	return off
}

// schemeList splits AWS_AUTH_SCHEME_PREFERENCE ("sigv4a, sigv4").
func schemeList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.Trim(s, " \t"); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// endpointSources answers the SDK clients' questions about endpoints
// (aws.Config.ConfigSources), as LoadDefaultConfig's environment source does.
type endpointSources struct {
	getenv            func(string) string
	ignore, ignoreSet bool
	fips              aws.FIPSEndpointState
	dualStack         aws.DualStackEndpointState
}

func (s *endpointSources) GetIgnoreConfiguredEndpoints(context.Context) (bool, bool, error) {
	return s.ignore, s.ignoreSet, nil
}

// GetServiceBaseEndpoint reads AWS_ENDPOINT_URL_<SERVICE>, the SDK id in
// upper case with spaces as underscores (AWS_ENDPOINT_URL_SECRETS_MANAGER).
func (s *endpointSources) GetServiceBaseEndpoint(_ context.Context, sdkID string) (string, bool, error) {
	v := s.getenv("AWS_ENDPOINT_URL_" + strings.ReplaceAll(strings.ToUpper(sdkID), " ", "_"))
	return v, v != "", nil
}

func (s *endpointSources) GetUseFIPSEndpoint(context.Context) (aws.FIPSEndpointState, bool, error) {
	return s.fips, s.fips != aws.FIPSEndpointStateUnset, nil
}

func (s *endpointSources) GetUseDualStackEndpoint(context.Context) (aws.DualStackEndpointState, bool, error) {
	return s.dualStack, s.dualStack != aws.DualStackEndpointStateUnset, nil
}
