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

// parkReserve is the time kept before a retry's deadline, after its
// delivery attempts are cut, to park what is left.
const parkReserve = 500 * time.Millisecond

// maxEnqueueReserve is the most of the deadline kept for parking a webhook
// on the retry queue (one SendMessage, usually tens of milliseconds).
const maxEnqueueReserve = time.Second

// participantReserve is the room kept for the participant: a webhook whose
// envelope, without participant, leaves less than this under the message
// size limit is refused (413) before acceptance. SignalWire's participants
// are under 1 KiB.
const participantReserve = 16 << 10

// carrierBytes bounds what the largest message carrying an envelope adds
// to it, besides the event type and conference SID (counted apart): the
// dead-letter record of a kindDeliver, with its reason and the queue's
// attributes (the SQS destination's attributes and EventBridge's entry add
// less).
const carrierBytes = 3<<10 + 6*maxReasonBytes

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

// Accept processes a webhook handed over by a trusted caller (a direct
// invocation) like one received over HTTP and verified, and returns its
// envelope. A webhook that can never be processed (no AccountSid, not a
// status callback, bad encoding, over 64 KiB, an envelope over the size
// limit) is a problem error (400 or 413) and is not parked. Otherwise it
// returns an error only when the webhook is neither processed nor queued.
func (w *Webhooks) Accept(ctx context.Context, d DirectWebhook) ([]byte, Outcome, error) {
	in, err := storedInbound([]byte(d.Form), []byte(d.Body), d.ContentType, d.Query, d.ReceivedAt, obs.TraceID(ctx))
	if err != nil {
		return nil, "", err
	}
	src, err := in.source()
	if err != nil {
		return nil, "", err
	}
	r := w.process(ctx, in, src)
	return r.envelope, r.outcome, r.err
}

// process builds a checked webhook's envelope and delivers it within the
// inline budget, then parks what is left.
func (w *Webhooks) process(ctx context.Context, in inbound, src webhook.Source) result {
	work, cancel := reserve(ctx, w.opts.InlineBudget, enqueueReserve(ctx))
	defer cancel()
	msg, err := w.build(work, src, in.receivedAt)
	r := result{id: msg.ID, envelope: msg.Body}
	var p Problem
	switch {
	case errors.As(err, &p):
		r.envelope, r.err = nil, err
		return r
	case errors.Is(err, errEnvelopeTooLarge):
		if w.deadLetterWebhook(ctx, in, msg.ID, err) == nil {
			r.outcome = OutcomeDeadLettered
			return r
		}
		fallthrough
	case err != nil:
		r.outcome, r.err = w.parkWebhook(ctx, in, msg.ID, err)
		return r
	case len(w.opts.Destinations) == 0:
		r.outcome = OutcomeReturned
		return r
	}
	d := delivery{msg: msg, receivedAt: in.receivedAt, traceID: in.traceID}
	r.outcome, r.err = w.settle(ctx, d, w.deliver(work, msg, w.opts.Destinations), nil, false)
	return r
}

// enqueueReserve is what inline processing leaves of ctx's deadline (the
// deadline minus the invocation's margin) for the enqueue: a second, or
// half of what is left for short function timeouts, so that a 1 s function
// still tries to deliver before it queues.
func enqueueReserve(ctx context.Context) time.Duration {
	dl, ok := ctx.Deadline()
	if !ok {
		return 0
	}
	return min(maxEnqueueReserve, max(time.Until(dl), 0)/2)
}

// reserve returns a context that ends reserve before ctx's deadline, or
// after budget (when positive), whichever comes first, so that what must
// run after the step, with ctx, keeps reserve.
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

