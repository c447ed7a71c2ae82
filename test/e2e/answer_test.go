package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/signalwire-lambda/participants/test/localenv"
	"github.com/signalwire-lambda/participants/test/sandbox"
)

// TestAbsurdUpstreamAnswersUnderRIE (issue 14 §3, §6): under the RIE, an
// upstream body under the 1 MiB cap with a label of 1,000,000 '<' gave a
// 7,000,575-byte answer that the RIE refused (Function.ResponseSizeTooLarge),
// and an answer for another participant (or {}) was served as the one
// asked for. Each must be a 502 upstream-error, whatever the trigger.
func TestAbsurdUpstreamAnswersUnderRIE(t *testing.T) {
	s := start(t, localenv.Options{})
	p, ok := s.env.Sandbox.ParticipantJSON(sandbox.ConferenceStandup, sandbox.CallAlice)
	if !ok {
		t.Fatal("no seeded participant")
	}
	var m map[string]any
	json.Unmarshal(p, &m)
	m["label"] = strings.Repeat("<", 1_000_000)
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(m)
	huge := b.String()
	if len(huge) >= 1<<20 {
		t.Fatalf("the body (%d bytes) must stay under the client's 1 MiB cap", len(huge))
	}
	other, _ := s.env.Sandbox.ParticipantJSON(sandbox.ConferenceStandup, sandbox.CallBob)

	for _, tc := range []struct{ name, body string }{
		{"label of 1,000,000 <", huge},
		{"another participant", string(other)},
		{"empty object", "{}"},
	} {
		for _, event := range []string{"http-api-read.json", "rest-api-read.json", "function-url-read.json", "direct-read.json"} {
			t.Run(tc.name+"/"+event, func(t *testing.T) {
				s.env.Sandbox.ClearFaults()
				s.env.Sandbox.Inject(sandbox.Fault{Status: 200, Body: tc.body})
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				out, err := s.fn.Invoke(ctx, readEvent(t, event))
				var ie *localenv.InvokeError
				if errors.As(err, &ie) {
					t.Fatalf("the RIE refused the answer: %d %.200s", ie.StatusCode, ie.Body)
				}
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("answer: %d bytes", len(out))
				if event == "direct-read.json" {
					var e struct {
						ErrorType string `json:"errorType"`
					}
					if json.Unmarshal(out, &e) != nil || e.ErrorType != "UpstreamError" {
						t.Fatalf("%.300s", out)
					}
					return
				}
				r := httpOf(t, out)
				if r.StatusCode != 502 || !strings.HasSuffix(problemType(t, r), "upstream-error") {
					t.Fatalf("%d %.300s", r.StatusCode, r.Body)
				}
			})
		}
	}
}
