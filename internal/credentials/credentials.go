// Package credentials loads the SignalWire credentials from an AWS Secrets
// Manager secret, checks them and caches them across warm invocations.
package credentials

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/signalwire-lambda/participants/internal/forward"
	"github.com/signalwire-lambda/participants/internal/signalwire"
)

// allKeys are the secret's JSON keys (docs/SECURITY.md): the first four are
// required, forward_signing_secret too with an HTTPS destination; all but
// project_id and space_host hold secrets.
var allKeys = []string{"project_id", "api_token", "space_host", "signing_key", "forward_signing_secret", "previous_signing_key", "previous_forward_signing_secret"}

// minSecretLength is the fewest bytes a secret value may have: SignalWire's
// are far longer (API tokens "PT" and 48 hex digits, signing keys "PSK_..."),
// and so is a Standard Webhooks secret (38); a shorter one is a truncated
// paste or a placeholder, and under 6 bytes the log redactor leaves it alone.
const minSecretLength = 16

// Credentials are the values held in the secret; the Previous ones are
// optional, the values before a rotation (docs/SECURITY.md). String and
// GoString redact every value, so a stray %v never prints one.
type Credentials struct {
	ProjectID, APIToken, SpaceHost, SigningKey, ForwardSigningSecret string
	PreviousSigningKey, PreviousForwardSigningSecret                 string
}

// SigningKeys returns the webhook signing keys to try, current first.
func (c Credentials) SigningKeys() []string {
	if c.PreviousSigningKey == "" || c.PreviousSigningKey == c.SigningKey {
		return []string{c.SigningKey}
	}
	return []string{c.SigningKey, c.PreviousSigningKey}
}

// secretValues is every secret value of the set (not the project id nor
// the space host), and each forward secret's key without "whsec_".
func (c Credentials) secretValues() []string {
	out := []string{c.APIToken, c.SigningKey, c.PreviousSigningKey, c.ForwardSigningSecret, c.PreviousForwardSigningSecret}
	for _, v := range out[3:] {
		out = append(out, strings.TrimPrefix(v, forward.SigningSecretPrefix))
	}
	return out
}

// String redacts the credentials.
func (c Credentials) String() string { return "credentials{redacted}" }

// GoString redacts the credentials.
func (c Credentials) GoString() string { return c.String() }

// parse decodes and validates the secret's JSON; needForward requires
// forward_signing_secret (an HTTPS destination is configured). Errors name
// the offending keys but never include a value.
func parse(secret []byte, needForward bool) (Credentials, error) {
	values, err := stringValues(secret, needForward)
	if err != nil {
		return Credentials{}, err
	}
	host, err := ParseSpaceHost(values["space_host"])
	if err != nil {
		return Credentials{}, fmt.Errorf("%w: space_host %v", errMalformed, err)
	}
	for _, k := range allKeys {
		if v := values[k]; k != "project_id" && k != "space_host" && v != "" && len(v) < minSecretLength {
			return Credentials{}, fmt.Errorf("%w: %s is shorter than %d characters", errMalformed, k, minSecretLength)
		}
	}
	if needForward {
		// A secret the HTTPS destination cannot use would accept every
		// webhook and then fail every delivery: refuse it here (503).
		for _, k := range []string{"forward_signing_secret", "previous_forward_signing_secret"} {
			if v := values[k]; v != "" {
				if err := forward.ValidateSigningSecret(v); err != nil {
					return Credentials{}, fmt.Errorf("%w: %s: %w", errMalformed, k, err)
				}
			}
		}
	}
	return Credentials{
		ProjectID:                    values["project_id"],
		APIToken:                     values["api_token"],
		SpaceHost:                    host,
		SigningKey:                   values["signing_key"],
		ForwardSigningSecret:         values["forward_signing_secret"],
		PreviousSigningKey:           values["previous_signing_key"],
		PreviousForwardSigningSecret: values["previous_forward_signing_secret"],
	}, nil
}

// stringValues decodes the secret's JSON object into its known keys'
// trimmed string values (null is absent), and checks that the required
// ones are there.
func stringValues(secret []byte, needForward bool) (map[string]string, error) {
	var raw map[string]any
	if err := json.Unmarshal(secret, &raw); err != nil || raw == nil {
		// encoding/json's messages can quote the input: say only where.
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			return nil, fmt.Errorf("%w: not valid JSON (syntax error at byte %d)", errMalformed, syn.Offset)
		}
		return nil, fmt.Errorf("%w: not a JSON object", errMalformed)
	}
	values := map[string]string{}
	var missing, wrongType []string
	for i, k := range allKeys {
		switch v := raw[k].(type) {
		case nil:
		case string:
			values[k] = strings.TrimSpace(v)
		default:
			wrongType = append(wrongType, k)
			continue
		}
		if values[k] == "" && (i < 4 || i == 4 && needForward) {
			missing = append(missing, k)
		}
	}
	var problems []string
	if len(missing) > 0 {
		problems = append(problems, "missing key(s) "+strings.Join(missing, ", "))
	}
	if len(wrongType) > 0 {
		problems = append(problems, "key(s) "+strings.Join(wrongType, ", ")+" must be strings")
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%w: %s", errMalformed, strings.Join(problems, "; "))
	}
	return values, nil
}

// ParseSpaceHost accepts a Space host ("example.signalwire.com",
// "host:port" or an https:// URL with no path), as the secret's space_host
// and SIGNALWIRE_SPACE_HOST, and returns the host[:port].
func ParseSpaceHost(s string) (string, error) {
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return "", errors.New("must be a host name such as example.signalwire.com")
	}
	if u.Scheme != "https" {
		return "", errors.New("must use https")
	}
	if u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return "", errors.New("must be a bare host name (no credentials, path or query)")
	}
	// Refuse here what the client would refuse on every request.
	if err := signalwire.ValidateSpaceHost(u.Host); err != nil {
		return "", err
	}
	return u.Host, nil
}
