package sandbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/signalwire-lambda/participants/test/sandbox"
)

var alicePath = participantPath(sandbox.ConferenceStandup, sandbox.CallAlice)

func okGet(t *testing.T, s *sandbox.Server) (*http.Response, []byte) {
	t.Helper()
	return get(t, s, alicePath, sandbox.ProjectID, sandbox.APIToken)
}

func TestFaultStatus(t *testing.T) {
	s := sandbox.New()
	defer s.Close()
	s.Inject(sandbox.Fault{Status: http.StatusTooManyRequests, Header: http.Header{"Retry-After": {"2"}}})
	s.Inject(sandbox.Fault{Status: http.StatusTooManyRequests})
	s.Inject(sandbox.Fault{Status: http.StatusServiceUnavailable, Times: 2})
	s.Inject(sandbox.Fault{Status: http.StatusBadGateway, Body: "bad gateway", Header: http.Header{"Content-Type": {"text/plain"}}})
	want := []struct {
		status     int
		code       float64
		retryAfter string
	}{
		{429, sandbox.CodeTooManyRequests, "2"},
		{429, sandbox.CodeTooManyRequests, ""},
		{503, sandbox.CodeInternal, ""},
		{503, sandbox.CodeInternal, ""},
	}
	for i, w := range want {
		resp, body := okGet(t, s)
		if resp.StatusCode != w.status || resp.Header.Get("Retry-After") != w.retryAfter {
			t.Errorf("#%d = %d Retry-After=%q", i, resp.StatusCode, resp.Header.Get("Retry-After"))
		}
		m := decode(t, body)
		if m["code"] != w.code || m["status"] != float64(w.status) {
			t.Errorf("#%d body = %s", i, body)
		}
	}
	resp, body := okGet(t, s)
	if resp.StatusCode != http.StatusBadGateway || string(body) != "bad gateway" || resp.Header.Get("Content-Type") != "text/plain" {
		t.Errorf("502 = %d %q %q", resp.StatusCode, body, resp.Header.Get("Content-Type"))
	}
	if resp, _ := okGet(t, s); resp.StatusCode != http.StatusOK {
		t.Errorf("after the faults = %d", resp.StatusCode)
	}
	if s.PendingFaults() != 0 {
		t.Errorf("PendingFaults = %d", s.PendingFaults())
	}
}

func TestFaultForeverAndClear(t *testing.T) {
	s := sandbox.New()
	defer s.Close()
	s.Inject(sandbox.Fault{Status: http.StatusInternalServerError, Times: -1})
	for range 3 {
		if resp, _ := okGet(t, s); resp.StatusCode != http.StatusInternalServerError {
			t.Fatalf("= %d", resp.StatusCode)
		}
	}
	s.ClearFaults()
	if resp, _ := okGet(t, s); resp.StatusCode != http.StatusOK {
		t.Errorf("after ClearFaults = %d", resp.StatusCode)
	}
}

func TestFaultDelay(t *testing.T) {
	s := sandbox.New()
	defer s.Close()
	s.Inject(sandbox.Fault{Delay: 150 * time.Millisecond})
	start := time.Now()
	resp, _ := okGet(t, s)
	if resp.StatusCode != http.StatusOK || time.Since(start) < 150*time.Millisecond {
		t.Errorf("delayed = %d after %v", resp.StatusCode, time.Since(start))
	}

	// A cancelled request stops the delay: the next request is served at once.
	s.Inject(sandbox.Fault{Delay: time.Hour})
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL()+alicePath, nil)
	req.SetBasicAuth(sandbox.ProjectID, sandbox.APIToken)
	if _, err := s.Client().Do(req); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("hour-long delay: err = %v", err)
	}
	start = time.Now()
	if resp, _ := okGet(t, s); resp.StatusCode != http.StatusOK || time.Since(start) > 5*time.Second {
		t.Errorf("after cancel = %d in %v", resp.StatusCode, time.Since(start))
	}
}

func TestLatencyOption(t *testing.T) {
	s := sandbox.New(sandbox.WithLatency(50 * time.Millisecond))
	defer s.Close()
	start := time.Now()
	if resp, _ := okGet(t, s); resp.StatusCode != http.StatusOK || time.Since(start) < 50*time.Millisecond {
		t.Errorf("= %d after %v", resp.StatusCode, time.Since(start))
	}
}

