package obs

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
)

// netCause names why an HTTP round trip got no answer: "lookup", "refused",
// "TLS" (handshake or certificate), "timeout" or "other".
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

// Reach sends req with do and, when it gets no answer (but for the caller's
// cancellation), logs "cannot reach " + service with the host and the
// cause: netCause's, or "lookup"/"TLS" for a timeout in that stage.
func Reach(log *slog.Logger, service string, req *http.Request, do func(*http.Request) (*http.Response, error)) (*http.Response, error) {
	var stage atomic.Value
	stage.Store("")
	trace := &httptrace.ClientTrace{
		DNSStart: func(httptrace.DNSStartInfo) { stage.Store("lookup") },
		DNSDone: func(i httptrace.DNSDoneInfo) {
			if i.Err == nil {
				stage.Store("")
			}
		},
		TLSHandshakeStart: func() { stage.Store("TLS") },
		TLSHandshakeDone: func(_ tls.ConnectionState, err error) {
			if err == nil {
				stage.Store("")
			}
		},
	}
	resp, err := do(req.WithContext(httptrace.WithClientTrace(req.Context(), trace)))
	if err == nil || errors.Is(err, context.Canceled) {
		return resp, err
	}
	cause := netCause(err)
	if s := stage.Load().(string); cause == "timeout" && s != "" {
		cause = s
	}
	log.WarnContext(req.Context(), "cannot reach "+service, "host", req.URL.Host, "cause", cause, "error", err.Error())
	return resp, err
}
