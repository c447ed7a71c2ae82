package function

import (
	"context"
	"crypto/tls"
	"net/http"
	"net/url"

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