func TestFaultResetMidBody(t *testing.T) {
	s := sandbox.New()
	defer s.Close()
	okGet(t, s) // open a keep-alive connection
	s.Inject(sandbox.Fault{ResetMidBody: true})
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, s.URL()+alicePath, nil)
	req.SetBasicAuth(sandbox.ProjectID, sandbox.APIToken)
	resp, err := s.Client().Do(req)
	if err == nil {
		full, _ := s.ParticipantJSON(sandbox.ConferenceStandup, sandbox.CallAlice)
		if resp.ContentLength != int64(len(full)) {
			t.Errorf("Content-Length = %d, want %d", resp.ContentLength, len(full))
		}
		body, rerr := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if rerr == nil {
			t.Fatalf("read a reset body without error: %q", body)
		}
		if len(body) >= len(full) {
			t.Errorf("read %d bytes of %d", len(body), len(full))
		}
	}
	// The next request needs a new connection and succeeds.
	if resp, _ := okGet(t, s); resp.StatusCode != http.StatusOK {
		t.Errorf("after reset = %d", resp.StatusCode)
	}
	if got := s.Connections(); got != 2 {
		t.Errorf("Connections = %d, want 2", got)
	}
}

func TestFaultTruncatedJSON(t *testing.T) {
	s := sandbox.New()
	defer s.Close()
	s.Inject(sandbox.Fault{TruncatedJSON: true})
	resp, body := okGet(t, s)
	full, _ := s.ParticipantJSON(sandbox.ConferenceStandup, sandbox.CallAlice)
	if resp.StatusCode != http.StatusOK || len(body) != len(full)/2 || resp.ContentLength != int64(len(body)) {
		t.Errorf("= %d, %d bytes, Content-Length %d", resp.StatusCode, len(body), resp.ContentLength)
	}
	if json.Valid(body) {
		t.Errorf("truncated body is valid JSON: %s", body)
	}
}

func TestFaultHugeBody(t *testing.T) {
	s := sandbox.New()
	defer s.Close()
	s.Inject(sandbox.Fault{HugeBody: true})
	resp, body := okGet(t, s)
	if resp.StatusCode != http.StatusOK || len(body) != sandbox.HugeBodySize ||
		resp.Header.Get("Content-Length") != strconv.Itoa(sandbox.HugeBodySize) || !json.Valid(body) {
		t.Errorf("= %d, %d bytes, Content-Length %s", resp.StatusCode, len(body), resp.Header.Get("Content-Length"))
	}

	// A client that stops reading early does not break the sandbox.
	s.Inject(sandbox.Fault{HugeBody: true})
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, s.URL()+alicePath, nil)
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(resp.Body, make([]byte, 1024)); err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp, _ := okGet(t, s); resp.StatusCode != http.StatusOK {
		t.Errorf("after an abandoned huge body = %d", resp.StatusCode)
	}
}

func TestFaultHTMLAndWrongContentType(t *testing.T) {
	s := sandbox.New()
	defer s.Close()
	s.Inject(sandbox.Fault{HTML200: true})
	s.Inject(sandbox.Fault{WrongContentType: true})
	resp, body := okGet(t, s)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") ||
		!strings.Contains(string(body), "<html") {
		t.Errorf("HTML200 = %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	resp, body = okGet(t, s)
	full, _ := s.ParticipantJSON(sandbox.ConferenceStandup, sandbox.CallAlice)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") ||
		string(body) != string(full) {
		t.Errorf("WrongContentType = %d %q %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
}

func TestFaultsApplyBeforeAuthAndAreCounted(t *testing.T) {
	s := sandbox.New()
	defer s.Close()
	s.Inject(sandbox.Fault{Status: http.StatusServiceUnavailable})
	if resp, _ := get(t, s, alicePath, "", ""); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("unauthenticated faulted request = %d", resp.StatusCode)
	}
	// A Delay-only fault keeps the normal answer, here 401.
	s.Inject(sandbox.Fault{Delay: time.Millisecond, Header: http.Header{"X-Fault": {"1"}}})
	if resp, _ := get(t, s, alicePath, "", ""); resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("X-Fault") != "1" {
		t.Errorf("delay-only fault = %d %q", resp.StatusCode, resp.Header.Get("X-Fault"))
	}
	if s.Requests() != 2 || s.RequestsFor(alicePath) != 2 {
		t.Errorf("Requests = %d, RequestsFor = %d", s.Requests(), s.RequestsFor(alicePath))
	}
}
