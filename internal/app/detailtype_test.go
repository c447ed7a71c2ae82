package app

import (
	"context"
	"net/url"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/signalwire-lambda/participants/internal/forward"
)

// capturingBus records the entries PutEvents receives.
type capturingBus struct {
	entries []ebtypes.PutEventsRequestEntry
}

func (b *capturingBus) PutEvents(_ context.Context, in *eventbridge.PutEventsInput, _ ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error) {
	b.entries = append(b.entries, in.Entries...)
	return &eventbridge.PutEventsOutput{Entries: make([]ebtypes.PutEventsResultEntry, len(in.Entries))}, nil
}

// TestEventBridgeDetailTypePerFamily: each envelope family reaches the bus
// with its own DetailType (docs/WEBHOOKS.md's destinations table): a conference
// callback is a "SignalWire Conference Event"; a call status callback and a
// JSON call-state callback (RELAY or SWML) are "SignalWire Call Event"s; a
// JSON callback of unknown shape is a "SignalWire Event". The message types
// come from the real webhook handler, so a renamed envelope type breaks this.
func TestEventBridgeDetailTypePerFamily(t *testing.T) {
	callStatus := url.Values{"AccountSid": {acct}, "CallSid": {call}, "CallStatus": {"completed"},
		"Timestamp": {"Thu, 26 Nov 2026 10:15:00 +0000"}}
	swml := `{"call":{"call_id":"` + call + `","node_id":"n","segment_id":"s","call_state":"created","direction":"inbound","type":"phone","from":"+1555","to":"+1666","project_id":"` + acct + `","space_id":"sp"},"vars":{}}`
	for _, tc := range []struct {
		name string
		req  Request
		want string
	}{
		{"conference", signedPost(joinForm(call), "PSK_key"), "SignalWire Conference Event"},
		{"call status", signedPost(callStatus, "PSK_key"), "SignalWire Call Event"},
		{"calling.call.state", jsonPost(callStateBody, "", "PSK_key"), "SignalWire Call Event"},
		{"calling.call.state bodySHA256", bodySHA256Post(callStateBody, "PSK_key"), "SignalWire Call Event"},
		{"swml", jsonPost(swml, "", "PSK_key"), "SignalWire Call Event"},
		{"unknown JSON", jsonPost(`{"event_type":"calling.call.receive","params":{"call_id":"x"}}`, "", "PSK_key"), "SignalWire Event"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newHooks(t, nil)
			r := f.routes.Handle(f.ctx(), tc.req)
			if outcomeOf(t, r) != "delivered" || len(f.dest.msgs) != 1 {
				t.Fatalf("%s, %d messages", r.Body, len(f.dest.msgs))
			}
			bus := &capturingBus{}
			dest := forward.NewEventBridge(bus, "b")
			m := f.dest.msgs[0]
			if err := dest.Send(t.Context(), m); err != nil {
				t.Fatal(err)
			}
			if len(bus.entries) != 1 {
				t.Fatalf("%d entries", len(bus.entries))
			}
			if got := aws.ToString(bus.entries[0].DetailType); got != tc.want {
				t.Errorf("type %s: DetailType %q, want %q", m.Type, got, tc.want)
			}
			if got := aws.ToString(bus.entries[0].Source); got != "signalwire.participants" {
				t.Errorf("Source %q", got)
			}
		})
	}
}
