package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/signalwire-lambda/participants/internal/deadline"
	"github.com/signalwire-lambda/participants/internal/forward"
	"github.com/signalwire-lambda/participants/internal/obs"
	"github.com/signalwire-lambda/participants/internal/problem"
	"github.com/signalwire-lambda/participants/internal/signalwire"
	"github.com/signalwire-lambda/participants/internal/webhook"
)

// ParkReserve is the time kept before a deadline, after delivery attempts
// are cut, to park what is left on the retry queue or the dead-letter queue.
const ParkReserve = 500 * time.Millisecond

// errEnvelopeTooLarge marks an envelope (with its participant) that does
// not fit the destinations' message size: no attempt can deliver it.
var errEnvelopeTooLarge = errors.New("the envelope does not fit the destinations' 256 KiB message limit")

// check validates a parsed webhook before it is accepted: it is at most
// 64 KiB, the SIDs in the callback URL's query are SIDs, and its envelope
// and every message carrying it fit forward.MaxMessageBytes (with
// ParticipantReserve for the participant). Errors are problems (400, 413):
// what fails here can never be processed, so it is never parked.
func (w *Webhooks) check(job Job, src webhook.Source) error {
	if len(job.Form) > webhook.MaxBodyBytes || len(job.Body) > webhook.MaxBodyBytes {
		return problem.New(ProblemPayloadTooLarge, http.StatusRequestEntityTooLarge, fmt.Sprintf("webhook bodies are limited to %d bytes", webhook.MaxBodyBytes))
	}
	query, _ := url.ParseQuery(job.Query) // what does not parse is not used
	for _, v := range query["ConferenceSid"] {
		// Taken into the envelope when the callback has none: validated
		// like every SID, so that a bad one is a clear 400, not a retry loop.
		if err := signalwire.ValidateSID("ConferenceSid", v); err != nil {
			return err
		}
	}
	names := w.destinationNames()
	// A webhook far from the limit (nearly every one) surely fits: its
	// envelope is not built twice.
	if env, slack := envelopeBound(job); surelyFits(env, job, names, ParticipantReserve+slack) {
		return nil
	}
	env := webhook.NewEnvelope(src, job.ReceivedAt)
	body, err := EncodeEnvelope(env)
	if err != nil {
		return err
	}
	job.EventID, job.ConferenceSID = env.ID, src.ConferenceSID()
	sizes, err := messageSizes(body, job, names)
	if err != nil {
		return err
	}
	if sizes.largest+ParticipantReserve > forward.MaxMessageBytes {
		return problem.New(ProblemPayloadTooLarge, http.StatusRequestEntityTooLarge,
			fmt.Sprintf("the event built from this webhook would take %d bytes, over the %d bytes SQS and EventBridge accept", sizes.largest+ParticipantReserve, forward.MaxMessageBytes))
	}
	return nil
}

// parse parses and checks a stored or handed-over job.
func (w *Webhooks) parse(job Job) (webhook.Source, error) {
	if len(job.Form) > webhook.MaxBodyBytes || len(job.Body) > webhook.MaxBodyBytes {
		return webhook.Source{}, problem.New(ProblemPayloadTooLarge, http.StatusRequestEntityTooLarge, fmt.Sprintf("webhook bodies are limited to %d bytes", webhook.MaxBodyBytes))
	}
	src, err := job.source()
	if err != nil {
		return webhook.Source{}, BadRequest(err.Error())
	}
	if err := w.check(job, src); err != nil {
		return webhook.Source{}, err
	}
	return src, nil
}

func (w *Webhooks) destinationNames() []string {
	names := make([]string, len(w.opts.Destinations))
	for i, d := range w.opts.Destinations {
		names[i] = d.Name()
	}
	return names
}

