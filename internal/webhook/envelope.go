package webhook

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"slices"
	"strconv"
	"time"
)

// typePrefix starts every envelope type.
const typePrefix = "signalwire."

// Values of Envelope.ParticipantLookup; Participant is null unless found.
const (
	LookupFound    = "found"
	LookupNotFound = "not_found" // SignalWire answered 404: the participant left or the conference ended
	LookupSkipped  = "skipped"   // no conference and call to look up
)

// Envelope is the event delivered downstream, schema v1. Its times are UTC.
type Envelope struct {
	SchemaVersion int    `json:"schema_version"` // always 1
	ID            string `json:"id"`             // the same for a duplicate delivery (see formEventID)
	// Type is "signalwire.conference.participant-join",
	// "signalwire.call.completed", "signalwire.calling.call.state.answered"...
	Type       string    `json:"type"`
	OccurredAt time.Time `json:"occurred_at"` // the webhook's time, else ReceivedAt
	ReceivedAt time.Time `json:"received_at"` // when the function received it
	// Account and Call: AccountSid and CallSid, or project_id and call_id.
	Account           string          `json:"account,omitempty"`
	Call              string          `json:"call,omitempty"`
	Source            Source          `json:"source"`
	ParticipantLookup string          `json:"participant_lookup"` // LookupFound...
	Participant       json.RawMessage `json:"participant"`        // participant.v1 JSON when found, else empty (null)
}

// NewEnvelope builds the envelope of a webhook received at receivedAt, its
// lookup LookupSkipped until the caller records the outcome.
func NewEnvelope(src Source, receivedAt time.Time) Envelope {
	receivedAt = receivedAt.UTC()
	occurredAt := receivedAt
	if src.hasTime {
		occurredAt = src.occurred
	}
	return Envelope{
		SchemaVersion:     1,
		ID:                src.id,
		Type:              src.typ,
		OccurredAt:        occurredAt,
		ReceivedAt:        receivedAt,
		Account:           src.account,
		Call:              src.call,
		Source:            src,
		ParticipantLookup: LookupSkipped,
	}
}

// formEventID is a form callback's event id: "evt_" + the first 128 bits (hex)
// of a SHA-256 over what the signature covered but the host and path (which
// differ between candidate URLs), length-prefixed: the form, then the query.
// A retry has the same id; callbacks differing in anything signed do not.
func formEventID(form, query url.Values) string {
	in := newIDInput("form")
	in.pairs(form, "")
	in.pairs(query, "")
	return in.id()
}

// jsonEventID is as formEventID, over the raw body and the query without
// bodySHA256 (derived from the body).
func jsonEventID(rawBody []byte, query url.Values) string {
	in := newIDInput("json")
	in.field(string(rawBody))
	in.pairs(query, schemeBodySHA256)
	return in.id()
}

// idInput is the byte string an event id hashes.
type idInput []byte

func newIDInput(kind string) idInput {
	in := make(idInput, 0, 512)
	in.field("signalwire-webhook-v2")
	in.field(kind)
	return in
}

// field appends s length-prefixed.
func (in *idInput) field(s string) {
	*in = append(binary.AppendUvarint(*in, uint64(len(s))), s...)
}

// pairs appends the names (but skip) in byte order, each with its values, all
// counted.
func (in *idInput) pairs(v url.Values, skip string) {
	names := make([]string, 0, len(v))
	for name := range v {
		if skip == "" || name != skip {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	in.field(strconv.Itoa(len(names)))
	for _, name := range names {
		in.field(name)
		in.field(strconv.Itoa(len(v[name])))
		for _, value := range v[name] {
			in.field(value)
		}
	}
}

func (in idInput) id() string {
	sum := sha256.Sum256(in)
	return "evt_" + hex.EncodeToString(sum[:16])
}

// MarshalJSON writes the bytes json.Marshal would (times in UTC, an empty
// Participant as null) without its reflection and its second pass over the
// source and the participant, which are valid JSON already: it only adds
// the HTML escapes.
func (e Envelope) MarshalJSON() ([]byte, error) {
	occurred, err := e.OccurredAt.UTC().MarshalJSON()
	if err != nil {
		return nil, err // a time outside years 0-9999; callers name the envelope
	}
	received, err := e.ReceivedAt.UTC().MarshalJSON()
	if err != nil {
		return nil, err
	}
	w := newJSONWriter(1024 + len(e.Source.payload) + len(e.Participant))
	w.buf.WriteString(`{"schema_version":`)
	w.buf.WriteString(strconv.Itoa(e.SchemaVersion))
	w.buf.WriteString(`,"id":`)
	w.str(e.ID)
	w.buf.WriteString(`,"type":`)
	w.str(e.Type)
	w.buf.WriteString(`,"occurred_at":`)
	w.buf.Write(occurred)
	w.buf.WriteString(`,"received_at":`)
	w.buf.Write(received)
	if e.Account != "" {
		w.buf.WriteString(`,"account":`)
		w.str(e.Account)
	}
	if e.Call != "" {
		w.buf.WriteString(`,"call":`)
		w.str(e.Call)
	}
	w.buf.WriteString(`,"source":`)
	if e.Source.payload == nil {
		err = e.Source.writeFields(w) // escaped already
	} else {
		json.HTMLEscape(&w.buf, e.Source.payload)
	}
	if err != nil {
		return nil, err
	}
	w.buf.WriteString(`,"participant_lookup":`)
	w.str(e.ParticipantLookup)
	w.buf.WriteString(`,"participant":`)
	if len(e.Participant) == 0 {
		w.buf.WriteString("null")
	} else {
		json.HTMLEscape(&w.buf, e.Participant)
	}
	w.buf.WriteByte('}')
	return w.buf.Bytes(), nil
}
