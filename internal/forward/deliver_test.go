package forward_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signalwire-lambda/participants/internal/forward"
	"github.com/signalwire-lambda/participants/internal/retry"
)

// scripted is a Destination that returns the scripted errors in turn and
// then succeeds.
type scripted struct {
	name string

	mu     sync.Mutex
	errs   []error
	always error // returned on every call when set
	calls  int
}

func (s *scripted) Name() string { return s.name }

func (s *scripted) Send(context.Context, forward.Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.always != nil {
		return s.always
	}
	if len(s.errs) == 0 {
		return nil
	}
	err := s.errs[0]
	s.errs = s.errs[1:]
	return err
}

func (s *scripted) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// transient and permanent return delivery failures of each kind.
func transient() error { return &forward.StatusError{StatusCode: http.StatusServiceUnavailable} }
func permanent() error { return &forward.StatusError{StatusCode: http.StatusBadRequest} }

// deliver is forward.Deliver with the outcomes' failures joined.
func deliver(ctx context.Context, dests []forward.Destination, m forward.Message, p retry.Policy) ([]forward.Outcome, error) {
	res := forward.Deliver(ctx, dests, m, p)
	var errs []error
	for _, o := range res {
		errs = append(errs, o.Err)
	}
	return res, errors.Join(errs...)
}

// split names the destinations that accepted the message and those that did not.
func split(res []forward.Outcome) (delivered, failed []string) {
	for _, o := range res {
		if o.Err == nil {
			delivered = append(delivered, o.Destination)
		} else {
			failed = append(failed, o.Destination)
		}
	}
	return delivered, failed
}

// noJitter makes backoffs zero, so tests never sleep.
func noJitter(time.Duration) time.Duration { return 0 }

func TestDeliverRetriesToSuccessAndReportsPermanentFailure(t *testing.T) {
	ok := &scripted{name: "ok"}
	flaky := &scripted{name: "flaky", errs: []error{transient(), transient()}}
	broken := &scripted{name: "broken", always: permanent()}

	res, err := deliver(t.Context(), []forward.Destination{ok, flaky, broken}, testMessage(), retry.Policy{Jitter: noJitter})

	if err == nil {
		t.Fatal("Deliver = nil, want the permanent failure reported")
	}
	if d, f := split(res); !slices.Equal(d, []string{"ok", "flaky"}) || !slices.Equal(f, []string{"broken"}) {
		t.Errorf("delivered = %v, failed = %v", d, f)
	}
	if ok.count() != 1 || flaky.count() != 3 || broken.count() != 1 {
		t.Errorf("calls: ok %d, flaky %d (want 3), broken %d (want 1: permanent errors are not retried)", ok.count(), flaky.count(), broken.count())
	}
	for _, o := range res {
		if (o.Err != nil) != (o.Destination == "broken") {
			t.Errorf("%s Err = %v", o.Destination, o.Err)
		}
	}
	var se *forward.StatusError
	if !errors.As(err, &se) || se.StatusCode != http.StatusBadRequest {
		t.Errorf("error %v does not wrap the destination's failure", err)
	}
	if forward.Retryable(err) {
		t.Errorf("Retryable(%v) = true, want false", err)
	}
}

func TestDeliverAllDelivered(t *testing.T) {
	a, b := &scripted{name: "a"}, &scripted{name: "b", errs: []error{transient()}}
	res, err := deliver(t.Context(), []forward.Destination{a, b}, testMessage(), retry.Policy{Jitter: noJitter})
	if err != nil {
		t.Fatalf("Deliver = %v", err)
	}
	if d, f := split(res); !slices.Equal(d, []string{"a", "b"}) || len(f) != 0 {
		t.Errorf("result = %+v", res)
	}
}

func TestDeliverNoDestinations(t *testing.T) {
	res, err := deliver(t.Context(), nil, testMessage(), retry.Policy{})
	if err != nil || len(res) != 0 {
		t.Errorf("Deliver(nil) = %+v, %v", res, err)
	}
}

func TestDeliverGivesUpAfterMaxAttempts(t *testing.T) {
	down := &scripted{name: "down", always: transient()}
	_, err := deliver(t.Context(), []forward.Destination{down}, testMessage(), retry.Policy{MaxAttempts: 2, Jitter: noJitter})
	if err == nil || down.count() != 2 || !strings.Contains(err.Error(), "after 2 attempts") {
		t.Fatalf("err %v, calls %d, want 2 attempts then failure", err, down.count())
	}
	if !forward.Retryable(err) {
		t.Errorf("Retryable(%v) = false, want true (the failures were transient)", err)
	}
}

