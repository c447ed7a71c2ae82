package forward

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
)

// EventBridge event identity, which rules match on (docs/WEBHOOKS.md).
const (
	eventBridgeSource    = "signalwire.participants"
	detailTypeConference = "SignalWire Conference Event"
	detailTypeCall       = "SignalWire Call Event"
	detailTypeOther      = "SignalWire Event" // every other verified callback
)

// eventBridgeDetailType returns the DetailType of an event whose envelope
// type is eventType (Message.Type), chosen by the type's family so that a
// rule on detail-type never mistakes a call event for a conference one.
func eventBridgeDetailType(eventType string) string {
	switch {
	case strings.HasPrefix(eventType, "signalwire.conference."):
		return detailTypeConference
	case strings.HasPrefix(eventType, "signalwire.call."),
		strings.HasPrefix(eventType, "signalwire.calling.call."),
		strings.HasPrefix(eventType, "signalwire.swml.call."):
		return detailTypeCall
	}
	return detailTypeOther
}

// eventBridgeAPI is the part of the EventBridge client used.
type eventBridgeAPI interface {
	PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, optFns ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

type eventBridge struct {
	client eventBridgeAPI
	bus    string
}

// NewEventBridge returns a destination putting events on bus (a name or ARN).
func NewEventBridge(client eventBridgeAPI, bus string) Destination {
	return &eventBridge{client: client, bus: bus}
}

func (e *eventBridge) Name() string { return "eventbridge" }

// Send puts m as one event whose Detail is m.Body; a refused entry is an *entryError.
func (e *eventBridge) Send(ctx context.Context, m Message) error {
	if len(m.Body) == 0 {
		return errors.New("eventbridge destination: empty message body")
	}
	body := m.Body
	if !validSQSText(string(body)) {
		body = CompactJSON(body) // the same bytes the other destinations get
	}
	out, err := e.client.PutEvents(ctx, &eventbridge.PutEventsInput{
		Entries: []types.PutEventsRequestEntry{{
			EventBusName: aws.String(e.bus),
			Source:       aws.String(eventBridgeSource),
			DetailType:   aws.String(eventBridgeDetailType(m.Type)),
			Detail:       aws.String(string(body)),
		}},
	})
	if err != nil {
		return fmt.Errorf("eventbridge destination: put event on %s: %w", e.bus, &serviceAnswer{err})
	}
	for _, entry := range out.Entries {
		if code := aws.ToString(entry.ErrorCode); code != "" {
			return fmt.Errorf("eventbridge destination: put event on %s: %w", e.bus,
				&entryError{Code: code, Message: aws.ToString(entry.ErrorMessage)})
		}
	}
	if out.FailedEntryCount > 0 {
		return fmt.Errorf("eventbridge destination: put event on %s: %w", e.bus,
			&entryError{Code: "UnknownError", Message: fmt.Sprintf("%d entries failed without an error code", out.FailedEntryCount)})
	}
	return nil
}
