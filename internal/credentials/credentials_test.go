package credentials

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

const validSecret = `{"project_id":"b2a7c5e1-1111-4a4a-9b9b-000000000001","api_token":"PTsecret-token-value","space_host":"example.signalwire.com","signing_key":"PSK_signing-key-value"}`

func TestParseValid(t *testing.T) {
	c, err := parse([]byte(validSecret), false)
	if err != nil {
		t.Fatal(err)
	}
	if c.ProjectID != "b2a7c5e1-1111-4a4a-9b9b-000000000001" || c.APIToken != "PTsecret-token-value" ||
		c.SpaceHost != "example.signalwire.com" || c.SigningKey != "PSK_signing-key-value" {
		t.Fatalf("parsed wrong values")
	}
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c)} {
		if strings.Contains(s, "secret-token") || strings.Contains(s, "signing-key") {
			t.Fatalf("formatting leaks a value: %s", s)
		}
	}
}

func TestParseSpaceHostForms(t *testing.T) {
	for in, want := range map[string]string{
		"example.signalwire.com":          "example.signalwire.com",
		"https://example.signalwire.com":  "example.signalwire.com",
		"https://example.signalwire.com/": "example.signalwire.com",
		"127.0.0.1:8443":                  "127.0.0.1:8443",
	} {
		s := strings.Replace(validSecret, "example.signalwire.com", in, 1)
		c, err := parse([]byte(s), false)
		if err != nil || c.SpaceHost != want {
			t.Errorf("space_host %q: got %q, %v; want %q", in, c.SpaceHost, err, want)
		}
	}
	for _, bad := range []string{"http://example.signalwire.com", "https://example.signalwire.com/api", "https://u:p@example.signalwire.com"} {
		s := strings.Replace(validSecret, "example.signalwire.com", bad, 1)
		if _, err := parse([]byte(s), false); err == nil || !strings.Contains(err.Error(), "space_host") {
			t.Errorf("space_host %q: err = %v, want one naming space_host", bad, err)
		}
	}
}

