package localenv

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// deliveredEventsPath is kumo's test endpoint listing the events its rules
// matched (the last 1000, process-wide).
const deliveredEventsPath = "/kumo/eventbridge/delivered-events"

// pollInterval is how often WaitEvents looks at kumo's delivery log.
const pollInterval = 20 * time.Millisecond

// Event is one event put on the Env's bus, as kumo's rule matched it: what
// the function sent in its PutEvents entry.
type Event struct {
	ID           string
	Source       string
	DetailType   string
	EventBusName string
	RuleName     string
	// Time is the entry's Time (RFC 3339), empty when the entry had none.
	Time string
	// Detail is the entry's Detail JSON.
	Detail json.RawMessage
}

// delivered is one record of kumo's delivery log.
type delivered struct {
	EventID      string `json:"EventId"`
	Source       string `json:"Source"`
	DetailType   string `json:"DetailType"`
	Detail       string `json:"Detail"`
	EventBusName string `json:"EventBusName"`
	RuleName     string `json:"RuleName"`
	Time         string `json:"Time"`
}

// observer reads kumo's delivery log for the Env's observation rule.
//
// kumo delivers rule targets of type SQS only to a fixed
// http://localhost:4566 endpoint (not to an in-process server's random
// port), and API destinations log a line on stdout per event. So the rule's
// target is a CloudWatch Logs log group, which kumo records in its delivery
// log without delivering anywhere, and the observer reads that log.
type observer struct {
	url    string
	bus    string
	rule   string
	client *http.Client
	// before holds the ids already in kumo's (process-wide) log when the
	// Env started, from an earlier Env with the same names.
	before map[string]bool
}

func newObserver(ctx context.Context, kumoURL, bus, rule string) (*observer, error) {
	o := &observer{url: kumoURL + deliveredEventsPath, bus: bus, rule: rule, client: &http.Client{}}
	existing, err := o.fetch(ctx)
	if err != nil {
		return nil, err
	}
	o.before = make(map[string]bool, len(existing))
	for _, e := range existing {
		o.before[e.ID] = true
	}
	return o, nil
}

func (o *observer) close() { o.client.CloseIdleConnections() }

// fetch returns the Env's events from kumo's log, oldest first.
func (o *observer) fetch(ctx context.Context) ([]Event, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, o.url, nil)
	if err != nil {
		return nil, fmt.Errorf("localenv: delivered events request: %w", err)
	}
	resp, err := o.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("localenv: delivered events: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("localenv: delivered events: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("localenv: delivered events: kumo answered %d: %s", resp.StatusCode, body)
	}
	var all []delivered
	if err := json.Unmarshal(body, &all); err != nil {
		return nil, fmt.Errorf("localenv: delivered events: %w", err)
	}
	var out []Event
	for _, d := range all {
		if d.EventBusName == o.bus && d.RuleName == o.rule && !o.before[d.EventID] {
			out = append(out, Event{
				ID: d.EventID, Source: d.Source, DetailType: d.DetailType, EventBusName: d.EventBusName,
				RuleName: d.RuleName, Time: d.Time, Detail: json.RawMessage(d.Detail),
			})
		}
	}
	return out, nil
}

func (o *observer) wait(ctx context.Context, n int) ([]Event, error) {
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	var last []Event // the last successful fetch
	for {
		got, err := o.fetch(ctx)
		if err == nil {
			if len(got) >= n {
				return got, nil
			}
			last = got
		}
		select {
		case <-ctx.Done():
			return last, fmt.Errorf("localenv: %d of %d events on the bus: %w", len(last), n, ctx.Err())
		case <-tick.C:
		}
	}
}
