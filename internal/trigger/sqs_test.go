package trigger

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/signalwire-lambda/participants/internal/app"
	"github.com/signalwire-lambda/participants/internal/obs"
)

// budgetRetry is a retry consumer double: a body "hang" blocks until its
// context ends (as a SignalWire lookup bounded by the context does), a body
// "stuck" blocks until released whatever its context says, anything else
// succeeds. It records each message's deadline and processing count.
type budgetRetry struct {
	mu        sync.Mutex
	deadlines map[string]time.Time
	processed map[string]int
	release   chan struct{}
}

func (b *budgetRetry) Accept(ctx context.Context, job app.DirectWebhook) ([]byte, app.Outcome, error) {
	return nil, "", nil
}

func (b *budgetRetry) ProcessRetry(ctx context.Context, body string, n int) error {
	dl, _ := ctx.Deadline()
	b.mu.Lock()
	b.deadlines[body] = dl
	b.mu.Unlock()
	switch body {
	case "hang":
		<-ctx.Done()
		return ctx.Err()
	case "stuck":
		<-b.release
		return nil
	}
	b.mu.Lock()
	b.processed[body]++
	b.mu.Unlock()
	return nil
}

func sqsBatch(bodies ...string) []byte {
	var ev events.SQSEvent
	for i, b := range bodies {
		ev.Records = append(ev.Records, events.SQSMessage{MessageId: fmt.Sprintf("m%d", i+1), Body: b, EventSource: "aws:sqs",
			Attributes: map[string]string{"ApproximateReceiveCount": "1"}})
	}
	out, _ := json.Marshal(ev)
	return out
}

func failedIDs(t *testing.T, out []byte) string {
	t.Helper()
	var resp events.SQSEventResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatalf("answer %s: %v", out, err)
	}
	var ids []string
	for _, f := range resp.BatchItemFailures {
		ids = append(ids, f.ItemIdentifier)
	}
	return strings.Join(ids, ",")
}

// TestSQSBatchAnswersBeforeTheDeadline reproduces issue 10 §1: a function
// timeout of 3 s, a batch of 3, one participant lookup hangs. Before, every
// message had the whole deadline, so the invocation ended "Task timed out"
// with no batchItemFailures and SQS redelivered all 3. Now the hung message
// is cut at the router's margin before the deadline and reported alone; its
// neighbours are processed once.
func TestSQSBatchAnswersBeforeTheDeadline(t *testing.T) {
	hooks := &budgetRetry{deadlines: map[string]time.Time{}, processed: map[string]int{}, release: make(chan struct{})}
	r, _ := newRouter(&fakeCore{}, hooks)
	lambdaDeadline := time.Now().Add(3 * time.Second)
	ctx, cancel := context.WithDeadline(context.Background(), lambdaDeadline)
	defer cancel()
	out, err := r.Invoke(ctx, sqsBatch("ok-1", "hang", "ok-2"))
	if err != nil {
		t.Fatal(err)
	}
	if got := failedIDs(t, out); got != "m2" {
		t.Fatalf("batchItemFailures = [%s], want [m2]", got)
	}
	if ctx.Err() != nil {
		t.Fatal("the batch answered after the Lambda deadline")
	}
	if hooks.processed["ok-1"] != 1 || hooks.processed["ok-2"] != 1 {
		t.Fatalf("processed %v", hooks.processed)
	}
	for body, dl := range hooks.deadlines {
		if dl.IsZero() || dl.After(lambdaDeadline.Add(-minMargin)) {
			t.Errorf("%s: message deadline %v before the Lambda deadline, want at least %v", body, lambdaDeadline.Sub(dl), minMargin)
		}
	}
}

// TestSQSBatchAnswersEvenIfAMessageIgnoresItsDeadline: the answer does not
// wait for a message that ignores its context.
func TestSQSBatchAnswersEvenIfAMessageIgnoresItsDeadline(t *testing.T) {
	hooks := &budgetRetry{deadlines: map[string]time.Time{}, processed: map[string]int{}, release: make(chan struct{})}
	defer close(hooks.release)
	r, _ := newRouter(&fakeCore{}, hooks)
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(2500*time.Millisecond))
	defer cancel()
	out, err := r.Invoke(ctx, sqsBatch("ok-1", "stuck"))
	if err != nil {
		t.Fatal(err)
	}
	if got := failedIDs(t, out); got != "m2" {
		t.Fatalf("batchItemFailures = [%s], want [m2]", got)
	}
	if ctx.Err() != nil {
		t.Fatal("the batch answered after the Lambda deadline")
	}
}

