package webhook

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// SchemaVersion is the version of the envelope (schema/envelope.v1.schema.json).
const SchemaVersion = 1

// EnvelopeSchemaID is the $id of the envelope's JSON Schema.
const EnvelopeSchemaID = "https://github.com/signalwire-lambda/participants/schema/envelope.v1.schema.json"

// TypePrefix starts every envelope type: TypePrefix + kind + "." + event name.
const TypePrefix = "signalwire."

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

// Envelope is the event delivered downstream, schema v1.
type Envelope struct {
	// SchemaVersion is always 1.
	SchemaVersion int `json:"schema_version"`
	// ID identifies the webhook; a duplicate delivery has the same ID (see EventID).
	ID string `json:"id"`
	// Type is, for example, "signalwire.conference.participant-join" or
	// "signalwire.call.completed".
	Type string `json:"type"`
	// OccurredAt is the webhook's Timestamp, else ReceivedAt. UTC.
	OccurredAt time.Time `json:"occurred_at"`
	// ReceivedAt is when the function received the webhook. UTC.
	ReceivedAt time.Time `json:"received_at"`
	// Source is the webhook's parameters, normalized.
	Source Source `json:"source"`
	// ParticipantLookup is LookupFound, LookupNotFound or LookupSkipped.
	ParticipantLookup string `json:"participant_lookup"`
	// Participant is the normalized participant (participant.v1 JSON), or
	// empty, which marshals as null.
	Participant json.RawMessage `json:"participant"`
}

// NewEnvelope builds the envelope of a normalized webhook received at
// receivedAt, with ParticipantLookup set to LookupSkipped and no participant;
// the caller records the lookup's outcome.
func NewEnvelope(src Source, receivedAt time.Time) Envelope {
	receivedAt = receivedAt.UTC()
	occurredAt, ok := src.Timestamp()
	if !ok {
		occurredAt = receivedAt
	}
	return Envelope{
		SchemaVersion:     SchemaVersion,
		ID:                EventID(src),
		Type:              EventType(src),
		OccurredAt:        occurredAt,
		ReceivedAt:        receivedAt,
		Source:            src,
		ParticipantLookup: LookupSkipped,
	}
}

// EventType returns TypePrefix + kind + "." + event name, the event name
// lowercased with characters other than [a-z0-9._-] replaced by '-' ("unknown"
// for a missing kind or event).
func EventType(src Source) string {
	kind, event := src.Kind(), src.EventName()
	if kind == "" {
		kind = "unknown"
	}
	event = strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
			return r
		case r >= 'A' && r <= 'Z':
			return r + ('a' - 'A')
		}
		return '-'
	}, event)
	if event == "" {
		event = "unknown"
	}
	return TypePrefix + kind + "." + event
}

// EventID returns the webhook's deterministic id, "evt_" + 32 lowercase hex
// digits: a hash of the account, conference, call, kind, event name and the
// sequence number, or when there is none, the timestamp (its UTC form when it
// parsed, else the text sent). A duplicate delivery of a webhook has the same
// id; webhooks that differ in any of these have different ids. Webhooks with
// neither a sequence number nor a timestamp are told apart only by the rest.
func EventID(src Source) string {
	h := sha256.New()
	field := func(s string) {
		h.Write(binary.AppendUvarint(nil, uint64(len(s))))
		h.Write([]byte(s))
	}
	field("signalwire-webhook-v1")
	field(src.AccountSID())
	field(src.ConferenceSID())
	field(src.CallSID())
	field(src.Kind())
	field(src.EventName())
	raw := func(tag string, v any) {
		field(tag)
		switch v := v.(type) {
		case string:
			field(v)
		case []string:
			field(strconv.Itoa(len(v)))
			for _, s := range v {
				field(s)
			}
		}
	}
	switch {
	case src.SequenceNumber() != nil:
		field("seq")
		field(strconv.FormatInt(*src.SequenceNumber(), 10))
	case src.unparsed["sequence_number"] != nil:
		raw("seq-text", src.unparsed["sequence_number"])
	case src.str("timestamp") != "":
		field("ts")
		field(src.str("timestamp"))
	case src.unparsed["timestamp"] != nil:
		raw("ts-text", src.unparsed["timestamp"])
	default:
		field("none")
	}
	sum := h.Sum(nil)
	return "evt_" + hex.EncodeToString(sum[:16])
}

// MarshalJSON encodes the envelope with its times in UTC (RFC 3339) and an
// empty Participant as null.
func (e Envelope) MarshalJSON() ([]byte, error) {
	type plain Envelope // no methods: no recursion
	p := plain(e)
	p.OccurredAt = p.OccurredAt.UTC()
	p.ReceivedAt = p.ReceivedAt.UTC()
	if len(p.Participant) == 0 {
		p.Participant = json.RawMessage("null")
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("marshal envelope: %w", err)
	}
	return b, nil
}
