package app

import (
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/signalwire-lambda/participants/internal/webhook"
)

// The hex scheme signs URL + raw body with no boundary between them. A
// captured bodySHA256 callback is signed over its URL alone; moving the
// URL's trailing digits into the body and re-encoding the (base64) signature
// as hex makes a new request whose URL + body is that same URL. Such a
// splice must not verify: one signed callback must not yield other events.
func TestSplicedURLIntoBodyIsRejected(t *testing.T) {
	body := callStateBody
	signed := webhook.WithBodySHA256(base+WebhookRoute, []byte(body))
	sig, err := base64.StdEncoding.DecodeString(webhook.SignForm("PSK_key", signed, nil))
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
		req := Request{Method: "POST", Path: WebhookRoute, Host: "abc.execute-api.us-east-1.amazonaws.com", URLPaths: []string{WebhookRoute},
			RawQuery: query,
			Headers:  map[string]string{"content-type": "application/json", "x-signalwire-signature": hex.EncodeToString(sig)},
			Body:     tail}
		forged++
		f := newHooks(t, nil)
		r := f.app.ServeHTTP(f.ctx(), req)
		if r.Status != 403 || len(f.dest.msgs) != 0 {
			t.Errorf("body %q with URL %q: %d %s, %d forwarded", tail, signed[:cut], r.Status, r.Body, len(f.dest.msgs))
		}
	}
	if forged == 0 {
		t.Fatal("the signed URL ends in no digit: pick another body") // deterministic: the body is fixed
	}
}
