package webhook

import (
	"bytes"
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
// Participant as null) without its second pass over the source and the
// participant, which are valid JSON already: it only adds the HTML escapes.
func (e Envelope) MarshalJSON() ([]byte, error) {
	src, err := e.Source.MarshalJSON()
	if err != nil {
		return nil, err
	}
	head, err := json.Marshal(struct {
		SchemaVersion int       `json:"schema_version"`
		ID            string    `json:"id"`
		Type          string    `json:"type"`
		OccurredAt    time.Time `json:"occurred_at"`
		ReceivedAt    time.Time `json:"received_at"`
		Account       string    `json:"account,omitempty"`
		Call          string    `json:"call,omitempty"`
	}{e.SchemaVersion, e.ID, e.Type, e.OccurredAt.UTC(), e.ReceivedAt.UTC(), e.Account, e.Call})
	if err != nil {
		return nil, err // a time outside years 0-9999; callers name the envelope
	}
	lookup, _ := json.Marshal(e.ParticipantLookup)
	participant := []byte(e.Participant)
	if len(participant) == 0 {
		participant = []byte("null")
	}
	b := bytes.NewBuffer(make([]byte, 0, len(head)+len(src)+len(lookup)+len(participant)+48))
	b.Write(head[:len(head)-1])
	b.WriteString(`,"source":`)
	if e.Source.payload == nil {
		b.Write(src) // escaped already
	} else {
		json.HTMLEscape(b, src)
	}
	b.WriteString(`,"participant_lookup":`)
	b.Write(lookup)
	b.WriteString(`,"participant":`)
	json.HTMLEscape(b, participant)
	b.WriteByte('}')
	return b.Bytes(), nil
}
