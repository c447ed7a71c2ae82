package credentials

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

const validSecret = `{"project_id":"b2a7c5e1-1111-4a4a-9b9b-000000000001","api_token":"PTsecret-token-value","space_host":"example.signalwire.com","signing_key":"PSK_signing-key-value"}`

func TestParseValid(t *testing.T) {
	c, err := Parse([]byte(validSecret), Requirements{})
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
		c, err := Parse([]byte(s), Requirements{})
		if err != nil || c.SpaceHost != want {
			t.Errorf("space_host %q: got %q, %v; want %q", in, c.SpaceHost, err, want)
		}
	}
	for _, bad := range []string{"http://example.signalwire.com", "https://example.signalwire.com/api", "https://u:p@example.signalwire.com"} {
		s := strings.Replace(validSecret, "example.signalwire.com", bad, 1)
		if _, err := Parse([]byte(s), Requirements{}); err == nil || !strings.Contains(err.Error(), "space_host") {
			t.Errorf("space_host %q: err = %v, want one naming space_host", bad, err)
		}
	}
}

func TestParseErrorsNameKeysNotValues(t *testing.T) {
	cases := []struct {
		name, secret string
		req          Requirements
		want         []string
	}{
		{"not json", `PTsecret-token-value`, Requirements{}, []string{"not valid JSON"}},
		{"array", `["PTsecret-token-value"]`, Requirements{}, []string{"not a JSON object"}},
		{"null", `null`, Requirements{}, []string{"not a JSON object"}},
		{"truncated", `{"api_token":"PTsecret-token-value"`, Requirements{}, []string{"not valid JSON"}},
		{"empty object", `{}`, Requirements{}, []string{"project_id", "api_token", "space_host", "signing_key"}},
		{"missing token", strings.Replace(validSecret, `"api_token":"PTsecret-token-value",`, "", 1), Requirements{}, []string{"missing key(s) api_token"}},
		{"missing signing key", strings.Replace(validSecret, `,"signing_key":"PSK_signing-key-value"`, "", 1), Requirements{}, []string{"missing key(s) signing_key"}},
		{"wrong type", strings.Replace(validSecret, `"PTsecret-token-value"`, `12345`, 1), Requirements{}, []string{"api_token must be strings"}},
		{"blank", strings.Replace(validSecret, `"PTsecret-token-value"`, `"  "`, 1), Requirements{}, []string{"missing key(s) api_token"}},
		{"forward secret required", validSecret, Requirements{ForwardSigningSecret: true}, []string{"missing key(s) forward_signing_secret"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.secret), tc.req)
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("err = %v, want ErrMalformed", err)
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
