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
	// carrierBytes bounds what the largest message carrying an envelope
	// adds to it besides the event type and conference SID: a kindDeliver's
	// dead-letter record, with its reason and the queue's attributes.
	carrierBytes = 3<<10 + 6*maxReasonBytes
)

// errEnvelopeTooLarge marks an envelope (with its participant) that does
// not fit the destinations' message size: no attempt can deliver it.
var errEnvelopeTooLarge = errors.New("the envelope does not fit the destinations' 256 KiB message limit")

// result is what processing a webhook did.
type result struct {
	id       string
	envelope []byte // as delivered; the answer when no destination takes it
	outcome  Outcome
	err      error
}

// Accept processes a direct invocation's webhook like a verified one and
// returns its envelope. One that can never be processed is a problem error
// (400 or 413) and is not parked; otherwise the error says the webhook is
// neither processed nor queued.
func (w *webhooks) Accept(ctx context.Context, d DirectWebhook) ([]byte, Outcome, error) {
	in, err := storedInbound([]byte(d.Form), []byte(d.Body), d.ContentType, d.Query, d.ReceivedAt, obs.TraceID(ctx))
	if err != nil {
		return nil, "", err
	}
	src, err := in.source()
	if err != nil {
		return nil, "", err
	}
	r := w.process(ctx, in, src, false)
	return r.envelope, r.outcome, r.err
}

// process builds a checked webhook's envelope and delivers it. Inline, it
// works within the inline budget, keeps enqueueReserve to park what is
// left, and a refusal (a problem: 413) is returned before acceptance; on
// the retry consumer it works until parkReserve before the deadline, and a
// webhook no attempt can process is dead-lettered.
func (w *webhooks) process(ctx context.Context, in inbound, src webhook.Source, retrying bool) result {
	budget, keep := w.opts.InlineBudget, enqueueReserve(ctx)
	if retrying {
		budget, keep = 0, parkReserve
	}
	work, cancel := reserve(ctx, budget, keep)
	defer cancel()
	msg, err := w.build(work, src, in.receivedAt)
	var p Problem
	switch refused := errors.As(err, &p); {
	case refused && !retrying:
		return result{id: msg.ID, err: err}
	case refused || errors.Is(err, errEnvelopeTooLarge):
		if w.deadLetterWebhook(ctx, in, msg.ID, err) == nil {
			return result{id: msg.ID, envelope: msg.Body, outcome: outcomeDeadLettered}
		}
	}
	r := result{id: msg.ID, envelope: msg.Body}
	switch {
	case err != nil && retrying:
		r.err = err // the message stays on the queue
	case err != nil:
		r.outcome, r.err = w.park(ctx, in.message(msg.ID), in.conferenceSID, "processing", err)
	case len(w.opts.Destinations) == 0:
		r.outcome = outcomeReturned
	default:
		d := deliverMessage(msg, in.receivedAt, in.traceID)
		r.outcome, r.err = w.settle(ctx, d, forward.Deliver(work, w.opts.Destinations, msg, w.opts.Policy), nil, false)
	}
	return r
}

// enqueueReserve is what inline processing leaves before ctx's deadline to
// park: a second, or half of what is left, so that a 1 s function still
// tries to deliver before it parks.
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
	dl, ok := ctx.Deadline()
	if !ok {
		if budget <= 0 {
			return context.WithCancel(ctx)
		}
		return context.WithTimeout(ctx, budget)
	}
	end := dl.Add(-reserve)
	if b := time.Now().Add(budget); budget > 0 && b.Before(end) {
		end = b
	}
	return context.WithDeadline(ctx, end)
}

// build looks the participant up and encodes the envelope once, size
// checked. With an error the message is not to be delivered.
func (w *webhooks) build(ctx context.Context, src webhook.Source, receivedAt time.Time) (forward.Message, error) {
	env := webhook.NewEnvelope(src, receivedAt)
	obs.InvocationFrom(ctx).SetSIDs(src.AccountSID(), src.ConferenceSID(), src.CallSID())
	lookupErr := w.lookup(ctx, &env, src)
	body, err := encodeEnvelope(env)
	if err != nil {
		return forward.Message{ID: env.ID}, err
	}
	msg := forward.Message{ID: env.ID, Type: env.Type, ConferenceSID: src.ConferenceSID(), Body: body}
	return msg, errors.Join(checkSize(msg, len(env.Participant)), lookupErr)
}

// checkSize is the one size check, on the encoded envelope (participant is
// its participant's size): one that cannot fit even without it is refused
// (413) before acceptance; one its participant makes too large is
// errEnvelopeTooLarge.
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

// lookup fetches the participant into env when src names a conference and
// a call (a 404: participant null, the participant left).
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

// tally is where one round of attempts left an envelope.
type tally struct {
	delivered, deadLettered, pending []string
	errs                             []error
}

