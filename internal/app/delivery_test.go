package app

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/signalwire-lambda/participants/internal/forward"
	"github.com/signalwire-lambda/participants/internal/retry"
	"github.com/signalwire-lambda/participants/internal/signalwire"
	"github.com/signalwire-lambda/participants/test/signing"
)

// namedDest is a destination with a name, a scripted sequence of errors
// (then success) and a record of every Send.
type namedDest struct {
	name  string
	mu    sync.Mutex
	errs  []error // consumed one per Send; nil entries succeed
	fail  error   // when errs is empty: returned by every Send
	sends int
	got   [][]byte // bodies accepted
}

func (d *namedDest) Name() string { return d.name }

func (d *namedDest) Send(ctx context.Context, m forward.Message) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.sends++
	var err error
	if len(d.errs) > 0 {
		err, d.errs = d.errs[0], d.errs[1:]
	} else {
		err = d.fail
	}
	if err == nil {
		d.got = append(d.got, m.Body)
	}
	return err
}

// threeDests builds https, eventbridge and sqs doubles, a retry queue and a DLQ.
func threeDests(t *testing.T) (*hookFixture, *namedDest, *namedDest, *namedDest, *fakeQueue) {
	t.Helper()
	https, bus, q := &namedDest{name: "https"}, &namedDest{name: "eventbridge"}, &namedDest{name: "sqs"}
	dlq := &fakeQueue{}
	f := newHooks(t, func(o *WebhookOptions) {
		o.Destinations = []forward.Destination{https, bus, q}
		o.DeadLetter = dlq
		o.Policy = retry.Policy{MaxAttempts: 4, Base: 1, Max: 1}
	})
	return f, https, bus, q, dlq
}

// TestPermanentFailureIsDeadLetteredAtOnce reproduces issue 14 §1: the HTTPS
// destination answers 413. Before: 4 HTTPS attempts per receive and 4
// copies each to the healthy destinations, then the DLQ. Now: one attempt,
// one copy each to the healthy ones, the failure on the DLQ at once with
// its reason, nothing on the retry queue.
func TestPermanentFailureIsDeadLetteredAtOnce(t *testing.T) {
	f, https, bus, q, dlq := threeDests(t)
	https.fail = &forward.StatusError{StatusCode: 413}
	if got := outcomeOf(t, f.routes.Handle(f.ctx(), signedPost(joinForm(call), "PSK_key"))); got != string(outcomeDeadLettered) {
		t.Fatalf("outcome %s", got)
	}
	if https.sends != 1 || len(bus.got) != 1 || len(q.got) != 1 {
		t.Fatalf("https attempts %d, eventbridge copies %d, sqs copies %d; want 1, 1, 1", https.sends, len(bus.got), len(q.got))
	}
	if len(f.queue.bodies) != 0 || len(dlq.bodies) != 1 {
		t.Fatalf("retry queue %d, DLQ %d; want 0, 1", len(f.queue.bodies), len(dlq.bodies))
	}
	job, err := decodeJob(string(dlq.bodies[0]))
	if err != nil || job.Kind != kindDeliver || strings.Join(job.Destinations, ",") != "https" || !strings.Contains(job.Reason, "413") {
		t.Fatalf("DLQ message %s (%v)", dlq.bodies[0], err)
	}
	if string(job.Envelope) != string(bus.got[0]) {
		t.Error("the DLQ copy is not the envelope the other destinations got")
	}
	if m := f.metrics(); !strings.Contains(m, `"DeadLettered":1`) || !strings.Contains(m, `"Destination":"https"`) {
		t.Errorf("no DeadLettered metric for https: %s", m)
	}
	if !strings.Contains(f.logs.String(), "refused the event permanently") {
		t.Error("no log line for the permanent failure")
	}

	// A manual redrive (the DLQ message moved back to the retry queue)
	// re-sends to https only.
	https.fail = nil
	if err := f.hooks.ProcessRetry(f.ctx(), string(dlq.bodies[0]), 1); err != nil {
		t.Fatal(err)
	}
	if len(https.got) != 1 || len(bus.got) != 1 || len(q.got) != 1 {
		t.Fatalf("after redrive: https %d, eventbridge %d, sqs %d copies; want 1 each", len(https.got), len(bus.got), len(q.got))
	}
	if string(https.got[0]) != string(bus.got[0]) {
		t.Error("the redriven copy differs from the others")
	}
}

