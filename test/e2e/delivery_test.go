package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/signalwire-lambda/participants/internal/forward"
	"github.com/signalwire-lambda/participants/test/localenv"
	"github.com/signalwire-lambda/participants/test/sandbox"
	"github.com/signalwire-lambda/participants/test/signing"
)

// sqsLimits is a proxy in front of kumo's SQS that enforces what real SQS
// enforces and kumo does not: the message's character set (in the body and
// in String attributes: InvalidMessageContents) and the 256 KiB size
// (InvalidParameterValue), the size of queues created before the 1 MiB
// default. It counts the SendMessage calls it refused.
type sqsLimits struct {
	url      string
	target   atomic.Pointer[url.URL] // kumo, set once the stack is up
	refused  atomic.Int64
	largest  atomic.Int64
	accepted atomic.Int64
}

func newSQSLimits(t *testing.T) *sqsLimits {
	t.Helper()
	l := &sqsLimits{}
	proxy := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(l.target.Load()) }}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		if r.Header.Get("X-Amz-Target") == "AmazonSQS.SendMessage" {
			var in struct {
				MessageBody       string
				MessageAttributes map[string]struct {
					DataType    string
					StringValue string
				}
			}
			if err := json.Unmarshal(body, &in); err == nil {
				size, valid := len(in.MessageBody), sqsText(in.MessageBody)
				for name, a := range in.MessageAttributes {
					size += len(name) + len(a.DataType) + len(a.StringValue)
					valid = valid && sqsText(a.StringValue)
				}
				code := ""
				switch {
				case !valid:
					code = "InvalidMessageContents"
				case size > forward.MaxMessageBytes:
					code = "InvalidParameterValue"
				}
				if code != "" {
					l.refused.Add(1)
					w.Header().Set("Content-Type", "application/x-amz-json-1.0")
					w.WriteHeader(400)
					json.NewEncoder(w).Encode(map[string]string{"__type": "com.amazonaws.sqs#" + code, "message": "refused by the SQS limits proxy"})
					return
				}
				l.accepted.Add(1)
				for {
					old := l.largest.Load()
					if int64(size) <= old || l.largest.CompareAndSwap(old, int64(size)) {
						break
					}
				}
			}
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	l.url = srv.URL
	return l
}

// formWebhook builds an HTTP API event carrying form (with query in the
// callback URL), signed with the sandbox key.
func formWebhook(t *testing.T, s *stack, form url.Values, query string) []byte {
	t.Helper()
	var e map[string]any
	if err := json.Unmarshal(readEvent(t, "webhook-participant-join.json"), &e); err != nil {
		t.Fatal(err)
	}
	u := s.env.PublicBaseURL + "/webhooks/signalwire"
	if query != "" {
		u += "?" + query
		e["rawQueryString"] = query
	}
	e["body"] = form.Encode()
	e["isBase64Encoded"] = false
	e["headers"].(map[string]any)["x-signalwire-signature"] = signing.Form(sandbox.SigningKey, u, form)
	b, _ := json.Marshal(e)
	return b
}

func joinForm(call string, seq int) url.Values {
	return url.Values{
		"AccountSid": {sandbox.ProjectID}, "ConferenceSid": {sandbox.ConferenceStandup}, "CallSid": {call},
		"StatusCallbackEvent": {"participant-join"}, "SequenceNumber": {fmt.Sprint(seq)}, "Timestamp": {"Thu, 26 Nov 2026 10:15:00 +0000"},
		"Muted": {"false"}, "Hold": {"false"}, "FriendlyName": {"daily-standup"},
	}
}

// copies counts, per event id, the HTTPS receiver's attempts and
// acceptances, the SQS destination's messages and the bus's events.
type copies struct{ attempts, https, sqs, bus map[string]int }

func (s *stack) copies(t *testing.T) copies {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := copies{map[string]int{}, map[string]int{}, map[string]int{}, map[string]int{}}
	for _, r := range s.env.Receiver.Requests() {
		c.attempts[r.Header.Get("webhook-id")]++
	}
	for _, r := range s.env.Receiver.Accepted() {
		c.https[r.Header.Get("webhook-id")]++
	}
	for {
		// A short visibility timeout: should a receive's answer be lost and
		// the SDK retry it (a loaded machine), its messages come back in a
		// second instead of hiding for the queue's 30 s.
		out, err := s.env.SQS().ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(s.env.DestinationQueueURL), MaxNumberOfMessages: 10, WaitTimeSeconds: 0, VisibilityTimeout: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) == 0 {
			// Empty: done only when no message is in flight either.
			if s.inQueue(t, ctx, s.env.DestinationQueueURL) == 0 {
				break
			}
			time.Sleep(100 * time.Millisecond)
			continue
		}
		for _, m := range out.Messages {
			var env struct{ ID string }
			_ = json.Unmarshal([]byte(aws.ToString(m.Body)), &env)
			c.sqs[env.ID]++
			_, _ = s.env.SQS().DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(s.env.DestinationQueueURL), ReceiptHandle: m.ReceiptHandle})
		}
	}
	evs, err := s.env.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		var env struct{ ID string }
		_ = json.Unmarshal(e.Detail, &env)
		c.bus[env.ID]++
	}
	return c
}

