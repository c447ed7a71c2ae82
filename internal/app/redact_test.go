package app

import (
	"net/url"
	"strings"
	"testing"

	"github.com/signalwire-lambda/participants/internal/webhook"
)

// TestRejectedWebhookLogRedactsQueryValues (issue 14 §7): the "webhook
// rejected" line listed the candidate URLs with their query strings, where
// users put tokens. Names stay (to debug), values do not.
func TestRejectedWebhookLogRedactsQueryValues(t *testing.T) {
	f := newHooks(t, nil)
	req := signedPost(joinForm(call), "PSK_wrong")
	req.RawQuery = "ConferenceSid=" + conf + "&token=s3cr3t-t0ken&bare-s3cr3t"
	r := f.routes.Handle(f.ctx(), req)
	if r.Status != 403 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	logs := f.logs.String()
	if !strings.Contains(logs, `"message":"webhook rejected"`) {
		t.Fatalf("no rejection line:\n%s", logs)
	}
	for _, secret := range []string{"s3cr3t", conf} {
		if strings.Contains(logs, secret) {
			t.Fatalf("the log carries the query value %q:\n%s", secret, logs)
		}
	}
	if !strings.Contains(logs, "/webhooks/signalwire?ConferenceSid=[redacted]&token=[redacted]&[redacted]") {
		t.Fatalf("the log does not show the redacted URL:\n%s", logs)
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://h.example/w":                      "https://h.example/w",
		"https://h.example/w?":                     "https://h.example/w?",
		"https://h.example/w?a=1&b=&c":             "https://h.example/w?a=[redacted]&b=[redacted]&[redacted]",
		"https://user:pw@h.example:443/w?t=x#frag": "https://h.example:443/w?t=[redacted]",
	} {
		if got := redactURL(in); got != want {
			t.Errorf("redactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

// A forged webhook with an 8 KB query on a REST API is tried against 96
// URLs; its "webhook rejected" line listed every one twice (1.1 MB). The
// line is bounded, and still names the first URLs tried.
func TestRejectedLineIsBounded(t *testing.T) {
	f := newHooks(t, func(o *WebhookOptions) { o.PublicBaseURL = "" })
	q := url.Values{}
	for _, c := range "abcd" {
		q.Set(strings.Repeat(string(c), 2000), "tok")
	}
	req := signedPost(joinForm(call), "PSK_key")
	req.URLPaths = []string{"/prod/webhooks/signalwire", "/webhooks/signalwire"}
	req.QueryVariants = webhook.QueryCandidates(nil, q)
	req.RawQuery = req.QueryVariants[0]
	n := f.logs.Len()
	if r := f.routes.Handle(f.ctx(), req); r.Status != 403 {
		t.Fatalf("status %d", r.Status)
	}
	line := f.logs.String()[n:]
	if len(line) > 16<<10 || !strings.Contains(line, "webhook rejected") || !strings.Contains(line, "https://abc.execute-api.us-east-1.amazonaws.com/prod/webhooks/signalwire?aaaa") ||
		!strings.Contains(line, " more)") || strings.Contains(line, "tok") {
		t.Fatalf("rejection line of %d bytes (query %d bytes):\n%.2000s", len(line), len(req.RawQuery), line)
	}
}
