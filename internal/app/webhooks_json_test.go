package app

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/signalwire-lambda/participants/internal/forward"
	"github.com/signalwire-lambda/participants/test/signing"
)

// callStateBody is a RELAY / Calling API calling.call.state callback.
const callStateBody = `{"event_type":"calling.call.state","event_channel":"signalwire_x","timestamp":1795688100.123456,` +
	`"space_id":"0a1b2c3d-0000-4000-8000-000000000001","project_id":"` + acct + `",` +
	`"params":{"node_id":"n1","call_id":"` + call + `","tag":"t1","device":{"type":"phone","params":{"from_number":"+15551230001","to_number":"+15559870000"}},` +
	`"call_state":"answered","direction":"inbound","start_time":1795688099000}}`

// jsonPost is a JSON callback signed with the hex scheme over base + route +
// "?" + query.
func jsonPost(body, query, key string) Request {
	u := base + webhookRoute
	if query != "" {
		u += "?" + query
	}
	return Request{Method: "POST", Path: webhookRoute, Host: "abc.execute-api.us-east-1.amazonaws.com", URLPaths: []string{webhookRoute},
		RawQuery: query,
		Headers:  map[string]string{"content-type": "application/json", "x-signalwire-signature": signing.JSON(key, u, []byte(body))},
		Body:     body}
}

// bodySHA256Post is a JSON callback signed with the bodySHA256 scheme.
func bodySHA256Post(body, key string) Request {
	u := signing.WithBodySHA256(base+webhookRoute, []byte(body))
	_, query, _ := strings.Cut(u, "?")
	return Request{Method: "POST", Path: webhookRoute, Host: "abc.execute-api.us-east-1.amazonaws.com", URLPaths: []string{webhookRoute},
		RawQuery: query,
		Headers:  map[string]string{"content-type": "application/json; charset=utf-8", "x-signalwire-signature": signing.Form(key, u, nil)},
		Body:     body}
}

func envelopeOf(t *testing.T, m forward.Message) map[string]any {
	t.Helper()
	var env map[string]any
	if err := json.Unmarshal(m.Body, &env); err != nil {
		t.Fatalf("%s: %v", m.Body, err)
	}
	return env
}

func TestJSONCallStateCallbackBothSchemes(t *testing.T) {
	for name, req := range map[string]Request{
		"hex":        jsonPost(callStateBody, "", "PSK_key"),
		"bodySHA256": bodySHA256Post(callStateBody, "PSK_key"),
	} {
		t.Run(name, func(t *testing.T) {
			f := newHooks(t, nil)
			r := f.routes.Handle(f.ctx(), req)
			if outcomeOf(t, r) != "delivered" || len(f.dest.msgs) != 1 {
				t.Fatalf("%s, %d messages", r.Body, len(f.dest.msgs))
			}
			env := envelopeOf(t, f.dest.msgs[0])
			src := env["source"].(map[string]any)
			if env["type"] != "signalwire.calling.call.state.answered" || env["account"] != acct || env["call"] != call ||
				env["occurred_at"] != "2026-11-26T10:15:00.123456Z" || env["participant_lookup"] != "skipped" ||
				src["event_type"] != "calling.call.state" || src["params"].(map[string]any)["call_state"] != "answered" {
				t.Fatalf("envelope %s", f.dest.msgs[0].Body)
			}
			if len(f.up.tokens) != 0 {
				t.Fatal("a participant was looked up without a conference")
			}
		})
	}
}

// Both schemes give one callback the same id (bodySHA256 is derived from the
// body); another body gives another id.
func TestJSONCallbackIDs(t *testing.T) {
	ids := map[string]string{}
	for name, req := range map[string]Request{
		"hex":        jsonPost(callStateBody, "", "PSK_key"),
		"bodySHA256": bodySHA256Post(callStateBody, "PSK_key"),
		"ending":     jsonPost(strings.Replace(callStateBody, `"answered"`, `"ending"`, 1), "", "PSK_key"),
		"spaced":     jsonPost(strings.Replace(callStateBody, `,`, `, `, 1), "", "PSK_key"),
		"query":      jsonPost(callStateBody, "ConferenceSid="+conf, "PSK_key"),
	} {
		f := newHooks(t, nil)
		outcomeOf(t, f.routes.Handle(f.ctx(), req))
		ids[name] = f.dest.msgs[0].ID
	}
	if ids["hex"] != ids["bodySHA256"] {
		t.Errorf("the same callback has ids %s and %s", ids["hex"], ids["bodySHA256"])
	}
	seen := map[string]string{}
	for _, name := range []string{"hex", "ending", "spaced", "query"} {
		if other, dup := seen[ids[name]]; dup {
			t.Errorf("%s and %s share id %s", name, other, ids[name])
		}
		seen[ids[name]] = name
	}
}

