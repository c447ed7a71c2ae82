package sandbox_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/signalwire-lambda/participants/test/sandbox"
)

// page is the list answer, as a client reads it.
type page struct {
	Participants    []map[string]any `json:"participants"`
	Page            int              `json:"page"`
	PageSize        int              `json:"page_size"`
	URI             string           `json:"uri"`
	FirstPageURI    string           `json:"first_page_uri"`
	NextPageURI     *string          `json:"next_page_uri"`
	PreviousPageURI *string          `json:"previous_page_uri"`
	Start           int              `json:"start"`
	End             int              `json:"end"`
}

func listPath(conf string) string { return sandbox.ListPath(sandbox.ProjectID, conf) }

func getPage(t *testing.T, s *sandbox.Server, path string) page {
	t.Helper()
	resp, body := get(t, s, path, sandbox.ProjectID, sandbox.APIToken)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("GET %s = %d %q %s", path, resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	var p page
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	for _, f := range []string{"participants", "page", "page_size", "uri", "first_page_uri", "next_page_uri", "previous_page_uri", "start", "end"} {
		if _, ok := decode(t, body)[f]; !ok {
			t.Errorf("GET %s: field %s missing", path, f)
		}
	}
	return p
}

func callSids(p page) []string {
	var out []string
	for _, e := range p.Participants {
		out = append(out, fmt.Sprint(e["call_sid"]))
	}
	return out
}

// TestListActiveParticipants: every conference lists its participants in
// order, each as Retrieve renders it, without those that left (CallFrank,
// "completed"); an unknown conference lists none.
func TestListActiveParticipants(t *testing.T) {
	s := sandbox.New()
	defer s.Close()
	for _, c := range sandbox.Seed() {
		for _, suffix := range []string{"", ".json"} {
			p := getPage(t, s, listPath(c.Sid)+suffix)
			var want []string
			for _, sp := range c.Participants {
				if sp.Status != "completed" {
					want = append(want, sp.CallSid)
				}
			}
			if got := callSids(p); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("%s%s lists %v, want %v", c.Sid, suffix, got, want)
			}
			for _, e := range p.Participants {
				single, _ := s.ParticipantJSON(c.Sid, fmt.Sprint(e["call_sid"]))
				if b, _ := json.Marshal(e); string(b) != string(mustCanon(t, single)) {
					t.Errorf("entry %s differs from Retrieve's %s", b, single)
				}
			}
			if p.Page != 0 || p.PageSize != 50 || p.Start != 0 || p.End != len(want)-1 || p.NextPageURI != nil || p.PreviousPageURI != nil ||
				p.URI != listPath(c.Sid)+".json?Page=0&PageSize=50" || p.FirstPageURI != p.URI {
				t.Errorf("paging fields = %+v", p)
			}
		}
	}
	p := getPage(t, s, listPath("cf000001-5a4d-4b0c-9a11-0000000000ff")+".json")
	if p.Participants == nil || len(p.Participants) != 0 || p.Start != 0 || p.End != 0 || p.NextPageURI != nil {
		t.Errorf("unknown conference = %+v", p)
	}
	if s.RequestsFor(listPath(sandbox.ConferenceStandup)) != 2 || s.RequestsFor(listPath(sandbox.ConferenceStandup)+".json") != 2 {
		t.Errorf("RequestsFor(list) = %d", s.RequestsFor(listPath(sandbox.ConferenceStandup)))
	}
}