// TestRetryResendsOnlyToDestinationsThatHadNotAccepted: SQS answers 503 for
// a while; EventBridge and HTTPS get one copy each, SQS one once it recovers.
func TestRetryResendsOnlyToDestinationsThatHadNotAccepted(t *testing.T) {
	f, https, bus, q, dlq := threeDests(t)
	q.fail = &forward.StatusError{StatusCode: 503}
	if got := outcomeOf(t, f.routes.Handle(f.ctx(), signedPost(joinForm(call), "PSK_key"))); got != "queued" {
		t.Fatalf("outcome %s", got)
	}
	msg := string(f.queue.bodies[0])
	for receive := 1; receive <= 3; receive++ { // still down: the message stays, nobody else gets a copy
		if err := f.hooks.ProcessRetry(f.ctx(), msg, receive); err == nil {
			t.Fatal("a failed retry deleted the message")
		}
	}
	q.fail = nil
	if err := f.hooks.ProcessRetry(f.ctx(), msg, 4); err != nil {
		t.Fatal(err)
	}
	if len(https.got) != 1 || len(bus.got) != 1 || len(q.got) != 1 || len(dlq.bodies) != 0 {
		t.Fatalf("copies: https %d, eventbridge %d, sqs %d, DLQ %d; want 1, 1, 1, 0", len(https.got), len(bus.got), len(q.got), len(dlq.bodies))
	}
	if string(q.got[0]) != string(https.got[0]) {
		t.Error("the retried copy differs from the first")
	}
}

// TestProgressReparksTheRest: two destinations down; one recovers: the
// message is replaced by one for the other only.
func TestProgressReparksTheRest(t *testing.T) {
	f, https, bus, q, _ := threeDests(t)
	bus.fail, q.fail = &forward.StatusError{StatusCode: 500}, &forward.StatusError{StatusCode: 500}
	outcomeOf(t, f.routes.Handle(f.ctx(), signedPost(joinForm(call), "PSK_key")))
	bus.fail = nil
	if err := f.hooks.ProcessRetry(f.ctx(), string(f.queue.bodies[0]), 1); err != nil {
		t.Fatal(err)
	}
	if len(f.queue.bodies) != 2 {
		t.Fatalf("%d messages parked, want 2", len(f.queue.bodies))
	}
	job, _ := decodeJob(string(f.queue.bodies[1]))
	if strings.Join(job.Destinations, ",") != "sqs" {
		t.Fatalf("re-parked for %v, want [sqs]", job.Destinations)
	}
	q.fail = nil
	if err := f.hooks.ProcessRetry(f.ctx(), string(f.queue.bodies[1]), 1); err != nil {
		t.Fatal(err)
	}
	if len(https.got) != 1 || len(bus.got) != 1 || len(q.got) != 1 {
		t.Fatalf("copies https %d, eventbridge %d, sqs %d", len(https.got), len(bus.got), len(q.got))
	}
}

// flipUpstream answers muted=true, then false, then true...: a participant
// that changes between two lookups.
type flipUpstream struct {
	mu    sync.Mutex
	calls int
	err   error
}

func (u *flipUpstream) GetParticipant(ctx context.Context, auth signalwire.Auth, ref signalwire.ParticipantRef) (*signalwire.Participant, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.calls++
	if u.err != nil {
		return nil, u.err
	}
	muted := u.calls%2 == 1
	status := "in-progress"
	return &signalwire.Participant{AccountSID: &ref.AccountSID, ConferenceSID: &ref.ConferenceSID, CallSID: &ref.CallSID, Status: &status, Muted: &muted}, nil
}