// inQueue counts a queue's messages, visible and in flight.
func (s *stack) inQueue(t *testing.T, ctx context.Context, queueURL string) int {
	t.Helper()
	out, err := s.env.SQS().GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(queueURL),
		AttributeNames: []sqstypes.QueueAttributeName{
			sqstypes.QueueAttributeNameApproximateNumberOfMessages,
			sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, v := range out.Attributes {
		k, err := strconv.Atoi(v)
		if err != nil {
			t.Fatalf("queue attributes of %s: %v", queueURL, err)
		}
		n += k
	}
	return n
}

// moveDLQToRetryQueue plays `aws sqs start-message-move-task` from the DLQ
// back to the retry queue (a manual redrive).
func (s *stack) moveDLQToRetryQueue(t *testing.T) int {
	t.Helper()
	ctx := context.Background()
	moved := 0
	for {
		out, err := s.env.SQS().ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(s.env.RetryDLQURL), MaxNumberOfMessages: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) == 0 {
			return moved
		}
		for _, m := range out.Messages {
			if _, err := s.env.SQS().SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(s.env.RetryQueueURL), MessageBody: m.Body, MessageAttributes: m.MessageAttributes}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.env.SQS().DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(s.env.RetryDLQURL), ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatal(err)
			}
			moved++
		}
	}
}

// TestPermanentFailureUnderRIE reproduces issue 14 §1 under the RIE: the
// HTTPS destination answers 413. Before: 4 HTTPS attempts and 4 copies each
// to SQS and EventBridge, then the DLQ, and a redrive re-sent to every
// destination. Now: 1 attempt, 1 copy each, 1 DLQ entry at once with the
// reason, and the redrive sends to HTTPS only.
func TestPermanentFailureUnderRIE(t *testing.T) {
	s := start(t, localenv.Options{})
	s.env.Receiver.FailUntilRecover(413)
	r := s.invokeHTTP(t, signedWebhook(t, s, "participant-join", sandbox.CallAlice, 700))
	if got := webhookOutcome(t, r); got != "dead_lettered" {
		t.Fatalf("outcome %q, want dead_lettered", got)
	}
	for i := 0; i < 4; i++ { // what the retry consumer would do, were anything parked
		s.drainRetryQueue(t)
	}
	c := s.copies(t)
	dlq := s.depth(t, s.env.RetryDLQURL)
	t.Logf("HTTPS attempts %v, SQS copies %v, EventBridge copies %v, DLQ entries %d", c.attempts, c.sqs, c.bus, dlq)
	if len(c.attempts) != 1 {
		t.Fatalf("ids %v", c.attempts)
	}
	for id := range c.attempts {
		if c.attempts[id] != 1 || c.sqs[id] != 1 || c.bus[id] != 1 || dlq != 1 {
			t.Fatalf("HTTPS attempts %d, SQS copies %d, EventBridge copies %d, DLQ entries %d; want 1 each", c.attempts[id], c.sqs[id], c.bus[id], dlq)
		}
	}
	if logs := s.fn.Logs(); !strings.Contains(logs, "refused the event permanently") || !strings.Contains(logs, `"DeadLettered":1`) {
		t.Error("no log line or DeadLettered metric for the permanent failure")
	}

	// Manual redrive once the endpoint is fixed: HTTPS only.
	s.env.Receiver.Recover()
	if moved := s.moveDLQToRetryQueue(t); moved != 1 {
		t.Fatalf("moved %d", moved)
	}
	if deleted, failed := s.drainRetryQueue(t); deleted != 1 || len(failed) != 0 {
		t.Fatalf("redrive: deleted %d, failed %v", deleted, failed)
	}
	after := s.copies(t)
	for id := range c.attempts {
		if after.https[id] != 1 || after.sqs[id] != 0 || after.bus[id] != 1 {
			t.Fatalf("after the redrive: HTTPS %d accepted, new SQS copies %d, EventBridge copies %d; want 1, 0, 1", after.https[id], after.sqs[id], after.bus[id])
		}
	}
}

