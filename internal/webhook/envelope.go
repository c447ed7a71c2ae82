package webhook

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"maps"
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
	h := newIDHash("form")
	idPairs(h, form, "")
	idPairs(h, query, "")
	return idSum(h)
}

// jsonEventID is the id of a JSON callback: as formEventID's, over the raw
// body, byte for byte, and the query without bodySHA256 (derived from the
// body).
func jsonEventID(rawBody []byte, query url.Values) string {
	h := newIDHash("json")
	idField(h, string(rawBody))
	idPairs(h, query, bodyHashParam)
	return idSum(h)
}

func newIDHash(kind string) hash.Hash {
	h := sha256.New()
	idField(h, "signalwire-webhook-v2")
	idField(h, kind)
	return h
}

// idField writes s length-prefixed.
func idField(h hash.Hash, s string) {
	h.Write(binary.AppendUvarint(nil, uint64(len(s))))
	h.Write([]byte(s))
}

// idPairs writes the number of names, then each name (byte order) with the
// number of its values and the values in order; skip is left out.
func idPairs(h hash.Hash, v url.Values, skip string) {
	names := slices.DeleteFunc(slices.Sorted(maps.Keys(v)), func(name string) bool { return skip != "" && name == skip })
	idField(h, strconv.Itoa(len(names)))
	for _, name := range names {
		idField(h, name)
		idField(h, strconv.Itoa(len(v[name])))
		for _, value := range v[name] {
			idField(h, value)
		}
	}
}

func idSum(h hash.Hash) string { return "evt_" + hex.EncodeToString(h.Sum(nil)[:16]) }

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
