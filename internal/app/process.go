package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/signalwire-lambda/participants/internal/forward"
	"github.com/signalwire-lambda/participants/internal/obs"
	"github.com/signalwire-lambda/participants/internal/signalwire"
	"github.com/signalwire-lambda/participants/internal/webhook"
)

const (
	// parkReserve is kept before a retry's deadline to park what is left.
	parkReserve = 500 * time.Millisecond
	// maxEnqueueReserve is the most kept before the deadline to park an
	// inline webhook (one SendMessage, usually tens of milliseconds).
	maxEnqueueReserve = time.Second
	// participantReserve is the room kept for the participant (SignalWire's
	// are under 1 KiB): an envelope that leaves less is refused (413).
	participantReserve = 16 << 10
	// carrierBytes bounds what the largest carrier of an envelope adds besides
	// type and conference SID: a kindDeliver's dead-letter record, attributes.
	carrierBytes = 3<<10 + 6*maxReasonBytes
)

// errEnvelopeTooLarge marks an envelope no attempt can deliver.
var errEnvelopeTooLarge = errors.New("the envelope does not fit the destinations' 256 KiB message limit")

type result struct {
	id       string
	envelope []byte // as delivered; the answer when no destination takes it
	outcome  Outcome
	err      error
}

// Accept processes a direct invocation's webhook like a verified one and
// returns its envelope; one that can never be processed is a Problem.
func (w *webhooks) Accept(ctx context.Context, d DirectWebhook) ([]byte, Outcome, error) {
	in, src, err := storedInbound([]byte(d.Form), []byte(d.Body), d.ContentType, d.Query, d.ReceivedAt, obs.TraceID(ctx))
	if err != nil {
		return nil, "", err
	}
	r := w.process(ctx, in, src, false)
	return r.envelope, r.outcome, r.err
}

// process builds a checked webhook's envelope and delivers it: inline, a
// refusal (413) is returned; what no attempt can deliver is dead-lettered.
func (w *webhooks) process(ctx context.Context, in inbound, src webhook.Source, retrying bool) result {
	budget, keep := w.opts.InlineBudget, enqueueReserve(ctx)
	if retrying {
		budget, keep = 0, parkReserve
	}
	work, cancel := reserve(ctx, budget, keep)
	defer cancel()
	msg, err := w.build(work, src, in.receivedAt)
	r := result{id: msg.ID, envelope: msg.Body}
	var p Problem
	switch refused := errors.As(err, &p); {
	case refused && !retrying:
		r.err = err
	case (refused || errors.Is(err, errEnvelopeTooLarge)) && w.deadLetterWebhook(ctx, in, msg.ID, err) == nil:
		r.outcome = outcomeDeadLettered
	case err != nil && retrying:
		r.err = err // the message stays on the queue
	case err != nil:
		r.outcome, r.err = w.park(ctx, in.message(msg.ID), in.conferenceSID, "processing", err)
	case len(w.opts.Destinations) == 0:
		r.outcome = outcomeReturned
	default:
		outcomes := forward.Deliver(work, w.opts.Destinations, msg, w.opts.Policy)
		r.outcome, r.err = w.settle(ctx, deliverMessage(msg, in.receivedAt, in.traceID), outcomes, nil, false)
	}
	return r
}

// enqueueReserve is what inline processing leaves before ctx's deadline to
// park: a second, or half of what is left (a 1 s function still delivers).
func enqueueReserve(ctx context.Context) time.Duration {
	dl, ok := ctx.Deadline()
	if !ok {
		return 0
	}
	return min(maxEnqueueReserve, max(time.Until(dl), 0)/2)
}

// reserve returns a context that ends reserve before ctx's deadline, or
// after budget (when positive), whichever comes first.
func reserve(ctx context.Context, budget, reserve time.Duration) (context.Context, context.CancelFunc) {
	end, ok := ctx.Deadline()
	end = end.Add(-reserve)
	if b := time.Now().Add(budget); budget > 0 && (!ok || b.Before(end)) {
		end, ok = b, true
	}
	if !ok {
		return context.WithCancel(ctx)
	}
	return context.WithDeadline(ctx, end)
}

// build looks the participant up and encodes the envelope once, size checked.
func (w *webhooks) build(ctx context.Context, src webhook.Source, receivedAt time.Time) (forward.Message, error) {
	env := webhook.NewEnvelope(src, receivedAt)
	obs.InvocationFrom(ctx).SetSIDs(src.AccountSID(), src.ConferenceSID(), src.CallSID())
	lookupErr := w.lookup(ctx, &env, src)
	body, err := encodeMessage(env)
	if err != nil {
		return forward.Message{ID: env.ID}, err
	}
	msg := forward.Message{ID: env.ID, Type: env.Type, ConferenceSID: src.ConferenceSID(), Body: body}
	return msg, errors.Join(checkSize(msg, len(env.Participant)), lookupErr)
}

