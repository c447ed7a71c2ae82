// Package credentials loads the SignalWire credentials from an AWS Secrets
// Manager secret, checks them and caches them across warm invocations.
package credentials

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/signalwire-lambda/participants/internal/forward"
	"github.com/signalwire-lambda/participants/internal/signalwire"
)

// The secret's JSON keys (docs/SECURITY.md documents them).
const (
	keyProjectID            = "project_id"
	keyAPIToken             = "api_token"
	keySpaceHost            = "space_host"
	keySigningKey           = "signing_key"
	keyForwardSigningSecret = "forward_signing_secret"
	// keyPreviousSigningKey is the signing key before a rotation, accepted
	// too while SignalWire may still sign with it.
	keyPreviousSigningKey = "previous_signing_key"
	// keyPreviousForwardSigningSecret is the forward secret before a
	// rotation; while it is set, deliveries carry a signature made with it
	// next to the current one.
	keyPreviousForwardSigningSecret = "previous_forward_signing_secret"
)

// allKeys lists every key parse reads, in the order they are checked.
var allKeys = []string{keyProjectID, keyAPIToken, keySpaceHost, keySigningKey, keyForwardSigningSecret, keyPreviousSigningKey, keyPreviousForwardSigningSecret}

// secretKeys are the keys whose values are secrets.
var secretKeys = []string{keyAPIToken, keySigningKey, keyForwardSigningSecret, keyPreviousSigningKey, keyPreviousForwardSigningSecret}

// minSecretLength is the fewest bytes an api_token, signing_key,
// previous_signing_key, forward_signing_secret or
// previous_forward_signing_secret may have: parse refuses a shorter one,
// naming the key. What SignalWire issues is far longer (API tokens are "PT"
// and hex digits, 50 characters; signing keys "PSK_" and a random string),
// and so is a Standard Webhooks secret (whsec_ and base64 of at least 24
// bytes: 38). A shorter value is a truncated paste or a placeholder, and one
// under 6 bytes is one the log redactor leaves alone, so it could leak.
const minSecretLength = 16

// Credentials are the values held in the secret. Its String and GoString
// methods redact every value, so a stray %v never prints one.
type Credentials struct {
	ProjectID            string
	APIToken             string
	SpaceHost            string
	SigningKey           string
	ForwardSigningSecret string
	// PreviousSigningKey and PreviousForwardSigningSecret are optional: the
	// values before a rotation (see the rotation procedures in docs/SECURITY.md).
	PreviousSigningKey           string
	PreviousForwardSigningSecret string
}

// SigningKeys returns the webhook signing keys to try, current first.
func (c Credentials) SigningKeys() []string { return pair(c.SigningKey, c.PreviousSigningKey) }

// ForwardSigningSecrets returns the Standard Webhooks secrets to sign
// deliveries with, current first.
func (c Credentials) ForwardSigningSecrets() []string {
	return pair(c.ForwardSigningSecret, c.PreviousForwardSigningSecret)
}

// pair returns the non-empty values of a current and a previous secret,
// the previous one only when it differs.
func pair(current, previous string) []string {
	out := make([]string, 0, 2)
	if current != "" {
		out = append(out, current)
	}
	if previous != "" && previous != current {
		out = append(out, previous)
	}
	return out
}

// SecretValues returns every secret value of the set (not the project id
// nor the space host, which are not secrets), and the key part of each
// forward secret without its "whsec_" prefix, for redaction.
func (c Credentials) SecretValues() []string {
	out := []string{c.APIToken}
	for _, v := range []string{c.SigningKey, c.PreviousSigningKey, c.ForwardSigningSecret, c.PreviousForwardSigningSecret} {
		if v != "" {
			out = append(out, v)
		}
	}
	for _, v := range []string{c.ForwardSigningSecret, c.PreviousForwardSigningSecret} {
		if k := strings.TrimPrefix(v, forward.SigningSecretPrefix); k != v && k != "" {
			out = append(out, k)
		}
	}
	return out
}

// String redacts the credentials.
func (c Credentials) String() string { return "credentials{redacted}" }