func TestParseErrorsNameKeysNotValues(t *testing.T) {
	cases := []struct {
		name, secret string
		needForward  bool
		want         []string
	}{
		{"not json", `PTsecret-token-value`, false, []string{"not valid JSON"}},
		{"array", `["PTsecret-token-value"]`, false, []string{"not a JSON object"}},
		{"null", `null`, false, []string{"not a JSON object"}},
		{"truncated", `{"api_token":"PTsecret-token-value"`, false, []string{"not valid JSON"}},
		{"empty object", `{}`, false, []string{"project_id", "api_token", "space_host", "signing_key"}},
		{"missing token", strings.Replace(validSecret, `"api_token":"PTsecret-token-value",`, "", 1), false, []string{"missing key(s) api_token"}},
		{"missing signing key", strings.Replace(validSecret, `,"signing_key":"PSK_signing-key-value"`, "", 1), false, []string{"missing key(s) signing_key"}},
		{"wrong type", strings.Replace(validSecret, `"PTsecret-token-value"`, `12345`, 1), false, []string{"api_token must be strings"}},
		{"blank", strings.Replace(validSecret, `"PTsecret-token-value"`, `"  "`, 1), false, []string{"missing key(s) api_token"}},
		{"forward secret required", validSecret, true, []string{"missing key(s) forward_signing_secret"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parse([]byte(tc.secret), tc.needForward)
			if !errors.Is(err, errMalformed) {
				t.Fatalf("err = %v, want errMalformed", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
			for _, secret := range []string{"PTsecret", "PSK_signing", "12345"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q leaks a secret value", err)
				}
			}
		})
	}
}

// TestParseRejectsSpaceHostsTheClientCannotUse (issue 14 §7): hosts the
// SignalWire client would refuse on every request are refused when the
// secret is parsed, naming space_host and never the value.
func TestParseRejectsSpaceHostsTheClientCannotUse(t *testing.T) {
	for _, bad := range []string{"localhost.:8443", "example.signalwire.com.", "bücher.example", "xn--bcher-kva.example:0", "example.signalwire.com:", "exa mple.com", "-bad.example.com", "[::1", "example..com"} {
		s := strings.Replace(validSecret, "example.signalwire.com", bad, 1)
		_, err := parse([]byte(s), false)
		if !errors.Is(err, errMalformed) || !strings.Contains(err.Error(), "space_host") {
			t.Errorf("space_host %q: err = %v, want errMalformed naming space_host", bad, err)
		}
	}
	// What local runs and tests use keeps working.
	for _, good := range []string{"127.0.0.1:8443", "localhost:8443", "[::1]:8443", "xn--bcher-kva.example", "Example.SignalWire.com"} {
		s := strings.Replace(validSecret, "example.signalwire.com", good, 1)
		if c, err := parse([]byte(s), false); err != nil || c.SpaceHost != good {
			t.Errorf("space_host %q: %q, %v", good, c.SpaceHost, err)
		}
	}
}

// TestParseValidatesForwardSigningSecrets (issue 14 §4): a forward secret
// the HTTPS destination cannot use is refused at parse time (503), naming
// the key, never the value; the previous secret is validated too.
func TestParseValidatesForwardSigningSecrets(t *testing.T) {
	short := "whsec_" + base64.StdEncoding.EncodeToString([]byte("sixteen-byte-key"))
	good := "whsec_" + base64.StdEncoding.EncodeToString([]byte("a-twenty-four-byte-key!!"))
	with := func(kv string) []byte { return []byte(strings.TrimSuffix(validSecret, "}") + "," + kv + "}") }
	for name, tc := range map[string]struct {
		secret []byte
		key    string
	}{
		"16-byte key":        {with(`"forward_signing_secret":"` + short + `"`), "forward_signing_secret"},
		"not base64":         {with(`"forward_signing_secret":"whsec_not*base64"`), "forward_signing_secret"},
		"previous malformed": {with(`"forward_signing_secret":"` + good + `","previous_forward_signing_secret":"` + short + `"`), "previous_forward_signing_secret"},
	} {
		_, err := parse(tc.secret, true)
		if !errors.Is(err, errMalformed) || !strings.Contains(err.Error(), tc.key) {
			t.Errorf("%s: err = %v, want errMalformed naming %s", name, err, tc.key)
		}
		if err != nil && (strings.Contains(err.Error(), short) || strings.Contains(err.Error(), "sixteen")) {
			t.Errorf("%s: error leaks the value: %v", name, err)
		}
	}
	c, err := parse(with(`"forward_signing_secret":"`+good+`","previous_forward_signing_secret":"`+good+`"`), true)
	if err != nil || c.ForwardSigningSecret != good || c.PreviousForwardSigningSecret != good {
		t.Fatalf("valid secret: %v", err)
	}
	// Without an HTTPS destination the key is not used, so not checked.
	if _, err := parse(with(`"forward_signing_secret":"`+short+`"`), false); err != nil {
		t.Fatalf("unused forward secret: %v", err)
	}
}

func TestParsePreviousSigningKey(t *testing.T) {
	s := strings.TrimSuffix(validSecret, "}") + `,"previous_signing_key":"PSK_old-signing-key"}`
	c, err := parse([]byte(s), false)
	if err != nil {
		t.Fatal(err)
	}
	if keys := c.SigningKeys(); len(keys) != 2 || keys[0] != "PSK_signing-key-value" || keys[1] != "PSK_old-signing-key" {
		t.Fatalf("signing keys = %d, want current then previous", len(keys))
	}
	c, _ = parse([]byte(validSecret), false)
	if len(c.SigningKeys()) != 1 {
		t.Fatal("no previous key: one signing key")
	}
}

// TestParseRefusesShortSecrets (issue 19): a secret value shorter than
// minSecretLength is refused, naming the key and never the value, whether
// or not the configuration uses it; minSecretLength itself is accepted.
func TestParseRefusesShortSecrets(t *testing.T) {
	with := func(k, v string) []byte {
		var m map[string]string
		if err := json.Unmarshal([]byte(validSecret), &m); err != nil {
			t.Fatal(err)
		}
		m[k] = v
		b, _ := json.Marshal(m)
		return b
	}
	short := "Zq7xW" + strings.Repeat("k", minSecretLength-6) // one byte short
	for _, k := range []string{"api_token", "signing_key", "forward_signing_secret", "previous_signing_key", "previous_forward_signing_secret"} {
		for _, v := range []string{"Zq7xW", short} {
			_, err := parse(with(k, v), false)
			if !errors.Is(err, errMalformed) || !strings.Contains(err.Error(), k+" is shorter than 16") || strings.Contains(err.Error(), "Zq7xW") {
				t.Errorf("%s of %d bytes: err = %v, want one naming %s, never the value", k, len(v), err, k)
			}
		}
		if _, err := parse(with(k, short+"k"), false); err != nil {
			t.Errorf("%s of %d bytes: %v", k, minSecretLength, err)
		}
	}
}