// mustCanon re-encodes JSON through a map, as the list entries are read.
func mustCanon(t *testing.T, b []byte) []byte {
	t.Helper()
	out, err := json.Marshal(decode(t, b))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestListPaging follows next_page_uri through a conference of 7 at 3 a
// page; the PageToken keeps the order when a participant of an earlier page
// leaves; WithMaxPageSize caps what is asked.
func TestListPaging(t *testing.T) {
	const conf = "cf000001-5a4d-4b0c-9a11-0000000000b0"
	var all []string
	confs := sandbox.Conference{Sid: conf}
	for i := range 7 {
		call := fmt.Sprintf("ca110001-5a4d-4b0c-9a11-0000000000b%d", i)
		all = append(all, call)
		confs.Participants = append(confs.Participants, sandbox.Participant{CallSid: call, Status: "in-progress", Muted: i%2 == 0})
	}
	s := sandbox.New(sandbox.WithConferences(confs))
	defer s.Close()

	p := getPage(t, s, listPath(conf)+".json?PageSize=3")
	var got []string
	for n := 0; ; n++ {
		got = append(got, callSids(p)...)
		if p.Page != n || p.PageSize != 3 || (n == 0 && p.Start != 0) || p.End != p.Start+len(p.Participants)-1 || p.FirstPageURI != listPath(conf)+".json?Page=0&PageSize=3" {
			t.Errorf("page %d = %+v", n, p)
		}
		if (n == 0) != (p.PreviousPageURI == nil) {
			t.Errorf("page %d previous_page_uri = %v", n, p.PreviousPageURI)
		}
		if p.NextPageURI == nil {
			break
		}
		if n == 0 { // a participant of the first page leaves: the cursor still holds
			s.RemoveParticipant(conf, all[0])
		}
		p = getPage(t, s, *p.NextPageURI)
	}
	if fmt.Sprint(got) != fmt.Sprint(all) {
		t.Errorf("pages listed %v, want %v", got, all)
	}
	if p := getPage(t, s, listPath(conf)+".json?PageSize=3&Page=1"); fmt.Sprint(callSids(p)) != fmt.Sprint(all[4:7]) {
		t.Errorf("Page=1 without token lists %v", callSids(p)) // all[0] left: page 1 starts at all[4]
	}
	if p := getPage(t, s, listPath(conf)+".json?PageSize=3&Page=9"); len(p.Participants) != 0 || p.NextPageURI != nil {
		t.Errorf("past the end = %+v", p)
	}

	capped := sandbox.New(sandbox.WithConferences(confs), sandbox.WithMaxPageSize(2))
	defer capped.Close()
	p = getPage(t, capped, listPath(conf)+".json?PageSize=1000")
	if p.PageSize != 2 || len(p.Participants) != 2 || p.NextPageURI == nil || !strings.Contains(*p.NextPageURI, "PageSize=2") {
		t.Errorf("capped = %+v", p)
	}
}

func TestListFilters(t *testing.T) {
	s := sandbox.New(sandbox.WithMaxPageSize(1))
	defer s.Close()
	for query, want := range map[string][]string{
		"Muted=true":             {sandbox.CallBob},
		"Hold=TRUE":              {sandbox.CallCarol},
		"Muted=false&Hold=false": {sandbox.CallAlice, sandbox.CallDave},
		"Muted=true&Hold=true":   nil,
	} {
		p := getPage(t, s, listPath(sandbox.ConferenceStandup)+".json?"+query)
		got := callSids(p)
		for p.NextPageURI != nil {
			next := *p.NextPageURI
			for _, f := range strings.Split(strings.ToLower(query), "&") {
				if !strings.Contains(strings.ToLower(next), f) {
					t.Errorf("%s: next_page_uri %s drops %s", query, next, f)
				}
			}
			p = getPage(t, s, next)
			got = append(got, callSids(p)...)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s lists %v, want %v", query, got, want)
		}
	}
	for _, query := range []string{"Muted=yes", "Hold=", "PageSize=0", "PageSize=x", "Page=-1", "Page=99999999999"} {
		resp, body := get(t, s, listPath(sandbox.ConferenceStandup)+".json?"+query, sandbox.ProjectID, sandbox.APIToken)
		if m := decode(t, body); resp.StatusCode != http.StatusBadRequest || m["status"] != float64(400) || m["code"] != float64(sandbox.CodeUnknown) {
			t.Errorf("%s = %d %s", query, resp.StatusCode, body)
		}
	}
}

func TestListAuthenticationAndMethod(t *testing.T) {
	s := sandbox.New()
	defer s.Close()
	path := listPath(sandbox.ConferenceStandup) + ".json"
	for _, tc := range []struct{ path, user, pass string }{
		{path, "", ""},
		{path, sandbox.ProjectID, "PTwrong"},
		{sandbox.ListPath("11111111-2222-4333-8444-555555555555", sandbox.ConferenceStandup) + ".json", sandbox.ProjectID, sandbox.APIToken},
	} {
		if resp, body := get(t, s, tc.path, tc.user, tc.pass); resp.StatusCode != http.StatusUnauthorized || string(body) != authBody {
			t.Errorf("%+v = %d %s", tc, resp.StatusCode, body)
		}
	}
	resp, body := do(t, s, http.MethodPost, path, sandbox.ProjectID, sandbox.APIToken)
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != http.MethodGet || decode(t, body)["code"] != float64(sandbox.CodeMethodNotAllowed) {
		t.Errorf("POST = %d %s", resp.StatusCode, body)
	}
}

// TestSloppyValuesInPlace: an Extra field with a documented name replaces
// that field's value, in Retrieve and in the list, without a second key.
func TestSloppyValuesInPlace(t *testing.T) {
	s := sandbox.New()
	defer s.Close()
	const call = "ca110001-5a4d-4b0c-9a11-0000000000c1"
	s.AddParticipant(sandbox.ConferenceStandup, sandbox.Participant{CallSid: call, Status: "in-progress", Muted: true,
		Extra: map[string]any{"muted": "TRUE", "hold": " false ", "coaching": 1, "date_created": 1537822800, "label": "x"}})
	_, body := get(t, s, participantPath(sandbox.ConferenceStandup, call), sandbox.ProjectID, sandbox.APIToken)
	if strings.Count(string(body), `"muted"`) != 1 || !strings.Contains(string(body), `"hold":" false ","muted":"TRUE"`) ||
		!strings.Contains(string(body), `"coaching":1,`) || !strings.HasSuffix(string(body), `.json","label":"x"}`) {
		t.Errorf("Retrieve = %s", body)
	}
	p := getPage(t, s, listPath(sandbox.ConferenceStandup)+".json?Muted=true")
	if len(p.Participants) != 2 || p.Participants[1]["muted"] != "TRUE" || p.Participants[1]["date_created"] != float64(1537822800) {
		t.Errorf("list = %+v", p.Participants)
	}
}

// TestFaultsApplyToTheList: faults are consumed by list requests as by
// Retrieve, and those that answer normally answer the list.
func TestFaultsApplyToTheList(t *testing.T) {
	s := sandbox.New()
	defer s.Close()
	path := listPath(sandbox.ConferenceSupport) + ".json"
	s.Inject(sandbox.Fault{Status: http.StatusServiceUnavailable})
	s.Inject(sandbox.Fault{TruncatedJSON: true})
	s.Inject(sandbox.Fault{WrongContentType: true})
	if resp, body := get(t, s, path, sandbox.ProjectID, sandbox.APIToken); resp.StatusCode != http.StatusServiceUnavailable || decode(t, body)["code"] != float64(sandbox.CodeInternal) {
		t.Errorf("503 fault = %d %s", resp.StatusCode, body)
	}
	_, full := get(t, sandbox.New(), path, sandbox.ProjectID, sandbox.APIToken)
	if resp, body := get(t, s, path, sandbox.ProjectID, sandbox.APIToken); resp.StatusCode != http.StatusOK || len(body) != len(full)/2 || json.Valid(body) {
		t.Errorf("truncated = %d, %d of %d bytes", resp.StatusCode, len(body), len(full))
	}
	if resp, body := get(t, s, path, sandbox.ProjectID, sandbox.APIToken); !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") || string(body) != string(full) {
		t.Errorf("wrong content type = %q %s", resp.Header.Get("Content-Type"), body)
	}
	if p := getPage(t, s, path); len(p.Participants) != 3 {
		t.Errorf("after the faults = %+v", p)
	}
}
