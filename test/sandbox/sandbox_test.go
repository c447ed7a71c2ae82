package sandbox_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/signalwire-lambda/participants/test/sandbox"
)

// get performs an authenticated (unless user is empty) GET on the sandbox.
func get(t *testing.T, s *sandbox.Server, path, user, pass string) (*http.Response, []byte) {
	t.Helper()
	return do(t, s, http.MethodGet, path, user, pass)
}

func do(t *testing.T, s *sandbox.Server, method, path, user, pass string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, s.URL()+path, nil)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	if user != "" || pass != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return resp, body
}

func participantPath(conf, call string) string {
	return sandbox.ParticipantPath(sandbox.ProjectID, conf, call)
}

func decode(t *testing.T, body []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("decode %q: %v", body, err)
	}
	return m
}

var documentedFields = []string{
	"account_sid", "call_sid", "call_sid_to_coach", "coaching", "conference_sid", "date_created",
	"date_updated", "status", "end_conference_on_exit", "muted", "hold", "start_conference_on_enter", "uri",
}

func TestRetrieveEverySeededParticipant(t *testing.T) {
	s := sandbox.New()
	defer s.Close()
	for _, c := range sandbox.Seed() {
		for _, p := range c.Participants {
			for _, suffix := range []string{"", ".json"} {
				path := participantPath(c.Sid, p.CallSid) + suffix
				resp, body := get(t, s, path, sandbox.ProjectID, sandbox.APIToken)
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("GET %s = %d %s", path, resp.StatusCode, body)
				}
				if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
					t.Errorf("Content-Type = %q", ct)
				}
				m := decode(t, body)
				for _, f := range documentedFields {
					if _, ok := m[f]; !ok {
						t.Errorf("%s: field %s missing", p.CallSid, f)
					}
				}
				if m["account_sid"] != sandbox.ProjectID || m["conference_sid"] != c.Sid || m["call_sid"] != p.CallSid {
					t.Errorf("ids = %v %v %v", m["account_sid"], m["conference_sid"], m["call_sid"])
				}
				if uri, _ := m["uri"].(string); uri != participantPath(c.Sid, p.CallSid)+".json" {
					t.Errorf("uri = %q", uri)
				}
				if m["status"] != p.Status || m["date_created"] != p.DateCreated {
					t.Errorf("status/date = %v %v", m["status"], m["date_created"])
				}
			}
		}
	}
}

func TestSeedCoversTheOddCases(t *testing.T) {
	statuses := map[string]bool{}
	var muted, hold, coaching, sept, extra bool
	for _, c := range sandbox.Seed() {
		for _, p := range c.Participants {
			statuses[p.Status] = true
			muted = muted || p.Muted
			hold = hold || p.Hold
			coaching = coaching || (p.Coaching && p.CallSid == sandbox.CallCoach && p.CallSidToCoach == sandbox.CallAgent)
			sept = sept || strings.Contains(p.DateCreated, " Sept ")
			extra = extra || (p.Extra["label"] != nil && p.Extra["queue_time"] != nil)
			if _, err := time.Parse(time.RFC1123Z, p.DateCreated); err != nil && !strings.Contains(p.DateCreated, "Sept") {
				t.Errorf("%s: date %q is not RFC 2822: %v", p.CallSid, p.DateCreated, err)
			}
		}
	}
	for _, st := range []string{"in-progress", "connected", "ringing", "completed", "on-stage"} {
		if !statuses[st] {
			t.Errorf("no participant with status %q", st)
		}
	}
	if !muted || !hold || !coaching || !sept || !extra {
		t.Errorf("muted=%v hold=%v coaching=%v sept=%v extra=%v", muted, hold, coaching, sept, extra)
	}
	a, b := sandbox.Seed(), sandbox.Seed()
	a[1].Participants[2].Extra["label"] = "changed"
	if b[1].Participants[2].Extra["label"] != "customer" {
		t.Error("Seed() results share state")
	}
}

