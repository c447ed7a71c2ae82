package main

// The report: counts and latency percentiles per request kind, and its checks.

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"time"
)

// KindStats summarises one kind of request.
type KindStats struct {
	Count, OK int
	P50, P99  time.Duration
	// Errors counts the unexpected answers by description.
	Errors map[string]int
}

// Report is the outcome of a run.
type Report struct {
	Mode        string
	N           int
	Concurrency int
	Wall        time.Duration
	Kinds       map[string]*KindStats

	// WebhooksSent are the signed webhooks sent (outage ones included);
	// Accepted those answered
	// 200 "delivered" (AcceptedDelivered) or "queued" (AcceptedQueued).
	WebhooksSent, Accepted, AcceptedDelivered, AcceptedQueued int
	// ForgedSent forged webhooks, ForgedRejected of them answered 403.
	ForgedSent, ForgedRejected int

	// Distinct envelope ids of accepted webhooks found at each destination.
	ReceiverAccepted, BusEvents, QueueMessages int
	// BusChecked is false when more events were expected than kumo keeps.
	BusChecked bool
	// Delivered is the accepted webhooks found at every (checked) destination.
	Delivered int
	// Queued is the retry queue's depth, DeadLettered its dead-letter queue's.
	Queued, DeadLettered int
	// Unaccounted are envelope ids found at a destination that no accepted
	// webhook produced (e.g. a forged one).
	Unaccounted int
}

// Unexpected returns the number of requests whose answer was not the one
// their kind expects.
func (r *Report) Unexpected() int {
	n := 0
	for _, k := range r.Kinds {
		n += k.Count - k.OK
	}
	return n
}

// Check returns an error unless every answer was the expected one, every
// forged webhook was rejected with 403, nothing unknown reached a
// destination and accepted = delivered + queued + dead-lettered.
func (r *Report) Check() error {
	var errs []error
	if n := r.Unexpected(); n > 0 {
		errs = append(errs, fmt.Errorf("%d unexpected answers", n))
	}
	if r.ForgedRejected != r.ForgedSent {
		errs = append(errs, fmt.Errorf("%d of %d forged webhooks rejected with 403", r.ForgedRejected, r.ForgedSent))
	}
	if r.Unaccounted > 0 {
		errs = append(errs, fmt.Errorf("%d events at the destinations come from no accepted webhook", r.Unaccounted))
	}
	if r.Accepted != r.Delivered+r.Queued+r.DeadLettered {
		errs = append(errs, fmt.Errorf("accepted %d != delivered %d + queued %d + dead-lettered %d", r.Accepted, r.Delivered, r.Queued, r.DeadLettered))
	}
	return errors.Join(errs...)
}

// Print writes the report as a table.
func (r *Report) Print(w io.Writer) {
	fmt.Fprintf(w, "\n%s: %d requests, %d in flight, %s wall (%.0f req/s)\n\n", r.Mode, r.N, r.Concurrency,
		r.Wall.Round(time.Millisecond), float64(r.N)/max(r.Wall.Seconds(), 1e-9))
	fmt.Fprintf(w, "%-15s %6s %6s %10s %10s %7s\n", "kind", "count", "ok", "p50", "p99", "errors")
	for _, name := range Kinds {
		k := r.Kinds[name]
		fmt.Fprintf(w, "%-15s %6d %6d %10s %10s %7d\n", name, k.Count, k.OK, fmtDur(k.P50), fmtDur(k.P99), k.Count-k.OK)
	}
	for _, name := range Kinds {
		for _, e := range sortedKeys(r.Kinds[name].Errors) {
			fmt.Fprintf(w, "  %s error: %s ×%d\n", name, e, r.Kinds[name].Errors[e])
		}
	}
	fmt.Fprintf(w, "\nwebhooks: %d signed sent, %d accepted (%d answered delivered, %d answered queued); forged: %d of %d rejected with 403\n",
		r.WebhooksSent, r.Accepted, r.AcceptedDelivered, r.AcceptedQueued, r.ForgedRejected, r.ForgedSent)
	bus := strconv.Itoa(r.BusEvents)
	if !r.BusChecked {
		bus += " (not checked: kumo keeps the last " + strconv.Itoa(busRetention) + " events)"
	}
	fmt.Fprintf(w, "destinations: HTTPS receiver accepted %d, events on the bus %s, destination queue messages %d; retry queue %d, dead-letter queue %d\n",
		r.ReceiverAccepted, bus, r.QueueMessages, r.Queued, r.DeadLettered)
	verdict := "OK"
	if r.Accepted != r.Delivered+r.Queued+r.DeadLettered || r.Unaccounted > 0 {
		verdict = "MISMATCH"
	}
	fmt.Fprintf(w, "accepted %d = delivered %d + queued %d + dead-lettered %d: %s (unaccounted events: %d)\n",
		r.Accepted, r.Delivered, r.Queued, r.DeadLettered, verdict, r.Unaccounted)
}

func fmtDur(d time.Duration) string {
	switch {
	case d == 0:
		return "-"
	case d < time.Millisecond:
		return fmt.Sprintf("%.0fµs", float64(d)/float64(time.Microsecond))
	default:
		return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
	}
}

func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