// build turns a webhook into the message every destination gets: the
// participant looked up, the envelope encoded once and its size checked.
// With an error the message is not to be delivered (on a lookup failure
// its envelope has no participant).
func (w *Webhooks) build(ctx context.Context, src webhook.Source, receivedAt time.Time) (forward.Message, error) {
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

// checkSize is the one size check, on the encoded envelope (participant
// is its participant's size). An envelope that cannot fit even without
// its participant, with participantReserve for one, is refused (413)
// before acceptance; one that its participant makes too large is
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
// a call (a 404 gives participant null: the participant left or the
// conference ended).
func (w *Webhooks) lookup(ctx context.Context, env *webhook.Envelope, src webhook.Source) error {
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

// deliver sends m to dests under ctx and returns each one's outcome.
func (w *Webhooks) deliver(ctx context.Context, m forward.Message, dests []forward.Destination) []forward.Outcome {
	return forward.Deliver(ctx, dests, m, w.opts.Policy)
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
func (w *Webhooks) sort(ctx context.Context, d delivery, outcomes []forward.Outcome, missing []string) tally {
	var t tally
	batch := obs.InvocationFrom(ctx).Batch()
	for _, name := range missing {
		d.destinations = []string{name}
		if err := w.deadLetter(ctx, deadLetter(d.message(), "destination "+name+" is no longer configured"), d.msg.ConferenceSID); err != nil {
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
		d.destinations = []string{o.Destination}
		if err := w.deadLetter(ctx, deadLetter(d.message(), fmt.Sprintf("%s refused the event permanently: %v", o.Destination, o.Err)), d.msg.ConferenceSID); err != nil {
			w.app.log.ErrorContext(ctx, "dead-lettering a permanent failure failed; it goes to the retry queue", "event_id", d.msg.ID, "destination", o.Destination, "error", err.Error())
			t.fail(o.Destination, fmt.Errorf("forward to %s: %w", o.Destination, o.Err))
			continue
		}
		t.deadLettered = append(t.deadLettered, o.Destination)
		batch.AddDim(obs.MetricDeadLettered, obs.UnitCount, 1, "Destination", o.Destination)
		w.app.log.ErrorContext(ctx, "destination refused the event permanently; sent to the dead-letter queue", "event_id", d.msg.ID, "destination", o.Destination, "reason", o.Err.Error())
	}
	return t
}

// settle parks what a delivery left pending as a kindDeliver for exactly
// those destinations. mustProgress (the retry consumer re-running a
// kindDeliver) leaves the message itself to be retried when no destination
// made progress, so that SQS's receive count and redrive still bound the
// attempts. It returns an error when the event is neither settled nor parked.
func (w *Webhooks) settle(ctx context.Context, d delivery, outcomes []forward.Outcome, missing []string, mustProgress bool) (Outcome, error) {
	t := w.sort(ctx, d, outcomes, missing)
	if len(t.pending) == 0 {
		if len(t.deadLettered) > 0 {
			return OutcomeDeadLettered, nil
		}
		w.app.log.InfoContext(ctx, "webhook delivered", "event_id", d.msg.ID, "destinations", len(t.delivered))
		return OutcomeDelivered, nil
	}
	cause := errors.Join(t.errs...)
	if mustProgress && len(t.delivered)+len(t.deadLettered) == 0 {
		return "", fmt.Errorf("forwarding: %w", cause)
	}
	if w.opts.Retry == nil {
		return "", fmt.Errorf("forwarding failed and no retry queue is configured: %w", cause)
	}
	d.destinations = t.pending
	if err := w.park(ctx, d.message(), d.msg.ConferenceSID); err != nil {
		return "", fmt.Errorf("forwarding failed (%w) and enqueueing failed: %w", cause, err)
	}
	w.app.log.WarnContext(ctx, "webhook queued for retry", "event_id", d.msg.ID, "destinations", t.pending, "delivered", t.delivered, "error", cause.Error())
	return OutcomeQueued, nil
}

// parkWebhook parks a webhook whose envelope could not be built (cause).
func (w *Webhooks) parkWebhook(ctx context.Context, in inbound, id string, cause error) (Outcome, error) {
	if w.opts.Retry == nil {
		return "", fmt.Errorf("processing failed and no retry queue is configured: %w", cause)
	}
	if err := w.park(ctx, in.message(id), in.conferenceSID); err != nil {
		return "", fmt.Errorf("processing failed (%w) and enqueueing failed: %w", cause, err)
	}
	w.app.log.WarnContext(ctx, "webhook queued for retry", "event_id", id, "error", cause.Error())
	return OutcomeQueued, nil
}

// park puts m on the retry queue.
func (w *Webhooks) park(ctx context.Context, m retryMessage, conferenceSID string) error {
	if err := enqueue(ctx, w.opts.Retry, m, m.EventID, conferenceSID); err != nil {
		return err
	}
	obs.InvocationFrom(ctx).Batch().Add(obs.MetricEnqueued, obs.UnitCount, 1)
	return nil
}

// deadLetter puts r on the dead-letter queue at once.
func (w *Webhooks) deadLetter(ctx context.Context, r deadLetterRecord, conferenceSID string) error {
	if w.opts.DeadLetter == nil {
		return errors.New("no dead-letter queue is configured")
	}
	return enqueue(ctx, w.opts.DeadLetter, r, r.EventID, conferenceSID)
}

// deadLetterWebhook dead-letters a webhook no attempt can process.
func (w *Webhooks) deadLetterWebhook(ctx context.Context, in inbound, id string, cause error) error {
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
func enqueue(ctx context.Context, q Enqueuer, v any, id, conferenceSID string) error {
	b, err := encodeMessage(v)
	if err != nil {
		return err
	}
	return q.Enqueue(ctx, forward.Message{ID: id, ConferenceSID: obs.Truncate(conferenceSID, maxAttrBytes), Body: b})
}

// ProcessRetry handles one retry-queue message (the SQS trigger). A nil
// error deletes the message; an error leaves it for the next receive and,
// after MaxReceiveCount receives, SQS moves it to the dead-letter queue.
// The attempts end parkReserve before ctx's deadline, kept for parking
// what is left.
//   - A kindWebhook is built into its envelope and delivered; what is left
//     is parked as a kindDeliver carrying that envelope, so later copies of
//     the event are byte-identical.
//   - A kindDeliver sends its envelope to its destinations only; when some
//     made progress the rest is parked as a new, smaller kindDeliver.
//   - A destination's permanent failure goes to the dead-letter queue at
//     once, with the reason.
func (w *Webhooks) ProcessRetry(ctx context.Context, body string, receiveCount int) error {
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

func (w *Webhooks) retryWebhook(ctx context.Context, m retryMessage) error {
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
	work, cancel := reserve(ctx, 0, parkReserve)
	defer cancel()
	msg, err := w.build(work, src, in.receivedAt)
	var p Problem
	if errors.As(err, &p) || errors.Is(err, errEnvelopeTooLarge) {
		if w.deadLetterWebhook(ctx, in, msg.ID, err) == nil {
			return nil
		}
	}
	if err != nil || len(w.opts.Destinations) == 0 {
		return err
	}
	d := delivery{msg: msg, receivedAt: in.receivedAt, traceID: in.traceID}
	_, err = w.settle(ctx, d, w.deliver(work, msg, w.opts.Destinations), nil, false)
	return err
}

func (w *Webhooks) retryDeliver(ctx context.Context, m retryMessage) error {
	d := delivery{msg: forward.Message{ID: m.EventID, Type: m.EventType, ConferenceSID: m.ConferenceSID, Body: m.Envelope}, receivedAt: m.ReceivedAt, traceID: m.TraceID}
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
		outcomes = w.deliver(work, d.msg, dests)
	}
	_, err := w.settle(ctx, d, outcomes, missing, true)
	return err
}