// Accept checks a webhook handed over by a trusted caller (a direct
// invocation), processes it within the inline budget and, when that fails
// for a transient reason, parks it on the retry queue. A webhook that can
// never be processed (no AccountSid, not a status callback, bad encoding,
// over 64 KiB, an envelope over the size limit) is a problem error (400 or
// 413) and is not parked. Otherwise it returns an error only when the
// webhook is neither processed nor queued.
func (w *Webhooks) Accept(ctx context.Context, job Job) (webhook.Envelope, Outcome, error) {
	job = Job{Form: job.Form, Body: job.Body, ContentType: job.ContentType, Query: job.Query, ReceivedAt: job.ReceivedAt.UTC()}
	src, err := w.parse(job)
	if err != nil {
		return webhook.Envelope{}, "", err
	}
	return w.accept(ctx, job, src)
}

// accept processes a checked webhook inline and parks what is left.
func (w *Webhooks) accept(ctx context.Context, job Job, src webhook.Source) (webhook.Envelope, Outcome, error) {
	job.TraceID = obs.TraceID(ctx)
	inline, cancel := deadline.Reserve(ctx, w.opts.InlineBudget, enqueueReserve(ctx))
	defer cancel()
	env, body, err := w.build(inline, src, job.ReceivedAt)
	job.EventID = env.ID
	if err != nil {
		if errors.Is(err, errEnvelopeTooLarge) {
			if outcome, derr := w.deadLetterWebhook(ctx, job, err); derr == nil {
				return env, outcome, nil
			}
		}
		if w.opts.Retry == nil {
			return env, "", fmt.Errorf("processing failed and no retry queue is configured: %w", err)
		}
		if qerr := w.park(ctx, job); qerr != nil {
			return env, "", fmt.Errorf("processing failed (%w) and enqueueing failed: %w", err, qerr)
		}
		w.app.log.WarnContext(ctx, "webhook queued for retry", "event_id", env.ID, "error", err.Error())
		return env, OutcomeQueued, nil
	}
	if len(w.opts.Destinations) == 0 {
		return env, OutcomeReturned, nil
	}
	deliver := deliverJob(job, env, body, src)
	d := w.deliver(inline, ctx, deliver, w.opts.Destinations)
	outcome, err := w.settle(ctx, deliver, d, false)
	return env, outcome, err
}

// deliverJob is the JobDeliver of a built envelope, for every destination.
func deliverJob(job Job, env webhook.Envelope, body []byte, src webhook.Source) Job {
	return Job{Kind: JobDeliver, ReceivedAt: job.ReceivedAt, EventID: env.ID, TraceID: job.TraceID,
		EventType: env.Type, ConferenceSID: src.ConferenceSID(), Envelope: body}
}

// build turns a webhook into its envelope: it fetches the participant when
// the webhook names a conference and a call (a 404 gives participant null:
// the participant left or the conference ended) and encodes the envelope
// once; that encoding is what every destination and every retry carries.
func (w *Webhooks) build(ctx context.Context, src webhook.Source, receivedAt time.Time) (webhook.Envelope, []byte, error) {
	env := webhook.NewEnvelope(src, receivedAt)
	obs.InvocationFrom(ctx).SetSIDs(src.AccountSID(), src.ConferenceSID(), src.CallSID())
	env.ParticipantLookup = webhook.LookupSkipped
	if src.ConferenceSID() != "" && src.CallSID() != "" {
		ref := signalwire.ParticipantRef{AccountSID: src.AccountSID(), ConferenceSID: src.ConferenceSID(), CallSID: src.CallSID()}
		p, err := w.app.Participant(ctx, ref)
		var sidErr *signalwire.InvalidSIDError
		switch kind, _ := signalwire.KindOf(err); {
		case err == nil:
			env.ParticipantLookup = webhook.LookupFound
			if env.Participant, err = json.Marshal(p); err != nil {
				return env, nil, err
			}
		case errors.As(err, &sidErr):
			w.app.log.WarnContext(ctx, "webhook SIDs are not UUIDs; participant lookup skipped", "error", err.Error())
		case errors.Is(err, ErrForeignAccount):
			w.app.log.WarnContext(ctx, "webhook AccountSid is not the secret's project_id; participant lookup skipped")
		case kind == signalwire.KindNotFound:
			env.ParticipantLookup = webhook.LookupNotFound
		default:
			return env, nil, fmt.Errorf("fetching the participant: %w", err)
		}
	}
	body, err := EncodeEnvelope(env)
	if err != nil {
		return env, nil, err
	}
	sizeJob, names := Job{ReceivedAt: receivedAt, EventID: env.ID, ConferenceSID: src.ConferenceSID()}, w.destinationNames()
	if surelyFits(len(body), sizeJob, names, 0) {
		return env, body, nil
	}
	if sizes, err := messageSizes(body, sizeJob, names); err != nil || sizes.largest > forward.MaxMessageBytes {
		return env, nil, fmt.Errorf("%w: %d bytes with the participant", errEnvelopeTooLarge, sizes.largest)
	}
	return env, body, nil
}

