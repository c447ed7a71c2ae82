package app

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"
	"unicode/utf8"

	"github.com/signalwire-lambda/participants/internal/forward"
	"github.com/signalwire-lambda/participants/internal/signalwire"
	"github.com/signalwire-lambda/participants/internal/webhook"
)

// rawPost is a signed webhook whose body is raw (not re-encoded): the
// bytes as sent, which is what the 64 KiB limit counts.
func rawPost(body string) Request {
	form, err := webhook.ParseForm([]byte(body))
	if err != nil {
		panic(err)
	}
	r := signedPost(form, "PSK_key")
	r.Body = body
	return r
}

// worstForms are 64 KiB forms built to make the envelope as large as JSON
// can: each form byte costs up to 6 envelope bytes (a control character
// becomes \u0001; encoding/json also wrote <, > and & as \u003c...), an
// invalid UTF-8 byte becomes U+FFFD (3 bytes), a raw U+FFFF becomes
// \uffff, and a parameter of 2 bytes becomes "param_12345":"" (many
// parameters whose names have no letter or digit).
func worstForms(fill int) map[string]string {
	head := "AccountSid=" + acct + "&ConferenceSid=" + conf + "&CallSid=" + call + "&StatusCallbackEvent=participant-join&SequenceNumber=4&X="
	n := webhook.MaxBodyBytes - len(head)
	if fill > 0 {
		n = fill
	}
	params := strings.Builder{}
	params.WriteString(strings.TrimSuffix(head, "&X="))
	// Names sort after AccountSid (webhook.Normalize refuses the others):
	// every 2-byte name first, then 3-byte ones.
	const first = "[\\]^_`{|}~"
	for i := 0; params.Len() < webhook.MaxBodyBytes-5; i++ {
		if i < len(first)*128 {
			fmt.Fprintf(&params, "&%c%c", first[i%len(first)], 0x80+i/len(first))
		} else {
			j := i - len(first)*128
			fmt.Fprintf(&params, "&%c%c%c", first[j%len(first)], 0x80+j/len(first)%128, 0x80+j/len(first)/128%128)
		}
	}
	return map[string]string{
		"control characters": head + strings.Repeat("\x01", n),
		"<>&":                head + strings.Repeat("<>%26", n/5), // a raw & would start parameters named "<>", refused
		"invalid UTF-8":      head + strings.Repeat("\xff", n),
		"U+FFFF":             head + strings.Repeat("\uffff", n/3),
		"non-ASCII":          head + strings.Repeat("é", n/2),
		"quotes":             head + strings.Repeat(`"\`, n/2),
		"many parameters":    params.String(),
	}
}

// TestEveryAcceptedWebhookFitsSQSAndEventBridge (issue 14 §3): a 64 KiB form
// became an envelope of 392 KB and a retry message over 256 KiB. Every
// worst-case form is now either refused with 413 before acceptance, or
// every message that carries it (each destination's, the retry queue's
// with the envelope, the retry queue's with the form, the DLQ's) fits
// 256 KiB.
func TestEveryAcceptedWebhookFitsSQSAndEventBridge(t *testing.T) {
	for name, body := range worstForms(0) {
		t.Run(name, func(t *testing.T) {
			if len(body) > webhook.MaxBodyBytes {
				t.Fatalf("form of %d bytes", len(body))
			}
			form, _ := webhook.ParseForm([]byte(body))
			src, err := webhook.Normalize(form, nil)
			if err != nil {
				t.Fatal(err)
			}
			env := webhook.NewEnvelope(src, time.Date(2026, 11, 26, 10, 15, 0, 0, time.UTC))
			before, _ := json.Marshal(env) // encoding/json as the envelope was written before
			after, _ := encodeMessage(env)

			f := newHooks(t, nil)
			f.dest.err = &forward.StatusError{StatusCode: 503} // park it with its envelope
			r := f.routes.Handle(f.ctx(), rawPost(body))
			t.Logf("%s: form %d bytes: envelope %d bytes with encoding/json, %d as sent; HTTP %d", name, len(body), len(before), len(after), r.Status)
			switch r.Status {
			case 413:
				if len(after)+participantReserve+carrierBytes+2*len(env.Type)+6*len(conf) <= forward.MaxMessageBytes {
					t.Fatalf("refused although its envelope (%d bytes) fits", len(after))
				}
				if len(f.queue.bodies) != 0 {
					t.Fatal("refused yet parked")
				}
				return
			case 200:
			default:
				t.Fatalf("HTTP %d %s", r.Status, r.Body)
			}
			checkFits(t, f)
			// The same webhook parked before its envelope exists (SignalWire
			// down): the retry message carries the form.
			g := newHooks(t, nil)
			g.up.errs = []error{&signalwire.APIError{Kind: signalwire.KindUpstream, StatusCode: 500}}
			if r := g.routes.Handle(g.ctx(), rawPost(body)); r.Status != 200 {
				t.Fatalf("HTTP %d", r.Status)
			}
			checkFits(t, g)
		})
	}
}

// TestLargestAcceptedWebhookFits walks the control-character form up to
// the largest size accepted: that one's messages fit 256 KiB, one byte
// more is a 413. The envelope and the retry message carry received_at in
// RFC 3339 with its trailing zeros trimmed, so their size depends on the
// clock by up to 10 bytes: every attempt runs (in a synctest bubble) at
// an instant whose received_at has all nine fraction digits, the longest form (on the
// wall clock the boundary moved between two calls and the search's last
// "accepted" size was refused).
func TestLargestAcceptedWebhookFits(t *testing.T) { synctest.Test(t, testLargestAcceptedWebhookFits) }

func testLargestAcceptedWebhookFits(t *testing.T) {
	accepted := func(n int) (bool, *hookFixture) {
		// The bubble's clock, moved on to the next instant whose fraction
		// has all nine digits.
		time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second + 123456789)))
		f := newHooks(t, nil)
		f.dest.err = &forward.StatusError{StatusCode: 503}
		r := f.routes.Handle(f.ctx(), rawPost(worstForms(n)["control characters"]))
		return r.Status == 200, f
	}
	full := worstForms(0)["control characters"]
	lo, hi := 0, len(full)-strings.Index(full, "X=")-2 // lo accepted, hi refused
	if ok, _ := accepted(hi); ok {
		t.Fatal("the 64 KiB control-character form is accepted")
	}
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		if ok, _ := accepted(mid); ok {
			lo = mid
		} else {
			hi = mid
		}
	}
	ok, f := accepted(lo)
	if !ok || len(f.queue.bodies) == 0 {
		t.Fatalf("the largest accepted size (%d control characters) is refused or not parked on a second try", lo)
	}
	job, _ := decodeJob(string(f.queue.bodies[0]))
	t.Logf("largest accepted: %d control characters; envelope %d bytes, retry message %d bytes", lo, len(job.Envelope), len(f.queue.bodies[0]))
	checkFits(t, f)
}

// checkFits asserts that every message written fits SQS's and EventBridge's
// 256 KiB, attributes included, and is valid for SQS.
func checkFits(t *testing.T, f *hookFixture) {
	t.Helper()
	for i, b := range f.queue.bodies {
		size := len(b)
		for k, v := range f.queue.attrs[i] {
			size += len(k) + len("String") + len(v)
		}
		if size > forward.MaxMessageBytes || !sqsText(string(b)) {
			t.Errorf("retry message %d: %d bytes (valid %v)", i, size, sqsText(string(b)))
		}
		job, err := decodeJob(string(b))
		if err != nil {
			t.Fatal(err)
		}
		if len(job.Envelope) > 0 {
			// The SQS destination's message and EventBridge's entry.
			sqsSize := len(job.Envelope) + len("event_id") + len("String") + len(job.EventID) + len("event_type") + len("String") + len(job.EventType)
			busSize := len(job.Envelope) + len("signalwire.participants") + len("SignalWire Conference Event") + 14 // the longest DetailType
			if sqsSize > forward.MaxMessageBytes || busSize > forward.MaxMessageBytes {
				t.Errorf("envelope: SQS %d bytes, EventBridge %d bytes", sqsSize, busSize)
			}
		}
	}
	if len(f.queue.bodies) == 0 {
		t.Error("nothing parked")
	}
}

// bigUpstream answers a participant with 7 undocumented fields of 7 KiB
// each (under the lookup's 8 KiB-per-value, 64 KiB-in-all bounds).
type bigUpstream struct{}

func (bigUpstream) GetParticipant(ctx context.Context, auth signalwire.Auth, ref signalwire.ParticipantRef) (*signalwire.Participant, error) {
	status := "in-progress"
	p := &signalwire.Participant{AccountSID: &ref.AccountSID, ConferenceSID: &ref.ConferenceSID, CallSID: &ref.CallSID, Status: &status, Extra: map[string]json.RawMessage{}}
	for i := range 7 {
		p.Extra[fmt.Sprintf("label_%d", i)] = json.RawMessage(`"` + strings.Repeat("\\u0001", 7<<10/6) + `"`)
	}
	return p, nil
}

func (u bigUpstream) ListParticipants(ctx context.Context, auth signalwire.Auth, ref signalwire.ParticipantRef, _ signalwire.ListFilter) ([]*signalwire.Participant, error) {
	p, err := u.GetParticipant(ctx, auth, ref)
	return []*signalwire.Participant{p}, err
}

// TestParticipantThatDoesNotFitIsDeadLettered: an accepted webhook whose
// participant makes the envelope too large for SQS/EventBridge is
// dead-lettered at once with the reason, not retried.
func TestParticipantThatDoesNotFitIsDeadLettered(t *testing.T) {
	f := newHooks(t, nil)
	dlq := &fakeQueue{}
	f.hooks.opts.DeadLetter = dlq
	f.app.upstream = bigUpstream{}
	r := f.routes.Handle(f.ctx(), rawPost(worstForms(36000)["control characters"]))
	if got := outcomeOf(t, r); got != string(outcomeDeadLettered) {
		t.Fatalf("outcome %s", got)
	}
	if len(dlq.bodies) != 1 || len(f.queue.bodies) != 0 || len(f.dest.msgs) != 0 {
		t.Fatalf("DLQ %d, retry queue %d, delivered %d", len(dlq.bodies), len(f.queue.bodies), len(f.dest.msgs))
	}
	job, err := decodeJob(string(dlq.bodies[0]))
	if err != nil || job.Kind != kindWebhook || !strings.Contains(job.Reason, "256 KiB") || len(dlq.bodies[0]) > forward.MaxMessageBytes {
		t.Fatalf("DLQ message %.300s (%v)", dlq.bodies[0], err)
	}
}

// sqsText reports whether s is text SQS accepts: valid UTF-8 of #x9 #xA
// #xD #x20-#xD7FF #xE000-#xFFFD #x10000-#x10FFFF.
func sqsText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsFunc(s, func(r rune) bool {
		return r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r == 0xFFFE || r == 0xFFFF
	})
}
