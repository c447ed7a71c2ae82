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

// The wire formats of a webhook (testdata pins the queues'); readers
// ignore unknown fields.

// DirectWebhook is a direct invocation's {"signalwire_webhook":{...}}: a form
// callback, or a JSON Body (byte for byte) and ContentType, and the raw Query.
type DirectWebhook struct {
	Form        string    `json:"form,omitempty"`
	Body        string    `json:"body,omitempty"`
	ContentType string    `json:"content_type,omitempty"`
	Query       string    `json:"query,omitempty"`
	ReceivedAt  time.Time `json:"received_at"` // zero: now
}

// Kinds of retry message; a message without one (version 1) is kindWebhook.
const (
	kindWebhook = "webhook" // a verified callback, as signed, not yet built
	// kindDeliver is a built envelope, byte for byte, and the destinations
	// that have not accepted it: every copy of one event id is the same.
	kindDeliver = "deliver"
)

// messageVersion is the retry-queue format written; version 1 is still read.
const messageVersion = 2

const maxReasonBytes = 1024 // a dead-letter record's reason

// retryMessage is a retry-queue message. A version 1 message carries its
// form in Form; version 2 in FormBase64 (any byte exactly).
type retryMessage struct {
	Version       int             `json:"v,omitempty"`
	Kind          string          `json:"kind,omitempty"`
	Form          string          `json:"form,omitempty"`
	FormBase64    string          `json:"form_base64,omitempty"`
	BodyBase64    string          `json:"body_base64,omitempty"`
	ContentType   string          `json:"content_type,omitempty"`
	Query         string          `json:"query,omitempty"`
	ReceivedAt    time.Time       `json:"received_at"`
	EventID       string          `json:"event_id,omitempty"`
	TraceID       string          `json:"trace_id,omitempty"`
	EventType     string          `json:"event_type,omitempty"`
	ConferenceSID string          `json:"conference_sid,omitempty"`
	Envelope      json.RawMessage `json:"envelope,omitempty"`
	Destinations  []string        `json:"destinations,omitempty"`

	form, body []byte // decoded by decodeRetry
}

// deadLetterRecord is a retry message and why it could not be delivered;
// redriven to the retry queue, it is processed as that message.
type deadLetterRecord struct {
	retryMessage
	Reason string `json:"reason,omitempty"`
}

// errMalformedMessage marks a retry message that no attempt can process.
var errMalformedMessage = errors.New("retry message is not a stored webhook")

// decodeRetry reads a retry-queue message.
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

// encodeMessage returns an envelope or a queue message as it is sent:
// compact, without HTML escapes (a message embeds the envelope as it was
// sent), U+FFFE/U+FFFF escaped (SQS refuses them raw).
func encodeMessage(v any) ([]byte, error) {
	var b []byte
	var err error
	if env, ok := v.(webhook.Envelope); ok {
		b, err = env.MarshalJSON() // valid JSON: no second pass through encoding/json
	} else {
		b, err = EncodeJSON(v)
	}
	if err != nil {
		return nil, fmt.Errorf("encoding %T: %w", v, err)
	}
	return forward.CompactJSON(b), nil
}

// inbound is a callback as signed, as first received.
type inbound struct {
	body          []byte // the form as signed, or the JSON body
	contentType   string
	isJSON        bool
	form          url.Values // body parsed; nil until source
	query         string     // the callback URL's raw query
	receivedAt    time.Time
	traceID       string
	conferenceSID string // set by source: the retry messages' FIFO group
}

// storedInbound is a direct invocation's or retry message's callback and source.
func storedInbound(form, body []byte, contentType, query string, receivedAt time.Time, traceID string) (inbound, webhook.Source, error) {
	in := inbound{query: query, receivedAt: receivedAt.UTC(), traceID: traceID}
	switch {
	case len(form) > 0 && len(body) == 0:
		in.body, in.contentType = form, webhook.FormContentType
	case len(form) == 0 && len(body) > 0 && contentType == webhook.JSONContentType:
		in.body, in.contentType, in.isJSON = body, contentType, true
	default:
		return in, webhook.Source{}, BadRequest("stored webhook: want a form, or a body with content type " + webhook.JSONContentType)
	}
	src, err := in.source()
	return in, src, err
}

// source parses in by its media type and checks it: what fails here can
// never be processed, so it is never parked.
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
		// Taken into the envelope when the callback has none: a bad one is a
		// clear 400, not a retry loop.
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

// deliverMessage is the kindDeliver retry message of msg, without Destinations.
func deliverMessage(msg forward.Message, receivedAt time.Time, traceID string) retryMessage {
	return retryMessage{Version: messageVersion, Kind: kindDeliver, ReceivedAt: receivedAt, EventID: msg.ID, TraceID: traceID,
		EventType: msg.Type, ConferenceSID: msg.ConferenceSID, Envelope: msg.Body}
}

// deadLetter is the record of m dead-lettered for reason.
func deadLetter(m retryMessage, reason string) deadLetterRecord {
	return deadLetterRecord{retryMessage: m, Reason: clip(reason, maxReasonBytes)}
}
