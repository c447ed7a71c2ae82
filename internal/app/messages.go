package app

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/signalwire-lambda/participants/internal/forward"
	"github.com/signalwire-lambda/participants/internal/signalwire"
	"github.com/signalwire-lambda/participants/internal/webhook"
)

// The wire formats of a webhook: DirectWebhook (handed over by a direct
// invocation), retryMessage (the retry queue) and deadLetterRecord (the
// dead-letter queue). Readers ignore fields they do not know.

// DirectWebhook is the webhook of a direct invocation,
// {"signalwire_webhook":{...}}: a form callback, or a JSON one.
type DirectWebhook struct {
	// Form is a form callback's body, form-encoded.
	Form string `json:"form,omitempty"`
	// Body is a JSON callback's body, byte for byte, of ContentType
	// (webhook.JSONContentType).
	Body        string `json:"body,omitempty"`
	ContentType string `json:"content_type,omitempty"`
	// Query is the raw query string of the callback URL.
	Query string `json:"query,omitempty"`
	// ReceivedAt is when the webhook was received (zero: now).
	ReceivedAt time.Time `json:"received_at"`
}

// Kinds of retry message. A message without a kind is kindWebhook (the
// format before version 2).
const (
	// kindWebhook is a verified callback, as signed, not yet turned into an
	// envelope: processing it builds the envelope and delivers it to every
	// destination.
	kindWebhook = "webhook"
	// kindDeliver is a built envelope, byte for byte, and the destinations
	// that have not accepted it yet: every copy of one event id is the same
	// and a destination that accepted it never gets it again.
	kindDeliver = "deliver"
)

// messageVersion is the version of the retry-queue format written: 2 adds
// v, kind, form_base64, envelope, destinations and reason. Version 1
// messages (a form, no kind) are still read.
const messageVersion = 2

// maxReasonBytes caps a dead-letter record's reason.
const maxReasonBytes = 1024

// retryMessage is a retry-queue message.
type retryMessage struct {
	Version int    `json:"v,omitempty"`
	Kind    string `json:"kind,omitempty"`
	// Form is a version 1 message's form; version 2 carries it (any byte
	// exactly, 4/3 of its size) in FormBase64.
	Form       string `json:"form,omitempty"`
	FormBase64 string `json:"form_base64,omitempty"`
	// BodyBase64 is a JSON callback's body, of ContentType.
	BodyBase64  string    `json:"body_base64,omitempty"`
	ContentType string    `json:"content_type,omitempty"`
	Query       string    `json:"query,omitempty"`
	ReceivedAt  time.Time `json:"received_at"`
	EventID     string    `json:"event_id,omitempty"`
	// TraceID is the X-Ray trace of the invocation that accepted the
	// webhook, so a later delivery continues it.
	TraceID string `json:"trace_id,omitempty"`
	// EventType, ConferenceSID, Envelope and Destinations make a
	// kindDeliver: the envelope's type and FIFO group, the envelope as
	// first sent, and where it still has to go.
	EventType     string          `json:"event_type,omitempty"`
	ConferenceSID string          `json:"conference_sid,omitempty"`
	Envelope      json.RawMessage `json:"envelope,omitempty"`
	Destinations  []string        `json:"destinations,omitempty"`

	form, body []byte // decoded by decodeRetry
}

// deadLetterRecord is a dead-letter-queue message: the retry message that
// could not be delivered, and why. Moved back to the retry queue (a manual
// redrive), it is processed as that retry message.
type deadLetterRecord struct {
	retryMessage
	Reason string `json:"reason,omitempty"`
}

// errMalformedMessage marks a retry message that no attempt can process.
var errMalformedMessage = errors.New("retry message is not a stored webhook")

// decodeRetry reads a retry-queue message (version 1 or 2).
func decodeRetry(body string) (retryMessage, error) {
	var m retryMessage
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		return m, fmt.Errorf("%w: %w", errMalformedMessage, err)
	}
	m.form = []byte(m.Form)
	var err error
	if m.FormBase64 != "" {
		if m.form, err = base64.StdEncoding.DecodeString(m.FormBase64); err != nil {
			return m, fmt.Errorf("%w: form_base64: %w", errMalformedMessage, err)
		}
	}
	if m.body, err = base64.StdEncoding.DecodeString(m.BodyBase64); err != nil {
		return m, fmt.Errorf("%w: body_base64: %w", errMalformedMessage, err)
	}
	switch m.Kind {
	case kindWebhook, "":
		if len(m.form) == 0 && len(m.body) == 0 {
			return m, fmt.Errorf("%w: no form or body", errMalformedMessage)
		}
	case kindDeliver:
		if len(m.Envelope) == 0 || m.EventID == "" || len(m.Destinations) == 0 {
			return m, fmt.Errorf("%w: a deliver job needs envelope, event_id and destinations", errMalformedMessage)
		}
	default:
		return m, fmt.Errorf("%w: unknown kind %q", errMalformedMessage, m.Kind)
	}
	return m, nil
}

