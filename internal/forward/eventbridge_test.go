package forward_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/smithy-go"

	"github.com/signalwire-lambda/participants/internal/forward"
)

func TestEventBridgeAgainstKumo(t *testing.T) {
	env := newKumo(t)
	ctx := t.Context()
	const bus = "forward-test-bus"
	const rule = "forward-test-participant-join"
	if _, err := env.eb.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String(bus)}); err != nil {
		t.Fatalf("CreateEventBus: %v", err)
	}
	// The rule a README reader would write; its target is an ARN kumo records
	// a delivery for without calling anything.
	pattern := `{"source":["` + forward.EventBridgeSource + `"],"detail-type":["` + forward.DetailTypeConference + `"],"detail":{"type":["participant-join"]}}`
	if _, err := env.eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String(rule), EventBusName: aws.String(bus), EventPattern: aws.String(pattern)}); err != nil {
		t.Fatalf("PutRule: %v", err)
	}
	if _, err := env.eb.PutTargets(ctx, &eventbridge.PutTargetsInput{
		Rule: aws.String(rule), EventBusName: aws.String(bus),
		Targets: []types.Target{{Id: aws.String("record"), Arn: aws.String("arn:aws:sns:us-east-1:000000000000:forward-test-topic")}},
	}); err != nil {
		t.Fatalf("PutTargets: %v", err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		_, _ = env.eb.RemoveTargets(ctx, &eventbridge.RemoveTargetsInput{Rule: aws.String(rule), EventBusName: aws.String(bus), Ids: []string{"record"}})
		_, _ = env.eb.DeleteRule(ctx, &eventbridge.DeleteRuleInput{Name: aws.String(rule), EventBusName: aws.String(bus)})
		_, _ = env.eb.DeleteEventBus(ctx, &eventbridge.DeleteEventBusInput{Name: aws.String(bus)})
	})

	dest := forward.NewEventBridge(env.eb, bus)
	if dest.Name() != "eventbridge" {
		t.Errorf("Name = %q", dest.Name())
	}
	m := testMessage()
	if err := dest.Send(ctx, m); err != nil {
		t.Fatalf("Send: %v", err)
	}

	calls := env.rec.calls("PutEvents")
	if len(calls) != 1 {
		t.Fatalf("recorded %d PutEvents calls, want 1", len(calls))
	}
	var req struct {
		Entries []map[string]json.RawMessage
	}
	if err := json.Unmarshal(calls[0].Request, &req); err != nil {
		t.Fatalf("decode PutEvents request %s: %v", calls[0].Request, err)
	}
	if len(req.Entries) != 1 {
		t.Fatalf("PutEvents has %d entries, want 1", len(req.Entries))
	}
	entry := req.Entries[0]
	wantStrings := map[string]string{
		"EventBusName": bus,
		"Source":       "signalwire.participants",
		"DetailType":   "SignalWire Conference Event",
		"Detail":       string(m.Body),
	}
	for field, want := range wantStrings {
		var got string
		if err := json.Unmarshal(entry[field], &got); err != nil || got != want {
			t.Errorf("entry %s = %s, want %q", field, entry[field], want)
		}
	}
	if _, ok := entry["Resources"]; ok {
		t.Errorf("entry has Resources %s, want none", entry["Resources"])
	}

	if calls[0].Status != http.StatusOK {
		t.Fatalf("kumo answered HTTP %d: %s", calls[0].Status, calls[0].Response)
	}
	var resp struct {
		FailedEntryCount int
		Entries          []struct{ EventId, ErrorCode string }
	}
	if err := json.Unmarshal(calls[0].Response, &resp); err != nil {
		t.Fatalf("decode PutEvents response %s: %v", calls[0].Response, err)
	}
	if resp.FailedEntryCount != 0 || len(resp.Entries) != 1 || resp.Entries[0].EventId == "" || resp.Entries[0].ErrorCode != "" {
		t.Fatalf("PutEvents response = %s, want one successful entry", calls[0].Response)
	}

	// kumo matched the README-style rule against the event.
	delivered := kumoDeliveredEvents(t, env)
	found := false
	for _, d := range delivered {
		if d.EventID == resp.Entries[0].EventId {
			found = true
			if d.RuleName != rule || d.EventBusName != bus || d.Source != forward.EventBridgeSource || d.DetailType != forward.DetailTypeConference || d.Detail != string(m.Body) {
				t.Errorf("delivered event = %+v", d)
			}
		}
	}
	if !found {
		t.Errorf("rule %s did not match the event; kumo delivered %+v", rule, delivered)
	}
}