func TestDeliverBackoffLimits(t *testing.T) {
	var mu sync.Mutex
	var limits []time.Duration
	record := func(limit time.Duration) time.Duration {
		mu.Lock()
		defer mu.Unlock()
		limits = append(limits, limit)
		return 0
	}

	t.Run("defaults", func(t *testing.T) {
		limits = nil
		down := &scripted{name: "down", always: transient()}
		_ = forward.Deliver(t.Context(), []forward.Destination{down}, testMessage(), retry.Policy{Jitter: record})
		if down.count() != 3 {
			t.Errorf("attempts = %d, want %d", down.count(), 3)
		}
		if want := []time.Duration{50 * time.Millisecond, 100 * time.Millisecond}; !slices.Equal(limits, want) {
			t.Errorf("backoff limits = %v, want %v", limits, want)
		}
	})

	t.Run("capped", func(t *testing.T) {
		limits = nil
		down := &scripted{name: "down", always: transient()}
		p := retry.Policy{MaxAttempts: 5, Base: 10 * time.Millisecond, Max: 25 * time.Millisecond, Jitter: record}
		_ = forward.Deliver(t.Context(), []forward.Destination{down}, testMessage(), p)
		if want := []time.Duration{10 * time.Millisecond, 20 * time.Millisecond, 25 * time.Millisecond, 25 * time.Millisecond}; !slices.Equal(limits, want) {
			t.Errorf("backoff limits = %v, want %v", limits, want)
		}
	})
}

func TestDeliverStopsWhenDeadlineLeavesNoRoom(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	down := &scripted{name: "down", always: transient()}
	// A one-minute backoff cannot fit before a five-second deadline, so Deliver
	// gives up at once instead of sleeping into the deadline.
	p := retry.Policy{Base: time.Minute, Max: time.Minute, Jitter: func(d time.Duration) time.Duration { return d }}
	res, err := deliver(ctx, []forward.Destination{down}, testMessage(), p)
	if !errors.Is(err, retry.ErrNoTimeLeft) {
		t.Fatalf("Deliver = %v, want ErrNoTimeLeft", err)
	}
	if _, f := split(res); down.count() != 1 || !slices.Equal(f, []string{"down"}) {
		t.Errorf("calls %d, result %+v: want one attempt, reported failed", down.count(), res)
	}
	var se *forward.StatusError
	if !errors.As(err, &se) || !forward.Retryable(err) {
		t.Errorf("error %v should keep the transient cause", err)
	}
}

func TestDeliverWithDoneContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	d := &scripted{name: "d"}
	res, err := deliver(ctx, []forward.Destination{d}, testMessage(), retry.Policy{})
	if !errors.Is(err, context.Canceled) || d.count() != 0 || res[0].Err == nil {
		t.Errorf("Deliver on a canceled context = %v after %d calls, want context.Canceled and no attempt", err, d.count())
	}
	if forward.Retryable(err) {
		t.Errorf("Retryable(%v) = true after cancellation", err)
	}
}

func TestDeliverBackoffInterruptedByCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	d := &scripted{name: "d", always: transient()}
	// Cancel from inside the jitter function, i.e. just before the backoff
	// sleep starts, so the interruption is deterministic.
	p := retry.Policy{Base: time.Hour, Max: time.Hour, Jitter: func(d time.Duration) time.Duration { cancel(); return d }}
	_, err := deliver(ctx, []forward.Destination{d}, testMessage(), p)
	if !errors.Is(err, context.Canceled) || d.count() != 1 {
		t.Errorf("Deliver = %v after %d calls, want an interrupted backoff after 1 call", err, d.count())
	}
}

// End to end: a real HTTPS endpoint that fails twice, then accepts.
func TestDeliverHTTPSRecovers(t *testing.T) {
	at(t, fixedClock(), func(t *testing.T) {
		ep := newEndpoint(t, http.StatusServiceUnavailable, http.StatusTooManyRequests)
		dest := newHTTPS(ep.srv.URL, ep.client(), forward.Secrets{Current: testSecret})
		res, err := deliver(t.Context(), []forward.Destination{dest}, testMessage(), retry.Policy{Jitter: noJitter})
		if err != nil {
			t.Fatalf("Deliver = %v", err)
		}
		reqs := ep.got()
		if len(reqs) != 3 || res[0].Err != nil {
			t.Fatalf("endpoint got %d requests, want 3", len(reqs))
		}
		for _, r := range reqs {
			if r.Header.Get("webhook-id") != testMessage().ID {
				t.Errorf("retry changed webhook-id to %q", r.Header.Get("webhook-id"))
			}
			if err := verifyStandardWebhook(t, testSecret, r.Header, r.Body, fixedClock(), time.Minute); err != nil {
				t.Errorf("attempt not verifiable: %v", err)
			}
		}
	})
}
