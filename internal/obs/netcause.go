package obs

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
)

// netCause names why an HTTP round trip (net/http or the AWS SDK) got no
// answer: "lookup" (the name does not resolve to an address), "refused"
// (nothing listens), "TLS" (handshake or certificate), "timeout" or "other".
func netCause(err error) string {
	var (
		dns   *net.DNSError
		addr  *net.AddrError
		verr  *tls.CertificateVerificationError
		rec   tls.RecordHeaderError
		alert tls.AlertError
		nerr  net.Error
	)
	switch {
	case errors.As(err, &dns), errors.As(err, &addr): // addr: resolved to no usable address
		return "lookup"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused"
	case errors.As(err, &verr), errors.As(err, &rec), errors.As(err, &alert),
		strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"): // net/http's RecordHeaderError
		return "TLS"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		errors.As(err, &nerr) && nerr.Timeout():
		return "timeout"
	}
	return "other"
}

// LogUnreachable logs one warning when err ended a round trip of req
// without an answer: "cannot reach " + service, the host and the cause
// (netCause). Nil errors and the caller's own cancellation are not logged.
func LogUnreachable(log *slog.Logger, service string, req *http.Request, err error) {
	if err == nil || errors.Is(err, context.Canceled) {
		return
	}
	log.WarnContext(req.Context(), "cannot reach "+service, "host", req.URL.Host, "cause", netCause(err), "error", err.Error())
}
