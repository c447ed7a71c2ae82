package app

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/signalwire-lambda/participants/internal/signalwire"
)

// listUpstream answers the list with bodies (decoded), or err, and records
// the filters and tokens it got.
type listUpstream struct {
	fakeUpstream
	bodies  []string
	err     []error
	filters []signalwire.ListFilter
}

func (u *listUpstream) ListParticipants(ctx context.Context, auth signalwire.Auth, ref signalwire.ParticipantRef, f signalwire.ListFilter) ([]*signalwire.Participant, error) {
	u.filters = append(u.filters, f)
	u.tokens = append(u.tokens, auth.APIToken)
	if len(u.err) > 0 {
		err := u.err[0]
		u.err = u.err[1:]
		if err != nil {
			return nil, err
		}
	}
	ps := []*signalwire.Participant{}
	for _, b := range u.bodies {
		p, err := signalwire.DecodeParticipant([]byte(b))
		if err != nil {
			return nil, err
		}
		ps = append(ps, p)
	}
	return ps, nil
}

func listPath(a, c string) string { return "/accounts/" + a + "/conferences/" + c + "/participants" }

func TestListRoute(t *testing.T) {
	up := &listUpstream{bodies: []string{participantBody(acct, conf, call, `"muted":"TRUE","label":"x"`), participantBody(acct, conf, otherCall, "")}}
	a, _ := newTestApp(up, &fakeCreds{})
	params := get("/anything")
	params.PathParams = map[string]string{"account_sid": acct, "conference_sid": conf}
	for _, req := range []Request{get(listPath(acct, conf)), get("/Prod" + listPath(acct, conf)), params} {
		r := NewRoutes(a, nil).Handle(context.Background(), req)
		var l struct {
			SchemaVersion int              `json:"schema_version"`
			Participants  []map[string]any `json:"participants"`
		}
		if r.Status != 200 || r.Headers["Content-Type"] != "application/json" || json.Unmarshal(r.Body, &l) != nil {
			t.Fatalf("%s: %d %s", req.Path, r.Status, r.Body)
		}
		if l.SchemaVersion != 1 || len(l.Participants) != 2 || l.Participants[0]["call_sid"] != call || l.Participants[0]["muted"] != true ||
			l.Participants[0]["date_created"] != "2018-09-24T21:00:00Z" || l.Participants[1]["call_sid"] != otherCall {
			t.Fatalf("%s: %s", req.Path, r.Body)
		}
	}
	// With a trailing slash it is a read without a call SID: no route.
	if r := NewRoutes(a, nil).Handle(context.Background(), get(listPath(acct, conf)+"/")); r.Status != 404 || len(up.filters) != 3 {
		t.Fatalf("trailing slash: %d %s, %d calls", r.Status, r.Body, len(up.filters))
	}
	up.bodies = nil
	if r := NewRoutes(a, nil).Handle(context.Background(), get(listPath(acct, conf))); r.Status != 200 || string(r.Body) != `{"schema_version":1,"participants":[]}` {
		t.Fatalf("empty list: %d %s", r.Status, r.Body)
	}
	head := get(listPath(acct, conf))
	head.Method = http.MethodHead
	if r := NewRoutes(a, nil).Handle(context.Background(), head); r.Status != 200 || len(r.Body) != 0 {
		t.Fatalf("HEAD: %d %q", r.Status, r.Body)
	}
	post := get(listPath(acct, conf))
	post.Method = http.MethodPost
	if r := NewRoutes(a, nil).Handle(context.Background(), post); r.Status != http.StatusMethodNotAllowed || len(up.filters) != 5 {
		t.Fatalf("POST: %d, %d calls", r.Status, len(up.filters))
	}
}

