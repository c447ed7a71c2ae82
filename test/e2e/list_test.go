package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/signalwire-lambda/participants/test/localenv"
	"github.com/signalwire-lambda/participants/test/sandbox"
)

const (
	emptyConf = "cf000001-5a4d-4b0c-9a11-0000000000e0"
	bigConf   = "cf000001-5a4d-4b0c-9a11-0000000000e1"
	hugeConf  = "cf000001-5a4d-4b0c-9a11-0000000000e2"
	longConf  = "cf000001-5a4d-4b0c-9a11-0000000000e3"
	sloppy    = "ca110001-5a4d-4b0c-9a11-0000000000e0"
)

// listEvent is events/http-api-list.json for another account, conference
// and query string.
func listEvent(t *testing.T, account, conf, query string) []byte {
	t.Helper()
	var e map[string]any
	if err := json.Unmarshal(readEvent(t, "http-api-list.json"), &e); err != nil {
		t.Fatal(err)
	}
	path := "/accounts/" + account + "/conferences/" + conf + "/participants"
	e["rawPath"], e["rawQueryString"] = path, query
	e["requestContext"].(map[string]any)["http"].(map[string]any)["path"] = path
	e["pathParameters"] = map[string]string{"account_sid": account, "conference_sid": conf}
	b, _ := json.Marshal(e)
	return b
}

// conference returns a conference of n participants, each with fields.
func conference(sid string, n int, extra map[string]any) sandbox.Conference {
	c := sandbox.Conference{Sid: sid}
	for i := range n {
		c.Participants = append(c.Participants, sandbox.Participant{CallSid: fmt.Sprintf("ca110001-5a4d-4b0c-9a11-%012d", i), Status: "in-progress", Extra: extra})
	}
	return c
}

