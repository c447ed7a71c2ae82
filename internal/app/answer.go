package app

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/signalwire-lambda/participants/internal/signalwire"
)

// Bounds on SignalWire's answer for one participant (a real one is under
// 2 KiB): beyond them it is an upstream error, as it would make the read
// route's answer exceed Lambda's 6 MB (JSON escaping multiplies some bytes
// sixfold) and the envelope exceed what destinations accept.
const (
	maxParticipantFieldBytes = 8 << 10  // one field's value, as sent
	maxParticipantBytes      = 64 << 10 // every field's name and value
)

// checkParticipantAnswer rejects an answer that cannot be the participant
// asked for (empty, another's, absurdly large) as a KindBadResponse: a 502,
// and a webhook's lookup fails and is retried rather than delivering a
// wrong participant as "found".
func checkParticipantAnswer(ref signalwire.ParticipantRef, p *signalwire.Participant) error {
	bad := func(format string, a ...any) error {
		return &signalwire.APIError{Kind: signalwire.KindBadResponse, StatusCode: 200, Attempts: 1, Err: fmt.Errorf(format, a...)}
	}
	if p == nil {
		return bad("no participant in the answer")
	}
	total := 0
	for _, f := range []struct {
		name string
		v    *string
	}{
		{"account_sid", p.AccountSID}, {"conference_sid", p.ConferenceSID}, {"call_sid", p.CallSID},
		{"call_sid_to_coach", p.CallSIDToCoach}, {"status", p.Status}, {"date_created", p.DateCreated},
		{"date_updated", p.DateUpdated}, {"uri", p.URI},
	} {
		if f.v == nil {
			continue
		}
		if len(*f.v) > maxParticipantFieldBytes {
			return bad("the answer's %s is %d bytes (limit %d)", f.name, len(*f.v), maxParticipantFieldBytes)
		}
		total += len(f.name) + len(*f.v)
	}
	for _, m := range []map[string]json.RawMessage{p.Extra, p.Invalid} {
		for k, v := range m {
			if len(k) > maxParticipantFieldBytes || len(v) > maxParticipantFieldBytes {
				return bad("the answer's field %s is %d bytes (limit %d)", quoteShort(k), len(k)+len(v), maxParticipantFieldBytes)
			}
			total += len(k) + len(v)
		}
	}
	if total > maxParticipantBytes {
		return bad("the answer's fields total %d bytes (limit %d)", total, maxParticipantBytes)
	}
	for _, f := range []struct {
		name, want string
		got        *string
	}{
		{"account_sid", ref.AccountSID, p.AccountSID},
		{"conference_sid", ref.ConferenceSID, p.ConferenceSID},
		{"call_sid", ref.CallSID, p.CallSID},
	} {
		switch {
		case f.got == nil:
			return bad("the answer has no %s: not the participant requested", f.name)
		case !strings.EqualFold(*f.got, f.want):
			return bad("the answer's %s is %s, not the one requested", f.name, quoteShort(*f.got))
		}
	}
	return nil
}

// quoteShort quotes an upstream value for an error message, cut to 64 bytes.
func quoteShort(s string) string {
	return strconv.Quote(clip(s, 64))
}
