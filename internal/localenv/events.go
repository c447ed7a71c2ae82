package localenv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// Event is one EventBridge event as kumo delivers it to a rule's target (the
// CloudWatch Events envelope). kumo's envelope has no "resources" member.
type Event struct {
	ID           string          `json:"id"`
	Source       string          `json:"source"`
	DetailType   string          `json:"detail-type"`
	EventBusName string          `json:"event-bus-name"`
	Account      string          `json:"account"`
	Region       string          `json:"region"`
	Time         string          `json:"time"`
	Detail       json.RawMessage `json:"detail"`
	// Raw is the envelope as delivered.
	Raw json.RawMessage `json:"-"`
}

// observer is the plain-HTTP endpoint of the bus's observation rule (an API
// destination, the one target type kumo delivers to arbitrary URLs). It
// records every event and copies it to the observation queue.
type observer struct {
	ts       *httptest.Server
	sqs      *sqs.Client
	queueURL string

	mu      sync.Mutex
	got     []Event
	changed chan struct{} // closed and replaced on every new event
	errs    []error
}

func newObserver(client *sqs.Client, queueURL string) *observer {
	o := &observer{sqs: client, queueURL: queueURL, changed: make(chan struct{})}
	o.ts = httptest.NewUnstartedServer(http.HandlerFunc(o.serveHTTP))
	o.ts.Config.ErrorLog = log.New(io.Discard, "", 0)
	o.ts.Start()
	return o
}

func (o *observer) url() string { return o.ts.URL + "/events" }

func (o *observer) close() { o.ts.Close() }

func (o *observer) serveHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "read body", http.StatusBadRequest)
		return
	}
	ev := Event{Raw: json.RawMessage(body)}
	if err := json.Unmarshal(body, &ev); err != nil {
		o.fail(fmt.Errorf("localenv: observed event %q: %w", body, err))
		http.Error(w, "bad event", http.StatusBadRequest)
		return
	}
	if _, err := o.sqs.SendMessage(r.Context(), &sqs.SendMessageInput{
		QueueUrl: aws.String(o.queueURL), MessageBody: aws.String(string(body)),
	}); err != nil {
		o.fail(fmt.Errorf("localenv: copy event to the observation queue: %w", err))
	}
	o.mu.Lock()
	o.got = append(o.got, ev)
	close(o.changed)
	o.changed = make(chan struct{})
	o.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

func (o *observer) fail(err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.errs = append(o.errs, err)
}

func (o *observer) events() []Event {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]Event(nil), o.got...)
}

func (o *observer) wait(ctx context.Context, n int) ([]Event, error) {
	for {
		o.mu.Lock()
		got, changed, errs := append([]Event(nil), o.got...), o.changed, errors.Join(o.errs...)
		o.mu.Unlock()
		if len(got) >= n {
			return got, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return got, fmt.Errorf("localenv: %d of %d events: %w", len(got), n, errors.Join(ctx.Err(), errs))
		}
	}
}
