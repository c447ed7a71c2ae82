package forward

import (
	"cmp"
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

const (
	// SQS message attribute names.
	attributeEventID       = "event_id"
	attributeEventType     = "event_type"
	attributeConferenceSID = "conference_sid"
	// defaultMessageGroupID is the FIFO group of a message without a conference SID.
	defaultMessageGroupID = "signalwire-participants"
	// maxFIFOIDLength is the longest MessageDeduplicationId / MessageGroupId SQS accepts.
	maxFIFOIDLength = 128
)

// sqsAPI is the part of the SQS client used.
type sqsAPI interface {
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
}

// Queue is an SQS queue (FIFO when its URL ends in ".fifo"): a destination,
// or the retry or dead-letter queue.
type Queue struct {
	client sqsAPI
	url    string
}

// NewQueue returns the queue at queueURL.
func NewQueue(client sqsAPI, queueURL string) *Queue { return &Queue{client: client, url: queueURL} }

func (q *Queue) Name() string { return "sqs" }

// Send sends m.Body with the event_id and event_type attributes; on a FIFO
// queue the deduplication id is m.ID, the group m.ConferenceSID.
func (q *Queue) Send(ctx context.Context, m Message) error {
	attrs := map[string]string{attributeEventID: m.ID, attributeEventType: m.Type}
	return q.send(ctx, "sqs destination", m.Body, attrs, m.ID, m.ConferenceSID)
}

// Enqueue parks m.Body with the event_id and conference_sid attributes. On
// a FIFO queue the deduplication id is m.ID and the body's SHA-256 (one
// event is parked with different bodies: the webhook, then the copy still
// owed to some destinations; the id alone made SQS drop the later ones).
func (q *Queue) Enqueue(ctx context.Context, m Message) error {
	dedup := ""
	if m.ID != "" {
		dedup = m.ID + "/" + sha256Hex(m.Body)
	}
	attrs := map[string]string{attributeEventID: m.ID, attributeConferenceSID: m.ConferenceSID}
	return q.send(ctx, "retry queue", m.Body, attrs, dedup, m.ConferenceSID)
}

// send sends one message, with FIFO ids on a FIFO queue; empty attributes
// are left out. Its errors start with what (the queue's role).
func (q *Queue) send(ctx context.Context, what string, body []byte, attrs map[string]string, dedupSource, groupSource string) error {
	if len(body) == 0 {
		return errors.New(what + ": empty message body")
	}
	if !validSQSText(string(body)) {
		// JSON: escape what SQS refuses (e.g. U+FFFF), the value unchanged.
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
		in.MessageAttributes[name] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(safeAttribute(value))}
	}
	if strings.HasSuffix(q.url, ".fifo") {
		in.MessageDeduplicationId = aws.String(cmp.Or(fifoID(dedupSource), sha256Hex(body)))
		in.MessageGroupId = aws.String(cmp.Or(fifoID(groupSource), defaultMessageGroupID))
	}
	if _, err := q.client.SendMessage(ctx, in); err != nil {
		return fmt.Errorf("%s: send message to %s: %w", what, q.url, &serviceAnswer{err})
	}
	return nil
}

// fifoID is s when SQS accepts it as a FIFO id (at most 128 printable ASCII
// characters other than space), else its hex SHA-256, stable and fitting.
func fifoID(s string) string {
	if len(s) <= maxFIFOIDLength && strings.IndexFunc(s, func(r rune) bool { return r < 0x21 || r > 0x7e }) < 0 {
		return s
	}
	return sha256Hex([]byte(s))
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