// delivery is what one round of attempts did with an envelope.
type delivery struct {
	delivered    []string // accepted it
	deadLettered []string // refused it permanently; the copy is on the DLQ
	pending      []string // failed for now (or could not be dead-lettered)
	errs         []error
}

// deliver sends a JobDeliver's envelope to dests under ctx (the attempts'
// budget) and dead-letters each permanent failure at once under parkCtx.
func (w *Webhooks) deliver(ctx, parkCtx context.Context, job Job, dests []forward.Destination) delivery {
	var d delivery
	m, err := messageOf(job)
	if err != nil {
		for _, dest := range dests {
			d.pending = append(d.pending, dest.Name())
		}
		d.errs = append(d.errs, err)
		return d
	}
	res, _ := forward.Deliver(ctx, dests, m, w.opts.Policy)
	batch := obs.InvocationFrom(ctx).Batch()
	for _, o := range res.Outcomes {
		switch {
		case o.Err == nil:
			d.delivered = append(d.delivered, o.Destination)
			batch.AddDim(obs.MetricForwarded, obs.UnitCount, 1, "Destination", o.Destination)
		case forward.Permanent(o.Err):
			batch.AddDim(obs.MetricForwardFailures, obs.UnitCount, 1, "Destination", o.Destination)
			dl := job
			dl.Destinations = []string{o.Destination}
			dl.Reason = fmt.Sprintf("%s refused the event permanently: %v", o.Destination, o.Err)
			if err := w.deadLetter(parkCtx, dl); err != nil {
				w.app.log.ErrorContext(parkCtx, "dead-lettering a permanent failure failed; it goes to the retry queue", "event_id", job.EventID, "destination", o.Destination, "error", err.Error())
				d.pending = append(d.pending, o.Destination)
				d.errs = append(d.errs, fmt.Errorf("forward to %s: %w", o.Destination, o.Err))
				continue
			}
			d.deadLettered = append(d.deadLettered, o.Destination)
			batch.AddDim(obs.MetricDeadLettered, obs.UnitCount, 1, "Destination", o.Destination)
			w.app.log.ErrorContext(parkCtx, "destination refused the event permanently; sent to the dead-letter queue", "event_id", job.EventID, "destination", o.Destination, "reason", o.Err.Error())
		default:
			batch.AddDim(obs.MetricForwardFailures, obs.UnitCount, 1, "Destination", o.Destination)
			d.pending = append(d.pending, o.Destination)
			d.errs = append(d.errs, fmt.Errorf("forward to %s: %w", o.Destination, o.Err))
		}
	}
	return d
}

