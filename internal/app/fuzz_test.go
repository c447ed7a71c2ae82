package app

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"path"
	"strings"
	"sync"
	"testing"

	"github.com/signalwire-lambda/participants/internal/obs"
	"github.com/signalwire-lambda/participants/internal/signalwire"
)

// fuzzSpaceHost is the Space the fuzz credentials name (fakeCreds).
const fuzzSpaceHost = "example.signalwire.com"

// recordingTransport is SignalWire behind the real client: it records every
// request and answers a participant, without any network.
type recordingTransport struct {
	mu   sync.Mutex
	reqs []*http.Request
}

func (rt *recordingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rt.mu.Lock()
	rt.reqs = append(rt.reqs, r)
	rt.mu.Unlock()
	// The participant asked for (the core refuses one that is not): the
	// SIDs are the URL's .../Accounts/{a}/Conferences/{c}/Participants/{p}.json.
	a, c, p := acct, conf, call
	segs := strings.Split(strings.TrimSuffix(r.URL.Path, ".json"), "/")
	if len(segs) == 10 {
		a, c, p = segs[5], segs[7], segs[9]
	}
	if len(segs) == 9 { // the list: a page of one
		a, c = segs[5], segs[7]
	}
	body := `{"account_sid":"` + a + `","call_sid":"` + p + `","conference_sid":"` + c + `","status":"in-progress","muted":false,"hold":false,"coaching":false,` +
		`"date_created":"Thu, 26 Nov 2026 10:15:00 +0000","date_updated":"Thu, 26 Nov 2026 10:15:00 +0000","uri":"/x.json"}`
	if len(segs) == 9 {
		body = `{"participants":[` + body + `],"next_page_uri":null}`
	}
	return &http.Response{
		StatusCode: http.StatusOK, Status: "200 OK", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:        http.Header{"Content-Type": {"application/json"}},
		Body:          io.NopCloser(strings.NewReader(body)),
		ContentLength: int64(len(body)),
		Request:       r,
	}, nil
}

func (rt *recordingTransport) take() []*http.Request {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	out := rt.reqs
	rt.reqs = nil
	return out
}

// hostileSegments are path segments and SIDs that must never reach SignalWire.
var hostileSegments = []string{
	"..", ".", "%2e%2e", "%2E%2E", "..%2F..%2Fadmin", "ca110001-5a4d-4b0c-9a11-..%2F..%2Fadmin",
	"ca110001%2F5a4d-4b0c-9a11-000000000001", "ca110001%252F5a4d-4b0c-9a11-00000000001",
	`ca110001-5a4d-4b0c-9a11\000000000001`, "ca110001-5a4d-4b0c-9a11-00000000000１",
	"cа110001-5a4d-4b0c-9a11-000000000001", "ca110001-5a4d-4b0c-9a11-00000000000\x00",
	"ca110001-5a4d-4b0c-9a11-000000000001?x=1", "ca110001-5a4d-4b0c-9a11-000000000001#f",
	"ca110001-5a4d-4b0c-9a11-000000000001.json", " ca110001-5a4d-4b0c-9a11-00000000001",
	strings.Repeat("a", 10_000),
}

