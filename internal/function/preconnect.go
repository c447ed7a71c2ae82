package function

import (
	"cmp"
	"context"
	"net"
	"net/http"
	"net/url"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	smithyendpoints "github.com/aws/smithy-go/endpoints"
	"github.com/signalwire-lambda/participants/internal/signalwire"
)

// preconnectingAWS makes the SDK's HTTP client (shared by every service
// client built from cfg) open its TLS connections itself, with the SDK's own
// TLS settings (AWS_CA_BUNDLE's roots), and returns the function that opens
// one early; nil when the client is not the SDK's buildable one or a proxy
// is configured.
func preconnectingAWS(cfg *aws.Config) func(addr string) {
	if cfg.HTTPClient == nil { // what each service client would build itself
		cfg.HTTPClient = awshttp.NewBuildableClient()
	}
	bc, ok := cfg.HTTPClient.(*awshttp.BuildableClient)
	if !ok {
		return nil
	}
	var open func(string)
	cfg.HTTPClient = bc.WithTransportOptions(func(tr *http.Transport) { open = signalwire.PreconnectingTransport(tr) })
	return open
}

// preconnectingHTTP returns a clone of http.DefaultTransport whose TLS
// connections can be opened early, and the function that does it (nil
// when a proxy is configured).
func preconnectingHTTP() (*http.Client, func(addr string)) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	open := signalwire.PreconnectingTransport(tr)
	return &http.Client{Transport: tr}, open
}

// warm appends to list a warm-up opening a connection to addr through
// open, when both are known.
func warm(list []func(), open func(addr string), addr string) []func() {
	if open == nil || addr == "" {
		return list
	}
	return append(list, func() { open(addr) })
}

// endpointAddr resolves the host:port a client sends to, as the SDK will
// (its endpoint resolver r with the client's region and base endpoint, e.g.
// AWS_ENDPOINT_URL_SQS); "" when unknown or not HTTPS.
func endpointAddr[P any](ctx context.Context, r interface {
	ResolveEndpoint(context.Context, P) (smithyendpoints.Endpoint, error)
}, params P) string {
	if r == nil {
		return ""
	}
	ep, err := r.ResolveEndpoint(ctx, params)
	if err != nil {
		return ""
	}
	return httpsAddr(ep.URI)
}

// httpsAddr is an https URL's host:port, "" for any other scheme.
func httpsAddr(u url.URL) string {
	if u.Scheme != "https" || u.Host == "" {
		return ""
	}
	return net.JoinHostPort(u.Hostname(), cmp.Or(u.Port(), "443"))
}

// urlAddr is httpsAddr of a URL string.
func urlAddr(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return httpsAddr(*u)
}