// settle parks what a delivery left pending as a JobDeliver for exactly
// those destinations. mustProgress (the retry consumer re-running a
// JobDeliver) leaves the message itself to be retried when no destination
// made progress, so that SQS's receive count and redrive still bound the
// attempts. It returns an error when the event is neither settled nor parked.
func (w *Webhooks) settle(ctx context.Context, job Job, d delivery, mustProgress bool) (Outcome, error) {
	if len(d.pending) == 0 {
		if len(d.deadLettered) > 0 {
			return OutcomeDeadLettered, nil
		}
		w.app.log.InfoContext(ctx, "webhook delivered", "event_id", job.EventID, "destinations", len(d.delivered))
		return OutcomeDelivered, nil
	}
	cause := errors.Join(d.errs...)
	if mustProgress && len(d.delivered)+len(d.deadLettered) == 0 {
		return "", fmt.Errorf("forwarding: %w", cause)
	}
	if w.opts.Retry == nil {
		return "", fmt.Errorf("forwarding failed and no retry queue is configured: %w", cause)
	}
	next := job
	next.Destinations, next.Reason = d.pending, ""
	if err := w.park(ctx, next); err != nil {
		return "", fmt.Errorf("forwarding failed (%w) and enqueueing failed: %w", cause, err)
	}
	w.app.log.WarnContext(ctx, "webhook queued for retry", "event_id", job.EventID, "destinations", next.Destinations, "delivered", d.delivered, "error", cause.Error())
	return OutcomeQueued, nil
}

// park puts a job on the retry queue.
func (w *Webhooks) park(ctx context.Context, job Job) error {
	b, err := encodeJob(job)
	if err != nil {
		return err
	}
	if err := w.opts.Retry.Enqueue(ctx, b, w.jobAttributes(job)); err != nil {
		return err
	}
	obs.InvocationFrom(ctx).Batch().Add(obs.MetricEnqueued, obs.UnitCount, 1)
	return nil
}

// deadLetter puts a job on the dead-letter queue at once.
func (w *Webhooks) deadLetter(ctx context.Context, job Job) error {
	if w.opts.DeadLetter == nil {
		return errors.New("no dead-letter queue is configured")
	}
	b, err := encodeJob(job)
	if err != nil {
		return err
	}
	return w.opts.DeadLetter.Enqueue(ctx, b, w.jobAttributes(job))
}

// deadLetterWebhook dead-letters a JobWebhook no attempt can process.
func (w *Webhooks) deadLetterWebhook(ctx context.Context, job Job, cause error) (Outcome, error) {
	job.Kind, job.Reason = JobWebhook, cause.Error()
	if err := w.deadLetter(ctx, job); err != nil {
		return "", err
	}
	obs.InvocationFrom(ctx).Batch().Add(obs.MetricDeadLettered, obs.UnitCount, 1)
	w.app.log.ErrorContext(ctx, "webhook cannot be processed; sent to the dead-letter queue", "event_id", job.EventID, "reason", cause.Error())
	return OutcomeDeadLettered, nil
}

func (w *Webhooks) jobAttributes(job Job) map[string]string {
	attrs := map[string]string{forward.AttributeEventID: job.EventID}
	if job.Kind == JobDeliver {
		attrs[forward.AttributeConferenceSID] = truncateAttr(job.ConferenceSID)
	} else if src, err := job.source(); err == nil {
		attrs[forward.AttributeConferenceSID] = truncateAttr(src.ConferenceSID())
	}
	return attrs
}