func (t *tally) fail(name string, err error) {
	t.pending = append(t.pending, name)
	t.errs = append(t.errs, err)
}

// sort counts the outcomes of d's delivery and dead-letters, at once, each
// permanent failure and each destination no longer configured (missing).
func (w *webhooks) sort(ctx context.Context, d retryMessage, outcomes []forward.Outcome, missing []string) tally {
	var t tally
	batch := obs.InvocationFrom(ctx).Batch()
	for _, name := range missing {
		d.Destinations = []string{name}
		if err := w.deadLetter(ctx, deadLetter(d, "destination "+name+" is no longer configured"), d.ConferenceSID); err != nil {
			t.fail(name, fmt.Errorf("destination %s is not configured", name))
		} else {
			t.deadLettered = append(t.deadLettered, name)
		}
	}
	for _, o := range outcomes {
		if o.Err == nil {
			t.delivered = append(t.delivered, o.Destination)
			batch.AddDim(obs.MetricForwarded, obs.UnitCount, 1, "Destination", o.Destination)
			continue
		}
		batch.AddDim(obs.MetricForwardFailures, obs.UnitCount, 1, "Destination", o.Destination)
		if !forward.Permanent(o.Err) {
			t.fail(o.Destination, fmt.Errorf("forward to %s: %w", o.Destination, o.Err))
			continue
		}
		d.Destinations = []string{o.Destination}
		if err := w.deadLetter(ctx, deadLetter(d, fmt.Sprintf("%s refused the event permanently: %v", o.Destination, o.Err)), d.ConferenceSID); err != nil {
			w.app.log.ErrorContext(ctx, "dead-lettering a permanent failure failed; it goes to the retry queue", "event_id", d.EventID, "destination", o.Destination, "error", err.Error())
			t.fail(o.Destination, fmt.Errorf("forward to %s: %w", o.Destination, o.Err))
			continue
		}
		t.deadLettered = append(t.deadLettered, o.Destination)
		batch.AddDim(obs.MetricDeadLettered, obs.UnitCount, 1, "Destination", o.Destination)
		w.app.log.ErrorContext(ctx, "destination refused the event permanently; sent to the dead-letter queue", "event_id", d.EventID, "destination", o.Destination, "reason", o.Err.Error())
	}
	return t
}

// settle parks what a delivery left pending as a kindDeliver for those
// destinations. With mustProgress (a kindDeliver retried) and no progress,
// the message itself is retried, so SQS's redrive still bounds the
// attempts. The error says the event is neither settled nor parked.
func (w *webhooks) settle(ctx context.Context, d retryMessage, outcomes []forward.Outcome, missing []string, mustProgress bool) (Outcome, error) {
	t := w.sort(ctx, d, outcomes, missing)
	if len(t.pending) == 0 {
		if len(t.deadLettered) > 0 {
			return outcomeDeadLettered, nil
		}
		w.app.log.InfoContext(ctx, "webhook delivered", "event_id", d.EventID, "destinations", len(t.delivered))
		return outcomeDelivered, nil
	}
	cause := errors.Join(t.errs...)
	if mustProgress && len(t.delivered)+len(t.deadLettered) == 0 {
		return "", fmt.Errorf("forwarding: %w", cause)
	}
	d.Destinations = t.pending
	return w.park(ctx, d, d.ConferenceSID, "forwarding", cause)
}

// park puts m on the retry queue after what ("processing" or "forwarding")
// failed with cause. It returns an error when m is not parked.
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

// deadLetter puts r on the dead-letter queue at once.
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

// enqueue encodes v onto q with its event id and conference attributes.
func enqueue(ctx context.Context, q enqueuer, v any, id, conferenceSID string) error {
	b, err := encodeMessage(v)
	if err != nil {
		return err
	}
	return q.Enqueue(ctx, forward.Message{ID: id, ConferenceSID: obs.Truncate(conferenceSID, maxAttrBytes), Body: b})
}

// ProcessRetry handles one retry-queue message; a nil error deletes it, an
// error leaves it for the next receive (after MaxReceiveCount, SQS moves it
// to the dead-letter queue). A kindWebhook is built and delivered, and what
// is left parked as a kindDeliver of that envelope; a kindDeliver goes to
// its destinations only, and what is left after progress is parked anew.
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
	in, err := storedInbound(m.form, m.body, m.ContentType, m.Query, m.ReceivedAt, m.TraceID)
	var src webhook.Source
	if err == nil {
		src, err = in.source()
	}
	if err != nil {
		// Cannot ever be processed: dead-letter it now rather than after
		// every receive.
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
	var outcomes []forward.Outcome
	if len(dests) > 0 {
		outcomes = forward.Deliver(work, dests, msg, w.opts.Policy)
	}
	_, err := w.settle(ctx, d, outcomes, missing, true)
	return err
}
