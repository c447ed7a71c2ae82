package app

import (
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"strings"
	"testing"

	"github.com/signalwire-lambda/participants/test/signing"
)

// The hex scheme signs URL + raw body with no boundary between them. A
// captured bodySHA256 callback is signed over its URL alone; moving the
// URL's trailing digits into the body and re-encoding the (base64) signature
// as hex makes a new request whose URL + body is that same URL. Such a
// splice must not verify: one signed callback must not yield other events.
func TestSplicedURLIntoBodyIsRejected(t *testing.T) {
	body := callStateBody
	signed := signing.WithBodySHA256(base+webhookRoute, []byte(body))
	sig, err := base64.StdEncoding.DecodeString(signing.Form("PSK_key", signed, nil))
	if err != nil {
		t.Fatal(err)
	}
	// The longest all-digit tail of the signed URL (a JSON number).
	n := len(signed)
	for n > 0 && signed[n-1] >= '0' && signed[n-1] <= '9' {
		n--
	}
	forged := 0
	for cut := len(signed) - 1; cut >= n; cut-- {
		tail := signed[cut:]
		if len(tail) > 1 && tail[0] == '0' {
			continue // not a JSON number
		}
		_, query, _ := strings.Cut(signed[:cut], "?")
		req := Request{Method: "POST", Path: webhookRoute, Host: "abc.execute-api.us-east-1.amazonaws.com", URLPaths: []string{webhookRoute},
			RawQuery: query,
			Headers:  map[string]string{"content-type": "application/json", "x-signalwire-signature": hex.EncodeToString(sig)},
			Body:     tail}
		forged++
		f := newHooks(t, nil)
		r := f.routes.Handle(f.ctx(), req)
		if r.Status != 403 || len(f.dest.msgs) != 0 {
			t.Errorf("body %q with URL %q: %d %s, %d forwarded", tail, signed[:cut], r.Status, r.Body, len(f.dest.msgs))
		}
	}
	if forged == 0 {
		t.Fatal("the signed URL ends in no digit: pick another body") // deterministic: the body is fixed
	}
}

// The form scheme signs URL + the sorted names and values, again with no
// boundary: a captured callback whose URL has a query can have the query's
// tail moved into a new first parameter ("?tag=" = "abc", sorting before
// AccountSid), which re-creates the same signed string from a shorter URL.
// That must not verify as another event (another id, the query's values
// turned into source fields).
func TestSplicedQueryIntoFormIsRejected(t *testing.T) {
	genuine := joinForm(call)
	for _, c := range []struct{ signedQuery, forgedQuery, name, value string }{
		{"tag=abc", "", "?tag=", "abc"},
		{"ConferenceSid=" + conf + "&tag=abc", "ConferenceSid=" + conf, "&tag=", "abc"},
		{"ConferenceSid=" + conf + "&tag=A12", "ConferenceSid=" + conf + "&tag=", "A", "12"},
		{"ConferenceSid=" + conf + "&n=123", "ConferenceSid=" + conf + "&n=", "1", "23"},
	} {
		signedURL := base + webhookRoute + "?" + c.signedQuery
		sig := signing.Form("PSK_key", signedURL, genuine)
		// The genuine callback verifies.
		f := newHooks(t, nil)
		req := signedPost(genuine, "PSK_key")
		req.RawQuery, req.Headers["x-signalwire-signature"] = c.signedQuery, sig
		if r := f.routes.Handle(f.ctx(), req); r.Status != 200 {
			t.Fatalf("%s: genuine callback: %d %s", c.signedQuery, r.Status, r.Body)
		}
		// The splice: the URL loses its tail, the form gains it.
		forged := url.Values{c.name: {c.value}}
		for k, v := range genuine {
			forged[k] = v
		}
		forgedURL := base + webhookRoute
		if c.forgedQuery != "" {
			forgedURL += "?" + c.forgedQuery
		}
		if signing.Form("PSK_key", forgedURL, forged) != sig {
			t.Fatalf("%s: the splice does not reproduce the signed string", c.signedQuery)
		}
		f = newHooks(t, nil)
		req = signedPost(forged, "PSK_key")
		req.RawQuery, req.Headers["x-signalwire-signature"] = c.forgedQuery, sig
		r := f.routes.Handle(f.ctx(), req)
		if r.Status < 400 || len(f.dest.msgs) != 0 {
			t.Errorf("query %q spliced to %q + parameter %q=%q: %d %s, %d forwarded", c.signedQuery, c.forgedQuery, c.name, c.value, r.Status, r.Body, len(f.dest.msgs))
		}
	}
}
