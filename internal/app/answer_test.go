package app

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/signalwire-lambda/participants/internal/signalwire"
)

// scriptedUpstream answers every call with the decoded body.
type scriptedUpstream struct {
	body  string
	calls int
}

func (u *scriptedUpstream) GetParticipant(ctx context.Context, auth signalwire.Auth, ref signalwire.ParticipantRef) (*signalwire.Participant, error) {
	u.calls++
	return signalwire.DecodeParticipant([]byte(u.body))
}

// ListParticipants lists the decoded body, once.
func (u *scriptedUpstream) ListParticipants(ctx context.Context, auth signalwire.Auth, ref signalwire.ParticipantRef, _ signalwire.ListFilter) ([]*signalwire.Participant, error) {
	p, err := u.GetParticipant(ctx, auth, ref)
	return []*signalwire.Participant{p}, err
}

const (
	otherCall = "ca110001-5a4d-4b0c-9a11-0000000000ff"
	otherConf = "cf000001-5a4d-4b0c-9a11-0000000000ff"
	otherAcct = "5a3e1c2b-7d4f-4e8a-9b6c-0000000000ff"
)

// participantBody is a participant answer for the given SIDs plus extra
// fields (raw JSON members, without braces).
func participantBody(a, c, p, extra string) string {
	b := `{"account_sid":"` + a + `","conference_sid":"` + c + `","call_sid":"` + p + `","status":"in-progress","muted":false,"hold":false,` +
		`"date_created":"Mon, 24 Sep 2018 21:00:00 +0000","uri":"/api/laml/2010-04-01/Accounts/` + a + `/Conferences/` + c + `/Participants/` + p + `.json"`
	if extra != "" {
		b += "," + extra
	}
	return b + "}"
}

