package app

import (
	"context"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/signalwire-lambda/participants/internal/forward"
	"github.com/signalwire-lambda/participants/internal/signalwire"
)

// fifoSQS behaves like a FIFO queue: a message whose deduplication id was
// sent before is accepted and dropped (SQS answers success).
type fifoSQS struct {
	mu     sync.Mutex
	seen   map[string]bool
	bodies []string
}

func (q *fifoSQS) SendMessage(_ context.Context, in *sqs.SendMessageInput, _ ...func(*sqs.Options)) (*sqs.SendMessageOutput, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.seen == nil {
		q.seen = map[string]bool{}
	}
	if id := aws.ToString(in.MessageDeduplicationId); !q.seen[id] {
		q.seen[id] = true
		q.bodies = append(q.bodies, aws.ToString(in.MessageBody))
	}
	return &sqs.SendMessageOutput{MessageId: aws.String("m")}, nil
}

// With a FIFO retry queue, every message parked for one event carried the
// event id as its deduplication id: a webhook parked once (the lookup
// failed), then delivered to one destination of two, re-parked the other's
// copy under the same id, and SQS dropped it as a duplicate. The second
// destination never got the event.
func TestFIFORetryQueueKeepsEveryParkedMessage(t *testing.T) {
	fifo := &fifoSQS{}
	queue := forward.NewQueue(fifo, "https://sqs.us-east-1.amazonaws.com/1/retry.fifo")
	ok, down := &namedDest{name: "ok"}, &namedDest{name: "down"}
	down.fail = &forward.StatusError{StatusCode: 503}
	f := newHooks(t, func(o *WebhookOptions) { o.Retry, o.Destinations = queue, []forward.Destination{ok, down} })
	f.up.errs = []error{&signalwire.APIError{Kind: signalwire.KindUpstream, StatusCode: 500}}
	if got := outcomeOf(t, f.routes.Handle(f.ctx(), signedPost(joinForm(call), "PSK_key"))); got != "queued" || len(fifo.bodies) != 1 {
		t.Fatalf("outcome %s, %d parked", got, len(fifo.bodies))
	}
	if err := f.hooks.ProcessRetry(f.ctx(), fifo.bodies[0], 1); err != nil {
		t.Fatal(err)
	}
	if len(ok.got) != 1 || len(fifo.bodies) != 2 {
		t.Fatalf("%d delivered to ok, %d messages on the queue; want 1 and 2 (the copy still owed to down)", len(ok.got), len(fifo.bodies))
	}
	down.fail = nil
	if err := f.hooks.ProcessRetry(f.ctx(), fifo.bodies[1], 1); err != nil || len(down.got) != 1 || len(ok.got) != 1 {
		t.Fatalf("%v: ok got %d, down got %d", err, len(ok.got), len(down.got))
	}
}
