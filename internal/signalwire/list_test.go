package signalwire

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// listPath is the list's path for the test ids.
var listPath = "/api/laml/2010-04-01/Accounts/" + testAccountSID + "/Conferences/" + testConferenceSID + "/Participants.json"

// entry renders a list entry for call with the test account and conference.
func entry(call, extra string) string {
	return `{"account_sid":"` + testAccountSID + `","conference_sid":"` + testConferenceSID + `","call_sid":"` + call + `"` + extra + `}`
}

func pageBody(next string, entries ...string) []byte {
	n := "null"
	if next != "" {
		n = `"` + next + `"`
	}
	return []byte(`{"page":0,"page_size":2,"start":0,"end":1,"uri":"x","first_page_uri":"x","previous_page_uri":null,"next_page_uri":` + n +
		`,"participants":[` + strings.Join(entries, ",") + `]}`)
}

func call(i int) string { return fmt.Sprintf("ca110001-5a4d-4b0c-9a11-%012d", i) }

// TestListParticipantsFollowsPages: the filters and PageSize are sent, the
// pages are followed in order (relative and absolute next_page_uri on the
// same host), a 503 on a page is retried, and entries decode leniently.
func TestListParticipantsFollowsPages(t *testing.T) {
	var uris []string
	var f *fakeAPI
	f = newFakeAPI(t, func(w http.ResponseWriter, r *http.Request, n int) {
		uris = append(uris, r.RequestURI)
		if u, p, ok := r.BasicAuth(); !ok || u != testProjectID || p != testToken || r.URL.Path != listPath {
			t.Errorf("request %d: %s auth %v", n, r.RequestURI, ok)
		}
		switch n {
		case 1:
			writeJSON(w, 200, pageBody(listPath+"?Page=1&PageToken=PA1", entry(call(1), `,"muted":"TRUE"`), entry(call(2), "")))
		case 2:
			writeJSON(w, 503, []byte(`{"code":20504}`))
		case 3:
			writeJSON(w, 200, pageBody("https://"+f.auth().SpaceHost+listPath+"?Page=2", entry(call(3), `,"hold":" false "`)))
		case 4: // Twilio's base, without .json: the list path all the same
			writeJSON(w, 200, pageBody("/2010-04-01/Accounts/"+testAccountSID+"/Conferences/"+testConferenceSID+"/Participants?Page=3"))
		default:
			writeJSON(w, 200, pageBody("", entry(call(4), "")))
		}
	})
	yes, no := true, false
	ps, err := f.client(Options{}, nil).ListParticipants(context.Background(), f.auth(), ParticipantRef{AccountSID: testAccountSID, ConferenceSID: testConferenceSID}, ListFilter{Muted: &yes, Hold: &no})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range ps {
		got = append(got, str(p.CallSID))
	}
	if fmt.Sprint(got) != fmt.Sprint([]string{call(1), call(2), call(3), call(4)}) || boolStr(ps[0].Muted) != "true" || boolStr(ps[2].Hold) != "false" {
		t.Errorf("listed %v (muted %s, hold %s)", got, boolStr(ps[0].Muted), boolStr(ps[2].Hold))
	}
	want := []string{listPath + "?Hold=false&Muted=true&PageSize=100", listPath + "?Page=1&PageToken=PA1", listPath + "?Page=1&PageToken=PA1", listPath + "?Page=2", listPath + "?Page=3"}
	if fmt.Sprint(uris) != fmt.Sprint(want) {
		t.Errorf("requests\n%v\nwant\n%v", uris, want)
	}
}