func TestRenderParticipantShape(t *testing.T) {
	s := sandbox.New()
	defer s.Close()
	_, body := get(t, s, participantPath(sandbox.ConferenceSupport, sandbox.CallCustomer), sandbox.ProjectID, sandbox.APIToken)
	want := `{"account_sid":"` + sandbox.ProjectID + `","call_sid":"` + sandbox.CallCustomer +
		`","call_sid_to_coach":null,"coaching":false,"conference_sid":"` + sandbox.ConferenceSupport +
		`","date_created":"Tue, 25 Sep 2018 09:29:58 +0000","date_updated":"Tue, 25 Sep 2018 09:30:00 +0000",` +
		`"end_conference_on_exit":true,"hold":false,"muted":false,"start_conference_on_enter":true,"status":"in-progress",` +
		`"uri":"/api/laml/2010-04-01/Accounts/` + sandbox.ProjectID + `/Conferences/` + sandbox.ConferenceSupport +
		`/Participants/` + sandbox.CallCustomer + `.json","label":"customer","queue_time":"1500"}`
	if string(body) != want {
		t.Errorf("body =\n%s\nwant\n%s", body, want)
	}
	js, ok := s.ParticipantJSON(sandbox.ConferenceSupport, sandbox.CallCustomer)
	if !ok || string(js) != want {
		t.Errorf("ParticipantJSON = %s, %v", js, ok)
	}

	_, body = get(t, s, participantPath(sandbox.ConferenceSupport, sandbox.CallCoach), sandbox.ProjectID, sandbox.APIToken)
	m := decode(t, body)
	if m["coaching"] != true || m["call_sid_to_coach"] != sandbox.CallAgent {
		t.Errorf("coach = %v %v", m["coaching"], m["call_sid_to_coach"])
	}
	_, body = get(t, s, participantPath(sandbox.ConferenceStandup, sandbox.CallDave), sandbox.ProjectID, sandbox.APIToken)
	if m := decode(t, body); m["date_created"] != "Mon, 24 Sept 2018 21:02:00 +0000" {
		t.Errorf("Dave's date = %v", m["date_created"])
	}
}

const authBody = `{"code":20003,"message":"Authentication Error - invalid username","more_info":"https://developer.signalwire.com/compatibility-api/reference/error-codes","status":401}`

func TestAuthentication(t *testing.T) {
	s := sandbox.New()
	defer s.Close()
	path := participantPath(sandbox.ConferenceStandup, sandbox.CallAlice)
	otherAccount := sandbox.ParticipantPath("11111111-2222-4333-8444-555555555555", sandbox.ConferenceStandup, sandbox.CallAlice)
	cases := []struct{ name, path, user, pass string }{
		{"missing", path, "", ""},
		{"wrong token", path, sandbox.ProjectID, "PTwrong"},
		{"wrong user", path, "11111111-2222-4333-8444-555555555555", sandbox.APIToken},
		{"account mismatch", otherAccount, sandbox.ProjectID, sandbox.APIToken},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := get(t, s, tc.path, tc.user, tc.pass)
			if resp.StatusCode != http.StatusUnauthorized || string(body) != authBody {
				t.Errorf("= %d %s", resp.StatusCode, body)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type = %q", ct)
			}
		})
	}
}

func TestNotFoundAndMethod(t *testing.T) {
	s := sandbox.New()
	defer s.Close()
	for _, path := range []string{
		participantPath(sandbox.ConferenceStandup, sandbox.CallGone),
		participantPath(sandbox.ConferenceStandup, sandbox.CallAgent), // wrong conference
		participantPath("cf000001-5a4d-4b0c-9a11-0000000000ff", sandbox.CallAlice),
		"/2010-04-01/Accounts/" + sandbox.ProjectID + "/Conferences/" + sandbox.ConferenceStandup + "/Participants/" + sandbox.CallAlice,
		sandbox.BasePath + "/Accounts/" + sandbox.ProjectID + "/Conferences/" + sandbox.ConferenceStandup,
		"/",
	} {
		resp, body := get(t, s, path, sandbox.ProjectID, sandbox.APIToken)
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s = %d", path, resp.StatusCode)
			continue
		}
		m := decode(t, body)
		if m["code"] != float64(sandbox.CodeNotFound) || m["status"] != float64(404) || m["more_info"] != sandbox.MoreInfo ||
			!strings.Contains(m["message"].(string), path) {
			t.Errorf("GET %s body = %s", path, body)
		}
	}
	for _, method := range []string{http.MethodPost, http.MethodDelete, http.MethodPut} {
		resp, body := do(t, s, method, participantPath(sandbox.ConferenceStandup, sandbox.CallAlice), sandbox.ProjectID, sandbox.APIToken)
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != http.MethodGet {
			t.Errorf("%s = %d Allow=%q", method, resp.StatusCode, resp.Header.Get("Allow"))
		}
		if m := decode(t, body); m["code"] != float64(sandbox.CodeMethodNotAllowed) {
			t.Errorf("%s body = %s", method, body)
		}
	}
}