func (u *flipUpstream) ListParticipants(ctx context.Context, auth signalwire.Auth, ref signalwire.ParticipantRef, _ signalwire.ListFilter) ([]*signalwire.Participant, error) {
	p, err := u.GetParticipant(ctx, auth, ref)
	return []*signalwire.Participant{p}, err
}

// TestEveryCopyOfAnIDCarriesTheSameEnvelope reproduces issue 10 §5: after a
// partial delivery the retry re-fetched the participant, so the second copy
// said muted false where the first said true. Now the retry carries the
// envelope: one lookup, identical bytes.
func TestEveryCopyOfAnIDCarriesTheSameEnvelope(t *testing.T) {
	f, https, _, q, _ := threeDests(t)
	up := &flipUpstream{}
	f.app.upstream = up
	q.fail = &forward.StatusError{StatusCode: 503}
	outcomeOf(t, f.routes.Handle(f.ctx(), signedPost(joinForm(call), "PSK_key")))
	q.fail = nil
	if err := f.hooks.ProcessRetry(f.ctx(), string(f.queue.bodies[0]), 1); err != nil {
		t.Fatal(err)
	}
	if up.calls != 1 {
		t.Errorf("participant fetched %d times, want 1", up.calls)
	}
	if len(q.got) != 1 || string(q.got[0]) != string(https.got[0]) {
		t.Fatalf("copies differ:\n%s\n%s", https.got[0], q.got)
	}
}

// TestWebhookJobBuiltOnRetryIsCarriedOn: a webhook parked before its
// envelope existed (SignalWire down) is built on retry; a partial delivery
// then parks that envelope, not the form.
func TestWebhookJobBuiltOnRetryIsCarriedOn(t *testing.T) {
	f, https, _, q, _ := threeDests(t)
	up := &flipUpstream{err: &signalwire.APIError{Kind: signalwire.KindUpstream, StatusCode: 500}}
	f.app.upstream = up
	outcomeOf(t, f.routes.Handle(f.ctx(), signedPost(joinForm(call), "PSK_key")))
	if job, _ := decodeJob(string(f.queue.bodies[0])); job.Kind != kindWebhook || len(job.form) == 0 {
		t.Fatalf("parked %s", f.queue.bodies[0])
	}
	up.err = nil
	q.fail = &forward.StatusError{StatusCode: 503}
	if err := f.hooks.ProcessRetry(f.ctx(), string(f.queue.bodies[0]), 1); err != nil {
		t.Fatal(err)
	}
	q.fail = nil
	if err := f.hooks.ProcessRetry(f.ctx(), string(f.queue.bodies[1]), 1); err != nil {
		t.Fatal(err)
	}
	if len(q.got) != 1 || len(https.got) != 1 || string(q.got[0]) != string(https.got[0]) {
		t.Fatalf("copies: https %d, sqs %d, or they differ", len(https.got), len(q.got))
	}
}

// TestQueryConferenceSidIsValidated reproduces issue 14 §2: a control
// character in ?ConferenceSid= made every enqueue fail (503, SignalWire
// retries forever). Now: a clear 400, nothing processed.
func TestQueryConferenceSidIsValidated(t *testing.T) {
	f := newHooks(t, nil)
	f.dest.err = &forward.StatusError{StatusCode: 503}
	form := url.Values{"AccountSid": {acct}, "CallSid": {call}, "CallStatus": {"completed"}}
	req := signedPost(form, "PSK_key")
	req.RawQuery = "ConferenceSid=room%01A"
	req.Headers["x-signalwire-signature"] = signWithQuery(form, req.RawQuery)
	r := f.routes.Handle(f.ctx(), req)
	if r.Status != 400 {
		t.Fatalf("status %d %s", r.Status, r.Body)
	}
	if m := decodeProblem(t, r); !strings.Contains(m["detail"].(string), "ConferenceSid") {
		t.Fatalf("problem %v", m)
	}
	if len(f.queue.bodies) != 0 || len(f.up.tokens) != 0 {
		t.Fatal("a webhook with a bad query SID was processed")
	}
}

