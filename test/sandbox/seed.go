package sandbox

import "maps"

// Public sandbox credentials. They are NOT secrets: they are fixed, published
// values that only open the local sandbox, so the demo, the events/ files and
// the tests can all refer to them.
const (
	// ProjectID is the sandbox project (the Compatibility API's AccountSid and
	// the Basic auth username).
	ProjectID = "5a3e1c2b-7d4f-4e8a-9b6c-0d1e2f3a4b5c"
	// APIToken is the sandbox API token (the Basic auth password).
	APIToken = "PTsandbox0f1e2d3c4b5a69788796a5b4c3d2e1f0"
	// SigningKey is the sandbox project's Signing Key, used to sign webhooks
	// (X-SignalWire-Signature).
	SigningKey = "PSK_sandboxWebhookSigningKey0123456789"
	// ForwardSigningSecret is the Standard Webhooks secret for the HTTPS
	// destination: "whsec_" and the base64 of 32 bytes.
	ForwardSigningSecret = "whsec_c2FuZGJveC1mb3J3YXJkLXNpZ25pbmctc2VjcmV0ISE="
)

// Seeded conference SIDs.
const (
	// ConferenceStandup holds CallAlice, CallBob, CallCarol and CallDave.
	ConferenceStandup = "cf000001-5a4d-4b0c-9a11-000000000001"
	// ConferenceSupport holds a coaching pair (CallCoach coaches CallAgent)
	// and CallCustomer, which carries the extra fields label and queue_time.
	ConferenceSupport = "cf000001-5a4d-4b0c-9a11-000000000002"
	// ConferenceTownHall holds CallErin (unknown status "on-stage") and
	// CallFrank (status "completed").
	ConferenceTownHall = "cf000001-5a4d-4b0c-9a11-000000000003"
)

// Seeded call (participant) SIDs.
const (
	// CallAlice is in ConferenceStandup: status in-progress, the moderator
	// (start_conference_on_enter and end_conference_on_exit true).
	CallAlice = "ca110001-5a4d-4b0c-9a11-000000000001"
	// CallBob is in ConferenceStandup: status connected, muted.
	CallBob = "ca110001-5a4d-4b0c-9a11-000000000002"
	// CallCarol is in ConferenceStandup: status in-progress, on hold.
	CallCarol = "ca110001-5a4d-4b0c-9a11-000000000003"
	// CallDave is in ConferenceStandup: status ringing; its dates use the
	// four-letter month abbreviation "Sept".
	CallDave = "ca110001-5a4d-4b0c-9a11-000000000004"
	// CallAgent is in ConferenceSupport: status in-progress, coached by CallCoach.
	CallAgent = "ca110001-5a4d-4b0c-9a11-000000000005"
	// CallCoach is in ConferenceSupport: coaching=true, call_sid_to_coach=CallAgent.
	CallCoach = "ca110001-5a4d-4b0c-9a11-000000000006"
	// CallCustomer is in ConferenceSupport: carries the extra (Twilio) fields
	// label="customer" and queue_time="1500".
	CallCustomer = "ca110001-5a4d-4b0c-9a11-000000000007"
	// CallErin is in ConferenceTownHall with the unknown status "on-stage".
	CallErin = "ca110001-5a4d-4b0c-9a11-000000000008"
	// CallFrank is in ConferenceTownHall with status "completed".
	CallFrank = "ca110001-5a4d-4b0c-9a11-000000000009"
	// CallGone is a well-formed call SID that is in no conference: a
	// participant that already left (Retrieve answers 404), e.g. for a
	// participant-leave event in ConferenceStandup.
	CallGone = "ca110001-5a4d-4b0c-9a11-0000000000ff"
)

