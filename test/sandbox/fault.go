package sandbox

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"
)

// HugeBodySize is the size in bytes of a HugeBody fault's body (10 MiB).
const HugeBodySize = 10 << 20

// resetPause lets the client read the headers and the partial body of a
// ResetMidBody fault before the connection is reset.
const resetPause = 20 * time.Millisecond

// Fault is a misbehaviour the sandbox applies to the next requests, whatever
// their path. Delay is applied first; then the first of Status, ResetMidBody,
// TruncatedJSON, HugeBody, HTML200 and WrongContentType that is set decides
// the answer; with none of them set the request is answered normally after
// the delay. Header is added to every faulted answer.
//
// Examples:
//
//	Fault{Status: 429, Header: http.Header{"Retry-After": {"2"}}} // rate limited, with Retry-After
//	Fault{Status: 503, Times: 3}                                  // three 503s in a row
//	Fault{Delay: 5 * time.Second}                                 // slow upstream (honours cancellation)
type Fault struct {
	// Times is how many requests the fault applies to: 0 means 1, and a
	// negative value means every request until ClearFaults.
	Times int
	// Delay is waited before answering; a cancelled request gets no answer.
	Delay time.Duration

	// Status answers with this status and Body (by default a SignalWire
	// error body whose code matches the status: 20429, 20504, ...).
	Status int
	// Body replaces the default error body of a Status fault.
	Body string
	// Header is added to the answer (e.g. Retry-After); it can also
	// override Content-Type.
	Header http.Header

	// ResetMidBody hijacks the connection, writes the normal answer's
	// headers and half of its body, then resets the TCP connection (RST).
	ResetMidBody bool
	// TruncatedJSON answers normally but sends only the first half of the
	// body, with a Content-Length matching what is sent.
	TruncatedJSON bool
	// HugeBody answers 200 application/json with a HugeBodySize-byte
	// JSON document (one huge string field).
	HugeBody bool
	// HTML200 answers 200 with an HTML page (text/html), as a captive proxy
	// or a misrouted request would.
	HTML200 bool
	// WrongContentType answers normally (the participant or the list) but with
	// Content-Type text/plain.
	WrongContentType bool
}

// Inject queues f; queued faults are consumed in order by the next requests.
func (s *Server) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Times == 0 {
		f.Times = 1
	}
	s.faults = append(s.faults, f)
}

// ClearFaults drops every queued fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// PendingFaults returns how many faults are still queued.
func (s *Server) PendingFaults() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.faults)
}

func (s *Server) nextFaultLocked() (Fault, bool) {
	if len(s.faults) == 0 {
		return Fault{}, false
	}
	f := s.faults[0]
	if s.faults[0].Times > 0 {
		s.faults[0].Times--
		if s.faults[0].Times == 0 {
			s.faults = s.faults[1:]
		}
	}
	return f, true
}

// codeFor returns the SignalWire error code for an HTTP status.
func codeFor(status int) int {
	switch {
	case status == http.StatusUnauthorized:
		return CodeAuthentication
	case status == http.StatusNotFound:
		return CodeNotFound
	case status == http.StatusMethodNotAllowed:
		return CodeMethodNotAllowed
	case status == http.StatusTooManyRequests:
		return CodeTooManyRequests
	case status >= 500:
		return CodeInternal
	default:
		return CodeUnknown
	}
}

func (s *Server) applyFault(w http.ResponseWriter, r *http.Request, f Fault) {
	if !sleep(r, f.Delay) {
		return
	}
	switch {
	case f.Status != 0:
		body := []byte(f.Body)
		if f.Body == "" {
			body = ErrorBody(f.Status, codeFor(f.Status), http.StatusText(f.Status))
		}
		h := http.Header{"Content-Type": {"application/json; charset=utf-8"}}
		writeResponse(w, f.Status, merge(h, f.Header), body)
	case f.ResetMidBody:
		status, h, body := s.answer(r)
		resetMidBody(w, status, merge(h, f.Header), body)
	case f.TruncatedJSON:
		status, h, body := s.answer(r)
		writeResponse(w, status, merge(h, f.Header), body[:len(body)/2])
	case f.HugeBody:
		s.writeHuge(w, f.Header)
	case f.HTML200:
		h := http.Header{"Content-Type": {"text/html; charset=utf-8"}}
		writeResponse(w, http.StatusOK, merge(h, f.Header), []byte(htmlPage))
	case f.WrongContentType:
		status, h, body := s.answer(r)
		h.Set("Content-Type", "text/plain; charset=utf-8")
		writeResponse(w, status, merge(h, f.Header), body)
	default:
		status, h, body := s.answer(r)
		writeResponse(w, status, merge(h, f.Header), body)
	}
}

const htmlPage = `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Just a moment...</title></head>
<body><h1>Checking your browser before accessing the site.</h1><p>This process is automatic.</p></body>
</html>
`

// merge sets extra's fields on h and returns h.
func merge(h, extra http.Header) http.Header {
	for k, v := range extra {
		h[http.CanonicalHeaderKey(k)] = v
	}
	return h
}

func (s *Server) writeHuge(w http.ResponseWriter, extra http.Header) {
	s.mu.Lock()
	projectID := s.projectID
	s.mu.Unlock()
	prefix := `{"account_sid":"` + projectID + `","padding":"`
	const suffix = `"}`
	pad := HugeBodySize - len(prefix) - len(suffix)
	h := merge(http.Header{"Content-Type": {"application/json; charset=utf-8"}}, extra)
	for k, v := range h {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Length", fmt.Sprint(HugeBodySize))
	w.WriteHeader(http.StatusOK)
	if _, err := w.Write([]byte(prefix)); err != nil {
		return
	}
	chunk := []byte(strings.Repeat("x", 64<<10))
	for pad > 0 {
		n := min(pad, len(chunk))
		if _, err := w.Write(chunk[:n]); err != nil {
			return // the client gave up: expected when it caps the body
		}
		pad -= n
	}
	_, _ = w.Write([]byte(suffix))
}

// resetMidBody writes the status line, the headers (announcing the full
// Content-Length) and half of body on the raw connection, then resets it.
func resetMidBody(w http.ResponseWriter, status int, h http.Header, body []byte) {
	hj, ok := w.(http.Hijacker)
	if !ok { // HTTP/2: no hijacking; a truncated answer is the closest we can do.
		writeResponse(w, status, h, body[:len(body)/2])
		return
	}
	conn, rw, err := hj.Hijack()
	if err != nil {
		return
	}
	raw := conn
	if tc, ok := conn.(*tls.Conn); ok {
		raw = tc.NetConn()
	}
	defer func() { _ = raw.Close() }()
	h.Set("Content-Length", fmt.Sprint(len(body)))
	if err := writeHead(rw.Writer, status, h); err != nil {
		return
	}
	_, _ = rw.Write(body[:len(body)/2])
	if err := rw.Flush(); err != nil {
		return
	}
	time.Sleep(resetPause)
	if tcp, ok := raw.(*net.TCPConn); ok {
		_ = tcp.SetLinger(0) // Close then sends RST instead of FIN.
	}
}

func writeHead(bw *bufio.Writer, status int, h http.Header) error {
	if _, err := fmt.Fprintf(bw, "HTTP/1.1 %d %s\r\n", status, http.StatusText(status)); err != nil {
		return fmt.Errorf("write status line: %w", err)
	}
	if err := h.Write(bw); err != nil {
		return fmt.Errorf("write headers: %w", err)
	}
	if _, err := bw.WriteString("\r\n"); err != nil {
		return fmt.Errorf("end headers: %w", err)
	}
	return nil
}