// With ?ConferenceSid= in the callback URL, the participant (project_id,
// ConferenceSid, call_id) is looked up.
func TestJSONCallbackParticipantLookup(t *testing.T) {
	f := newHooks(t, nil)
	outcomeOf(t, f.routes.Handle(f.ctx(), jsonPost(callStateBody, "ConferenceSid="+conf, "PSK_key")))
	env := envelopeOf(t, f.dest.msgs[0])
	if env["participant_lookup"] != "found" || len(f.up.tokens) != 1 || f.dest.msgs[0].ConferenceSID != conf {
		t.Fatalf("%s", f.dest.msgs[0].Body)
	}
}

func TestSWMLAndUnknownJSONAreForwarded(t *testing.T) {
	swml := `{"call":{"call_id":"` + call + `","node_id":"n","segment_id":"s","call_state":"created","direction":"inbound","type":"phone","from":"+1555","to":"+1666","project_id":"` + acct + `","space_id":"sp"},"vars":{}}`
	for body, want := range map[string]string{
		swml: "signalwire.swml.call.created",
		`{"event_type":"calling.call.receive","params":{"call_id":"x"}}`:    "signalwire.json.unknown",
		`{"event_type":"calling.call.state","params":{"call_state":"A B"}}`: "signalwire.json.unknown",
		`[1,2,3]`: "signalwire.json.unknown",
		`"text"`:  "signalwire.json.unknown",
	} {
		f := newHooks(t, nil)
		req := jsonPost(body, "", "PSK_key")
		if !strings.HasPrefix(body, "{") {
			// The hex scheme verifies only objects (see webhook.SignedRequest.Verify).
			req = bodySHA256Post(body, "PSK_key")
		}
		r := f.routes.Handle(f.ctx(), req)
		if outcomeOf(t, r) != "delivered" {
			t.Fatalf("%s: %s", body, r.Body)
		}
		if m := f.dest.msgs[0]; m.Type != want {
			t.Errorf("%s: type %s, want %s", body, m.Type, want)
		}
	}
}

func TestJSONCallbackRejections(t *testing.T) {
	cases := []struct {
		name   string
		req    Request
		status int
		kind   string
	}{
		{"malformed JSON, signed", jsonPost(`{"event_type":`, "", "PSK_key"), 400, problemBadRequest},
		{"invalid UTF-8, signed", jsonPost("{\"a\":\"\xff\"}", "", "PSK_key"), 400, problemBadRequest},
		{"forged", jsonPost(callStateBody, "", "PSK_other"), 403, problemInvalidSignature},
		{"unsigned", func() Request {
			r := jsonPost(callStateBody, "", "PSK_key")
			delete(r.Headers, "x-signalwire-signature")
			return r
		}(), 403, problemInvalidSignature},
		{"malformed JSON, unsigned", func() Request {
			r := jsonPost(`{`, "", "PSK_key")
			r.Headers["x-signalwire-signature"] = "00"
			return r
		}(), 403, problemInvalidSignature},
	}
	for _, tc := range cases {
		f := newHooks(t, nil)
		r := f.routes.Handle(f.ctx(), tc.req)
		if r.Status != tc.status {
			t.Fatalf("%s: %d %s", tc.name, r.Status, r.Body)
		}
		if m := decodeProblem(t, r); !strings.HasSuffix(m["type"].(string), tc.kind) {
			t.Fatalf("%s: type %v", tc.name, m["type"])
		}
		if len(f.dest.msgs) != 0 || len(f.queue.bodies) != 0 {
			t.Fatalf("%s: forwarded or queued", tc.name)
		}
	}
}

// A JSON callback whose delivery fails is queued with its raw body and
// delivered later with the same id and the same envelope.
func TestJSONCallbackSurvivesTheRetryQueue(t *testing.T) {
	f := newHooks(t, nil)
	f.dest.err = &forward.StatusError{StatusCode: 503}
	r := f.routes.Handle(f.ctx(), jsonPost(callStateBody, "", "PSK_key"))
	if outcomeOf(t, r) != "queued" || len(f.queue.bodies) != 1 {
		t.Fatalf("%s", r.Body)
	}
	// The envelope was built: the retry carries it, byte for byte.
	job, err := decodeJob(string(f.queue.bodies[0]))
	if err != nil || job.Kind != kindDeliver || !strings.Contains(string(job.Envelope), `"type":"signalwire.calling.call.state.answered"`) {
		t.Fatalf("job %s", f.queue.bodies[0])
	}
	f.dest.err = nil
	if err := f.hooks.ProcessRetry(f.ctx(), string(f.queue.bodies[0]), 2); err != nil {
		t.Fatal(err)
	}
	if len(f.dest.msgs) != 1 || f.dest.msgs[0].ID != job.EventID || f.dest.msgs[0].Type != "signalwire.calling.call.state.answered" {
		t.Fatalf("retry delivered %+v", f.dest.msgs)
	}
}

