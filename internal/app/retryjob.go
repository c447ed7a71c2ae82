package app

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/signalwire-lambda/participants/internal/forward"
	"github.com/signalwire-lambda/participants/internal/webhook"
)

// Job kinds (Job.Kind). A message without a kind is a JobWebhook (the
// format before version 2).
const (
	// JobWebhook is a verified webhook not yet turned into an envelope:
	// processing it fetches the participant, builds the envelope and
	// delivers it to every destination.
	JobWebhook = "webhook"
	// JobDeliver is a built envelope, byte for byte, and the destinations
	// that have not accepted it yet: processing it sends exactly that
	// envelope to exactly those destinations, so every copy of one event id
	// is the same and a destination that accepted it never gets it again.
	JobDeliver = "deliver"
	// JobUnverified is a webhook whose signature matched no known signing
	// key (Unverified): it is verified again on each receive and processed
	// only once it verifies (deferred.go).
	JobUnverified = "unverified"
)

// JobVersion is the version of the retry-queue message format written:
// 2 adds Version, Kind, FormBase64, Envelope, Destinations and Reason.
// Version 1 messages (a form, no kind) are still read.
const JobVersion = 2

// MaxReasonBytes caps Job.Reason (the cause of a dead-lettering).
const MaxReasonBytes = 1024

// Job is a verified webhook as it travels through the retry queue and the
// dead-letter queue, and the payload of a direct invocation
// ({"signalwire_webhook": Job}, where Form is given as text). The format
// is extensible: readers ignore fields they do not know, and Kind says
// what the message asks for.
type Job struct {
	// Version is JobVersion for messages this code writes (0: version 1).
	Version int `json:"v,omitempty"`
	// Kind is JobWebhook or JobDeliver ("" reads as JobWebhook).
	Kind string `json:"kind,omitempty"`
	// Form is a form callback's body as signed (form-encoded): the body
	// SignalWire sent, or, when the signature covered only some of its values
	// (see webhook.FormOrderings), those values re-encoded. The retry queue
	// carries it in FormBase64 instead, so that any byte survives exactly
	// and its size is bounded (4/3 of the form).
	Form string `json:"form,omitempty"`
	// FormBase64 is Form in standard base64 (retry-queue messages).
	FormBase64 string `json:"form_base64,omitempty"`
	// Body is the raw body of a callback of another media type
	// (ContentType), byte for byte; empty for form callbacks. The retry
	// queue carries it in BodyBase64 instead.
	Body string `json:"body,omitempty"`
	// BodyBase64 is Body in standard base64 (retry-queue messages).
	BodyBase64 string `json:"body_base64,omitempty"`
	// ContentType is Body's media type (webhook.JSONContentType); empty for
	// form callbacks.
	ContentType string `json:"content_type,omitempty"`
	// Query is the raw query string of the callback URL.
	Query string `json:"query,omitempty"`
	// ReceivedAt is when the function first accepted the webhook.
	ReceivedAt time.Time `json:"received_at"`
	// EventID is the envelope id (for FIFO deduplication and logs).
	EventID string `json:"event_id,omitempty"`
	// TraceID is the X-Ray trace of the invocation that accepted the
	// webhook, so a later delivery from the retry queue continues it.
	TraceID string `json:"trace_id,omitempty"`
	// EventType and ConferenceSID address the envelope (JobDeliver): the SQS
	// event_type attribute and the FIFO group.
	EventType     string `json:"event_type,omitempty"`
	ConferenceSID string `json:"conference_sid,omitempty"`
	// Envelope is the JSON envelope exactly as first sent (JobDeliver).
	Envelope json.RawMessage `json:"envelope,omitempty"`
	// Destinations names the destinations that have not accepted the
	// envelope (JobDeliver); a manual redrive sends to these only.
	Destinations []string `json:"destinations,omitempty"`
	// Reason says why the message was dead-lettered (DLQ messages only).
	Reason string `json:"reason,omitempty"`
	// Unverified is the webhook of a JobUnverified (nothing else is set).
	Unverified *UnverifiedWebhook `json:"unverified,omitempty"`
}

