package trigger

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/signalwire-lambda/participants/internal/app"
	"github.com/signalwire-lambda/participants/internal/participant"
	"github.com/signalwire-lambda/participants/internal/signalwire"
)

// deadlineRecorder records the deadline of the context each step receives.
// The records of an SQS batch run concurrently: record locks.
type deadlineRecorder struct {
	mu  sync.Mutex
	got []time.Time
}

func (d *deadlineRecorder) record(ctx context.Context) {
	dl, _ := ctx.Deadline()
	d.mu.Lock()
	defer d.mu.Unlock()
	d.got = append(d.got, dl)
}

func (d *deadlineRecorder) Handle(ctx context.Context, r app.Request) app.Response {
	d.record(ctx)
	return app.Response{Status: 200, Body: []byte(`{}`)}
}

func (d *deadlineRecorder) Participant(ctx context.Context, ref signalwire.ParticipantRef) (participant.Participant, error) {
	d.record(ctx)
	return participant.Participant{SchemaVersion: 1}, nil
}

func (d *deadlineRecorder) Participants(ctx context.Context, ref signalwire.ParticipantRef, _ signalwire.ListFilter) (app.List, error) {
	d.record(ctx)
	return app.List{SchemaVersion: 1}, nil
}

func (d *deadlineRecorder) Accept(ctx context.Context, job app.DirectWebhook) ([]byte, app.Outcome, error) {
	d.record(ctx)
	return []byte(`{"id":"evt_x"}`), "returned", nil
}

func (d *deadlineRecorder) ProcessRetry(ctx context.Context, body string, n int) error {
	d.record(ctx)
	return nil
}

// TestEveryTriggerWorksAheadOfTheDeadline: the core never gets the Lambda
// deadline itself, but the deadline minus the margin, whatever the trigger
// (issue 10 §4: the runtime killed the invocation before the 504 was written).
func TestEveryTriggerWorksAheadOfTheDeadline(t *testing.T) {
	for _, name := range []string{"http-api-read.json", "rest-api-read.json", "function-url-read.json", "direct-read.json", "direct-list.json", "sqs-retry-batch.json", "webhook-participant-join.json"} {
		t.Run(name, func(t *testing.T) {
			rec := &deadlineRecorder{}
			r, _ := newRouter(rec, rec)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			lambdaDeadline, _ := ctx.Deadline()
			if _, err := r.Invoke(ctx, readEvent(t, name)); err != nil {
				t.Fatal(err)
			}
			if len(rec.got) == 0 {
				t.Fatal("the core was not called")
			}
			want := lambdaDeadline.Add(-margin(2 * time.Second))
			for _, got := range rec.got {
				if !got.Equal(want) {
					t.Fatalf("the core's deadline is %v before Lambda's, want %v", lambdaDeadline.Sub(got), margin(2*time.Second))
				}
			}
		})
	}
	t.Run("direct webhook", func(t *testing.T) {
		rec := &deadlineRecorder{}
		r, _ := newRouter(rec, rec)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		lambdaDeadline, _ := ctx.Deadline()
		if _, err := r.Invoke(ctx, []byte(`{"signalwire_webhook":{"form":"AccountSid=x"}}`)); err != nil {
			t.Fatal(err)
		}
		if len(rec.got) != 1 || !rec.got[0].Equal(lambdaDeadline.Add(-maxMargin)) {
			t.Fatalf("deadlines %v, want %v", rec.got, lambdaDeadline.Add(-maxMargin))
		}
	})
}