func TestRotateToken(t *testing.T) {
	s := sandbox.New()
	defer s.Close()
	path := participantPath(sandbox.ConferenceStandup, sandbox.CallBob)
	s.RotateToken("PTrotated")
	if resp, _ := get(t, s, path, sandbox.ProjectID, sandbox.APIToken); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("old token = %d", resp.StatusCode)
	}
	if resp, _ := get(t, s, path, sandbox.ProjectID, "PTrotated"); resp.StatusCode != http.StatusOK {
		t.Errorf("new token = %d", resp.StatusCode)
	}
	if p, tok := s.Credentials(); p != sandbox.ProjectID || tok != "PTrotated" {
		t.Errorf("Credentials = %s %s", p, tok)
	}
}

func TestAddAndRemoveParticipant(t *testing.T) {
	s := sandbox.New()
	defer s.Close()
	path := participantPath(sandbox.ConferenceStandup, sandbox.CallAlice)
	if !s.RemoveParticipant(sandbox.ConferenceStandup, sandbox.CallAlice) {
		t.Fatal("RemoveParticipant = false")
	}
	if s.RemoveParticipant(sandbox.ConferenceStandup, sandbox.CallAlice) {
		t.Error("second RemoveParticipant = true")
	}
	if resp, _ := get(t, s, path, sandbox.ProjectID, sandbox.APIToken); resp.StatusCode != http.StatusNotFound {
		t.Errorf("after remove = %d", resp.StatusCode)
	}

	const conf, call = "cf000001-5a4d-4b0c-9a11-0000000000aa", "ca110001-5a4d-4b0c-9a11-0000000000aa"
	s.AddParticipant(conf, sandbox.Participant{CallSid: call, Status: "connecting"})
	resp, body := get(t, s, participantPath(conf, call)+".json", sandbox.ProjectID, sandbox.APIToken)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("added = %d %s", resp.StatusCode, body)
	}
	m := decode(t, body)
	if _, err := time.Parse(time.RFC1123Z, m["date_created"].(string)); err != nil || m["status"] != "connecting" {
		t.Errorf("added participant = %s (%v)", body, err)
	}
	s.AddParticipant(conf, sandbox.Participant{CallSid: call, Status: "in-progress", Muted: true})
	if p, ok := s.Participant(conf, call); !ok || p.Status != "in-progress" || !p.Muted {
		t.Errorf("replaced participant = %+v %v", p, ok)
	}
	confs := s.Conferences()
	if i := slices.IndexFunc(confs, func(c sandbox.Conference) bool { return c.Sid == conf }); i < 0 || len(confs[i].Participants) != 1 {
		t.Errorf("Conferences() = %+v", confs)
	}

	empty := sandbox.New(sandbox.WithConferences(), sandbox.WithCredentials("p", "t"))
	defer empty.Close()
	if got := empty.Conferences(); len(got) != 0 {
		t.Errorf("WithConferences() = %+v", got)
	}
	resp, _ = get(t, empty, sandbox.ParticipantPath("p", sandbox.ConferenceStandup, sandbox.CallAlice), "p", "t")
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("empty sandbox = %d", resp.StatusCode)
	}
}

func TestCountersAndConnections(t *testing.T) {
	s := sandbox.New()
	defer s.Close()
	path := participantPath(sandbox.ConferenceStandup, sandbox.CallAlice)
	get(t, s, path, sandbox.ProjectID, sandbox.APIToken)
	get(t, s, path+".json", sandbox.ProjectID, sandbox.APIToken)
	get(t, s, "/elsewhere", sandbox.ProjectID, sandbox.APIToken)
	if got := s.Requests(); got != 3 {
		t.Errorf("Requests = %d", got)
	}
	if got := s.RequestsFor(path); got != 2 {
		t.Errorf("RequestsFor = %d", got)
	}
	if got := s.RequestsFor(path + ".json"); got != 2 {
		t.Errorf("RequestsFor(.json) = %d", got)
	}
	if got := s.Connections(); got != 1 {
		t.Errorf("Connections = %d, want 1 (keep-alive)", got)
	}
}

func TestWriteCACert(t *testing.T) {
	s := sandbox.New()
	defer s.Close()
	path := filepath.Join(t.TempDir(), "ca.pem")
	if err := s.WriteCACert(path); err != nil {
		t.Fatal(err)
	}
	pemBytes, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		t.Fatal("no certificate in PEM")
	}
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	defer c.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+s.Host()+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET with the written CA: %v", err)
	}
	_ = resp.Body.Close()
	if !strings.HasPrefix(s.Host(), "127.0.0.1:") {
		t.Errorf("Host = %q", s.Host())
	}
}
