package forward

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// SQS message attribute names. SQS sets event_id and event_type on every
// forwarded event; Queue.Enqueue reads event_id and conference_sid.
const (
	// AttributeEventID carries Message.ID.
	AttributeEventID = "event_id"
	// AttributeEventType carries Message.Type.
	AttributeEventType = "event_type"
	// AttributeConferenceSID, when given to Queue.Enqueue, is the FIFO
	// MessageGroupId of the parked webhook.
	AttributeConferenceSID = "conference_sid"
)

// DefaultMessageGroupID is the FIFO MessageGroupId used when a message has no
// conference SID.
const DefaultMessageGroupID = "signalwire-participants"

// maxFIFOIDLength is the longest MessageDeduplicationId / MessageGroupId SQS accepts.
const maxFIFOIDLength = 128

// SQSAPI is the part of the SQS client this package uses.
type SQSAPI interface {
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
}

// SQS delivers events to an SQS queue; FIFO when the URL ends in ".fifo".
type SQS struct {
	client   SQSAPI
	queueURL string
	fifo     bool
}

// NewSQS returns a destination sending events to queueURL.
func NewSQS(client SQSAPI, queueURL string) (*SQS, error) {
	if err := validateQueue(client, queueURL); err != nil {
		return nil, fmt.Errorf("sqs destination: %w", err)
	}
	return &SQS{client: client, queueURL: queueURL, fifo: isFIFO(queueURL)}, nil
}

// Name returns "sqs".
func (s *SQS) Name() string { return "sqs" }

// Send sends m.Body as one message with the event_id and event_type
// attributes. On a FIFO queue the deduplication id derives from m.ID and the
// group id from m.ConferenceSID (DefaultMessageGroupID when empty).
func (s *SQS) Send(ctx context.Context, m Message) error {
	attrs := map[string]string{AttributeEventID: m.ID, AttributeEventType: m.Type}
	if err := sendMessage(ctx, s.client, s.queueURL, s.fifo, m.Body, attrs, m.ID, m.ConferenceSID); err != nil {
		return fmt.Errorf("sqs destination: %w", err)
	}
	return nil
}

// Queue is the retry queue, where webhooks that failed processing are parked.
type Queue struct {
	client   SQSAPI
	queueURL string
	fifo     bool
}

// NewQueue returns the retry queue at queueURL; FIFO when it ends in ".fifo".
func NewQueue(client SQSAPI, queueURL string) (*Queue, error) {
	if err := validateQueue(client, queueURL); err != nil {
		return nil, fmt.Errorf("retry queue: %w", err)
	}
	return &Queue{client: client, queueURL: queueURL, fifo: isFIFO(queueURL)}, nil
}

// Enqueue sends body to the retry queue with attrs as String message
// attributes (empty values are skipped). On a FIFO queue the deduplication id
// derives from attrs["event_id"] and the body's SHA-256 (the body's hash
// alone without an event id): one event is parked
// several times with different bodies (the webhook, then the copy still
// owed to some destinations), and the event id alone made SQS drop the
// later ones as duplicates; the group id from attrs["conference_sid"]
// (DefaultMessageGroupID when absent).
func (q *Queue) Enqueue(ctx context.Context, body []byte, attrs map[string]string) error {
	dedup := ""
	if id := attrs[AttributeEventID]; id != "" {
		sum := sha256.Sum256(body)
		dedup = id + "/" + hex.EncodeToString(sum[:])
	}
	if err := sendMessage(ctx, q.client, q.queueURL, q.fifo, body, attrs, dedup, attrs[AttributeConferenceSID]); err != nil {
		return fmt.Errorf("retry queue: %w", err)
	}
	return nil
}

// validateQueue checks constructor arguments shared by SQS and Queue.
func validateQueue(client SQSAPI, queueURL string) error {
	if client == nil {
		return errors.New("nil client")
	}
	if queueURL == "" {
		return errors.New("empty queue URL")
	}
	return nil
}

// isFIFO reports whether a queue URL names a FIFO queue.
func isFIFO(queueURL string) bool { return strings.HasSuffix(queueURL, ".fifo") }

// sendMessage sends one message, adding FIFO ids when the queue is FIFO.
func sendMessage(ctx context.Context, client SQSAPI, queueURL string, fifo bool, body []byte, attrs map[string]string, dedupSource, groupSource string) error {
	if len(body) == 0 {
		return errors.New("empty message body")
	}
	if !ValidSQSText(string(body)) {
		// Bodies are JSON: escape what SQS refuses (e.g. U+FFFF) without
		// changing the value.
		body = CompactJSON(body)
	}
	in := &sqs.SendMessageInput{
		QueueUrl:    aws.String(queueURL),
		MessageBody: aws.String(string(body)),
	}
	for name, value := range attrs {
		if value == "" {
			continue
		}
		if in.MessageAttributes == nil {
			in.MessageAttributes = make(map[string]types.MessageAttributeValue, len(attrs))
		}
		in.MessageAttributes[name] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(SafeAttribute(value))}
	}
	if fifo {
		dedup := FIFOID(dedupSource)
		if dedup == "" {
			sum := sha256.Sum256(body)
			dedup = hex.EncodeToString(sum[:])
		}
		group := FIFOID(groupSource)
		if group == "" {
			group = DefaultMessageGroupID
		}
		in.MessageDeduplicationId = aws.String(dedup)
		in.MessageGroupId = aws.String(group)
	}
	if _, err := client.SendMessage(ctx, in); err != nil {
		return fmt.Errorf("send message to %s: %w", queueURL, &serviceAnswer{err})
	}
	return nil
}

// FIFOID turns s into a valid SQS MessageDeduplicationId / MessageGroupId:
// s itself when it is at most 128 printable ASCII characters other than space
// (the set SQS allows), otherwise the hex SHA-256 of s, which is stable and
// fits. It returns "" for "".
func FIFOID(s string) string {
	if s == "" {
		return ""
	}
	if len(s) <= maxFIFOIDLength && strings.IndexFunc(s, func(r rune) bool { return r < 0x21 || r > 0x7e }) < 0 {
		return s
	}
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