// TestDirectInvocationOfUnprocessableFormIsAnError reproduces issue 10 §6:
// such forms were answered with an envelope whose id was "" and parked.
func TestDirectInvocationOfUnprocessableFormIsAnError(t *testing.T) {
	for name, tc := range map[string]struct {
		form   string
		status int
	}{
		"no AccountSid":         {"CallSid=" + call + "&CallStatus=completed", 400},
		"not a status callback": {"AccountSid=" + acct + "&Foo=bar", 400},
		"bad encoding":          {"AccountSid=%zz&CallStatus=completed", 400},
		"over 64 KiB":           {"AccountSid=" + acct + "&CallStatus=completed&X=" + strings.Repeat("a", 64<<10), 413},
		"envelope over 256 KiB": {"AccountSid=" + acct + "&CallStatus=completed&X=" + strings.Repeat("\x01", 60<<10), 413},
	} {
		t.Run(name, func(t *testing.T) {
			f := newHooks(t, nil)
			f.up.errs = []error{&signalwire.APIError{Kind: signalwire.KindUpstream, StatusCode: 500}}
			env, _, err := f.hooks.Accept(f.ctx(), DirectWebhook{Form: tc.form})
			if err == nil {
				t.Fatalf("accepted: envelope %s", env)
			}
			if p := ProblemFor(err); p.Status != tc.status {
				t.Fatalf("problem %d %s, want %d", p.Status, p.Detail, tc.status)
			}
			if len(f.queue.bodies) != 0 {
				t.Fatal("parked a message no attempt can process")
			}
		})
	}
	// A transient failure is still parked.
	f := newHooks(t, nil)
	f.up.errs = []error{&signalwire.APIError{Kind: signalwire.KindUpstream, StatusCode: 500}}
	if _, outcome, err := f.hooks.Accept(f.ctx(), DirectWebhook{Form: joinForm(call).Encode()}); err != nil || outcome != outcomeQueued {
		t.Fatalf("transient failure: %v %v", outcome, err)
	}
}

// TestUFFFFReachesEveryDestinationValid reproduces issue 14 §2: a signed
// FriendlyName with U+FFFF was written raw; SQS refused it permanently.
func TestUFFFFReachesEveryDestinationValid(t *testing.T) {
	f, https, bus, q, _ := threeDests(t)
	form := joinForm(call)
	form.Set("FriendlyName", "standup\uffff room")
	outcomeOf(t, f.routes.Handle(f.ctx(), signedPost(form, "PSK_key")))
	for _, d := range []*namedDest{https, bus, q} {
		if len(d.got) != 1 || !sqsText(string(d.got[0])) {
			t.Fatalf("%s: %d copies, valid %v", d.name, len(d.got), len(d.got) == 1 && sqsText(string(d.got[0])))
		}
		var env struct {
			Source map[string]any `json:"source"`
		}
		if err := json.Unmarshal(d.got[0], &env); err != nil || env.Source["friendly_name"] != "standup\uffff room" {
			t.Fatalf("%s: friendly_name %q (%v)", d.name, env.Source["friendly_name"], err)
		}
	}
}

// TestDestinationNoLongerConfigured: a redriven job for a destination the
// function no longer has is dead-lettered, not retried forever.
func TestDestinationNoLongerConfigured(t *testing.T) {
	f, _, _, q, dlq := threeDests(t)
	q.fail = &forward.StatusError{StatusCode: 503}
	outcomeOf(t, f.routes.Handle(f.ctx(), signedPost(joinForm(call), "PSK_key")))
	job, err := decodeJob(string(f.queue.bodies[0]))
	if err != nil {
		t.Fatal(err)
	}
	job.Destinations = []string{"gone"}
	b, _ := encodeMessage(job.retryMessage)
	if err := f.hooks.ProcessRetry(f.ctx(), string(b), 1); err != nil {
		t.Fatal(err)
	}
	if len(dlq.bodies) != 1 || !strings.Contains(string(dlq.bodies[0]), "no longer configured") {
		t.Fatalf("DLQ %d", len(dlq.bodies))
	}
}

func signWithQuery(form url.Values, query string) string {
	return signing.Form("PSK_key", base+"/webhooks/signalwire?"+query, form)
}
