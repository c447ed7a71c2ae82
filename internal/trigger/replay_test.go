package trigger

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// signedAt is the timestamp case c signs: a form's Timestamp, a JSON body's
// timestamp.
func signedAt(t *testing.T, c sdkCase) time.Time {
	t.Helper()
	if c.Kind == "json" {
		var b struct{ Timestamp float64 }
		if err := json.Unmarshal([]byte(c.J), &b); err != nil {
			t.Fatal(err)
		}
		return time.UnixMilli(int64(b.Timestamp * 1000)).UTC()
	}
	f, _ := url.ParseQuery(c.F)
	ts, err := time.Parse(time.RFC1123Z, f.Get("Timestamp"))
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

// firstCase returns the first case of kind whose event names a participant.
func firstCase(t *testing.T, v sdkCallbacks, kind string) sdkCase {
	for _, c := range v.Cases {
		if c.Kind == kind && (kind == "json" || strings.Contains(c.F, "CallSid=")) && !strings.HasSuffix(c.F, "ee") {
			return c
		}
	}
	t.Fatalf("no %s case", kind)
	return sdkCase{}
}

// TestReplayWindow: a genuine callback arriving more than WEBHOOK_MAX_AGE
// (here 1 h) after or before the timestamp it signs is refused, 403
// webhook-expired, counted and logged, with nothing fetched, forwarded or
// queued. Inside the window the byte-identical request is accepted again
// under the same id, the participant fetched again: the copies differ only
// in received_at and the participant snapshot.
func TestReplayWindow(t *testing.T) {
	v := loadSDKCallbacks(t)
	for _, kind := range []string{"conference", "json"} {
		c := firstCase(t, v, kind)
		body := c.F
		if kind == "json" {
			body = c.J
		}
		ts := signedAt(t, c)
		for i, trig := range sdkTriggers {
			event := v.event(t, c, i, c.Q, body, c.S[i])
			for _, off := range []time.Duration{time.Hour + time.Second, -time.Hour - time.Second, 30 * 24 * time.Hour} {
				at(t, ts.Add(off), func(t *testing.T) {
					h := newSDKHarness(v, c.K)
					status, answer := h.invoke(t, event)
					if status != 403 || !strings.Contains(answer, "#webhook-expired") || h.upstream.calls.Load() != 0 || h.dest.Sends() != 0 || h.queue.Enqueued() != 0 {
						t.Errorf("%s via %s, %v after its timestamp: %d %s; %d fetched, %d sent, %d queued", kind, trig, off, status, answer,
							h.upstream.calls.Load(), h.dest.Sends(), h.queue.Enqueued())
					}
					if !strings.Contains(h.metrics.String(), `"WebhookExpired":1`) || !strings.Contains(h.logs.String(), "outside the replay window") {
						t.Errorf("%s via %s: not counted or logged:\n%s\n%s", kind, trig, h.metrics.String(), h.logs.String())
					}
				})
			}
			at(t, ts.Add(-time.Hour), func(t *testing.T) { testCopiesInTheWindow(t, newSDKHarness(v, c.K), event, ts, kind+" via "+trig) })
		}
	}
}

// testCopiesInTheWindow sends event at the window's start, a minute after
// its timestamp and at the window's end: each is accepted under one id, and
// the copies differ only in received_at and the participant snapshot.
func testCopiesInTheWindow(t *testing.T, h *sdkHarness, event []byte, ts time.Time, name string) {
	var envelopes []map[string]any
	for _, off := range []time.Duration{-time.Hour, time.Minute, time.Hour} {
		time.Sleep(time.Until(ts.Add(off)))
		if status, answer := h.invoke(t, event); status != 200 {
			t.Fatalf("%s, %v after its timestamp: %d %s", name, off, status, answer)
		}
		m, _ := h.dest.Last()
		var env map[string]any
		if err := json.Unmarshal(m.Body, &env); err != nil {
			t.Fatal(err)
		}
		envelopes = append(envelopes, env)
	}
	if strings.HasPrefix(name, "conference") && h.upstream.calls.Load() != 3 {
		t.Errorf("%s: %d participant fetches for 3 copies", name, h.upstream.calls.Load())
	}
	for _, env := range envelopes[1:] {
		if env["id"] != envelopes[0]["id"] || env["received_at"] == envelopes[0]["received_at"] {
			t.Errorf("%s: copies %v and %v", name, envelopes[0]["id"], env["id"])
		}
		for k := range env {
			if k != "received_at" && k != "participant" && k != "participant_lookup" && !jsonEqual(env[k], envelopes[0][k]) {
				t.Errorf("%s: %s differs between copies of one id: %v, %v", name, k, envelopes[0][k], env[k])
			}
		}
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// TestReplayWindowRules: a callback that signs no timestamp (a JSON body
// without one) is accepted whenever it arrives; a parked webhook the retry
// queue delivers after the window (twice) is processed, with its first
// receipt's received_at: the window bounds arrivals, not the retries of an
// accepted webhook.
func TestReplayWindowRules(t *testing.T) {
	v := loadSDKCallbacks(t)
	c := firstCase(t, v, "json")
	body := `{"event_type":"calling.call.state","project_id":"` + v.Projects[c.K] + `","params":{"call_id":"5d9a3c1e-7b2f-4e8a-9c6d-1f0e2d3c4b5a","call_state":"ended"}}`
	sum := sha256.Sum256([]byte(body))
	c.J, c.Q = body, "bodySHA256="+hex.EncodeToString(sum[:])
	at(t, v.clock(t).Add(30*24*time.Hour), func(t *testing.T) {
		h := newSDKHarness(v, c.K)
		for i, trig := range sdkTriggers {
			sig := sdkSign(v.Keys[c.K], v.signedURL(c, i), nil)
			if status, answer := h.invoke(t, v.event(t, c, i, c.Q, body, sig)); status != 200 {
				t.Errorf("no timestamp via %s: %d %s", trig, status, answer)
			}
		}
	})

	form := firstCase(t, v, "conference")
	ts := signedAt(t, form)
	// A retry-queue message of kind webhook, as the function parks one.
	job, _ := json.Marshal(map[string]any{"v": 2, "kind": "webhook", "form_base64": base64.StdEncoding.EncodeToString([]byte(form.F)), "received_at": ts})
	sqs, _ := json.Marshal(events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m1", EventSource: "aws:sqs", Body: string(job), Attributes: map[string]string{"ApproximateReceiveCount": "2"}}}})
	at(t, ts.Add(3*time.Hour), func(t *testing.T) { testParkedAfterTheWindow(t, newSDKHarness(v, form.K), sqs, ts) })
}

// testParkedAfterTheWindow delivers a parked webhook twice, 3 h after its
// timestamp: both are processed; only the participant snapshot may differ.
func testParkedAfterTheWindow(t *testing.T, h *sdkHarness, sqs []byte, ts time.Time) {
	var envelopes []map[string]any
	for range 2 {
		out, err := h.router.Invoke(t.Context(), sqs)
		if err != nil || !strings.Contains(string(out), `"batchItemFailures":[]`) {
			t.Fatalf("retry batch: %s %v", out, err)
		}
		m, _ := h.dest.Last()
		var env map[string]any
		if err := json.Unmarshal(m.Body, &env); err != nil {
			t.Fatal(err)
		}
		envelopes = append(envelopes, env)
	}
	if h.dest.Sends() != 2 || envelopes[0]["received_at"] != ts.Format(time.RFC3339) {
		t.Errorf("a parked webhook 3 h old: %d sends, received_at %v", h.dest.Sends(), envelopes[0]["received_at"])
	}
	for k := range envelopes[0] {
		if k != "participant" && k != "participant_lookup" && !jsonEqual(envelopes[0][k], envelopes[1][k]) {
			t.Errorf("%s differs between two SQS deliveries: %v, %v", k, envelopes[0][k], envelopes[1][k])
		}
	}
}