// TestListUnderRIE: the list route through the real bootstrap under the RIE,
// against a sandbox that pages by 5 (SignalWire may page smaller than asked).
func TestListUnderRIE(t *testing.T) {
	// 7 fields of 8,002 bytes as sent (4,000 quotes): under the 8 KiB and
	// 64 KiB bounds of one participant, and twice as long once the HTTP
	// answer quotes the body: 60 of them are over Lambda's 6 MB.
	huge := map[string]any{}
	for i := range 7 {
		huge[fmt.Sprint("label_", i)] = strings.Repeat(`"`, 4000)
	}
	confs := append(sandbox.Seed(), sandbox.Conference{Sid: emptyConf}, conference(bigConf, 12, nil), conference(hugeConf, 60, huge), conference(longConf, 101, nil))
	s := start(t, localenv.Options{Sandbox: []sandbox.Option{sandbox.WithConferences(confs...), sandbox.WithMaxPageSize(5)}})
	schema := compileListSchema(t)
	calls := func(conf string) int64 { return s.env.Sandbox.RequestsFor(sandbox.ListPath(sandbox.ProjectID, conf)) }
	listed := func(t *testing.T, out []byte) []string {
		t.Helper()
		r := httpOf(t, out)
		if r.StatusCode != 200 || r.Headers["Content-Type"] != "application/json" {
			t.Fatalf("%d %.300s", r.StatusCode, r.Body)
		}
		var got []string
		for _, p := range mustValidate(t, schema, r.Body)["participants"].([]any) {
			got = append(got, p.(map[string]any)["call_sid"].(string))
		}
		return got
	}
	problem := func(t *testing.T, out []byte, status int, typ string) {
		t.Helper()
		if r := httpOf(t, out); r.StatusCode != status || !strings.HasSuffix(problemType(t, r), typ) {
			t.Fatalf("want %d %s, got %d %.300s", status, typ, r.StatusCode, r.Body)
		}
	}

	t.Run("bad SIDs are a 400 before any call", func(t *testing.T) {
		for _, ev := range [][]byte{listEvent(t, sandbox.ProjectID, "cf000001-5a4d-4b0c-9a11-..%2F..%2Fx", ""), listEvent(t, "not-a-uuid", emptyConf, "")} {
			problem(t, s.invoke(t, ev), 400, "invalid-sid")
		}
		var e struct {
			ErrorType string `json:"errorType"`
		}
		out, _ := s.fn.Invoke(context.Background(), []byte(`{"account_sid":"`+sandbox.ProjectID+`","conference_sid":"x"}`))
		if json.Unmarshal(out, &e); e.ErrorType != "InvalidSid" {
			t.Fatalf("direct: %s", out)
		}
		if n := s.env.Sandbox.Requests(); n != 0 {
			t.Fatalf("%d requests reached SignalWire", n)
		}
	})
	t.Run("a foreign account is a 404 with no call", func(t *testing.T) {
		problem(t, s.invoke(t, listEvent(t, "11111111-2222-4333-8444-555555555555", sandbox.ConferenceStandup, "")), 404, "account-not-found")
		if n := s.env.Sandbox.Requests(); n != 0 {
			t.Fatalf("%d requests reached SignalWire", n)
		}
	})
	t.Run("bad filters are a 400 with no call", func(t *testing.T) {
		for _, q := range []string{"muted=yes", "hold=", "muted=true&muted=false"} {
			problem(t, s.invoke(t, listEvent(t, sandbox.ProjectID, sandbox.ConferenceStandup, q)), 400, "bad-request")
		}
		if n := s.env.Sandbox.Requests(); n != 0 {
			t.Fatalf("%d requests reached SignalWire", n)
		}
	})
	t.Run("0, 1 and 12 participants", func(t *testing.T) {
		if got := listed(t, s.invoke(t, listEvent(t, sandbox.ProjectID, emptyConf, ""))); len(got) != 0 {
			t.Fatalf("empty conference lists %v", got)
		}
		var direct map[string]any
		out := s.invoke(t, readEvent(t, "direct-list.json"))
		if direct = mustValidate(t, schema, string(out)); fmt.Sprint(direct["participants"].([]any)[0].(map[string]any)["call_sid"]) != sandbox.CallErin || len(direct["participants"].([]any)) != 1 {
			t.Fatalf("direct, town hall: %s", out)
		}
		got := listed(t, s.invoke(t, listEvent(t, sandbox.ProjectID, bigConf, "")))
		if want := conference(bigConf, 12, nil); len(got) != 12 || got[0] != want.Participants[0].CallSid || got[11] != want.Participants[11].CallSid {
			t.Fatalf("12 participants: %v", got)
		}
		if n := calls(bigConf); n != 3 {
			t.Fatalf("12 participants in pages of 5 took %d requests, want 3", n)
		}
	})
	t.Run("a page answered 503 is retried", func(t *testing.T) {
		before := calls(bigConf)
		s.env.Sandbox.Inject(sandbox.Fault{Status: 503})
		if got := listed(t, s.invoke(t, listEvent(t, sandbox.ProjectID, bigConf, ""))); len(got) != 12 {
			t.Fatalf("after a 503: %v", got)
		}
		if n := calls(bigConf) - before; n != 4 {
			t.Fatalf("%d requests, want 4 (3 pages, one retried)", n)
		}
	})
	t.Run("filters", func(t *testing.T) {
		for q, want := range map[string][]string{
			"muted=true":             {sandbox.CallBob},
			"hold=true":              {sandbox.CallCarol},
			"muted=false&hold=false": {sandbox.CallAlice, sandbox.CallDave},
		} {
			if got := listed(t, s.invoke(t, listEvent(t, sandbox.ProjectID, sandbox.ConferenceStandup, q))); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("%s lists %v, want %v", q, got, want)
			}
		}
		if got := listed(t, s.invoke(t, readEvent(t, "rest-api-list.json"))); fmt.Sprint(got) != fmt.Sprint([]string{sandbox.CallAlice, sandbox.CallCarol, sandbox.CallDave}) {
			t.Errorf("rest-api-list.json (muted=false) lists %v", got)
		}
	})
	t.Run("sloppy values decode leniently", func(t *testing.T) {
		s.env.Sandbox.AddParticipant(sandbox.ConferenceStandup, sandbox.Participant{CallSid: sloppy, Status: "in-progress",
			Extra: map[string]any{"muted": "TRUE", "hold": " false ", "coaching": 1, "date_updated": "Mon, 24 Sept 2018 21:05:00 +0000", "label": "x"}})
		defer s.env.Sandbox.RemoveParticipant(sandbox.ConferenceStandup, sloppy)
		r := httpOf(t, s.invoke(t, readEvent(t, "http-api-list.json")))
		ps := mustValidate(t, schema, r.Body)["participants"].([]any)
		p := ps[len(ps)-1].(map[string]any)
		if len(ps) != 5 || p["call_sid"] != sloppy || p["muted"] != true || p["hold"] != false || p["coaching"] != nil ||
			p["unparsed"].(map[string]any)["coaching"] != float64(1) || p["date_updated"] != "2018-09-24T21:05:00Z" || p["extra"].(map[string]any)["label"] != "x" {
			t.Fatalf("%d participants, last %v", len(ps), p)
		}
	})
	t.Run("over the size limit a clear error", func(t *testing.T) {
		out := s.invoke(t, listEvent(t, sandbox.ProjectID, hugeConf, ""))
		problem(t, out, 502, "upstream-error")
		if r := httpOf(t, out); len(out) > 10_000 || !strings.Contains(r.Body, "never sent in part") {
			t.Fatalf("%d bytes: %.300s", len(out), r.Body)
		}
		if n := calls(hugeConf); n != 12 {
			t.Fatalf("%d page requests, want 12 (all of the list)", n)
		}
	})
	t.Run("over the bound a clear error", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		out, err := s.fn.Invoke(ctx, listEvent(t, sandbox.ProjectID, longConf, ""))
		if err != nil {
			t.Fatal(err)
		}
		problem(t, out, 502, "upstream-error")
		if r := httpOf(t, out); !strings.Contains(r.Body, "never answers part of a list") {
			t.Fatalf("%.300s", r.Body)
		}
	})
	if n := s.secretsCalls.Load(); n != 1 {
		t.Errorf("GetSecretValue calls = %d, want 1 (the cold start's, then the cache)", n)
	}
}