// FuzzReadRoute drives the read route through the core and the real
// SignalWire client (URL building included), with a transport that records
// what would be sent. For any method, path and API Gateway path parameters:
//   - the answer is 200 application/json or an RFC 9457 problem;
//   - a request that is not the read route never calls SignalWire;
//   - on the read route, a SID that fails signalwire.ValidateSID gives 400
//     invalid-sid naming that field and no call; a method other than
//     GET/HEAD gives 405 and no call; an account_sid other than the
//     secret's project_id gives 404 account-not-found and no call;
//   - otherwise exactly one GET goes to https://{space}/api/laml/2010-04-01/
//     Accounts/{a}/Conferences/{c}/Participants/{p}.json, with no query or
//     fragment, a path that path.Clean leaves alone, SIDs that validate, and
//     they are the path parameters (when all three are set) or the last
//     segments of the path, byte for byte;
//   - the list route (.../participants, or the path parameters without
//     call_sid) is held to the same with two SIDs: one GET to
//     .../Participants.json?PageSize=100.
func FuzzReadRoute(f *testing.F) {
	valid := readPath(acct, conf, call)
	for _, p := range []string{valid, "/Prod" + valid, valid + "/", "//" + valid, "/webhooks/signalwire", "/", "", "accounts/a/conferences/b/participants/c"} {
		f.Add("GET", p, "", "", "", false)
	}
	f.Add("HEAD", valid, "", "", "", false)
	f.Add("POST", valid, "", "", "", false)
	f.Add("GET", "/anything", acct, conf, call, true)
	f.Add("GET", valid, acct, "", call, true)
	f.Add("GET", "/x", acct, conf, "", true)
	f.Add("GET", readPath(acct, conf, "")[:len(readPath(acct, conf, ""))-1], "", "", "", false)
	f.Add("GET", "/accounts/"+acct+"/conferences/"+hostileSegments[3]+"/participants", "", "", "", false)
	for _, s := range hostileSegments {
		f.Add("GET", readPath(acct, conf, s), "", "", "", false)
		f.Add("GET", readPath(s, conf, call), "", "", "", false)
		f.Add("GET", "/x", acct, s, call, true)
		f.Add("GET", valid, acct, conf, s, true)
	}

	rt := &recordingTransport{}
	client := signalwire.NewClient(signalwire.Options{HTTPClient: &http.Client{Transport: rt}})
	a := New(&fakeCreds{}, client, obs.NewLogger(io.Discard, slog.LevelDebug))
	f.Fuzz(func(t *testing.T, method, rawPath, pa, pc, pp string, withParams bool) {
		req := Request{Method: method, Path: rawPath, Headers: map[string]string{}}
		if withParams {
			req.PathParams = map[string]string{"account_sid": pa, "conference_sid": pc, "call_sid": pp}
		}
		ref, list, routed := readRoute(req)
		resp := NewRoutes(a, nil).Handle(context.Background(), req)
		sent := rt.take()
		if method == http.MethodHead {
			// No body, and the status and headers of the same GET.
			get := req
			get.Method = http.MethodGet
			g := NewRoutes(a, nil).Handle(context.Background(), get)
			rt.take()
			if len(resp.Body) != 0 || g.Status != resp.Status || !maps.Equal(g.Headers, resp.Headers) {
				t.Fatalf("HEAD %q: %d %v %q; GET: %d %v", rawPath, resp.Status, resp.Headers, resp.Body, g.Status, g.Headers)
			}
			resp = g
		}
		prob := checkAnswer(t, resp)

		if !routed {
			if len(sent) != 0 {
				t.Fatalf("%s %q is not the read route but called SignalWire", method, rawPath)
			}
			if resp.Status != http.StatusNotFound && resp.Status != http.StatusMethodNotAllowed {
				t.Fatalf("%s %q: not the read route, answered %d", method, rawPath, resp.Status)
			}
			return
		}
		// Route parsing: the ref is the parameters or the path's last segments.
		if withParams && pa != "" && pc != "" {
			if ref != (signalwire.ParticipantRef{AccountSID: pa, ConferenceSID: pc, CallSID: pp}) || list != (pp == "") {
				t.Fatalf("path parameters %q %q %q gave %+v (list %v)", pa, pc, pp, ref, list)
			}
		} else {
			suffix := "accounts/" + ref.AccountSID + "/conferences/" + ref.ConferenceSID + "/participants/" + ref.CallSID
			if list {
				suffix = "accounts/" + ref.AccountSID + "/conferences/" + ref.ConferenceSID + "/participants"
			}
			if (list && ref.CallSID != "") || strings.ContainsRune(ref.AccountSID+ref.ConferenceSID+ref.CallSID, '/') ||
				!strings.HasSuffix(strings.TrimSuffix(rawPath, "/"), suffix) {
				t.Fatalf("path %q gave %+v", rawPath, ref)
			}
		}
		if method != http.MethodGet && method != http.MethodHead {
			if resp.Status != http.StatusMethodNotAllowed || len(sent) != 0 {
				t.Fatalf("%s on the read route: %d, %d calls", method, resp.Status, len(sent))
			}
			return
		}
		verr := ref.Validate()
		if list {
			verr = errors.Join(signalwire.ValidateSID("account_sid", ref.AccountSID), signalwire.ValidateSID("conference_sid", ref.ConferenceSID))
		}
		if verr != nil {
			var sidErr *signalwire.InvalidSIDError
			if !errors.As(verr, &sidErr) {
				t.Fatalf("Validate returned %T", verr)
			}
			if len(sent) != 0 {
				t.Fatalf("invalid SID (%v) reached SignalWire: %s", verr, sent[0].URL)
			}
			if resp.Status != http.StatusBadRequest || prob.Type != problemTypeBase+problemInvalidSID || prob.Field != sidErr.Field {
				t.Fatalf("invalid SID (%v): %d %s", verr, resp.Status, resp.Body)
			}
			return
		}
		if !strings.EqualFold(ref.AccountSID, acct) {
			// Not the secret's project: 404 from the cached secret, no call.
			if len(sent) != 0 || resp.Status != http.StatusNotFound || prob.Type != problemTypeBase+problemAccountNotFound || prob.Field != "account_sid" {
				t.Fatalf("foreign account %+v: %d calls, answer %d %s", ref, len(sent), resp.Status, resp.Body)
			}
			return
		}
		if len(sent) != 1 || resp.Status != http.StatusOK {
			t.Fatalf("valid ref %+v: %d calls, answer %d %s", ref, len(sent), resp.Status, resp.Body)
		}
		u := sent[0].URL
		want, query, n := "/api/laml/2010-04-01/Accounts/"+ref.AccountSID+"/Conferences/"+ref.ConferenceSID+"/Participants/"+ref.CallSID+".json", "", 10
		if list {
			want, query, n = "/api/laml/2010-04-01/Accounts/"+ref.AccountSID+"/Conferences/"+ref.ConferenceSID+"/Participants.json", "PageSize=100", 9
		}
		if sent[0].Method != http.MethodGet || u.Scheme != "https" || u.Host != fuzzSpaceHost || u.User != nil ||
			u.RawQuery != query || u.Fragment != "" || u.EscapedPath() != want || u.Path != want || path.Clean(u.Path) != u.Path {
			t.Fatalf("ref %+v sent %s %s", ref, sent[0].Method, u)
		}
		segs := strings.Split(strings.TrimSuffix(u.Path, ".json"), "/")
		if len(segs) != n {
			t.Fatalf("sent %s: %d segments", u, len(segs))
		}
		for i, field := range map[int]string{5: "account_sid", 7: "conference_sid", 9: "call_sid"} {
			if i >= n {
				continue
			}
			if err := signalwire.ValidateSID(field, segs[i]); err != nil {
				t.Fatalf("sent %s: %v", u, err)
			}
		}
		if user, _, ok := sent[0].BasicAuth(); !ok || user != acct {
			t.Fatalf("sent without the project's Basic auth: %s", u)
		}
	})
}

// checkAnswer asserts r is 200 application/json with a JSON body, or a
// problem+json whose status, type and title agree; it returns the problem.
func checkAnswer(t *testing.T, r Response) Problem {
	t.Helper()
	var p Problem
	if r.Status == http.StatusOK {
		if r.Headers["Content-Type"] != "application/json" || !json.Valid(r.Body) {
			t.Fatalf("200 with %q: %q", r.Headers["Content-Type"], r.Body)
		}
		return p
	}
	if r.Headers["Content-Type"] != problemContentType {
		t.Fatalf("status %d with content type %q", r.Status, r.Headers["Content-Type"])
	}
	if err := json.Unmarshal(r.Body, &p); err != nil {
		t.Fatalf("problem body %q: %v", r.Body, err)
	}
	if p.Status != r.Status || p.Title != http.StatusText(r.Status) || !strings.HasPrefix(p.Type, problemTypeBase) || r.Status < 400 {
		t.Fatalf("problem %s does not match status %d", r.Body, r.Status)
	}
	return p
}
