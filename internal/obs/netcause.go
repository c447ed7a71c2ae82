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

// LogUnreachable logs one warning when err ended a round trip of req
// without an answer: "cannot reach " + service, the host and the cause
// (NetCause). Nil errors and the caller's own cancellation are not logged.
func LogUnreachable(log *slog.Logger, service string, req *http.Request, err error) {
	if err == nil || errors.Is(err, context.Canceled) {
		return
	}
	_, cause := NetCause(err)
	log.WarnContext(req.Context(), "cannot reach "+service, "host", req.URL.Host, "cause", cause, "error", err.Error())
}