// encodeJob returns the retry-queue message body of job: version 2, the
// form in base64, the envelope embedded unchanged, valid for SQS.
func encodeJob(job Job) ([]byte, error) {
	job.Version = JobVersion
	if job.Kind == "" {
		job.Kind = JobWebhook
	}
	if job.Form != "" {
		job.FormBase64 = base64.StdEncoding.EncodeToString([]byte(job.Form))
		job.Form = ""
	}
	if job.Body != "" {
		job.BodyBase64 = base64.StdEncoding.EncodeToString([]byte(job.Body))
		job.Body = ""
	}
	if len(job.Reason) > MaxReasonBytes {
		cut := MaxReasonBytes
		for cut > 0 && !utf8.RuneStart(job.Reason[cut]) {
			cut--
		}
		job.Reason = job.Reason[:cut] + "…"
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // the envelope is embedded as it was sent
	if err := enc.Encode(job); err != nil {
		return nil, fmt.Errorf("encode retry message: %w", err)
	}
	return forward.CompactJSON(bytes.TrimSuffix(buf.Bytes(), []byte("\n"))), nil
}

// errMalformedJob marks a retry message that no attempt can process.
var errMalformedJob = errors.New("retry message is not a stored webhook")

// decodeJob reads a retry-queue message (version 1 or 2).
func decodeJob(body string) (Job, error) {
	var job Job
	if err := json.Unmarshal([]byte(body), &job); err != nil {
		return Job{}, fmt.Errorf("%w: %w", errMalformedJob, err)
	}
	if job.FormBase64 != "" {
		form, err := base64.StdEncoding.DecodeString(job.FormBase64)
		if err != nil {
			return Job{}, fmt.Errorf("%w: form_base64: %w", errMalformedJob, err)
		}
		job.Form = string(form)
	}
	if job.BodyBase64 != "" {
		b, err := base64.StdEncoding.DecodeString(job.BodyBase64)
		if err != nil {
			return Job{}, fmt.Errorf("%w: body_base64: %w", errMalformedJob, err)
		}
		job.Body = string(b)
	}
	if job.Kind == "" {
		job.Kind = JobWebhook
	}
	switch job.Kind {
	case JobWebhook:
		if job.Empty() {
			return Job{}, fmt.Errorf("%w: no form or body", errMalformedJob)
		}
	case JobDeliver:
		if len(job.Envelope) == 0 || job.EventID == "" || len(job.Destinations) == 0 {
			return Job{}, fmt.Errorf("%w: a deliver job needs envelope, event_id and destinations", errMalformedJob)
		}
	case JobUnverified:
		if job.Unverified == nil || len(job.Unverified.Body) == 0 {
			return Job{}, fmt.Errorf("%w: an unverified job needs its webhook", errMalformedJob)
		}
	default:
		return Job{}, fmt.Errorf("%w: unknown kind %q", errMalformedJob, job.Kind)
	}
	return job, nil
}

// envelopeHead is the top of an envelope.
type envelopeHead struct {
	ID   string `json:"id"`
	Type string `json:"type"`
}

// messageOf rebuilds the forward.Message of a JobDeliver: its body is the
// stored envelope, byte for byte.
func messageOf(job Job) (forward.Message, error) {
	var head envelopeHead
	if err := json.Unmarshal(job.Envelope, &head); err != nil {
		return forward.Message{}, fmt.Errorf("%w: envelope: %w", errMalformedJob, err)
	}
	if head.ID != job.EventID {
		return forward.Message{}, fmt.Errorf("%w: envelope id %q is not the job's %q", errMalformedJob, head.ID, job.EventID)
	}
	return forward.Message{ID: head.ID, Type: job.EventType, ConferenceSID: job.ConferenceSID, Body: job.Envelope}, nil
}

// EncodeEnvelope returns the JSON envelope every destination, the retry
// queue and the HTTP answer carry: compact, without HTML escapes, and with
// U+FFFE/U+FFFF escaped (SQS refuses them raw; the value is unchanged).
func EncodeEnvelope(env webhook.Envelope) ([]byte, error) {
	b, err := env.MarshalJSON()
	if err != nil {
		return nil, err
	}
	return forward.CompactJSON(b), nil
}

// sizeReport gives the sizes a webhook's envelope and messages reach.
type sizeReport struct {
	envelope, largest int
}

// ParticipantReserve is the room kept for the participant when a webhook is
// accepted: an envelope without participant larger than MaxMessageBytes
// minus this reserve (and the other fields of the largest message that
// carries it) is refused with 413 before acceptance. SignalWire's
// participants are under 1 KiB.
const ParticipantReserve = 16 << 10

// messageSizes returns the envelope size and the largest message that
// carries it (the SQS destination's, EventBridge's entry, the retry
// queue's JobDeliver and its dead-letter copy), plus the JobWebhook.
func messageSizes(body []byte, job Job, destinations []string) (sizeReport, error) {
	var head envelopeHead
	_ = json.Unmarshal(body, &head)
	r := sizeReport{envelope: len(body)}
	sqsDest := len(body) + sqsAttrSize(forward.AttributeEventID, head.ID) + sqsAttrSize(forward.AttributeEventType, head.Type)
	bus := len(body) + len(forward.EventBridgeSource) + len(forward.EventBridgeDetailType(head.Type)) + 14 // + Time
	deliver := job
	deliver.Kind, deliver.Form, deliver.Body, deliver.ContentType, deliver.Query, deliver.Envelope, deliver.Destinations = JobDeliver, "", "", "", "", body, destinations
	deliver.EventType = head.Type
	deliver.Reason = strings.Repeat("x", MaxReasonBytes+3)
	djob, err := encodeJob(deliver)
	if err != nil {
		return r, err
	}
	wjob, err := encodeJob(job)
	if err != nil {
		return r, err
	}
	attrs := sqsAttrSize(forward.AttributeEventID, head.ID) + sqsAttrSize(forward.AttributeConferenceSID, truncateAttr(job.ConferenceSID))
	r.largest = max(sqsDest, bus, len(djob)+attrs, len(wjob)+attrs)
	return r, nil
}

// surelyFits reports, without encoding anything, that every message
// carrying body (messageSizes' largest) takes at most
// forward.MaxMessageBytes-reserve. False means "maybe not": compute
// messageSizes. Nearly every webhook is far from the limit, and the exact
// encodings cost a quarter of a webhook's CPU.
func surelyFits(bodyLen int, job Job, destinations []string, reserve int) bool {
	bound, ok := largestMessageBound(bodyLen, job, destinations)
	return ok && bound+reserve <= forward.MaxMessageBytes
}

// envelopeBound bounds the envelope (without participant) built from job
// and the slack for the fields check() adds to the job (the event id and
// the conference SID): the envelope takes at most 6 bytes per byte of the
// form, body and query (a control character becomes \u0001) plus its
// fixed fields (TestLargestMessageBoundIsAnUpperBound checks it on the worst-case
// forms).
func envelopeBound(job Job) (envelope, slack int) {
	in := len(job.Form) + len(job.Body) + len(job.Query)
	return 8*in + 4<<10, 6 * (64 + in)
}

// largestMessageBound is a cheap upper bound of messageSizes' largest
// message: every byte of a string or of the envelope takes at most 6 bytes
// once JSON-escaped and made valid for SQS (\u00XX, \ufffd for an invalid
// byte, \uffff for a 3-byte character), base64 takes 4/3 (bounded by 2),
// and 2 KiB covers the keys, the punctuation, the time, the version and
// the attributes' names. ok is false for jobs it does not cover (an
// embedded envelope or an unverified webhook), which take the exact path.
func largestMessageBound(bodyLen int, job Job, destinations []string) (int, bool) {
	if len(job.Envelope) > 0 || job.Unverified != nil {
		return 0, false
	}
	text := bodyLen + MaxReasonBytes + 3 + len(job.Reason) + len(job.Kind) + len(job.ContentType) + len(job.Query) +
		len(job.EventID) + len(job.TraceID) + len(job.EventType) + len(job.ConferenceSID) + len(job.FormBase64) + len(job.BodyBase64)
	for _, d := range destinations {
		text += len(d) + 4
	}
	// The attributes carry the envelope's id and type (parts of body) and
	// the conference SID.
	return 2<<10 + 6*text + 2*(len(job.Form)+len(job.Body)) + 2*bodyLen + len(job.ConferenceSID), true
}

// sqsAttrSize is what one String message attribute counts towards the SQS
// message size: its name, its data type and its value.
func sqsAttrSize(name, value string) int {
	if value == "" {
		return 0
	}
	return len(name) + len("String") + len(value)
}

// maxAttrBytes caps the informational attributes of retry messages.
const maxAttrBytes = 256

// truncateAttr cuts an attribute value to maxAttrBytes (on a rune boundary).
func truncateAttr(s string) string {
	if len(s) <= maxAttrBytes {
		return s
	}
	cut := maxAttrBytes
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}
