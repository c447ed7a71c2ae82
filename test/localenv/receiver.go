package localenv

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"
)

// ReceiverPath is the path of the receiver's URL.
const ReceiverPath = "/webhooks"

// ReceivedRequest is one request the receiver got.
type ReceivedRequest struct {
	Method string
	// URI is the request URI (path and query).
	URI    string
	Header http.Header
	Body   []byte
	// Status is what the receiver answered.
	Status int
	At     time.Time
}

// Receiver is the HTTPS webhook destination: it records every request
// (headers and body) and answers 204, or fails on demand. It serves TLS with
// httptest's certificate, which the Env's CAFile holds. Safe for concurrent use.
type Receiver struct {
	ts *httptest.Server

	mu         sync.Mutex
	reqs       []ReceivedRequest
	failNext   int
	failAlways bool
	failStatus int
	changed    chan struct{} // closed and replaced on every request
}

// NewReceiver starts a receiver on a random 127.0.0.1 port. Close it when done.
func NewReceiver() *Receiver {
	r := &Receiver{changed: make(chan struct{})}
	r.ts = httptest.NewUnstartedServer(http.HandlerFunc(r.serveHTTP))
	r.ts.Config.ErrorLog = log.New(io.Discard, "", 0)
	r.ts.StartTLS()
	return r
}

// URL returns the receiver's URL: https://127.0.0.1:port/webhooks. Every
// path is accepted and recorded.
func (r *Receiver) URL() string { return r.ts.URL + ReceiverPath }

// Client returns an *http.Client that trusts the receiver.
func (r *Receiver) Client() *http.Client { return r.ts.Client() }

// Close stops the receiver.
func (r *Receiver) Close() {
	r.ts.CloseClientConnections()
	r.ts.Close()
}

// FailNext makes the next n requests fail with status (0 means 503).
func (r *Receiver) FailNext(n, status int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failNext, r.failStatus = n, orUnavailable(status)
}

// FailUntilRecover makes every request fail with status (0 means 503) until Recover.
func (r *Receiver) FailUntilRecover(status int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failAlways, r.failStatus = true, orUnavailable(status)
}

// Recover ends FailNext and FailUntilRecover: requests succeed again.
func (r *Receiver) Recover() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failNext, r.failAlways = 0, false
}

// Reset forgets the recorded requests.
func (r *Receiver) Reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reqs = nil
}

func orUnavailable(status int) int {
	if status == 0 {
		return http.StatusServiceUnavailable
	}
	return status
}

// Requests returns every recorded request, failed ones included, oldest first.
func (r *Receiver) Requests() []ReceivedRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]ReceivedRequest(nil), r.reqs...)
}

// Accepted returns the recorded requests answered with a 2xx status.
func (r *Receiver) Accepted() []ReceivedRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return accepted(r.reqs)
}

func accepted(reqs []ReceivedRequest) []ReceivedRequest {
	var out []ReceivedRequest
	for _, q := range reqs {
		if q.Status/100 == 2 {
			out = append(out, q)
		}
	}
	return out
}

// WaitRequests waits until at least n requests (failed ones included) were
// recorded and returns them all, or what it has when ctx is done.
func (r *Receiver) WaitRequests(ctx context.Context, n int) ([]ReceivedRequest, error) {
	return r.wait(ctx, n, func(q []ReceivedRequest) []ReceivedRequest { return q })
}

// WaitAccepted waits until at least n requests were answered 2xx and returns
// those, or what it has when ctx is done.
func (r *Receiver) WaitAccepted(ctx context.Context, n int) ([]ReceivedRequest, error) {
	return r.wait(ctx, n, accepted)
}

func (r *Receiver) wait(ctx context.Context, n int, filter func([]ReceivedRequest) []ReceivedRequest) ([]ReceivedRequest, error) {
	for {
		r.mu.Lock()
		got, changed := filter(append([]ReceivedRequest(nil), r.reqs...)), r.changed
		r.mu.Unlock()
		if len(got) >= n {
			return got, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return got, fmt.Errorf("localenv: receiver got %d of %d requests: %w", len(got), n, ctx.Err())
		}
	}
}

func (r *Receiver) serveHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		http.Error(w, "read body", http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	status := http.StatusNoContent
	switch {
	case r.failAlways:
		status = r.failStatus
	case r.failNext > 0:
		r.failNext--
		status = r.failStatus
	}
	r.reqs = append(r.reqs, ReceivedRequest{
		Method: req.Method, URI: req.RequestURI, Header: req.Header.Clone(), Body: body, Status: status, At: time.Now(),
	})
	close(r.changed)
	r.changed = make(chan struct{})
	r.mu.Unlock()
	w.WriteHeader(status)
}
