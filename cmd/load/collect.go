package main

// Collecting: where the accepted webhooks arrived (receiver, SQS, bus) and
// what the retry queue and its DLQ hold.

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/signalwire-lambda/participants/internal/app"
	"github.com/signalwire-lambda/participants/test/localenv"
)

// collect counts, per destination, the accepted webhooks that reached it,
// and reads the retry and dead-letter queue depths. Delivery is
// synchronous within an invocation, so everything has arrived by now; the
// waits only absorb kumo's bookkeeping.
func collect(ctx context.Context, env *localenv.Env, rep *Report, accepted map[string]string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var errs []error
	keep := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	receiver := receiverIDs(env)
	queue, err := queueIDs(ctx, env)
	keep(err)
	rep.BusChecked = rep.Accepted < busRetention
	bus, err := busIDs(ctx, env, rep.BusChecked, rep.AcceptedDelivered)
	keep(err)
	tally(rep, accepted, receiver, queue, bus)
	rep.Queued, err = env.QueueDepth(ctx, env.RetryQueueURL)
	keep(err)
	rep.DeadLettered, err = env.QueueDepth(ctx, env.RetryDLQURL)
	keep(err)
	return errors.Join(errs...)
}

// receiverIDs is the set of envelope ids the HTTPS receiver accepted.
func receiverIDs(env *localenv.Env) map[string]bool {
	ids := map[string]bool{}
	for _, q := range env.Receiver.Accepted() {
		ids[q.Header.Get("Webhook-Id")] = true
	}
	return ids
}

// queueIDs is the set of envelope ids on the SQS destination queue.
func queueIDs(ctx context.Context, env *localenv.Env) (map[string]bool, error) {
	ids := map[string]bool{}
	depth, err := env.QueueDepth(ctx, env.DestinationQueueURL)
	if depth == 0 {
		return ids, err
	}
	msgs, werr := env.WaitMessages(ctx, env.DestinationQueueURL, depth)
	for _, m := range msgs {
		if m.Body != nil {
			ids[envelopeID([]byte(*m.Body))] = true
		}
	}
	return ids, errors.Join(err, werr)
}

// busIDs is the set of envelope ids put on the event bus; when checked, it
// waits for at least want of them.
func busIDs(ctx context.Context, env *localenv.Env, checked bool, want int) (map[string]bool, error) {
	evs, err := env.Events(ctx)
	if checked && len(evs) < want {
		evs, err = env.WaitEvents(ctx, want)
	}
	ids := map[string]bool{}
	for _, e := range evs {
		ids[envelopeID(e.Detail)] = true
	}
	return ids, err
}

// tally counts, from the ids each destination holds, what reached where,
// which accepted webhooks every destination has, and the envelopes no
// accepted webhook accounts for.
func tally(rep *Report, accepted map[string]string, receiver, queue, bus map[string]bool) {
	for id, outcome := range accepted {
		if receiver[id] {
			rep.ReceiverAccepted++
		}
		if bus[id] {
			rep.BusEvents++
		}
		if queue[id] {
			rep.QueueMessages++
		}
		if outcome == string(app.OutcomeDelivered) && receiver[id] && queue[id] && (bus[id] || !rep.BusChecked) {
			rep.Delivered++
		}
	}
	seen := map[string]bool{} // every envelope id found at some destination
	for _, ids := range []map[string]bool{receiver, queue, bus} {
		for id := range ids {
			seen[id] = true
		}
	}
	for id := range seen {
		if _, ok := accepted[id]; !ok {
			rep.Unaccounted++
		}
	}
}

// envelopeID is the id of the envelope JSON b, or a marker when b is none.
func envelopeID(b []byte) string {
	var env struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(b, &env) != nil || env.ID == "" {
		return "(not an envelope)"
	}
	return env.ID
}