// TestListParticipantsRefusesOtherPages: a next_page_uri on another host,
// scheme or path is a bad response, and nothing is sent there.
func TestListParticipantsRefusesOtherPages(t *testing.T) {
	other := "/api/laml/2010-04-01/Accounts/" + testAccountSID + "/Conferences/cf000001-5a4d-4b0c-9a11-0000000000ff/Participants.json"
	for _, next := range []string{"https://elsewhere.example.com" + listPath + "?Page=1", "http://HOST" + listPath, "//elsewhere.example.com" + listPath,
		other + "?Page=1", listPath + "/../x", "https://u:p@HOST" + listPath, "%zz"} {
		t.Run(next, func(t *testing.T) {
			var f *fakeAPI
			f = newFakeAPI(t, func(w http.ResponseWriter, r *http.Request, n int) {
				writeJSON(w, 200, pageBody(strings.ReplaceAll(next, "HOST", f.auth().SpaceHost), entry(call(1), "")))
			})
			_, err := f.client(Options{}, nil).ListParticipants(context.Background(), f.auth(), testRef(), ListFilter{})
			if e := asAPIError(t, err); e.Kind != KindBadResponse || !strings.Contains(err.Error(), "next_page_uri") || f.requests.Load() != 1 {
				t.Errorf("err = %v after %d requests", err, f.requests.Load())
			}
		})
	}
}

func TestListParticipantsBadPages(t *testing.T) {
	for _, body := range []string{`[]`, `{}`, `{"participants":{}}`, `{"participants":[1]}`, `{"participants":[],"next_page_uri":7}`, `<html>`} {
		f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request, n int) { writeJSON(w, 200, []byte(body)) })
		_, err := f.client(Options{}, nil).ListParticipants(context.Background(), f.auth(), testRef(), ListFilter{})
		if e := asAPIError(t, err); e.Kind != KindBadResponse || f.requests.Load() != 1 {
			t.Errorf("%s: err = %v after %d requests", body, err, f.requests.Load())
		}
	}
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request, n int) {
		writeJSON(w, 200, []byte("\xef\xbb\xbf"+string(pageBody(""))))
	})
	if ps, err := f.client(Options{}, nil).ListParticipants(context.Background(), f.auth(), testRef(), ListFilter{}); err != nil || len(ps) != 0 {
		t.Errorf("an empty page with a BOM = %v, %v", ps, err)
	}
}

// TestListParticipantsBounds: never part of a list. A list that keeps
// paging stops after maxListPages requests; one over maxListParticipants
// fails too.
func TestListParticipantsBounds(t *testing.T) {
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request, n int) {
		writeJSON(w, 200, pageBody(listPath+fmt.Sprint("?Page=", n), entry(call(n), "")))
	})
	ps, err := f.client(Options{}, nil).ListParticipants(context.Background(), f.auth(), testRef(), ListFilter{})
	if !errors.Is(err, ErrListTooLong) || ps != nil || f.requests.Load() != maxListPages {
		t.Errorf("endless pages: %d participants, %v after %d requests", len(ps), err, f.requests.Load())
	}
	many := make([]string, maxListParticipants/2+1)
	for i := range many {
		many[i] = entry(call(i), "")
	}
	f = newFakeAPI(t, func(w http.ResponseWriter, r *http.Request, n int) {
		next := ""
		if n == 1 {
			next = listPath + "?Page=1"
		}
		writeJSON(w, 200, pageBody(next, many...))
	})
	if ps, err := f.client(Options{}, nil).ListParticipants(context.Background(), f.auth(), testRef(), ListFilter{}); !errors.Is(err, ErrListTooLong) || ps != nil {
		t.Errorf("%d participants: %d, %v", 2*len(many), len(ps), err)
	}
}

func TestListParticipantsInvalidSIDsNeverReachServer(t *testing.T) {
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request, n int) { writeJSON(w, 200, pageBody("")) })
	c := f.client(Options{}, nil)
	for _, ref := range []ParticipantRef{{AccountSID: "x", ConferenceSID: testConferenceSID}, {AccountSID: testAccountSID, ConferenceSID: "../x"}} {
		var sidErr *InvalidSIDError
		if _, err := c.ListParticipants(context.Background(), f.auth(), ref, ListFilter{}); !errors.As(err, &sidErr) {
			t.Errorf("%+v: %v", ref, err)
		}
	}
	if f.requests.Load() != 0 {
		t.Errorf("%d requests", f.requests.Load())
	}
}
