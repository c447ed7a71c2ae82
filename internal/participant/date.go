package participant

import (
	"errors"
	"net/mail"
	"strings"
	"time"
)

// months maps every accepted month spelling (lower case) to the three-letter
// abbreviation RFC 2822 uses. SignalWire's examples are not strict: "Sept"
// and full month names appear.
var months = map[string]string{
	"jan": "Jan", "january": "Jan", "feb": "Feb", "february": "Feb", "mar": "Mar", "march": "Mar",
	"apr": "Apr", "april": "Apr", "may": "May", "jun": "Jun", "june": "Jun", "jul": "Jul", "july": "Jul",
	"aug": "Aug", "august": "Aug", "sep": "Sep", "sept": "Sep", "september": "Sep", "oct": "Oct",
	"october": "Oct", "nov": "Nov", "november": "Nov", "dec": "Dec", "december": "Dec",
}

// errDate is returned for any value ParseDate cannot read.
var errDate = errors.New("not an RFC 2822 date")

// ParseDate reads an RFC 2822 date as SignalWire writes it, tolerating a
// missing weekday, a long month name or abbreviation ("Sept"), named zones
// and, as a last resort, RFC 3339. The result is in UTC.
func ParseDate(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 64 {
		return time.Time{}, errDate
	}
	fields := strings.Fields(s)
	for i, f := range fields {
		if m, ok := months[strings.ToLower(f)]; ok {
			fields[i] = m
		}
	}
	if t, err := mail.ParseDate(strings.Join(fields, " ")); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	return time.Time{}, errDate
}
