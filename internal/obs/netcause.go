package obs

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
)

// NetCause names why an HTTP round trip (net/http or the AWS SDK) got no
// answer: "lookup" (the name does not resolve), "refused" (nothing listens),
// "TLS" (handshake or certificate), "timeout" or "other". host is the
// host[:port] tried, "" when err does not say.
func NetCause(err error) (host, cause string) {
	var ue *url.Error
	var dns *net.DNSError
	var op *net.OpError
	switch {
	case errors.As(err, &ue):
		if u, perr := url.Parse(ue.URL); perr == nil {
			host = u.Host
		}
	case errors.As(err, &dns):
		host = dns.Name
	case errors.As(err, &op) && op.Addr != nil:
		host = op.Addr.String()
	}
	var (
		verr  *tls.CertificateVerificationError
		rec   tls.RecordHeaderError
		alert tls.AlertError
		auth  x509.UnknownAuthorityError
		name  x509.HostnameError
		inval x509.CertificateInvalidError
		nerr  net.Error
	)
	switch {
	case errors.As(err, &dns):
		return host, "lookup"
	case errors.Is(err, syscall.ECONNREFUSED):
		return host, "refused"
	case errors.As(err, &verr), errors.As(err, &rec), errors.As(err, &alert),
		errors.As(err, &auth), errors.As(err, &name), errors.As(err, &inval),
		strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"): // net/http's RecordHeaderError
		return host, "TLS"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		errors.As(err, &nerr) && nerr.Timeout():
		return host, "timeout"
	}
	return host, "other"
}

// ReportUnreachable wraps next (nil: http.DefaultTransport) so that each
// round trip that gets no answer logs one warning naming service, the host
// and the cause, as it fails. The caller's own cancellation is not logged.
func ReportUnreachable(next http.RoundTripper, log *slog.Logger, service string) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return unreachable{next: next, log: log, service: service}
}

type unreachable struct {
	next    http.RoundTripper
	log     *slog.Logger
	service string
}

func (u unreachable) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := u.next.RoundTrip(req)
	if err != nil && !errors.Is(err, context.Canceled) {
		_, cause := NetCause(err)
		u.log.WarnContext(req.Context(), "cannot reach "+u.service, "host", req.URL.Host, "cause", cause, "error", err.Error())
	}
	return resp, err
}