// TestAnswerForAnotherParticipantIsUpstreamError (issue 14 §6): SignalWire
// answering 200 with another call, conference or account, or with {},
// is a 502 upstream-error on the read route, never the participant asked for.
func TestAnswerForAnotherParticipantIsUpstreamError(t *testing.T) {
	for name, body := range map[string]string{
		"other call":            participantBody(acct, conf, otherCall, ""),
		"other conference":      participantBody(acct, otherConf, call, ""),
		"other account":         participantBody(otherAcct, conf, call, ""),
		"empty object":          `{}`,
		"no call_sid":           `{"account_sid":"` + acct + `","conference_sid":"` + conf + `","status":"in-progress"}`,
		"call_sid not a string": `{"account_sid":"` + acct + `","conference_sid":"` + conf + `","call_sid":12}`,
	} {
		t.Run(name, func(t *testing.T) {
			a, logs := newTestApp(&scriptedUpstream{body: body}, &fakeCreds{})
			r := NewRoutes(a, nil).Handle(context.Background(), get(readPath(acct, conf, call)))
			p := decodeProblem(t, r)
			if r.Status != http.StatusBadGateway || !strings.HasSuffix(p["type"].(string), problemUpstreamError) {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
			if !strings.Contains(logs.String(), "not the") {
				t.Fatalf("the log does not say why:\n%s", logs)
			}
		})
	}
	// The same SIDs in another letter case are the same participant.
	a, _ := newTestApp(&scriptedUpstream{body: participantBody(strings.ToUpper(acct), conf, strings.ToUpper(call), "")}, &fakeCreds{})
	if r := NewRoutes(a, nil).Handle(context.Background(), get(readPath(acct, conf, call))); r.Status != http.StatusOK {
		t.Fatalf("upper-case SIDs: %d %s", r.Status, r.Body)
	}
}

// TestWebhookLookupOfAnotherParticipantIsNotFound: the webhook's lookup
// does not deliver another participant (or {}) as "found": the lookup fails
// like any upstream error, and the webhook waits on the retry queue.
func TestWebhookLookupOfAnotherParticipantIsNotFound(t *testing.T) {
	for name, body := range map[string]string{
		"other call":   participantBody(acct, conf, otherCall, ""),
		"empty object": `{}`,
	} {
		t.Run(name, func(t *testing.T) {
			f := newHooks(t, nil)
			f.app.upstream = &scriptedUpstream{body: body}
			r := f.routes.Handle(f.ctx(), signedPost(joinForm(call), "PSK_key"))
			if got := outcomeOf(t, r); got != "queued" || len(f.dest.msgs) != 0 || len(f.queue.bodies) != 1 {
				t.Fatalf("outcome %s, %d delivered, %d queued", got, len(f.dest.msgs), len(f.queue.bodies))
			}
		})
	}
}

// TestAbsurdFieldsAreUpstreamErrors (issue 14 §3): a 1 MiB upstream body
// with a label of 1,000,000 '<' became a 7,000,575-byte answer, over
// Lambda's 6 MB limit. Oversized values and answers are upstream errors; a
// normal answer keeps '<' as is instead of escaping it sixfold.
func TestAbsurdFieldsAreUpstreamErrors(t *testing.T) {
	many := make([]string, 0, 20)
	for i := range 20 {
		many = append(many, `"x`+strings.Repeat("y", i)+`":"`+strings.Repeat("z", 4000)+`"`)
	}
	for name, extra := range map[string]string{
		"label of 1,000,000 <":   `"label":"` + strings.Repeat("<", 1_000_000) + `"`,
		"label of 9 KiB":         `"label":"` + strings.Repeat("a", 9<<10) + `"`,
		"huge object":            `"subresource_uris":{"a":"` + strings.Repeat("b", 9<<10) + `"}`,
		"huge name":              `"` + strings.Repeat("n", 9<<10) + `":1`,
		"20 fields of 4 KB":      strings.Join(many, ","),
		"huge documented status": `"status":"` + strings.Repeat("s", 9<<10) + `"`,
	} {
		t.Run(name, func(t *testing.T) {
			body := participantBody(acct, conf, call, extra)
			if name == "huge documented status" {
				body = strings.Replace(participantBody(acct, conf, call, ""), `"status":"in-progress",`, "", 1)
				body = strings.TrimSuffix(body, "}") + "," + extra + "}"
			}
			a, _ := newTestApp(&scriptedUpstream{body: body}, &fakeCreds{})
			r := NewRoutes(a, nil).Handle(context.Background(), get(readPath(acct, conf, call)))
			p := decodeProblem(t, r)
			if r.Status != http.StatusBadGateway || !strings.HasSuffix(p["type"].(string), problemUpstreamError) || len(r.Body) > 1000 {
				t.Fatalf("%d, %d bytes", r.Status, len(r.Body))
			}
		})
	}
	label := strings.Repeat("<", 1000)
	a, _ := newTestApp(&scriptedUpstream{body: participantBody(acct, conf, call, `"label":"`+label+`"`)}, &fakeCreds{})
	r := NewRoutes(a, nil).Handle(context.Background(), get(readPath(acct, conf, call)))
	if r.Status != http.StatusOK || !strings.Contains(string(r.Body), label) || len(r.Body) > 3000 {
		t.Fatalf("%d, %d bytes: %.200s", r.Status, len(r.Body), r.Body)
	}
	var p map[string]any
	if err := json.Unmarshal(r.Body, &p); err != nil || p["extra"].(map[string]any)["label"] != label {
		t.Fatalf("label not carried: %v", err)
	}
}

// TestHeadHasNoBody (issue 14 §7, RFC 9110 9.3.2): HEAD answers with the
// status and headers of GET and no body, on success and on error.
func TestHeadHasNoBody(t *testing.T) {
	for _, path := range []string{readPath(acct, conf, call), readPath(acct, conf, "bad"), "/nowhere"} {
		a, _ := newTestApp(&fakeUpstream{}, &fakeCreds{})
		g := NewRoutes(a, nil).Handle(context.Background(), get(path))
		h := NewRoutes(a, nil).Handle(context.Background(), Request{Method: http.MethodHead, Path: path, Headers: map[string]string{}})
		if len(g.Body) == 0 || len(h.Body) != 0 || h.Status != g.Status || h.Headers["Content-Type"] != g.Headers["Content-Type"] {
			t.Fatalf("%s: GET %d %v (%d bytes); HEAD %d %v %q", path, g.Status, g.Headers, len(g.Body), h.Status, h.Headers, h.Body)
		}
	}
}