// TestContentSQSRejectsUnderRIE reproduces issue 14 §2 under the RIE, with
// SQS's real character rules enforced by a proxy: a signed FriendlyName
// with U+FFFF was refused by SQS on every attempt (DLQ) while the other
// destinations got 4 copies; a control character in ?ConferenceSid= made
// every enqueue fail (503 forever). Now: one copy everywhere with the value
// intact, and a 400.
func TestContentSQSRejectsUnderRIE(t *testing.T) {
	limits := newSQSLimits(t)
	s := start(t, localenv.Options{}, localenv.WithVar("AWS_ENDPOINT_URL_SQS", limits.url))
	kumo, _ := url.Parse(s.env.KumoURL)
	limits.target.Store(kumo)

	form := joinForm(sandbox.CallBob, 710)
	form.Set("FriendlyName", "standup\uffff room")
	r := s.invokeHTTP(t, formWebhook(t, s, form, ""))
	outcome := webhookOutcome(t, r)
	for i := 0; i < 4; i++ {
		s.drainRetryQueue(t)
	}
	c := s.copies(t)
	dlq := s.depth(t, s.env.RetryDLQURL)
	t.Logf("U+FFFF: outcome %s, HTTPS %v, SQS %v, EventBridge %v, DLQ %d, SQS refusals %d", outcome, c.https, c.sqs, c.bus, dlq, limits.refused.Load())
	if outcome != "delivered" || limits.refused.Load() != 0 || dlq != 0 || len(c.https) != 1 {
		t.Fatalf("outcome %s, SQS refusals %d, DLQ %d, ids %v", outcome, limits.refused.Load(), dlq, c.https)
	}
	for id := range c.https {
		if c.https[id] != 1 || c.sqs[id] != 1 || c.bus[id] != 1 {
			t.Fatalf("copies: HTTPS %d, SQS %d, EventBridge %d; want 1 each", c.https[id], c.sqs[id], c.bus[id])
		}
	}

	// A call status callback whose URL carries a control character.
	call := url.Values{"AccountSid": {sandbox.ProjectID}, "CallSid": {sandbox.CallBob}, "CallStatus": {"completed"}}
	s.env.Receiver.FailUntilRecover(503) // so that the webhook would be parked
	r = s.invokeHTTP(t, formWebhook(t, s, call, "ConferenceSid=room%01A"))
	t.Logf("?ConferenceSid=room%%01A: HTTP %d %s; SQS refusals %d", r.StatusCode, r.Body, limits.refused.Load())
	if r.StatusCode != 400 || limits.refused.Load() != 0 || s.depth(t, s.env.RetryQueueURL) != 0 {
		t.Fatalf("HTTP %d %s, SQS refusals %d", r.StatusCode, r.Body, limits.refused.Load())
	}
}

