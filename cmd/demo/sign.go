package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"mime"
	"net/url"
	"os"
	"strings"

	"github.com/signalwire-lambda/participants/test/sandbox"
	"github.com/signalwire-lambda/participants/test/signing"
)

// signedCurl returns a curl command that POSTs the body of eventFile (an
// HTTP event of events/) to rawURL, signed for rawURL with the signing key
// of the demo's secret (the one -serve serves), as SignalWire signs.
func signedCurl(eventFile, rawURL string) (string, error) {
	if u, err := url.Parse(rawURL); err != nil || u.Host == "" {
		return "", fmt.Errorf("-sign %q: want the full URL the client calls, e.g. http://127.0.0.1:3000/webhooks/signalwire", rawURL)
	}
	b, err := os.ReadFile(eventFile)
	if err != nil {
		return "", err
	}
	var e struct {
		Headers         map[string]string `json:"headers"`
		Body            string            `json:"body"`
		IsBase64Encoded bool              `json:"isBase64Encoded"`
	}
	if err := json.Unmarshal(b, &e); err != nil {
		return "", fmt.Errorf("%s: %w", eventFile, err)
	}
	body := []byte(e.Body)
	if e.IsBase64Encoded {
		if body, err = base64.StdEncoding.DecodeString(e.Body); err != nil {
			return "", fmt.Errorf("%s: body: %w", eventFile, err)
		}
	}
	ct := "application/x-www-form-urlencoded"
	for k, v := range e.Headers {
		if strings.EqualFold(k, "content-type") {
			ct = v
		}
	}
	var sig string
	if mt, _, _ := mime.ParseMediaType(ct); mt == "application/json" {
		sig = signing.JSON(sandbox.SigningKey, rawURL, body)
	} else {
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return "", fmt.Errorf("%s: not a form body: %w", eventFile, err)
		}
		sig = signing.Form(sandbox.SigningKey, rawURL, form)
	}
	return strings.Join([]string{"curl", "-i", shellQuote(rawURL), "-H", shellQuote("Content-Type: " + ct),
		"-H", shellQuote(signing.Header + ": " + sig), "--data-binary", shellQuote(string(body))}, " "), nil
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