// Participant is one conference participant as the sandbox stores it. The
// account and conference SIDs and the uri are derived when rendering.
type Participant struct {
	CallSid string
	// CallSidToCoach is the call this participant coaches; empty renders as null.
	CallSidToCoach         string
	Coaching               bool
	Status                 string
	Muted                  bool
	Hold                   bool
	EndConferenceOnExit    bool
	StartConferenceOnEnter bool
	// DateCreated and DateUpdated are rendered verbatim (RFC 2822 in
	// SignalWire's answers, sometimes with a four-letter month). Empty
	// values are set to the current time when the participant is added.
	DateCreated string
	DateUpdated string
	// Extra holds undocumented fields rendered after the 13 documented ones
	// (SignalWire's examples are not strict), e.g. label and queue_time. A
	// documented name replaces that field's value as rendered (a sloppy
	// value such as "muted": "TRUE"); the list's filters still use Muted
	// and Hold.
	Extra map[string]any
}

// Conference is one seeded conference and its current participants.
type Conference struct {
	Sid          string
	FriendlyName string
	Participants []Participant
}

// Seed returns the default conferences the sandbox starts with. Each call
// returns a fresh deep copy, safe to modify.
func Seed() []Conference {
	const (
		created = "Mon, 24 Sep 2018 21:00:00 +0000"
		updated = "Mon, 24 Sep 2018 21:05:00 +0000"
	)
	return []Conference{
		{
			Sid:          ConferenceStandup,
			FriendlyName: "daily-standup",
			Participants: []Participant{
				{CallSid: CallAlice, Status: "in-progress", EndConferenceOnExit: true, StartConferenceOnEnter: true, DateCreated: created, DateUpdated: updated},
				{CallSid: CallBob, Status: "connected", Muted: true, StartConferenceOnEnter: true, DateCreated: created, DateUpdated: updated},
				{CallSid: CallCarol, Status: "in-progress", Hold: true, StartConferenceOnEnter: true, DateCreated: created, DateUpdated: updated},
				{CallSid: CallDave, Status: "ringing", StartConferenceOnEnter: true, DateCreated: "Mon, 24 Sept 2018 21:02:00 +0000", DateUpdated: "Mon, 24 Sept 2018 21:02:30 +0000"},
			},
		},
		{
			Sid:          ConferenceSupport,
			FriendlyName: "support-queue",
			Participants: []Participant{
				{CallSid: CallAgent, Status: "in-progress", StartConferenceOnEnter: true, DateCreated: "Tue, 25 Sep 2018 09:30:00 +0000", DateUpdated: "Tue, 25 Sep 2018 09:30:00 +0000"},
				{CallSid: CallCoach, Status: "in-progress", Coaching: true, CallSidToCoach: CallAgent, StartConferenceOnEnter: true, DateCreated: "Tue, 25 Sep 2018 09:31:00 +0000", DateUpdated: "Tue, 25 Sep 2018 09:31:00 +0000"},
				{CallSid: CallCustomer, Status: "in-progress", StartConferenceOnEnter: true, EndConferenceOnExit: true, DateCreated: "Tue, 25 Sep 2018 09:29:58 +0000", DateUpdated: "Tue, 25 Sep 2018 09:30:00 +0000",
					Extra: map[string]any{"label": "customer", "queue_time": "1500"}},
			},
		},
		{
			Sid:          ConferenceTownHall,
			FriendlyName: "town-hall",
			Participants: []Participant{
				{CallSid: CallErin, Status: "on-stage", StartConferenceOnEnter: true, DateCreated: "Wed, 26 Sep 2018 17:00:00 +0000", DateUpdated: "Wed, 26 Sep 2018 17:10:00 +0000"},
				{CallSid: CallFrank, Status: "completed", DateCreated: "Wed, 26 Sep 2018 17:00:05 +0000", DateUpdated: "Wed, 26 Sep 2018 17:45:00 +0000"},
			},
		},
	}
}

// clone returns a deep copy of p.
func (p Participant) clone() Participant {
	p.Extra = maps.Clone(p.Extra)
	return p
}