// sqsBatchOf builds an SQS event of n retry messages for distinct calls
// (a webhook message, version 1 format, as an older function version parked them).
func (s *stack) parkWebhooks(t *testing.T, n, seq int) {
	t.Helper()
	calls := []string{sandbox.CallAlice, sandbox.CallBob, sandbox.CallCarol, sandbox.CallDave}
	for i := 0; i < n; i++ {
		form := joinForm(calls[i%len(calls)], seq+i)
		job, _ := json.Marshal(map[string]any{"form": form.Encode(), "received_at": "2026-11-26T10:15:00Z"})
		if _, err := s.env.SQS().SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: aws.String(s.env.RetryQueueURL), MessageBody: aws.String(string(job))}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestSQSBatchHungLookupUnderRIE reproduces issue 10 §1 under the RIE:
// function timeout 3 s, a batch of 3, one participant lookup hangs. Before:
// "Task timed out", no batchItemFailures, all 3 redelivered. Now: the batch
// answers, the hung message alone is reported, its neighbours are
// delivered once, and it is delivered once on the next receive.
func TestSQSBatchHungLookupUnderRIE(t *testing.T) {
	s := start(t, localenv.Options{}, localenv.WithVar("AWS_LAMBDA_FUNCTION_TIMEOUT", "3"))
	s.parkWebhooks(t, 3, 720)
	s.env.Sandbox.Inject(sandbox.Fault{Delay: time.Minute}) // the first lookup hangs
	deleted, failed := s.drainRetryQueue(t)
	t.Logf("first receive: deleted %d, batchItemFailures %v, timeouts %d", deleted, failed, strings.Count(s.fn.Logs(), "Task timed out"))
	if strings.Contains(s.fn.Logs(), "Task timed out") || deleted != 2 || len(failed) != 1 {
		t.Fatalf("deleted %d, failed %v (want 2 and 1, no timeout)", deleted, failed)
	}
	if d, f := s.drainRetryQueue(t); d != 1 || len(f) != 0 {
		t.Fatalf("second receive: deleted %d, failed %v", d, f)
	}
	c := s.copies(t)
	if len(c.https) != 3 {
		t.Fatalf("%d events, want 3", len(c.https))
	}
	for id, n := range c.https {
		if n != 1 || c.sqs[id] != 1 || c.bus[id] != 1 {
			t.Fatalf("%s: HTTPS %d, SQS %d, EventBridge %d copies; want 1 each", id, n, c.sqs[id], c.bus[id])
		}
	}
}

// TestSQSBatchSlowSignalWireUnderRIE: issue 10 §1's second reproduction, a
// batch of 10 with a slow SignalWire and a 10 s function timeout. At
// parallelism 4 (before), 2 s a lookup took about 6 s and 4 s a lookup
// ended in "Task timed out" (3 rounds); now the batch is one round, answers
// before the deadline, and every message is delivered once.
func TestSQSBatchSlowSignalWireUnderRIE(t *testing.T) {
	s := start(t, localenv.Options{}, localenv.WithVar("AWS_LAMBDA_FUNCTION_TIMEOUT", "10"))
	s.parkWebhooks(t, 10, 740)
	s.env.Sandbox.Inject(sandbox.Fault{Delay: 4 * time.Second, Times: -1})
	deleted, failed := s.drainRetryQueue(t)
	t.Logf("batch of 10: deleted %d, batchItemFailures %d, timeouts %d", deleted, len(failed), strings.Count(s.fn.Logs(), "Task timed out"))
	if strings.Contains(s.fn.Logs(), "Task timed out") || deleted+len(failed) != 10 {
		t.Fatalf("deleted %d, failed %d", deleted, len(failed))
	}
	s.env.Sandbox.ClearFaults()
	for i := 0; i < 3 && s.depth(t, s.env.RetryQueueURL) > 0; i++ {
		s.drainRetryQueue(t)
	}
	c := s.copies(t)
	if len(c.https) != 10 {
		t.Fatalf("%d events delivered, want 10", len(c.https))
	}
	for id, n := range c.https {
		if n != 1 {
			t.Fatalf("%s delivered %d times", id, n)
		}
	}
}

// TestBatchLogsNameTheirOwnRecordUnderRIE reproduces issue 14 §5 under the
// RIE: 4 parked webhooks (Alice, Bob, Carol, Dave), the HTTPS destination
// down; before, concurrent records shared one logging context and the
// "retry message failed" lines named other calls. Now every line of a
// record carries its own message id and call SID.
func TestBatchLogsNameTheirOwnRecordUnderRIE(t *testing.T) {
	s := start(t, localenv.Options{})
	s.env.Receiver.FailUntilRecover(503)
	want := map[string]string{} // message id -> call SID
	for i, call := range []string{sandbox.CallAlice, sandbox.CallBob, sandbox.CallCarol, sandbox.CallDave} {
		job, _ := json.Marshal(map[string]any{"form": joinForm(call, 760+i).Encode(), "received_at": "2026-11-26T10:15:00Z"})
		out, err := s.env.SQS().SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: aws.String(s.env.RetryQueueURL), MessageBody: aws.String(string(job))})
		if err != nil {
			t.Fatal(err)
		}
		want[aws.ToString(out.MessageId)] = call
	}
	s.drainRetryQueue(t)
	right, wrong := 0, 0
	for _, line := range strings.Split(s.fn.Logs(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) != nil {
			continue
		}
		id, _ := m["message_id"].(string)
		call, ok := want[id]
		if !ok {
			if msg := m["message"]; msg == "retry message failed; it stays on the queue" || msg == "webhook queued for retry" {
				wrong++
				t.Errorf("record line without its message id: %s", line)
			}
			continue
		}
		if m["call_sid"] == call {
			right++
		} else {
			wrong++
			t.Errorf("line for message %s names call %v, want %s", id, m["call_sid"], call)
		}
	}
	t.Logf("record lines naming their own call: %d, another: %d", right, wrong)
	if right < 4 || wrong != 0 {
		t.Fatalf("%d record lines right, %d wrong", right, wrong)
	}
}

// sqsText reports whether s is text SQS accepts: valid UTF-8 of #x9 #xA
// #xD #x20-#xD7FF #xE000-#xFFFD #x10000-#x10FFFF.
func sqsText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsFunc(s, func(r rune) bool {
		return r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r == 0xFFFE || r == 0xFFFF
	})
}
