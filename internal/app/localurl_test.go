package app

import (
	"testing"

	"github.com/signalwire-lambda/participants/test/signing"
)

// Under sam local only, a webhook signed for the URL the client called
// (start-api's Host, X-Forwarded-Proto and, when Host has none, its
// X-Forwarded-Port) verifies; otherwise those headers are never a URL.
func TestLocalRunAcceptsTheURLTheClientCalled(t *testing.T) {
	for _, c := range []struct{ host, port, signedFor string }{
		{"127.0.0.1:3000", "3000", "http://127.0.0.1:3000/webhooks/signalwire"},
		{"hooks.test", "3000", "http://hooks.test:3000/webhooks/signalwire"},
	} {
		for _, local := range []bool{true, false} {
			f := newHooks(t, func(o *WebhookOptions) { o.Local = local })
			form := joinForm(call)
			req := signedPost(form, "PSK_key")
			req.Headers["host"], req.Headers["x-forwarded-proto"], req.Headers["x-forwarded-port"] = c.host, "http", c.port
			req.Headers["x-signalwire-signature"] = signing.Form("PSK_key", c.signedFor, form)
			want := 403
			if local {
				want = 200
			}
			if r := f.routes.Handle(f.ctx(), req); r.Status != want {
				t.Errorf("Local=%v, signed for %s: HTTP %d, want %d: %s", local, c.signedFor, r.Status, want, r.Body)
			}
		}
	}
}
