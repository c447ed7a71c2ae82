package webhook

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"time"
)

// typePrefix starts every envelope type.
const typePrefix = "signalwire."

// Values of Envelope.ParticipantLookup.
const (
	// LookupFound: the participant was read; Participant holds it.
	LookupFound = "found"
	// LookupNotFound: SignalWire answered 404 (the participant left or the
	// conference ended); Participant is null.
	LookupNotFound = "not_found"
	// LookupSkipped: there was no conference and call to look up (or the
	// caller chose not to); Participant is null.
	LookupSkipped = "skipped"
)

// Envelope is the event delivered downstream, schema v1. Its times are UTC.
type Envelope struct {
	SchemaVersion int    `json:"schema_version"` // always 1
	ID            string `json:"id"`             // the same for a duplicate delivery (see formEventID)
	// Type is, for example, "signalwire.conference.participant-join",
	// "signalwire.call.completed" or, for JSON callbacks,
	// "signalwire.calling.call.state.answered" (see ParseJSON).
	Type       string    `json:"type"`
	OccurredAt time.Time `json:"occurred_at"` // the webhook's time, else ReceivedAt
	ReceivedAt time.Time `json:"received_at"` // when the function received it
	// Account and Call are AccountSid and CallSid, or a JSON callback's
	// project_id and call_id; omitted when the callback names none.
	Account string `json:"account,omitempty"`
	Call    string `json:"call,omitempty"`
	Source  Source `json:"source"`
	// ParticipantLookup is LookupFound, LookupNotFound or LookupSkipped;
	// Participant is the participant.v1 JSON when found, else empty (null).
	ParticipantLookup string          `json:"participant_lookup"`
	Participant       json.RawMessage `json:"participant"`
}

// NewEnvelope builds the envelope of a normalized webhook received at
// receivedAt, with ParticipantLookup set to LookupSkipped and no participant;
// the caller records the lookup's outcome.
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

// formEventID is the event id of a form callback: "evt_" + 32 lowercase hex
// digits, the first 128 bits of a SHA-256 over everything the signature
// covered except the host and path (which differ between the URLs a webhook
// may be verified against), in an unambiguous encoding: every name and value
// length-prefixed, names sorted in byte order, each name's values in the
// order signed, then the callback URL's query the same way. So a retry of one
// callback (the same signed parameters) has the same id, and callbacks that
// differ in anything signed have different ids; byte-identical callbacks
// cannot be told apart.
func formEventID(form, query url.Values) string {
	in := newIDInput("form")
	in.pairs(form, "")
	in.pairs(query, "")
	return in.id()
}

// jsonEventID is the id of a JSON callback: as formEventID's, over the raw
// body, byte for byte, and the query without bodySHA256 (derived from the
// body).
func jsonEventID(rawBody []byte, query url.Values) string {
	in := newIDInput("json")
	in.field(string(rawBody))
	in.pairs(query, bodyHashParam)
	return in.id()
}

// idInput is the byte string an event id hashes (one buffer: no allocation
// per field).
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

// pairs appends the number of names, then each name (byte order) with the
// number of its values and the values in order; skip is left out.
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

// MarshalJSON encodes the envelope with its times in UTC (RFC 3339) and an
// empty Participant as null: the bytes json.Marshal gives, without its
// second pass over the source and the participant (JSON that json.Marshal,
// or for a JSON callback json.Compact, wrote; only the HTML escapes
// json.Marshal would add are added).
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
		return nil, fmt.Errorf("marshal envelope: %w", err)
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
		b.Write(src) // json.Marshal's, escapes included
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
