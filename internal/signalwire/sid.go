package signalwire

import (
	"cmp"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/signalwire-lambda/participants/internal/obs"
)

const (
	sidLen         = 36 // a UUID: 8-4-4-4-12 hex digits
	maxQuotedValue = 64 // how much of a rejected value an error quotes
)

// ParticipantRef names one participant: the account (the SignalWire Project
// ID), the conference and the participant's call.
type ParticipantRef struct {
	AccountSID    string
	ConferenceSID string
	CallSID       string
}

// Validate returns an *InvalidSIDError for the first SID that is not a UUID.
func (r ParticipantRef) Validate() error {
	return cmp.Or(ValidateSID(fieldAccountSID, r.AccountSID), ValidateSID(fieldConferenceSID, r.ConferenceSID), ValidateSID(fieldCallSID, r.CallSID))
}

// InvalidSIDError reports a SID that is not a UUID.
type InvalidSIDError struct {
	Field  string // e.g. "call_sid"
	Value  string // truncated to 64 bytes
	Reason string // e.g. "is empty"
}

// Error implements error.
func (e *InvalidSIDError) Error() string {
	if e.Value == "" {
		return fmt.Sprintf("signalwire: invalid %s: %s", e.Field, e.Reason)
	}
	return fmt.Sprintf("signalwire: invalid %s: %s, got %q", e.Field, e.Reason, e.Value)
}

// ValidateSID checks that value is a UUID (8-4-4-4-12 hex digits, version
// and variant unchecked), which can never alter a request path; the error is
// an *InvalidSIDError naming field.
func ValidateSID(field, value string) error {
	if value == "" {
		return &InvalidSIDError{Field: field, Reason: "is empty"}
	}
	if len(value) != sidLen {
		return &InvalidSIDError{
			Field:  field,
			Value:  obs.Truncate(value, maxQuotedValue),
			Reason: "must be a UUID of 36 bytes (8-4-4-4-12 hex digits), got " + strconv.Itoa(len(value)) + " bytes",
		}
	}
	for i := 0; i < sidLen; i++ {
		c := value[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return &InvalidSIDError{Field: field, Value: value, Reason: "must be a UUID (8-4-4-4-12 hex digits): expected '-' at byte " + strconv.Itoa(i)}
			}
		default:
			if strings.IndexByte("0123456789abcdefABCDEF", c) < 0 {
				return &InvalidSIDError{Field: field, Value: value, Reason: "must be a UUID (8-4-4-4-12 hex digits): not a hex digit at byte " + strconv.Itoa(i)}
			}
		}
	}
	return nil
}

// ValidateSpaceHost checks that host is a bare host[:port] (an IP address,
// IPv6 in brackets, may stand for the name) whose labels are 1-63 bytes of
// letters, digits, '-' and '_', not starting or ending with '-', with no
// trailing dot. The error never quotes the value.
func ValidateSpaceHost(host string) error {
	if host == "" {
		return errors.New("space host is empty")
	}
	u, err := url.Parse("https://" + host)
	if err != nil || u.Host != host { // user info, a path, a query or a fragment is not in u.Host
		return errors.New("space host must be a bare host[:port] (no scheme, user info, path, query or fragment)")
	}
	if p := u.Port(); p != "" || strings.HasSuffix(host, ":") {
		if n, err := strconv.Atoi(p); err != nil || len(p) > 5 || n < 1 || n > 65535 {
			return errors.New("space host port must be 1-65535")
		}
	}
	name := u.Hostname()
	if strings.HasPrefix(host, "[") {
		if ip := net.ParseIP(name); ip == nil || !strings.Contains(name, ":") {
			return errors.New("space host has a malformed IPv6 address")
		}
		return nil
	}
	if name == "" || len(name) > 253 {
		return errors.New("space host name must be 1-253 bytes")
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" || len(label) > 63 {
			return errors.New("space host name has an empty or over-long label")
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return errors.New("space host name has a label starting or ending with '-'")
		}
		if strings.Trim(label, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") != "" {
			return errors.New("space host name may contain only letters, digits, '-', '_' and '.'")
		}
	}
	return nil
}
