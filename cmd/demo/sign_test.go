package main

import (
	"context"
	"net/url"
	"os/exec"
	"strings"
	"testing"

	"github.com/signalwire-lambda/participants/internal/webhook"
	"github.com/signalwire-lambda/participants/test/sandbox"
	"github.com/signalwire-lambda/participants/test/signing"
)

// The command -sign prints verifies for the URL it was asked for, with the
// demo secret's key, and for no other URL; the shell gives curl the exact body.
func TestSignPrintsAVerifyingCurl(t *testing.T) {
	const local = "http://127.0.0.1:3000/webhooks/signalwire"
	for _, ev := range []string{"", "events/webhook-json-call-state.json"} {
		args := []string{"-sign", local}
		if ev != "" {
			args = append(args, "-event", ev)
		}
		var out syncBuffer
		if err := run(context.Background(), args, &out, &out); err != nil {
			t.Fatalf("run %v: %v", args, err)
		}
		// Let the shell parse the command, as a user's would: print its arguments one per line.
		argv, err := exec.Command("sh", "-c", `printf '%s\0' `+strings.TrimPrefix(strings.TrimSpace(out.String()), "curl ")).Output()
		if err != nil {
			t.Fatalf("%s: %v", out.String(), err)
		}
		a := strings.Split(strings.TrimSuffix(string(argv), "\x00"), "\x00")
		if len(a) != 8 || a[1] != local || a[6] != "--data-binary" {
			t.Fatalf("unexpected command %q", a)
		}
		req := webhook.SignedRequest{CandidateURLs: []string{local}, Body: []byte(a[7]), Signature: strings.TrimPrefix(a[5], signing.Header+": ")}
		if a[3] == "Content-Type: application/x-www-form-urlencoded" {
			if req.Form, err = url.ParseQuery(a[7]); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := req.Verify(sandbox.SigningKey); err != nil {
			t.Errorf("%s: does not verify for %s: %v", ev, local, err)
		}
		req.CandidateURLs = []string{"https://localhost/webhooks/signalwire"}
		if _, err := req.Verify(sandbox.SigningKey); err == nil {
			t.Errorf("%s: verifies for another URL", ev)
		}
	}
	var out syncBuffer
	if err := run(context.Background(), []string{"-sign", "/webhooks/signalwire"}, &out, &out); err == nil {
		t.Error("-sign without scheme and host accepted")
	}
}