// Issue 10 §5: the signed string joins names and values with no separator, so
// a captured form re-split at other boundaries still verifies. Before strict
// core fields, both re-splits below answered 200 and were forwarded under new
// ids (one with type signalwire.conference.participant-jointimestampthu--26-…);
// now they are rejected with a 400 naming the field, and nothing is fetched,
// forwarded or queued.
func TestShiftedSignedFormIsRejected(t *testing.T) {
	captured := joinForm(call) // signed: ...Mutedtrue SequenceNumber4 StatusCallbackEventparticipant-join TimestampThu, 26 Nov...
	shifted := map[string]url.Values{
		"Muted absorbs SequenceNumber": func() url.Values {
			f := joinForm(call)
			f.Set("Muted", "trueSequenceNumber4")
			f.Del("SequenceNumber")
			return f
		}(),
		"StatusCallbackEvent absorbs Timestamp": func() url.Values {
			f := joinForm(call)
			f.Set("StatusCallbackEvent", "participant-joinTimestamp"+f.Get("Timestamp"))
			f.Del("Timestamp")
			return f
		}(),
	}
	sig := signing.Form("PSK_key", base+webhookRoute, captured)
	for name, form := range shifted {
		t.Run(name, func(t *testing.T) {
			if signing.Form("PSK_key", base+webhookRoute, form) != sig {
				t.Fatal("the re-split form does not carry the captured signature; the test proves nothing")
			}
			f := newHooks(t, nil)
			req := signedPost(captured, "PSK_key")
			req.Body = form.Encode()
			r := f.routes.Handle(f.ctx(), req)
			if r.Status != 400 {
				t.Fatalf("status %d, want 400: %s", r.Status, r.Body)
			}
			m := decodeProblem(t, r)
			if !strings.HasSuffix(m["type"].(string), problemBadRequest) || !strings.Contains(m["detail"].(string), "does not parse") && !strings.Contains(m["detail"].(string), "not an event name") {
				t.Fatalf("problem %v", m)
			}
			if len(f.up.tokens) != 0 || len(f.dest.msgs) != 0 || len(f.queue.bodies) != 0 {
				t.Fatal("a re-split webhook was fetched, forwarded or queued")
			}
		})
	}
	// The captured form itself is still accepted.
	f := newHooks(t, nil)
	if got := outcomeOf(t, f.routes.Handle(f.ctx(), signedPost(captured, "PSK_key"))); got != "delivered" {
		t.Fatalf("captured form: %s", got)
	}
}

// Repeated keys: a signature over any of the orderings validators use is
// accepted, and only the values it covers are forwarded.
func TestRepeatedKeyOrderings(t *testing.T) {
	received := joinForm(call)
	received["Tag"] = []string{"b", "a", "b"}
	orderings := map[string]url.Values{
		"received order":          received,
		"values sorted":           withTags(received, "a", "b", "b"),
		"deduplicated and sorted": withTags(received, "a", "b"),
		"first value only":        withTags(received, "b"),
	}
	for name, signed := range orderings {
		t.Run(name, func(t *testing.T) {
			f := newHooks(t, nil)
			req := signedPost(signed, "PSK_key")
			req.Body = received.Encode()
			if got := outcomeOf(t, f.routes.Handle(f.ctx(), req)); got != "delivered" {
				t.Fatalf("outcome %s", got)
			}
			tags := envelopeOf(t, f.dest.msgs[0])["source"].(map[string]any)["tag"]
			want := any(signed["Tag"][0])
			if len(signed["Tag"]) > 1 {
				list := []any{}
				for _, v := range signed["Tag"] {
					list = append(list, v)
				}
				want = list
			}
			if b1, _ := json.Marshal(tags); string(b1) != mustJSON(want) {
				t.Fatalf("forwarded tag %s, want what was signed %s", b1, mustJSON(want))
			}
		})
	}
	// Another multiset of values is not an ordering.
	f := newHooks(t, nil)
	req := signedPost(withTags(received, "a", "a", "b"), "PSK_key")
	req.Body = received.Encode()
	if r := f.routes.Handle(f.ctx(), req); r.Status != 403 {
		t.Fatalf("other values: %d %s", r.Status, r.Body)
	}
}

func withTags(f url.Values, tags ...string) url.Values {
	out := url.Values{}
	for k, v := range f {
		out[k] = v
	}
	out["Tag"] = tags
	return out
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
