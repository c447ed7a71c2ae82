package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/signalwire-lambda/participants/test/localenv"
	"github.com/signalwire-lambda/participants/test/sandbox"
)

// ledger counts webhooks through the fault tests: every accepted webhook is
// delivered, queued or dead-lettered, never lost.
type ledger struct{ accepted, delivered, queued, deadLettered int }

func (l ledger) check(t *testing.T) {
	t.Helper()
	t.Logf("accepted %d = delivered %d + queued %d + dead-lettered %d", l.accepted, l.delivered, l.queued, l.deadLettered)
	if l.accepted != l.delivered+l.queued+l.deadLettered {
		t.Fatalf("webhooks lost: accepted %d != delivered %d + queued %d + dead-lettered %d", l.accepted, l.delivered, l.queued, l.deadLettered)
	}
}

func webhookOutcome(t *testing.T, r httpResponse) string {
	t.Helper()
	var body map[string]string
	if r.StatusCode != 200 || json.Unmarshal([]byte(r.Body), &body) != nil {
		t.Fatalf("webhook answer %d %s", r.StatusCode, r.Body)
	}
	return body["outcome"]
}

// uniqueIDs counts distinct webhook-ids the HTTPS receiver accepted.
func uniqueIDs(s *stack) int {
	ids := map[string]bool{}
	for _, r := range s.env.Receiver.Accepted() {
		ids[r.Header.Get("webhook-id")] = true
	}
	return len(ids)
}

// TestDestinationDownThenRecovers: with the HTTPS destination down, webhooks
// are answered 200 and parked on the retry queue; once it recovers, the SQS
// trigger delivers every one of them.
func TestDestinationDownThenRecovers(t *testing.T) {
	s := start(t, localenv.Options{})
	s.env.Receiver.FailUntilRecover(503)
	var l ledger
	calls := []string{sandbox.CallAlice, sandbox.CallBob, sandbox.CallCarol, sandbox.CallDave, sandbox.CallGone}
	for i, call := range calls {
		r := s.invokeHTTP(t, signedWebhook(t, s, "participant-join", call, 100+i))
		l.accepted++
		if got := webhookOutcome(t, r); got != "queued" {
			t.Fatalf("webhook %d: outcome %q, want queued", i, got)
		}
	}
	l.queued = s.depth(t, s.env.RetryQueueURL)
	l.check(t)
	if l.queued != len(calls) {
		t.Fatalf("retry queue holds %d, want %d", l.queued, len(calls))
	}
	// Still down: the consumer reports every message as failed; nothing is lost.
	if deleted, failed := s.drainRetryQueue(t); deleted != 0 || len(failed) != len(calls) {
		t.Fatalf("while down: deleted %d, failed %d", deleted, len(failed))
	}
	s.env.Receiver.Recover()
	deleted, failed := s.drainRetryQueue(t)
	if len(failed) != 0 {
		t.Fatalf("after recovery %d messages still failed", len(failed))
	}
	l.delivered, l.queued = deleted, s.depth(t, s.env.RetryQueueURL)
	l.check(t)
	if n := uniqueIDs(s); n != len(calls) {
		t.Fatalf("the receiver has %d distinct events, want %d", n, len(calls))
	}
	if !strings.Contains(s.fn.Logs(), `"Enqueued":1`) || !strings.Contains(s.fn.Logs(), `"ForwardFailures"`) {
		t.Error("Enqueued / ForwardFailures metrics missing")
	}
}

// TestPoisonMessageReachesDLQ: a retry message that can never succeed is
// reported alone (its batch neighbours succeed) and, after the queue's
// maxReceiveCount receives, SQS moves it to the dead-letter queue.
func TestPoisonMessageReachesDLQ(t *testing.T) {
	s := start(t, localenv.Options{MaxReceiveCount: 3}, localenv.WithVar("RETRY_MAX_RECEIVE_COUNT", "3"))
	ctx := context.Background()
	good := func(seq int) string {
		job, _ := json.Marshal(map[string]any{
			"form": fmt.Sprintf("AccountSid=%s&ConferenceSid=%s&CallSid=%s&StatusCallbackEvent=participant-mute&SequenceNumber=%d&Muted=true",
				sandbox.ProjectID, sandbox.ConferenceStandup, sandbox.CallBob, seq),
			"received_at": "2026-11-26T10:15:00Z",
		})
		return string(job)
	}
	bodies := []string{good(1), `{"form":"","poison":true}`, good(2)}
	for _, b := range bodies {
		if _, err := s.env.SQS().SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(s.env.RetryQueueURL), MessageBody: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
	}
	l := ledger{accepted: len(bodies)}
	deleted, failed := s.drainRetryQueue(t)
	if deleted != 2 || len(failed) != 1 {
		t.Fatalf("first batch: deleted %d, failed %v; want the two good messages delivered and only the poison reported", deleted, failed)
	}
	l.delivered = deleted
	for i := 0; i < 5 && s.depth(t, s.env.RetryDLQURL) == 0; i++ {
		if d, _ := s.drainRetryQueue(t); d != 0 {
			t.Fatalf("the poison message was deleted")
		}
	}
	l.deadLettered = s.depth(t, s.env.RetryDLQURL)
	l.queued = s.depth(t, s.env.RetryQueueURL)
	l.check(t)
	if l.deadLettered != 1 {
		t.Fatalf("dead-letter queue holds %d, want 1", l.deadLettered)
	}
	if uniqueIDs(s) != 2 {
		t.Fatalf("receiver has %d distinct events, want 2", uniqueIDs(s))
	}
	if !strings.Contains(s.fn.Logs(), `"DeadLettered":1`) {
		t.Error("no DeadLettered metric on the last receive")
	}
}

// TestParticipantGoneIsDeliveredWithNull: SignalWire's 404 after a
// participant-leave is a normal outcome: the envelope says not_found and
// carries participant null.
func TestParticipantGoneIsDeliveredWithNull(t *testing.T) {
	s := start(t, localenv.Options{})
	if !s.env.Sandbox.RemoveParticipant(sandbox.ConferenceStandup, sandbox.CallBob) {
		t.Fatal("Bob was not seeded")
	}
	r := s.invokeHTTP(t, signedWebhook(t, s, "participant-leave", sandbox.CallBob, 9))
	l := ledger{accepted: 1}
	if webhookOutcome(t, r) != "delivered" {
		t.Fatalf("%s", r.Body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	got, _ := s.env.Receiver.WaitAccepted(ctx, 1)
	l.delivered = len(got)
	l.check(t)
	var env map[string]any
	json.Unmarshal(got[0].Body, &env)
	if env["participant"] != nil || env["participant_lookup"] != "not_found" {
		t.Fatalf("envelope %s", got[0].Body)
	}
}

// TestEnqueueFailureGives503: when processing fails and even the retry
// queue cannot take the webhook, SignalWire gets a 503 so it retries.
func TestEnqueueFailureGives503(t *testing.T) {
	s := start(t, localenv.Options{}, localenv.WithVar("RETRY_QUEUE_URL", "http://127.0.0.1:1/000000000000/missing"))
	s.env.Receiver.FailUntilRecover(503)
	r := s.invokeHTTP(t, signedWebhook(t, s, "participant-join", sandbox.CallAlice, 1))
	if r.StatusCode != 503 || r.Headers["Retry-After"] == "" || !strings.HasSuffix(problemType(t, r), "service-unavailable") {
		t.Fatalf("%d %v %s", r.StatusCode, r.Headers, r.Body)
	}
}