// TestSQSBatchSharesTheTime: a batch of 12 (two rounds) with slow
// messages (each hangs until its deadline, like a SignalWire that takes
// longer than the batch has): every message gets a share that leaves room
// for the later rounds, none runs past the answer, and the answer lists
// exactly the unfinished ones.
func TestSQSBatchSharesTheTime(t *testing.T) {
	hooks := &budgetRetry{deadlines: map[string]time.Time{}, processed: map[string]int{}, release: make(chan struct{})}
	r, _ := newRouter(&fakeCore{}, hooks)
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(4*time.Second))
	defer cancel()
	bodies := []string{"hang", "ok-1", "ok-2", "ok-3", "hang", "ok-4", "ok-5", "ok-6", "ok-7", "ok-8", "ok-9", "ok-10"}
	out, err := r.Invoke(ctx, sqsBatch(bodies...))
	if err != nil {
		t.Fatal(err)
	}
	if got := failedIDs(t, out); got != "m1,m5" {
		t.Fatalf("batchItemFailures = [%s], want [m1,m5]", got)
	}
	for i := 1; i <= 10; i++ {
		if hooks.processed[fmt.Sprintf("ok-%d", i)] != 1 {
			t.Fatalf("processed %v", hooks.processed)
		}
	}
	if ctx.Err() != nil {
		t.Fatal("the batch answered after the Lambda deadline")
	}
}

// logRetry logs from inside each record, with the SIDs of that record, all
// records at once (a barrier), as the webhook processor does.
type logRetry struct {
	log     func(ctx context.Context)
	barrier sync.WaitGroup
}

func (l *logRetry) Accept(ctx context.Context, job app.DirectWebhook) ([]byte, app.Outcome, error) {
	return nil, "", nil
}

func (l *logRetry) ProcessRetry(ctx context.Context, body string, n int) error {
	obs.InvocationFrom(ctx).SetSIDs("acct", "conf-"+body, "call-"+body)
	l.barrier.Done()
	l.barrier.Wait() // every record has set its SIDs before any logs
	l.log(ctx)
	return fmt.Errorf("destination down for %s", body)
}

// TestSQSRecordsLogTheirOwnSIDs reproduces issue 14 §5: 4 parked webhooks
// (Alice, Bob, Carol, Dave) processed concurrently shared one logging
// context, so 3 of 4 "retry message failed" lines named another call.
func TestSQSRecordsLogTheirOwnSIDs(t *testing.T) {
	hooks := &logRetry{}
	hooks.barrier.Add(4)
	r, buf := newRouter(&fakeCore{}, hooks)
	hooks.log = func(ctx context.Context) { r.log.InfoContext(ctx, "inside record") }
	out, err := r.Invoke(context.Background(), sqsBatch("alice", "bob", "carol", "dave"))
	if err != nil {
		t.Fatal(err)
	}
	if got := failedIDs(t, out); got != "m1,m2,m3,m4" {
		t.Fatalf("failures %s", got)
	}
	want := map[string]string{"m1": "call-alice", "m2": "call-bob", "m3": "call-carol", "m4": "call-dave"}
	lines := 0
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) != nil || (m["message"] != "inside record" && m["message"] != "retry message failed; it stays on the queue") {
			continue
		}
		lines++
		id, _ := m["message_id"].(string)
		if id == "" || m["call_sid"] != want[id] {
			t.Errorf("line for %s names call %v: %s", id, m["call_sid"], line)
		}
		if m["message"] != "inside record" && (id == "" || !strings.Contains(m["error"].(string), strings.TrimPrefix(want[id], "call-"))) {
			t.Errorf("failure line for %q: %s", id, line)
		}
	}
	if lines != 8 {
		t.Errorf("%d record lines, want 8:\n%s", lines, buf)
	}
}

// TestSQSBatchTooShortToStartIsReportedUntried: with a 1 s function the
// router's answer time (Lambda's deadline minus the 200 ms margin) leaves
// less than sqsMinMessageTime, so no message is started: each is reported
// in batchItemFailures without a try (it stays on the queue) and the batch
// answers at once. (The RIE test ran this case only while it used a 1 s
// timeout.)
func TestSQSBatchTooShortToStartIsReportedUntried(t *testing.T) {
	hooks := &budgetRetry{deadlines: map[string]time.Time{}, processed: map[string]int{}, release: make(chan struct{})}
	r, _ := newRouter(&fakeCore{}, hooks)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	out, err := r.Invoke(ctx, sqsBatch("ok-1", "ok-2"))
	if err != nil {
		t.Fatal(err)
	}
	if got := failedIDs(t, out); got != "m1,m2" {
		t.Fatalf("batchItemFailures = [%s], want [m1,m2]", got)
	}
	if len(hooks.deadlines) != 0 {
		t.Fatalf("messages were started: %v", hooks.deadlines)
	}
}