// GoString redacts the credentials.
func (c Credentials) GoString() string { return c.String() }

// ErrMalformed is wrapped by every error about the secret's content.
var ErrMalformed = errors.New("credentials secret is malformed")

// parse decodes and validates the secret's JSON; needForward requires
// forward_signing_secret (an HTTPS destination is configured). Errors name
// the offending keys but never include a value.
func parse(secret []byte, needForward bool) (Credentials, error) {
	values, err := stringValues(secret, needForward)
	if err != nil {
		return Credentials{}, err
	}
	host, err := normalizeSpaceHost(values[keySpaceHost])
	if err != nil {
		return Credentials{}, fmt.Errorf("%w: %s %v", ErrMalformed, keySpaceHost, err)
	}
	for _, k := range secretKeys {
		if v := values[k]; v != "" && len(v) < minSecretLength {
			return Credentials{}, fmt.Errorf("%w: %s is shorter than %d characters", ErrMalformed, k, minSecretLength)
		}
	}
	if needForward {
		// A secret the HTTPS destination cannot use would accept every
		// webhook and then fail every delivery: refuse it here (503).
		for _, k := range []string{keyForwardSigningSecret, keyPreviousForwardSigningSecret} {
			if v := values[k]; v != "" {
				if err := forward.ValidateSigningSecret(v); err != nil {
					return Credentials{}, fmt.Errorf("%w: %s: %w", ErrMalformed, k, err)
				}
			}
		}
	}
	return Credentials{
		ProjectID:                    values[keyProjectID],
		APIToken:                     values[keyAPIToken],
		SpaceHost:                    host,
		SigningKey:                   values[keySigningKey],
		ForwardSigningSecret:         values[keyForwardSigningSecret],
		PreviousSigningKey:           values[keyPreviousSigningKey],
		PreviousForwardSigningSecret: values[keyPreviousForwardSigningSecret],
	}, nil
}

// stringValues decodes the secret's JSON object into its known keys'
// trimmed string values, and checks that the required ones are there.
func stringValues(secret []byte, needForward bool) (map[string]string, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(secret, &raw); err != nil {
		// encoding/json's messages can quote a character of the input: report
		// only where it went wrong.
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			return nil, fmt.Errorf("%w: not valid JSON (syntax error at byte %d)", ErrMalformed, syn.Offset)
		}
		return nil, fmt.Errorf("%w: not a JSON object", ErrMalformed)
	}
	if raw == nil {
		return nil, fmt.Errorf("%w: not a JSON object", ErrMalformed)
	}
	required := []string{keyProjectID, keyAPIToken, keySpaceHost, keySigningKey}
	if needForward {
		required = append(required, keyForwardSigningSecret)
	}
	values := map[string]string{}
	var missing, wrongType []string
	for _, k := range allKeys {
		v, ok := raw[k]
		if !ok || bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
			continue
		}
		var s string
		if json.Unmarshal(v, &s) != nil {
			wrongType = append(wrongType, k)
			continue
		}
		values[k] = strings.TrimSpace(s)
	}
	for _, k := range required {
		if values[k] == "" && !slices.Contains(wrongType, k) {
			missing = append(missing, k)
		}
	}
	var problems []string
	if len(missing) > 0 {
		problems = append(problems, "missing key(s) "+strings.Join(missing, ", "))
	}
	if len(wrongType) > 0 {
		slices.Sort(wrongType)
		problems = append(problems, "key(s) "+strings.Join(wrongType, ", ")+" must be strings")
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%w: %s", ErrMalformed, strings.Join(problems, "; "))
	}
	return values, nil
}

// normalizeSpaceHost accepts "example.signalwire.com", "host:port" or an
// https:// URL with no path, and returns the host[:port].
func normalizeSpaceHost(s string) (string, error) {
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
	// The client accepts only ASCII host[:port] names with non-empty
	// labels (no trailing dot, no IDN): refuse here what it would refuse on
	// every request.
	if err := signalwire.ValidateSpaceHost(u.Host); err != nil {
		return "", err
	}
	return u.Host, nil
}