// checkSize is the one size check, on the encoded envelope: one that
// cannot fit even without its participant (of that size) is refused (413);
// one its participant makes too large is errEnvelopeTooLarge.
func checkSize(m forward.Message, participant int) error {
	n := len(m.Body) + carrierBytes + 2*len(m.Type) + 6*len(m.ConferenceSID)
	if bare := n - participant + participantReserve; bare > forward.MaxMessageBytes {
		return newProblem(problemPayloadTooLarge, http.StatusRequestEntityTooLarge,
			fmt.Sprintf("the event built from this webhook would take %d bytes, over the %d bytes SQS and EventBridge accept", bare, forward.MaxMessageBytes))
	}
	if n > forward.MaxMessageBytes {
		return fmt.Errorf("%w: %d bytes with the participant", errEnvelopeTooLarge, n)
	}
	return nil
}

// lookup fetches the participant into env when src names a conference and call.
func (w *webhooks) lookup(ctx context.Context, env *webhook.Envelope, src webhook.Source) error {
	env.ParticipantLookup = webhook.LookupSkipped
	if src.ConferenceSID() == "" || src.CallSID() == "" {
		return nil
	}
	p, err := w.app.Participant(ctx, signalwire.ParticipantRef{AccountSID: src.AccountSID(), ConferenceSID: src.ConferenceSID(), CallSID: src.CallSID()})
	var sidErr *signalwire.InvalidSIDError
	switch apiErr := (*signalwire.APIError)(nil); {
	case err == nil:
		env.ParticipantLookup = webhook.LookupFound
		env.Participant, err = json.Marshal(p)
		return err
	case errors.As(err, &sidErr):
		w.app.log.WarnContext(ctx, "webhook SIDs are not UUIDs; participant lookup skipped", "error", err.Error())
	case errors.Is(err, errForeignAccount):
		w.app.log.WarnContext(ctx, "webhook AccountSid is not the secret's project_id; participant lookup skipped")
	case errors.As(err, &apiErr) && apiErr.Kind == signalwire.KindNotFound:
		env.ParticipantLookup = webhook.LookupNotFound
	default:
		return fmt.Errorf("fetching the participant: %w", err)
	}
	return nil
}

// settle counts d's delivery outcomes, dead-letters each permanent failure
// and each destination no longer configured (missing) and parks the rest as
// a kindDeliver. With mustProgress (a kindDeliver retried) and no progress,
// the message itself is retried, so SQS's redrive bounds the attempts. The
// error says the event is neither settled nor parked.
func (w *webhooks) settle(ctx context.Context, d retryMessage, outcomes []forward.Outcome, missing []string, mustProgress bool) (Outcome, error) {
	var pending []string
	var errs []error
	progress, deadLettered := 0, false
	// deadLetterTo dead-letters d's copy for one destination.
	deadLetterTo := func(name, reason string) error {
		d.Destinations = []string{name}
		err := w.deadLetter(ctx, deadLetter(d, reason), d.ConferenceSID)
		if err == nil {
			progress, deadLettered = progress+1, true
		}
		return err
	}
	for _, name := range missing {
		if deadLetterTo(name, "destination "+name+" is no longer configured") != nil {
			pending, errs = append(pending, name), append(errs, fmt.Errorf("destination %s is not configured", name))
		}
	}
	batch := obs.InvocationFrom(ctx).Batch()
	for _, o := range outcomes {
		if o.Err == nil {
			progress++
			batch.AddDim(obs.MetricForwarded, obs.UnitCount, 1, "Destination", o.Destination)
			continue
		}
		batch.AddDim(obs.MetricForwardFailures, obs.UnitCount, 1, "Destination", o.Destination)
		if forward.Permanent(o.Err) {
			err := deadLetterTo(o.Destination, fmt.Sprintf("%s refused the event permanently: %v", o.Destination, o.Err))
			if err == nil {
				batch.AddDim(obs.MetricDeadLettered, obs.UnitCount, 1, "Destination", o.Destination)
				w.app.log.ErrorContext(ctx, "destination refused the event permanently; sent to the dead-letter queue", "event_id", d.EventID, "destination", o.Destination, "reason", o.Err.Error())
				continue
			}
			w.app.log.ErrorContext(ctx, "dead-lettering a permanent failure failed; it goes to the retry queue", "event_id", d.EventID, "destination", o.Destination, "error", err.Error())
		}
		pending, errs = append(pending, o.Destination), append(errs, fmt.Errorf("forward to %s: %w", o.Destination, o.Err))
	}
	switch {
	case len(pending) == 0 && deadLettered:
		return outcomeDeadLettered, nil
	case len(pending) == 0:
		w.app.log.InfoContext(ctx, "webhook delivered", "event_id", d.EventID, "destinations", progress)
		return outcomeDelivered, nil
	case mustProgress && progress == 0:
		return "", fmt.Errorf("forwarding: %w", errors.Join(errs...))
	}
	d.Destinations = pending
	return w.park(ctx, d, d.ConferenceSID, "forwarding", errors.Join(errs...))
}

