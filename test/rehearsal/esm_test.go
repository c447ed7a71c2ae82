//go:build linux

package rehearsal

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"strconv"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/signalwire-lambda/participants/test/localenv"
)

// eventSourceMapping plays Lambda's SQS event source mapping as the stack
// configured it (moto creates the mapping but cannot invoke the function
// without Docker, so the rehearsal disables it and polls in its place):
// ReceiveMessage with the mapping's BatchSize and the queue's own visibility
// timeout, one invocation with an SQS event per batch, DeleteMessageBatch of
// the successes only, and with ReportBatchItemFailures the reported items
// stay on the queue (an unknown or empty identifier, or a function error,
// fails the whole batch, as Lambda does).
type eventSourceMapping struct {
	sqs            *sqs.Client
	queueURL       string
	queueARN       string // the mapping's EventSourceArn
	batchSize      int32
	reportFailures bool
	fn             *localenv.RIE
}

// pollResult is what one poll did.
type pollResult struct {
	received int
	deleted  int
	// failed maps the message id of each message left on the queue to its receipt handle.
	failed map[string]string
	// receiveCount is ApproximateReceiveCount by message id.
	receiveCount map[string]int
	bodies       map[string]string
}

// poll receives one batch and invokes the function with it.
func (m *eventSourceMapping) poll(ctx context.Context) (pollResult, error) {
	res := pollResult{failed: map[string]string{}, receiveCount: map[string]int{}, bodies: map[string]string{}}
	out, err := m.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl:                    aws.String(m.queueURL),
		MaxNumberOfMessages:         m.batchSize,
		WaitTimeSeconds:             1,
		MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll},
		MessageAttributeNames:       []string{"All"},
	})
	if err != nil {
		return res, fmt.Errorf("receive: %w", err)
	}
	res.received = len(out.Messages)
	if res.received == 0 {
		return res, nil
	}
	ev := events.SQSEvent{}
	handles := map[string]string{}
	for _, msg := range out.Messages {
		id := aws.ToString(msg.MessageId)
		rec := events.SQSMessage{
			MessageId:              id,
			ReceiptHandle:          aws.ToString(msg.ReceiptHandle),
			Body:                   aws.ToString(msg.Body),
			Md5OfBody:              aws.ToString(msg.MD5OfBody),
			Md5OfMessageAttributes: aws.ToString(msg.MD5OfMessageAttributes),
			Attributes:             maps.Clone(msg.Attributes),
			MessageAttributes:      map[string]events.SQSMessageAttribute{},
			EventSourceARN:         m.queueARN,
			EventSource:            "aws:sqs",
			AWSRegion:              region,
		}
		for k, a := range msg.MessageAttributes {
			rec.MessageAttributes[k] = events.SQSMessageAttribute{StringValue: a.StringValue, BinaryValue: a.BinaryValue, DataType: aws.ToString(a.DataType)}
		}
		n, err := strconv.Atoi(msg.Attributes[string(sqstypes.MessageSystemAttributeNameApproximateReceiveCount)])
		if err != nil {
			return res, fmt.Errorf("message %s: ApproximateReceiveCount %q", id, msg.Attributes["ApproximateReceiveCount"])
		}
		res.receiveCount[id] = n
		res.bodies[id] = rec.Body
		handles[id] = rec.ReceiptHandle
		ev.Records = append(ev.Records, rec)
	}
	payload, err := json.Marshal(ev)
	if err != nil {
		return res, fmt.Errorf("SQS event: %w", err)
	}
	answer, err := m.fn.Invoke(ctx, payload)
	if err != nil {
		return res, fmt.Errorf("invoke: %w", err)
	}
	failed := batchFailures(answer, handles, m.reportFailures)
	var entries []sqstypes.DeleteMessageBatchRequestEntry
	for id, h := range handles {
		if failed[id] {
			res.failed[id] = h
			continue
		}
		entries = append(entries, sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(len(entries))), ReceiptHandle: aws.String(h)})
	}
	if len(entries) > 0 {
		del, err := m.sqs.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(m.queueURL), Entries: entries})
		if err != nil {
			return res, fmt.Errorf("delete: %w", err)
		}
		if len(del.Failed) > 0 {
			return res, fmt.Errorf("delete: %d entries failed: %+v", len(del.Failed), del.Failed)
		}
		res.deleted = len(del.Successful)
	}
	return res, nil
}

// batchFailures returns the ids Lambda would leave on the queue after the
// function answered answer.
func batchFailures(answer []byte, handles map[string]string, reportFailures bool) map[string]bool {
	all := func() map[string]bool {
		f := map[string]bool{}
		for id := range handles {
			f[id] = true
		}
		return f
	}
	var fnErr struct {
		ErrorType    string `json:"errorType"`
		ErrorMessage string `json:"errorMessage"`
	}
	if json.Unmarshal(answer, &fnErr) == nil && (fnErr.ErrorType != "" || fnErr.ErrorMessage != "") {
		return all() // a function error: the whole batch is retried
	}
	if !reportFailures {
		return map[string]bool{}
	}
	var resp events.SQSEventResponse
	if err := json.Unmarshal(answer, &resp); err != nil {
		return all()
	}
	failed := map[string]bool{}
	for _, f := range resp.BatchItemFailures {
		if _, ok := handles[f.ItemIdentifier]; !ok {
			return all() // Lambda treats an unknown identifier as a failure of the whole batch
		}
		failed[f.ItemIdentifier] = true
	}
	return failed
}

// queueCounts returns a queue's visible and in-flight message counts.
func queueCounts(ctx context.Context, c *sqs.Client, queueURL string) (visible, inFlight int, err error) {
	out, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(queueURL),
		AttributeNames: []sqstypes.QueueAttributeName{
			sqstypes.QueueAttributeNameApproximateNumberOfMessages,
			sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
		},
	})
	if err != nil {
		return 0, 0, fmt.Errorf("attributes of %s: %w", queueURL, err)
	}
	if visible, err = strconv.Atoi(out.Attributes[string(sqstypes.QueueAttributeNameApproximateNumberOfMessages)]); err != nil {
		return 0, 0, fmt.Errorf("ApproximateNumberOfMessages of %s: %w", queueURL, err)
	}
	if inFlight, err = strconv.Atoi(out.Attributes[string(sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible)]); err != nil {
		return 0, 0, fmt.Errorf("ApproximateNumberOfMessagesNotVisible of %s: %w", queueURL, err)
	}
	return visible, inFlight, nil
}

// elapseVisibilityTimeout stands for the queue's visibility timeout passing
// (60 s in template.yaml, too long to wait in a test): it first checks the
// failed messages are in flight (not visible, so no other poll gets them
// before the timeout), then makes them visible again.
func (m *eventSourceMapping) elapseVisibilityTimeout(ctx context.Context, failed map[string]string) error {
	if len(failed) == 0 {
		return nil
	}
	_, inFlight, err := queueCounts(ctx, m.sqs, m.queueURL)
	if err != nil {
		return err
	}
	if inFlight < len(failed) {
		return fmt.Errorf("%d messages in flight, want at least the %d failed ones: they should stay invisible for the visibility timeout", inFlight, len(failed))
	}
	for id, h := range failed {
		if _, err := m.sqs.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
			QueueUrl: aws.String(m.queueURL), ReceiptHandle: aws.String(h), VisibilityTimeout: 0,
		}); err != nil {
			return fmt.Errorf("message %s: %w", id, err)
		}
	}
	return nil
}
