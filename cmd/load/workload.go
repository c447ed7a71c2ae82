package main

// The workload: the seeded mix of reads, hostile SIDs, signed and forged
// webhooks, in every trigger shape.

import (
	"encoding/base64"
	"encoding/json"
	"math/rand/v2"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/signalwire-lambda/participants/internal/app"
	"github.com/signalwire-lambda/participants/internal/webhook"
	"github.com/signalwire-lambda/participants/test/httpevent"
	"github.com/signalwire-lambda/participants/test/sandbox"
)

// seeded are the sandbox's participants: conference and call SIDs.
var seeded = [][2]string{
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

// workload returns the request mix: about 40% reads, 15% hostile reads,
// 30% signed webhooks and 15% forged ones, over every trigger shape.
func workload(n int, seed uint64, signingKey, publicBaseURL string) []job {
	rng := rand.New(rand.NewPCG(seed, 0x5157))
	readShapes := []string{"http-api", "rest-api", "function-url", "direct"}
	hookShapes := []string{"http-api", "rest-api", "function-url"}
	signURL := strings.TrimRight(publicBaseURL, "/") + app.WebhookRoute
	jobs := make([]job, 0, n)
	for i := range n {
		var j job
		switch x := rng.IntN(100); {
		case x < 40:
			j.kind, j.shape = KindRead, readShapes[rng.IntN(len(readShapes))]
			p := seeded[rng.IntN(len(seeded))]
			j.payload = readEvent(j.shape, sandbox.ProjectID, p[0], p[1])
		case x < 55:
			j.kind, j.shape = KindInvalidSID, readShapes[rng.IntN(len(readShapes))]
			p := seeded[rng.IntN(len(seeded))]
			sids := []string{sandbox.ProjectID, p[0], p[1]}
			sids[rng.IntN(3)] = hostileSIDs[rng.IntN(len(hostileSIDs))]
			j.payload = readEvent(j.shape, sids[0], sids[1], sids[2])
		case x < 85:
			j.kind, j.shape = KindWebhook, hookShapes[rng.IntN(len(hookShapes))]
			form := callback(rng, i)
			j.payload = webhookEvent(j.shape, form.Encode(), webhook.SignForm(signingKey, signURL, form), rng.IntN(3) == 0)
		default:
			j.kind, j.shape = KindForged, hookShapes[rng.IntN(len(hookShapes))]
			form := callback(rng, i)
			sig := webhook.SignForm(signingKey, signURL, form)
			switch i % 4 {
			case 0: // replayed with a modified parameter
				form.Set("Muted", strconv.FormatBool(form.Get("Muted") != "true"))
			case 1: // signed with another key
				sig = webhook.SignForm("PSK_attacker", signURL, form)
			case 2: // signed for another URL
				sig = webhook.SignForm(signingKey, "https://attacker.example"+app.WebhookRoute, form)
			default: // unsigned
				sig = ""
			}
			j.payload = webhookEvent(j.shape, form.Encode(), sig, rng.IntN(3) == 0)
		}
		jobs = append(jobs, j)
	}
	return jobs
}

// outageWorkload returns n signed webhooks (HTTP API), numbered after the
// mix's from.
func outageWorkload(n, from int, seed uint64, signingKey, publicBaseURL string) []job {
	rng := rand.New(rand.NewPCG(seed, 0x07a9e))
	signURL := strings.TrimRight(publicBaseURL, "/") + app.WebhookRoute
	jobs := make([]job, 0, n)
	for i := range n {
		form := callback(rng, from+i)
		jobs = append(jobs, job{kind: KindOutage, shape: "http-api", payload: webhookEvent("http-api", form.Encode(), webhook.SignForm(signingKey, signURL, form), false)})
	}
	return jobs
}

// callback is a conference participant status callback; i makes its
// SequenceNumber, and so its event id, unique.
func callback(rng *rand.Rand, i int) url.Values {
	p := seeded[rng.IntN(len(seeded))]
	call := p[1]
	if rng.IntN(10) == 0 {
		call = sandbox.CallGone // the participant already left: lookup not_found
	}
	event := []string{"participant-join", "participant-leave", "participant-mute", "participant-unmute"}[rng.IntN(4)]
	return url.Values{
		"AccountSid":          {sandbox.ProjectID},
		"ApiVersion":          {"2010-04-01"},
		"ConferenceSid":       {p[0]},
		"CallSid":             {call},
		"StatusCallbackEvent": {event},
		"Muted":               {strconv.FormatBool(rng.IntN(2) == 0)},
		"Hold":                {"false"},
		"SequenceNumber":      {strconv.Itoa(1_000_000 + i)},
		"Timestamp":           {time.Date(2026, 11, 26, 10, 15, 0, 0, time.UTC).Add(time.Duration(i) * time.Second).Format(time.RFC1123Z)},
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // plain structs of strings and maps
	}
	return b
}

// readEvent is a read of a/c/p in the given trigger shape.
func readEvent(shape, a, c, p string) []byte {
	params := map[string]string{"account_sid": a, "conference_sid": c, "call_sid": p}
	if shape == "direct" {
		return mustJSON(params)
	}
	path := "/accounts/" + a + "/conferences/" + c + "/participants/" + p
	return event(shape, httpevent.Request{
		Method: "GET", Path: path, Params: params, RouteKey: "GET " + path,
		Headers: map[string]string{"accept": "application/json"},
	})
}

// webhookEvent is a POST of body to the webhook route, with signature sig
// (none when empty), base64-encoded when b64.
func webhookEvent(shape, body, sig string, b64 bool) []byte {
	headers := map[string]string{"content-type": webhook.FormContentType, "user-agent": "SignalWire-Webhook/1.0"}
	if sig != "" {
		headers["x-signalwire-signature"] = sig
	}
	if b64 {
		body = base64.StdEncoding.EncodeToString([]byte(body))
	}
	return event(shape, httpevent.Request{
		Method: "POST", Path: app.WebhookRoute, RouteKey: "POST " + app.WebhookRoute,
		Headers: headers, Body: body, Base64: b64,
	})
}

// event renders r in the trigger shape ("rest-api", "function-url", else
// the HTTP API).
func event(shape string, r httpevent.Request) []byte {
	switch shape {
	case "rest-api":
		return mustJSON(r.RESTAPI())
	case "function-url":
		return mustJSON(r.FunctionURL())
	default:
		return mustJSON(r.HTTPAPI())
	}
}
