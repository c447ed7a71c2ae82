package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/signalwire-lambda/participants/test/httpevent"
	"github.com/signalwire-lambda/participants/test/localenv"
	"github.com/signalwire-lambda/participants/test/sandbox"
	"github.com/signalwire-lambda/participants/test/signing"
)

// TestMixedLoadLosesNothing runs a bounded, seeded mix through the real
// handler in process, 4 in flight: reads of the sandbox's participants,
// reads with hostile SIDs, signed and forged webhooks over every trigger
// shape, then 5 signed webhooks while the HTTPS destination answers 503.
// Every answer is the one its kind expects, each accepted webhook has its
// own event id, nothing reaches a destination that no accepted webhook
// produced, and accepted = delivered (at every destination) + queued +
// dead-lettered.
func TestMixedLoadLosesNothing(t *testing.T) {
	p := startInProcess(t)
	p.build(t)
	key, base := p.env.Secret().SigningKey, p.env.PublicBaseURL
	const n, outage = 200, 5
	mix := loadMix(n, key, base)
	answers := p.drive(mix)
	p.env.Receiver.FailUntilRecover(503)
	down := outageMix(outage, n, key, base)
	answers = append(answers, p.drive(down)...)
	p.env.Receiver.Recover()
	mix = append(mix, down...)

	kinds := map[string]int{}
	accepted := map[string]string{} // event id -> answered outcome
	answeredDelivered, sent := 0, 0
	for i, r := range mix {
		kinds[r.kind]++
		id, outcome, reason := judge(r, answers[i])
		if reason != "" {
			t.Errorf("request %d (%s, %s): %s", i, r.kind, r.shape, reason)
			continue
		}
		if r.kind != loadWebhook && r.kind != loadOutage {
			continue
		}
		sent++
		if _, dup := accepted[id]; dup {
			t.Errorf("request %d: event id %s answered twice", i, id)
		}
		accepted[id] = outcome
		if outcome == "delivered" {
			answeredDelivered++
		}
	}
	for _, k := range []string{loadRead, loadInvalidSID, loadWebhook, loadForged, loadOutage} {
		if kinds[k] == 0 {
			t.Errorf("the mix has no %s request", k)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, _ = p.env.WaitEvents(ctx, answeredDelivered) // kumo's bookkeeping; copies reads the bus
	c := (&stack{env: p.env}).copies(t)
	delivered, queuedAnswers := 0, 0
	for id, outcome := range accepted {
		switch {
		case outcome == "queued":
			queuedAnswers++
		case c.https[id] > 0 && c.sqs[id] > 0 && c.bus[id] > 0:
			delivered++
		default:
			t.Errorf("%s answered delivered: HTTPS %d, SQS %d, bus %d copies", id, c.https[id], c.sqs[id], c.bus[id])
		}
	}
	for _, dest := range []map[string]int{c.https, c.sqs, c.bus} {
		for id := range dest {
			if _, ok := accepted[id]; !ok {
				t.Errorf("%s reached a destination but no accepted webhook has that id", id)
			}
		}
	}
	queued, err := p.env.QueueDepth(ctx, p.env.RetryQueueURL)
	if err != nil {
		t.Fatal(err)
	}
	deadLettered, err := p.env.QueueDepth(ctx, p.env.RetryDLQURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d requests %v; accepted %d = delivered %d + queued %d + dead-lettered %d",
		len(mix), kinds, len(accepted), delivered, queued, deadLettered)
	if len(accepted) != sent || len(accepted) != delivered+queued+deadLettered {
		t.Errorf("signed %d, accepted %d != delivered %d + queued %d + dead-lettered %d", sent, len(accepted), delivered, queued, deadLettered)
	}
	if delivered != answeredDelivered || delivered == 0 {
		t.Errorf("answered delivered %d, found at every destination %d", answeredDelivered, delivered)
	}
	if queuedAnswers != outage || queued != outage {
		t.Errorf("answered queued %d, retry queue holds %d; want %d (the outage webhooks)", queuedAnswers, queued, outage)
	}
}

// Request kinds of the load mix.
const (
	loadRead       = "read"           // a seeded participant: 200 (direct: the participant)
	loadInvalidSID = "invalid-sid"    // a hostile SID: 400 invalid-sid (direct: InvalidSid)
	loadWebhook    = "webhook"        // freshly signed: 200 delivered or queued
	loadForged     = "forged"         // tampered, foreign key, foreign URL or unsigned: 403
	loadOutage     = "webhook-outage" // signed while the HTTPS destination is down: 200 queued
)

type loadRequest struct {
	kind, shape string
	payload     []byte
}

type loadAnswer struct {
	out       []byte
	errorType string // the Lambda error type of a function error
	err       error
}

// drive invokes every request, 4 at a time, each with the function's
// deadline, and returns the answers in order.
func (p *inProc) drive(reqs []loadRequest) []loadAnswer {
	answers := make([]loadAnswer, len(reqs))
	next := make(chan int)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for i := range next {
				ctx, cancel := context.WithTimeout(context.Background(), localenv.DefaultFunctionTimeout*time.Second)
				out, err := p.router.Invoke(ctx, reqs[i].payload)
				cancel()
				var le messages.InvokeResponse_Error
				if errors.As(err, &le) {
					answers[i] = loadAnswer{out: out, errorType: le.Type}
				} else {
					answers[i] = loadAnswer{out: out, err: err}
				}
			}
		})
	}
	for i := range reqs {
		next <- i
	}
	close(next)
	wg.Wait()
	return answers
}