// encodeMessage returns a queue message's body: compact, without HTML
// escapes (the envelope is embedded as it was sent), valid for SQS.
func encodeMessage(v any) ([]byte, error) {
	b, err := EncodeJSON(v)
	if err != nil {
		return nil, fmt.Errorf("encode retry message: %w", err)
	}
	return forward.CompactJSON(b), nil
}

// encodeEnvelope returns the JSON envelope every destination, the retry
// queue and the HTTP answer carry: compact, without HTML escapes, and with
// U+FFFE/U+FFFF escaped (SQS refuses them raw; the value is unchanged).
func encodeEnvelope(env webhook.Envelope) ([]byte, error) {
	b, err := env.MarshalJSON()
	if err != nil {
		return nil, err
	}
	return forward.CompactJSON(b), nil
}

// inbound is a callback as signed, and when and in which trace it was
// first received.
type inbound struct {
	body        []byte // the form as signed, or the JSON body
	contentType string
	isJSON      bool
	form        url.Values // body parsed; nil until source
	query       string     // the callback URL's raw query
	receivedAt  time.Time
	traceID     string
	// conferenceSID is the parsed callback's (set by source): the retry
	// messages' FIFO group.
	conferenceSID string
}

// storedInbound is the callback a direct invocation or a retry message
// carries: a form, or a JSON body.
func storedInbound(form, body []byte, contentType, query string, receivedAt time.Time, traceID string) (inbound, error) {
	in := inbound{query: query, receivedAt: receivedAt.UTC(), traceID: traceID}
	switch {
	case len(form) > 0 && len(body) == 0:
		in.body, in.contentType = form, webhook.FormContentType
	case len(form) == 0 && len(body) > 0 && contentType == webhook.JSONContentType:
		in.body, in.contentType, in.isJSON = body, contentType, true
	default:
		return in, BadRequest("stored webhook: want a form, or a body with content type " + webhook.JSONContentType)
	}
	return in, nil
}

// source parses in by its media type and checks it: at most 64 KiB, the
// SIDs in the callback URL's query are SIDs. What fails here can never be
// processed (a 400 or 413 problem, or an invalid SID), so it is never parked.
func (in *inbound) source() (webhook.Source, error) {
	if len(in.body) > webhook.MaxBodyBytes {
		return webhook.Source{}, bodyTooLarge()
	}
	query, _ := url.ParseQuery(in.query) // a bad query string only loses the optional ConferenceSid
	var src webhook.Source
	var err error
	if in.isJSON {
		if src, err = webhook.ParseJSON(in.body, query); err != nil {
			return src, BadRequest("the body is not well-formed JSON: " + err.Error())
		}
	} else {
		if in.form == nil {
			if in.form, err = webhook.ParseForm(in.body); err != nil {
				return src, BadRequest("the body is not valid form encoding")
			}
		}
		if src, err = webhook.Normalize(in.form, query); err != nil {
			return src, BadRequest("not a usable status callback: " + err.Error())
		}
	}
	for _, v := range query["ConferenceSid"] {
		// Taken into the envelope when the callback has none: validated
		// like every SID, so that a bad one is a clear 400, not a retry loop.
		if err := signalwire.ValidateSID("ConferenceSid", v); err != nil {
			return src, err
		}
	}
	in.conferenceSID = src.ConferenceSID()
	return src, nil
}

// message is the kindWebhook retry message of in, whose event id is id.
func (in inbound) message(id string) retryMessage {
	m := retryMessage{Version: messageVersion, Kind: kindWebhook, Query: in.query, ReceivedAt: in.receivedAt, EventID: id, TraceID: in.traceID}
	if in.isJSON {
		m.BodyBase64, m.ContentType = base64.StdEncoding.EncodeToString(in.body), webhook.JSONContentType
	} else {
		m.FormBase64 = base64.StdEncoding.EncodeToString(in.body)
	}
	return m
}

// delivery is a built envelope on its way: the message every destination
// gets, and the destinations that have not accepted it yet.
type delivery struct {
	msg          forward.Message
	receivedAt   time.Time
	traceID      string
	destinations []string
}

// message is d's kindDeliver retry message.
func (d delivery) message() retryMessage {
	return retryMessage{Version: messageVersion, Kind: kindDeliver, ReceivedAt: d.receivedAt, EventID: d.msg.ID, TraceID: d.traceID,
		EventType: d.msg.Type, ConferenceSID: d.msg.ConferenceSID, Envelope: d.msg.Body, Destinations: d.destinations}
}

// deadLetter is the record of m dead-lettered for reason.
func deadLetter(m retryMessage, reason string) deadLetterRecord {
	return deadLetterRecord{retryMessage: m, Reason: clip(reason, maxReasonBytes)}
}
