package app

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/signalwire-lambda/participants/internal/signalwire"
)

// ctxUpstream records the context of each call, then answers like fakeUpstream.
type ctxUpstream struct {
	fakeUpstream
	deadlines  []time.Time
	doneAtCall []bool
}

func (u *ctxUpstream) GetParticipant(ctx context.Context, auth signalwire.Auth, ref signalwire.ParticipantRef) (*signalwire.Participant, error) {
	dl, _ := ctx.Deadline()
	u.deadlines = append(u.deadlines, dl)
	u.doneAtCall = append(u.doneAtCall, ctx.Err() != nil)
	return u.fakeUpstream.GetParticipant(ctx, auth, ref)
}

// TestShortDeadlineStillProcessesInline: a 1 s function has 800 ms after
// its margin; the webhook is still fetched and delivered inline, and the
// fetch leaves part of the time for the enqueue. Before, the inline budget
// was "the deadline minus 1 s", zero here: every webhook was queued untried.
func TestShortDeadlineStillProcessesInline(t *testing.T) {
	f := newHooks(t, nil)
	up := &ctxUpstream{}
	f.app.upstream = up
	ctx, cancel := context.WithTimeout(f.ctx(), 800*time.Millisecond)
	defer cancel()
	dl, _ := ctx.Deadline()
	r := f.routes.Handle(ctx, signedPost(joinForm(call), "PSK_key"))
	if got := outcomeOf(t, r); got != "delivered" {
		t.Fatalf("outcome %s, want delivered", got)
	}
	if len(up.deadlines) != 1 || up.doneAtCall[0] {
		t.Fatalf("participant fetch calls %d, context done at call: %v", len(up.deadlines), up.doneAtCall)
	}
	// Half of the 800 ms is kept for the enqueue.
	if kept := dl.Sub(up.deadlines[0]); kept < 350*time.Millisecond || kept > 400*time.Millisecond {
		t.Fatalf("the fetch leaves %v before the deadline, want about 400ms", kept)
	}
}

// TestLongDeadlineKeepsOneSecondForTheEnqueue: with time to spare, the
// inline work ends at its budget and never closer than 1 s to the deadline.
func TestLongDeadlineKeepsOneSecondForTheEnqueue(t *testing.T) {
	f := newHooks(t, func(o *WebhookOptions) { o.InlineBudget = time.Hour })
	up := &ctxUpstream{}
	f.app.upstream = up
	ctx, cancel := context.WithTimeout(f.ctx(), 10*time.Second)
	defer cancel()
	dl, _ := ctx.Deadline()
	f.routes.Handle(ctx, signedPost(joinForm(call), "PSK_key"))
	if len(up.deadlines) != 1 || !up.deadlines[0].Equal(dl.Add(-time.Second)) {
		t.Fatalf("fetch deadlines %v, want %v", up.deadlines, dl.Add(-time.Second))
	}
}

// TestDeadlineOutsideSignalWireIs504: time running out in another step
// (waiting for a credentials fetch) is a 504 problem, not a 500.
func TestDeadlineOutsideSignalWireIs504(t *testing.T) {
	a, _ := newTestApp(&fakeUpstream{}, &fakeCreds{err: fmt.Errorf("waiting for credentials: %w", context.DeadlineExceeded)})
	r := NewRoutes(a, nil).Handle(context.Background(), get(readPath(acct, conf, call)))
	p := decodeProblem(t, r)
	if r.Status != 504 || !strings.HasSuffix(p["type"].(string), problemUpstreamTimeout) {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
}