// judge returns why a is not the answer r's kind expects (or ""), and a
// webhook's event id and outcome.
func judge(r loadRequest, a loadAnswer) (id, outcome, reason string) {
	switch {
	case a.err != nil:
		return "", "", "invoke failed: " + a.err.Error()
	case r.shape == "direct" && r.kind == loadInvalidSID:
		if a.errorType != "InvalidSid" {
			return "", "", fmt.Sprintf("errorType %q, want InvalidSid", a.errorType)
		}
		return "", "", ""
	case r.shape == "direct":
		var body map[string]any
		if a.errorType != "" || json.Unmarshal(a.out, &body) != nil || body["schema_version"] == nil {
			return "", "", fmt.Sprintf("errorType %q: %.200s", a.errorType, a.out)
		}
		return "", "", ""
	case a.errorType != "":
		return "", "", "HTTP event got Lambda error " + a.errorType
	}
	var resp httpResponse
	if json.Unmarshal(a.out, &resp) != nil || resp.StatusCode == 0 {
		return "", "", fmt.Sprintf("not an HTTP answer: %.200s", a.out)
	}
	got := fmt.Sprintf("HTTP %d %.200s", resp.StatusCode, resp.Body)
	var prob struct {
		Type, Field string
		Status      int
	}
	if resp.Headers["Content-Type"] == "application/problem+json" {
		if json.Unmarshal([]byte(resp.Body), &prob) != nil || prob.Status != resp.StatusCode {
			return "", "", "malformed problem: " + got
		}
	}
	switch r.kind {
	case loadRead:
		var body map[string]any
		if resp.StatusCode != 200 || json.Unmarshal([]byte(resp.Body), &body) != nil || body["schema_version"] == nil {
			return "", "", got
		}
	case loadInvalidSID:
		if resp.StatusCode != 400 || !strings.HasSuffix(prob.Type, "invalid-sid") || prob.Field == "" {
			return "", "", got
		}
	case loadForged:
		if resp.StatusCode != 403 || !strings.HasSuffix(prob.Type, "invalid-signature") {
			return "", "", got
		}
	default: // loadWebhook, loadOutage
		var ans struct{ ID, Outcome string }
		if resp.StatusCode != 200 || json.Unmarshal([]byte(resp.Body), &ans) != nil || ans.ID == "" ||
			(ans.Outcome != "delivered" && ans.Outcome != "queued") || (r.kind == loadOutage && ans.Outcome != "queued") {
			return "", "", got
		}
		return ans.ID, ans.Outcome, ""
	}
	return "", "", ""
}

// seededParticipants are the sandbox's conference and call SIDs.
var seededParticipants = [][2]string{
	{sandbox.ConferenceStandup, sandbox.CallAlice}, {sandbox.ConferenceStandup, sandbox.CallBob},
	{sandbox.ConferenceStandup, sandbox.CallCarol}, {sandbox.ConferenceStandup, sandbox.CallDave},
	{sandbox.ConferenceSupport, sandbox.CallAgent}, {sandbox.ConferenceSupport, sandbox.CallCoach},
	{sandbox.ConferenceSupport, sandbox.CallCustomer}, {sandbox.ConferenceTownHall, sandbox.CallErin},
	{sandbox.ConferenceTownHall, sandbox.CallFrank},
}

// hostileSIDs never reach SignalWire (no literal '/': they also go in raw paths).
var hostileSIDs = []string{
	"..", "%2e%2e", "ca110001-5a4d-4b0c-9a11-..%2F..%2Fadmin", "ca110001%2F5a4d-4b0c-9a11-000000000001",
	"ca110001%252F5a4d-4b0c-9a11-00000000001", `ca110001-5a4d-4b0c-9a11\..\..\admin`,
	"ca110001-5a4d-4b0c-9a11-00000000000１", "cа110001-5a4d-4b0c-9a11-000000000001", "not-a-uuid",
	strings.Repeat("f", 10<<10),
}