// TestListFilters: muted and hold are passed on; anything but one true or
// false is a 400 naming the parameter, with no call.
func TestListFilters(t *testing.T) {
	up := &listUpstream{}
	a, _ := newTestApp(up, &fakeCreds{})
	for query, want := range map[string]string{"": "<nil> <nil>", "muted=true": "true <nil>", "hold=false&x=1": "<nil> false", "muted=false&hold=true": "false true"} {
		req := get(listPath(acct, conf))
		req.RawQuery = query
		up.filters = nil
		if r := NewRoutes(a, nil).Handle(context.Background(), req); r.Status != 200 || len(up.filters) != 1 {
			t.Fatalf("%q: %d %s", query, r.Status, r.Body)
		}
		show := func(b *bool) string {
			if b == nil {
				return "<nil>"
			}
			return fmt.Sprint(*b)
		}
		if got := show(up.filters[0].Muted) + " " + show(up.filters[0].Hold); got != want {
			t.Errorf("%q: filter %s, want %s", query, got, want)
		}
	}
	up.filters = nil
	for query, field := range map[string]string{"muted=yes": "muted", "hold=TRUE": "hold", "muted=": "muted", "hold=true&hold=false": "hold", "muted=%zz": ""} {
		req := get(listPath(acct, conf))
		req.RawQuery = query
		r := NewRoutes(a, nil).Handle(context.Background(), req)
		p := decodeProblem(t, r)
		if r.Status != 400 || !strings.HasSuffix(p["type"].(string), problemBadRequest) || (field != "" && p["field"] != field) || len(up.filters) != 0 {
			t.Errorf("%q: %d %s, %d calls", query, r.Status, r.Body, len(up.filters))
		}
	}
}

// TestListValidationAndAccount: bad SIDs are a 400 before the secret or
// SignalWire; another account is a 404 with no call.
func TestListValidationAndAccount(t *testing.T) {
	up := &listUpstream{}
	cr := &fakeCreds{}
	a, _ := newTestApp(up, cr)
	for path, field := range map[string]string{listPath("x", conf): "account_sid", listPath(acct, "..%2F..%2Fadmin"): "conference_sid"} {
		r := NewRoutes(a, nil).Handle(context.Background(), get(path))
		if p := decodeProblem(t, r); r.Status != 400 || p["field"] != field || !strings.HasSuffix(p["type"].(string), problemInvalidSID) {
			t.Errorf("%s: %d %s", path, r.Status, r.Body)
		}
	}
	if cr.gets != 0 || len(up.filters) != 0 {
		t.Fatalf("bad SIDs: %d secret reads, %d calls", cr.gets, len(up.filters))
	}
	r := NewRoutes(a, nil).Handle(context.Background(), get(listPath(otherAcct, conf)))
	if p := decodeProblem(t, r); r.Status != 404 || !strings.HasSuffix(p["type"].(string), problemAccountNotFound) || len(up.filters) != 0 {
		t.Fatalf("foreign account: %d %s, %d calls", r.Status, r.Body, len(up.filters))
	}
}

// TestListErrors: an entry that cannot be of this conference is a 502, as
// for one participant; a 401 refreshes the credentials once; a list over
// the client's bounds is a 502 that says it is never answered in part.
func TestListErrors(t *testing.T) {
	for name, body := range map[string]string{
		"other conference": participantBody(acct, otherConf, call, ""),
		"other account":    participantBody(otherAcct, conf, call, ""),
		"no call_sid":      `{"account_sid":"` + acct + `","conference_sid":"` + conf + `"}`,
		"huge field":       participantBody(acct, conf, call, `"label":"`+strings.Repeat("x", maxParticipantFieldBytes)+`"`),
	} {
		a, logs := newTestApp(&listUpstream{bodies: []string{participantBody(acct, conf, otherCall, ""), body}}, &fakeCreds{})
		r := NewRoutes(a, nil).Handle(context.Background(), get(listPath(acct, conf)))
		if p := decodeProblem(t, r); r.Status != 502 || !strings.HasSuffix(p["type"].(string), problemUpstreamError) || !strings.Contains(logs.String(), "participant 1 of the list") {
			t.Errorf("%s: %d %s\n%s", name, r.Status, r.Body, logs)
		}
	}
	up := &listUpstream{err: []error{&signalwire.APIError{Kind: signalwire.KindUnauthorized, StatusCode: 401}}}
	cr := &fakeCreds{}
	a, _ := newTestApp(up, cr)
	if r := NewRoutes(a, nil).Handle(context.Background(), get(listPath(acct, conf))); r.Status != 200 || cr.refreshes != 1 || fmt.Sprint(up.tokens) != "[PTtoken-v1 PTtoken-v2]" {
		t.Fatalf("after a 401: %d %s, %d refreshes, tokens %v", r.Status, r.Body, cr.refreshes, up.tokens)
	}
	up.err = []error{fmt.Errorf("signalwire: GET participants: %w", signalwire.ErrListTooLong)}
	r := NewRoutes(a, nil).Handle(context.Background(), get(listPath(acct, conf)))
	if p := decodeProblem(t, r); r.Status != 502 || !strings.Contains(p["detail"].(string), "never answers part of a list") {
		t.Fatalf("too long: %d %s", r.Status, r.Body)
	}
}
