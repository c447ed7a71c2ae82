// Package participant defines the normalized conference participant
// (schema version 1) and converts SignalWire's answer into it.
package participant

import (
	"encoding/json"
	"maps"
	"time"

	"github.com/signalwire-lambda/participants/internal/signalwire"
)

// schemaVersion is the version of the normalized participant JSON; the
// schema is schema/participant.v1.schema.json.
const schemaVersion = 1

// Participant is the normalized participant. Every documented field is
// always present in its JSON; nil pointers marshal as null.
type Participant struct {
	SchemaVersion          int     `json:"schema_version"`
	AccountSID             *string `json:"account_sid"`
	ConferenceSID          *string `json:"conference_sid"`
	CallSID                *string `json:"call_sid"`
	CallSIDToCoach         *string `json:"call_sid_to_coach"`
	Coaching               *bool   `json:"coaching"`
	Status                 *string `json:"status"` // as SignalWire sent it, known value or not
	Muted                  *bool   `json:"muted"`
	Hold                   *bool   `json:"hold"`
	EndConferenceOnExit    *bool   `json:"end_conference_on_exit"`
	StartConferenceOnEnter *bool   `json:"start_conference_on_enter"`
	DateCreated            *string `json:"date_created"`
	DateUpdated            *string `json:"date_updated"`
	URI                    *string `json:"uri"`
	// Extra carries fields SignalWire sent that schema v1 does not define.
	Extra map[string]json.RawMessage `json:"extra"`
	// Unparsed carries documented fields whose value could not be converted, as sent.
	Unparsed map[string]json.RawMessage `json:"unparsed"`
}

// Normalize converts SignalWire's leniently decoded participant into schema
// v1: dates become RFC 3339 UTC, everything else is carried as given. It
// never fails; what cannot be converted lands in Unparsed.
func Normalize(p *signalwire.Participant) Participant {
	out := Participant{
		SchemaVersion:          schemaVersion,
		AccountSID:             p.AccountSID,
		ConferenceSID:          p.ConferenceSID,
		CallSID:                p.CallSID,
		CallSIDToCoach:         p.CallSIDToCoach,
		Coaching:               p.Coaching,
		Status:                 p.Status,
		Muted:                  p.Muted,
		Hold:                   p.Hold,
		EndConferenceOnExit:    p.EndConferenceOnExit,
		StartConferenceOnEnter: p.StartConferenceOnEnter,
		URI:                    p.URI,
		Extra:                  map[string]json.RawMessage{},
		Unparsed:               map[string]json.RawMessage{},
	}
	maps.Copy(out.Extra, p.Extra)
	maps.Copy(out.Unparsed, p.Invalid)
	out.DateCreated = out.date("date_created", p.DateCreated)
	out.DateUpdated = out.date("date_updated", p.DateUpdated)
	return out
}

func (out *Participant) date(field string, raw *string) *string {
	if raw == nil {
		return nil
	}
	t, err := ParseDate(*raw)
	if err != nil {
		b, _ := json.Marshal(*raw)
		out.Unparsed[field] = b
		return nil
	}
	s := t.Format(time.RFC3339)
	return &s
}
