package signing

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"testing"
	"time"
)

// Restamp sets the form's Timestamp and signs the restamped form again.
func TestRestamp(t *testing.T) {
	body := base64.StdEncoding.EncodeToString([]byte("AccountSid=a&Timestamp=old"))
	event := []byte(`{"body":"` + body + `","isBase64Encoded":true,"headers":{"X-SignalWire-Signature":"stale"}}`)
	now := time.Date(2027, 1, 2, 3, 4, 5, 0, time.UTC)
	out, err := Restamp(event, "key", "https://h/w", now)
	if err != nil {
		t.Fatal(err)
	}
	var e struct {
		Body    string            `json:"body"`
		Headers map[string]string `json:"headers"`
	}
	if err := json.Unmarshal(out, &e); err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(e.Body)
	form, _ := url.ParseQuery(string(raw))
	if got := form.Get("Timestamp"); got != "Sat, 02 Jan 2027 03:04:05 +0000" {
		t.Errorf("Timestamp %q", got)
	}
	if len(e.Headers) != 1 || e.Headers["x-signalwire-signature"] != Form("key", "https://h/w", form) {
		t.Errorf("headers %v, want only the new signature", e.Headers)
	}
}
