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

// queue is an SQS queue, as the SQS destination and the retry queue send to it.
type queue struct {
	client SQSAPI
	url    string
	fifo   bool // the URL ends in ".fifo"
}

// newQueue returns a T sending to url; what names T in errors.
func newQueue[T ~struct{ q queue }](client SQSAPI, url, what string) (*T, error) {
	if client == nil {
		return nil, fmt.Errorf("%s: nil client", what)
	}
	if url == "" {
		return nil, fmt.Errorf("%s: empty queue URL", what)
	}
	return &T{queue{client: client, url: url, fifo: strings.HasSuffix(url, ".fifo")}}, nil
}

// SQS delivers events to an SQS queue; FIFO when the URL ends in ".fifo".
type SQS struct{ q queue }

// NewSQS returns a destination sending events to queueURL.
func NewSQS(client SQSAPI, queueURL string) (*SQS, error) {
	return newQueue[SQS](client, queueURL, "sqs destination")
}

// Name returns "sqs".
func (s *SQS) Name() string { return "sqs" }

// Send sends m.Body as one message with the event_id and event_type
// attributes. On a FIFO queue the deduplication id derives from m.ID and the
// group id from m.ConferenceSID (DefaultMessageGroupID when empty).
func (s *SQS) Send(ctx context.Context, m Message) error {
	attrs := map[string]string{AttributeEventID: m.ID, AttributeEventType: m.Type}
	if err := s.q.send(ctx, m.Body, attrs, m.ID, m.ConferenceSID); err != nil {
		return fmt.Errorf("sqs destination: %w", err)
	}
	return nil
}

// Queue is the retry queue, where webhooks that failed processing are parked.
type Queue struct{ q queue }

// NewQueue returns the retry queue at queueURL; FIFO when it ends in ".fifo".
func NewQueue(client SQSAPI, queueURL string) (*Queue, error) {
	return newQueue[Queue](client, queueURL, "retry queue")
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
	if err := q.q.send(ctx, body, attrs, dedup, attrs[AttributeConferenceSID]); err != nil {
		return fmt.Errorf("retry queue: %w", err)
	}
	return nil
}

// send sends one message, adding FIFO ids when the queue is FIFO.
func (q queue) send(ctx context.Context, body []byte, attrs map[string]string, dedupSource, groupSource string) error {
	if len(body) == 0 {
		return errors.New("empty message body")
	}
	if !ValidSQSText(string(body)) {
		// Bodies are JSON: escape what SQS refuses (e.g. U+FFFF) without
		// changing the value.
		body = CompactJSON(body)
	}
	in := &sqs.SendMessageInput{
		QueueUrl:    aws.String(q.url),
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
	if q.fifo {
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
	if _, err := q.client.SendMessage(ctx, in); err != nil {
		return fmt.Errorf("send message to %s: %w", q.url, &serviceAnswer{err})
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