// ProcessRetry handles one retry-queue message (the SQS trigger). A nil
// error deletes the message; an error leaves it for the next receive and,
// after MaxReceiveCount receives, SQS moves it to the dead-letter queue.
// The work is bounded by ctx's deadline minus ParkReserve, which is kept
// for parking what is left.
//   - A JobWebhook is built into its envelope and delivered; what is left
//     is parked as a JobDeliver carrying that envelope, so later copies of
//     the event are byte-identical.
//   - A JobDeliver sends its envelope to its destinations only; when some
//     made progress the rest is parked as a new, smaller JobDeliver.
//   - A destination's permanent failure goes to the dead-letter queue at
//     once, with the reason.
func (w *Webhooks) ProcessRetry(ctx context.Context, body string, receiveCount int) error {
	job, err := decodeJob(body)
	if err != nil {
		w.deadLetterWarning(ctx, receiveCount, err.Error())
		return err
	}
	if job.Kind == JobUnverified {
		return w.processUnverified(ctx, *job.Unverified, receiveCount)
	}
	if job.TraceID != "" {
		ctx = obs.WithTraceID(ctx, job.TraceID)
	}
	work, cancel := w.workContext(ctx)
	defer cancel()
	if job.Kind == JobDeliver {
		err = w.retryDeliver(work, ctx, job)
	} else {
		err = w.retryWebhook(work, ctx, job)
	}
	if err != nil {
		w.deadLetterWarning(ctx, receiveCount, err.Error())
	}
	return err
}

// workContext bounds the delivery attempts by ctx's deadline minus ParkReserve.
func (w *Webhooks) workContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if dl, ok := ctx.Deadline(); ok {
		return context.WithDeadline(ctx, dl.Add(-ParkReserve))
	}
	return context.WithCancel(ctx)
}

func (w *Webhooks) retryWebhook(work, ctx context.Context, job Job) error {
	src, err := w.parse(job)
	if err != nil {
		// Cannot ever be processed: dead-letter it now rather than after
		// every receive.
		if _, derr := w.deadLetterWebhook(ctx, job, err); derr != nil {
			return fmt.Errorf("stored webhook: %w", err)
		}
		return nil
	}
	env, body, err := w.build(work, src, job.ReceivedAt)
	job.EventID = env.ID
	if err != nil {
		if errors.Is(err, errEnvelopeTooLarge) {
			if _, derr := w.deadLetterWebhook(ctx, job, err); derr == nil {
				return nil
			}
		}
		return err
	}
	if len(w.opts.Destinations) == 0 {
		return nil
	}
	deliver := deliverJob(job, env, body, src)
	_, err = w.settle(ctx, deliver, w.deliver(work, ctx, deliver, w.opts.Destinations), false)
	return err
}

func (w *Webhooks) retryDeliver(work, ctx context.Context, job Job) error {
	var dests []forward.Destination
	var d delivery
	for _, name := range slices.Compact(slices.Sorted(slices.Values(job.Destinations))) {
		i := slices.IndexFunc(w.opts.Destinations, func(d forward.Destination) bool { return d.Name() == name })
		if i < 0 {
			// Configuration changed since: nothing here can deliver it.
			dl := job
			dl.Destinations, dl.Reason = []string{name}, "destination "+name+" is no longer configured"
			if err := w.deadLetter(ctx, dl); err != nil {
				d.pending = append(d.pending, name)
				d.errs = append(d.errs, fmt.Errorf("destination %s is not configured", name))
			} else {
				d.deadLettered = append(d.deadLettered, name)
			}
			continue
		}
		dests = append(dests, w.opts.Destinations[i])
	}
	if len(dests) > 0 {
		got := w.deliver(work, ctx, job, dests)
		d.delivered = append(d.delivered, got.delivered...)
		d.deadLettered = append(d.deadLettered, got.deadLettered...)
		d.pending = append(d.pending, got.pending...)
		d.errs = append(d.errs, got.errs...)
	}
	_, err := w.settle(ctx, job, d, true)
	return err
}

func (w *Webhooks) deadLetterWarning(ctx context.Context, receiveCount int, reason string) {
	if receiveCount >= w.opts.MaxReceiveCount {
		obs.InvocationFrom(ctx).Batch().Add(obs.MetricDeadLettered, obs.UnitCount, 1)
		w.app.log.ErrorContext(ctx, "retry message failed its last receive; SQS moves it to the dead-letter queue", "receive_count", receiveCount, "reason", reason)
	}
}