// park puts m on the retry queue after what failed with cause.
func (w *webhooks) park(ctx context.Context, m retryMessage, conferenceSID, what string, cause error) (Outcome, error) {
	if w.opts.Retry == nil {
		return "", fmt.Errorf("%s failed and no retry queue is configured: %w", what, cause)
	}
	if err := enqueue(ctx, w.opts.Retry, m, m.EventID, conferenceSID); err != nil {
		return "", fmt.Errorf("%s failed (%w) and enqueueing failed: %w", what, cause, err)
	}
	obs.InvocationFrom(ctx).Batch().Add(obs.MetricEnqueued, obs.UnitCount, 1)
	w.app.log.WarnContext(ctx, "webhook queued for retry", "event_id", m.EventID, "destinations", m.Destinations, "error", cause.Error())
	return outcomeQueued, nil
}

func (w *webhooks) deadLetter(ctx context.Context, r deadLetterRecord, conferenceSID string) error {
	if w.opts.DeadLetter == nil {
		return errors.New("no dead-letter queue is configured")
	}
	return enqueue(ctx, w.opts.DeadLetter, r, r.EventID, conferenceSID)
}

// deadLetterWebhook dead-letters a webhook no attempt can process.
func (w *webhooks) deadLetterWebhook(ctx context.Context, in inbound, id string, cause error) error {
	if err := w.deadLetter(ctx, deadLetter(in.message(id), cause.Error()), in.conferenceSID); err != nil {
		return err
	}
	obs.InvocationFrom(ctx).Batch().Add(obs.MetricDeadLettered, obs.UnitCount, 1)
	w.app.log.ErrorContext(ctx, "webhook cannot be processed; sent to the dead-letter queue", "event_id", id, "reason", cause.Error())
	return nil
}

// maxAttrBytes caps the informational attributes of queue messages.
const maxAttrBytes = 256

func enqueue(ctx context.Context, q enqueuer, v any, id, conferenceSID string) error {
	b, err := encodeMessage(v)
	if err != nil {
		return err
	}
	return q.Enqueue(ctx, forward.Message{ID: id, ConferenceSID: obs.Truncate(conferenceSID, maxAttrBytes), Body: b})
}

// ProcessRetry handles one retry-queue message; a nil error deletes it, an
// error leaves it for the next receive.
func (w *webhooks) ProcessRetry(ctx context.Context, body string, receiveCount int) error {
	m, err := decodeRetry(body)
	if err == nil {
		if m.TraceID != "" {
			ctx = obs.WithTraceID(ctx, m.TraceID)
		}
		if m.Kind == kindDeliver {
			err = w.retryDeliver(ctx, m)
		} else {
			err = w.retryWebhook(ctx, m)
		}
	}
	if err != nil && receiveCount >= w.opts.MaxReceiveCount {
		obs.InvocationFrom(ctx).Batch().Add(obs.MetricDeadLettered, obs.UnitCount, 1)
		w.app.log.ErrorContext(ctx, "retry message failed its last receive; SQS moves it to the dead-letter queue", "receive_count", receiveCount, "reason", err.Error())
	}
	return err
}

func (w *webhooks) retryWebhook(ctx context.Context, m retryMessage) error {
	in, src, err := storedInbound(m.form, m.body, m.ContentType, m.Query, m.ReceivedAt, m.TraceID)
	if err != nil {
		if w.deadLetterWebhook(ctx, in, m.EventID, err) != nil {
			return fmt.Errorf("stored webhook: %w", err)
		}
		return nil
	}
	return w.process(ctx, in, src, true).err
}

func (w *webhooks) retryDeliver(ctx context.Context, m retryMessage) error {
	msg := forward.Message{ID: m.EventID, Type: m.EventType, ConferenceSID: m.ConferenceSID, Body: m.Envelope}
	d := deliverMessage(msg, m.ReceivedAt, m.TraceID)
	var dests []forward.Destination
	var missing []string
	for _, name := range slices.Compact(slices.Sorted(slices.Values(m.Destinations))) {
		i := slices.IndexFunc(w.opts.Destinations, func(d forward.Destination) bool { return d.Name() == name })
		if i < 0 {
			missing = append(missing, name) // configuration changed since
			continue
		}
		dests = append(dests, w.opts.Destinations[i])
	}
	work, cancel := reserve(ctx, 0, parkReserve)
	defer cancel()
	_, err := w.settle(ctx, d, forward.Deliver(work, dests, msg, w.opts.Policy), missing, true)
	return err
}