// deliveredEvent is one entry of kumo's test-only delivery log.
type deliveredEvent struct {
	EventID      string `json:"EventId"`
	Source       string
	DetailType   string
	Detail       string
	EventBusName string
	RuleName     string
}

// kumoDeliveredEvents reads kumo's test-only log of rule-matched events.
func kumoDeliveredEvents(t *testing.T, env *kumoEnv) []deliveredEvent {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, env.srv.URL+"/kumo/eventbridge/delivered-events", nil)
	if err != nil {
		t.Fatalf("build request: %v", err)
	}
	resp, err := (&http.Client{Transport: env.rec}).Do(req)
	if err != nil {
		t.Fatalf("GET delivered-events: %v", err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read delivered-events: %v", err)
	}
	var events []deliveredEvent
	if err := json.Unmarshal(body, &events); err != nil {
		t.Fatalf("decode delivered-events %s: %v", body, err)
	}
	return events
}

// fakeEventBridge answers PutEvents with a canned output or error.
type fakeEventBridge struct {
	out   *eventbridge.PutEventsOutput
	err   error
	calls []*eventbridge.PutEventsInput
}

func (f *fakeEventBridge) PutEvents(_ context.Context, in *eventbridge.PutEventsInput, _ ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error) {
	f.calls = append(f.calls, in)
	return f.out, f.err
}

func TestEventBridgeFailedEntries(t *testing.T) {
	failed := func(code, msg string) *eventbridge.PutEventsOutput {
		return &eventbridge.PutEventsOutput{FailedEntryCount: 1, Entries: []types.PutEventsResultEntry{{ErrorCode: aws.String(code), ErrorMessage: aws.String(msg)}}}
	}
	cases := []struct {
		name      string
		out       *eventbridge.PutEventsOutput
		code      string
		retryable bool
	}{
		{"throttled", failed("ThrottlingException", "Rate exceeded"), "ThrottlingException", true},
		{"internal", failed("InternalException", "Internal error"), "InternalException", true},
		{"malformed", failed("MalformedDetail", "Detail is malformed"), "MalformedDetail", false},
		{"access denied", failed("AccessDeniedException", "not authorized"), "AccessDeniedException", false},
		{"count without entries", &eventbridge.PutEventsOutput{FailedEntryCount: 1}, "UnknownError", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fake := &fakeEventBridge{out: tc.out}
			dest := forward.NewEventBridge(fake, "arn:aws:events:us-east-1:123456789012:event-bus/participants")
			err := dest.Send(t.Context(), testMessage())
			var ee *forward.EntryError
			if !errors.As(err, &ee) || ee.Code != tc.code {
				t.Fatalf("Send = %v, want *EntryError %s", err, tc.code)
			}
			if got := forward.Retryable(err); got != tc.retryable {
				t.Errorf("Retryable(%v) = %v, want %v", err, got, tc.retryable)
			}
			if len(fake.calls) != 1 || aws.ToString(fake.calls[0].Entries[0].EventBusName) != "arn:aws:events:us-east-1:123456789012:event-bus/participants" {
				t.Errorf("PutEvents input = %+v", fake.calls)
			}
		})
	}
}

func TestEventBridgeClientError(t *testing.T) {
	fake := &fakeEventBridge{err: &smithy.OperationError{ServiceID: "EventBridge", OperationName: "PutEvents", Err: &smithy.GenericAPIError{Code: "ResourceNotFoundException", Message: "Event bus participants does not exist."}}}
	dest := forward.NewEventBridge(fake, "participants")
	err := dest.Send(t.Context(), testMessage())
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "ResourceNotFoundException" {
		t.Fatalf("Send = %v, want the API error wrapped", err)
	}
	if forward.Retryable(err) {
		t.Errorf("Retryable(%v) = true, want false", err)
	}
}
