package app

import (
	"testing"
	"time"

	"github.com/signalwire-lambda/participants/internal/webhook"
)

// TestLargestMessageBoundIsAnUpperBound (and the envelope bound): the cheap bound that lets most
// webhooks skip messageSizes' encodings is never below the exact largest
// message, for every worst-case form at several sizes, as checked before
// acceptance (the job with its form) and after the participant (the job
// without it), with and without a long reason and many destinations.
func TestLargestMessageBoundIsAnUpperBound(t *testing.T) {
	dests := [][]string{nil, {"https", "eventbridge", "sqs"}, {"a-destination-with-a-long-name-" + string(make([]byte, 200))}}
	checked := 0
	for _, fill := range []int{1, 100, 4000, 20000, 0} {
		for name, body := range worstForms(fill) {
			form, err := webhook.ParseForm([]byte(body))
			if err != nil {
				t.Fatal(err)
			}
			src, err := webhook.Normalize(form, nil)
			if err != nil {
				t.Fatal(err)
			}
			env := webhook.NewEnvelope(src, time.Date(2026, 11, 26, 10, 15, 0, 0, time.UTC))
			envBody, err := EncodeEnvelope(env)
			if err != nil {
				t.Fatal(err)
			}
			// The envelope bound check() uses before building it.
			for _, job := range []Job{{Form: body}, {Body: body}} {
				if n, _ := envelopeBound(job); n < len(envBody) {
					t.Errorf("%s (fill %d): envelope bound %d below the envelope's %d bytes", name, fill, n, len(envBody))
				}
			}
			for _, job := range []Job{
				{Form: body, Query: "ConferenceSid=" + conf, ReceivedAt: time.Now(), EventID: env.ID, ConferenceSID: src.ConferenceSID(), TraceID: "Root=1-6745f0a1-abcdefabcdefabcdefabcdef"},
				{ReceivedAt: time.Now(), EventID: env.ID, ConferenceSID: src.ConferenceSID()},
				{Body: body, ContentType: "application/json", Reason: string(make([]byte, 3000)), ReceivedAt: time.Now()},
			} {
				for _, d := range dests {
					bound, ok := largestMessageBound(len(envBody), job, d)
					if !ok {
						t.Fatalf("%s: no bound for a job without an envelope", name)
					}
					exact, err := messageSizes(envBody, job, d)
					if err != nil {
						t.Fatal(err)
					}
					if bound < exact.largest {
						t.Errorf("%s (fill %d): bound %d below the exact %d", name, fill, bound, exact.largest)
					}
					if surelyFits(len(envBody), job, d, ParticipantReserve) && exact.largest+ParticipantReserve > 256<<10 {
						t.Errorf("%s (fill %d): surelyFits, yet %d bytes", name, fill, exact.largest)
					}
					checked++
				}
			}
		}
	}
	if _, ok := largestMessageBound(0, Job{Envelope: []byte(`{}`)}, nil); ok {
		t.Error("a job with an embedded envelope takes the bound")
	}
	// The common webhook takes the fast path.
	form, _ := webhook.ParseForm([]byte(worstForms(1)["quotes"]))
	src, _ := webhook.Normalize(form, nil)
	envBody, _ := EncodeEnvelope(webhook.NewEnvelope(src, time.Now()))
	if !surelyFits(len(envBody), Job{Form: "AccountSid=" + acct, ReceivedAt: time.Now()}, []string{"sqs"}, ParticipantReserve) {
		t.Error("a small webhook does not take the fast path")
	}
	t.Logf("%d jobs checked", checked)
}