// loadMix is the seeded mix of n requests: about 40% reads, 15% hostile
// reads, 30% signed webhooks and 15% forged ones.
func loadMix(n int, key, base string) []loadRequest {
	rng := rand.New(rand.NewPCG(1, 0x5157))
	readShapes := []string{"http-api", "rest-api", "function-url", "direct"}
	hookShapes := readShapes[:3]
	signURL := base + "/webhooks/signalwire"
	reqs := make([]loadRequest, 0, n)
	for i := range n {
		var r loadRequest
		switch x := rng.IntN(100); {
		case x < 40:
			r.kind, r.shape = loadRead, readShapes[rng.IntN(4)]
			sp := seededParticipants[rng.IntN(len(seededParticipants))]
			r.payload = loadReadEvent(r.shape, sandbox.ProjectID, sp[0], sp[1])
		case x < 55:
			r.kind, r.shape = loadInvalidSID, readShapes[rng.IntN(4)]
			sp := seededParticipants[rng.IntN(len(seededParticipants))]
			sids := []string{sandbox.ProjectID, sp[0], sp[1]}
			sids[rng.IntN(3)] = hostileSIDs[rng.IntN(len(hostileSIDs))]
			r.payload = loadReadEvent(r.shape, sids[0], sids[1], sids[2])
		case x < 85:
			r.kind, r.shape = loadWebhook, hookShapes[rng.IntN(3)]
			form := loadCallback(rng, i)
			r.payload = loadWebhookEvent(r.shape, form.Encode(), signing.Form(key, signURL, form), rng.IntN(3) == 0)
		default:
			r.kind, r.shape = loadForged, hookShapes[rng.IntN(3)]
			form := loadCallback(rng, i)
			sig := signing.Form(key, signURL, form)
			switch i % 4 {
			case 0: // replayed with a modified parameter
				form.Set("Muted", strconv.FormatBool(form.Get("Muted") != "true"))
			case 1:
				sig = signing.Form("PSK_attacker", signURL, form)
			case 2:
				sig = signing.Form(key, "https://attacker.example/webhooks/signalwire", form)
			default:
				sig = ""
			}
			r.payload = loadWebhookEvent(r.shape, form.Encode(), sig, rng.IntN(3) == 0)
		}
		reqs = append(reqs, r)
	}
	return reqs
}

// outageMix is n signed webhooks (HTTP API), numbered after the mix's from.
func outageMix(n, from int, key, base string) []loadRequest {
	rng := rand.New(rand.NewPCG(1, 0x07a9e))
	reqs := make([]loadRequest, 0, n)
	for i := range n {
		form := loadCallback(rng, from+i)
		sig := signing.Form(key, base+"/webhooks/signalwire", form)
		reqs = append(reqs, loadRequest{loadOutage, "http-api", loadWebhookEvent("http-api", form.Encode(), sig, false)})
	}
	return reqs
}

// loadCallback is a participant status callback; i makes its
// SequenceNumber, and so its event id, unique.
func loadCallback(rng *rand.Rand, i int) url.Values {
	sp := seededParticipants[rng.IntN(len(seededParticipants))]
	call := sp[1]
	if rng.IntN(10) == 0 {
		call = sandbox.CallGone // already left: delivered with a null participant
	}
	return url.Values{
		"AccountSid": {sandbox.ProjectID}, "ApiVersion": {"2010-04-01"}, "ConferenceSid": {sp[0]}, "CallSid": {call},
		"StatusCallbackEvent": {[]string{"participant-join", "participant-leave", "participant-mute", "participant-unmute"}[rng.IntN(4)]},
		"Muted":               {strconv.FormatBool(rng.IntN(2) == 0)}, "Hold": {"false"},
		"SequenceNumber": {strconv.Itoa(1_000_000 + i)},
		"Timestamp":      {time.Date(2026, 11, 26, 10, 15, 0, 0, time.UTC).Add(time.Duration(i) * time.Second).Format(time.RFC1123Z)},
	}
}

// loadReadEvent is a read of a/c/p in the trigger shape.
func loadReadEvent(shape, a, c, p string) []byte {
	params := map[string]string{"account_sid": a, "conference_sid": c, "call_sid": p}
	if shape == "direct" {
		b, _ := json.Marshal(params)
		return b
	}
	path := "/accounts/" + a + "/conferences/" + c + "/participants/" + p
	return loadShape(shape, httpevent.Request{
		Method: "GET", Path: path, Params: params, RouteKey: "GET " + path,
		Headers: map[string]string{"accept": "application/json"},
	})
}

// loadWebhookEvent is a POST of body to the webhook route with signature
// sig (none when empty), base64-encoded when b64.
func loadWebhookEvent(shape, body, sig string, b64 bool) []byte {
	headers := map[string]string{"content-type": "application/x-www-form-urlencoded", "user-agent": "SignalWire-Webhook/1.0"}
	if sig != "" {
		headers["x-signalwire-signature"] = sig
	}
	if b64 {
		body = base64.StdEncoding.EncodeToString([]byte(body))
	}
	return loadShape(shape, httpevent.Request{
		Method: "POST", Path: "/webhooks/signalwire", RouteKey: "POST /webhooks/signalwire",
		Headers: headers, Body: body, Base64: b64,
	})
}

func loadShape(shape string, r httpevent.Request) []byte {
	var v any
	switch shape {
	case "rest-api":
		v = r.RESTAPI()
	case "function-url":
		v = r.FunctionURL()
	default:
		v = r.HTTPAPI()
	}
	b, _ := json.Marshal(v)
	return b
}
