package participant

import (
	"errors"
	"strings"
	"time"
)

var errDate = errors.New("not an RFC 2822 date")

// maxLen bounds the input: no date is longer, and the parser's work stays small.
const maxLen = 96

// zones maps the zone names RFC 5322 allows (and "UTC", "Z") to offsets, so
// that parsing never depends on the process's time zone.
var zones = map[string]string{"UT": "+0000", "UTC": "+0000", "GMT": "+0000", "Z": "+0000", "EDT": "-0400",
	"EST": "-0500", "CDT": "-0500", "CST": "-0600", "MDT": "-0600", "MST": "-0700", "PDT": "-0700", "PST": "-0800"}

// A token that is a prefix, of three letters or more, of a full English
// month or weekday name is shortened to three letters ("Sept" -> "Sep").
const (
	monthNames   = "january february march april may june july august september october november december"
	weekdayNames = "monday tuesday wednesday thursday friday saturday sunday"
)

// layoutCommon is the form SignalWire writes.
const layoutCommon = "Mon, 2 Jan 2006 15:04:05 -0700"

// ParseDate reads a date as SignalWire writes it, RFC 2822 ("Mon, 24 Sep
// 2018 21:00:00 +0000"), leniently (SignalWire's own examples are not
// strict): optional weekday and seconds, longer month and weekday names
// ("Sept"), a numeric zone with or without ':' or a named RFC 822 one, a
// trailing "(comment)"; or RFC 3339. The result is in UTC.
func ParseDate(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > maxLen {
		return time.Time{}, errDate
	}
	// Most dates take this one time.Parse, not the normalization (~8 % of
	// a read's CPU).
	if t, err := time.Parse(layoutCommon, s); err == nil {
		return t.UTC(), nil
	}
	if t, ok := parseLenient(s); ok {
		return t, nil
	}
	return time.Time{}, errDate
}

// parseLenient is ParseDate without its fast path.
func parseLenient(s string) (time.Time, bool) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), true
	}
	if i := strings.IndexByte(s, '('); i > 0 && strings.HasSuffix(s, ")") {
		s = s[:i]
	}
	fields := strings.Fields(s)
	if len(fields) < 4 {
		return time.Time{}, false
	}
	for i, f := range fields {
		word, comma := strings.CutSuffix(f, ",")
		if short, ok := shortName(word, monthNames); ok {
			fields[i] = short
		} else if short, ok := shortName(word, weekdayNames); ok {
			fields[i] = short
		}
		if comma {
			fields[i] += ","
		}
	}
	if off, ok := zones[strings.ToUpper(fields[len(fields)-1])]; ok {
		fields[len(fields)-1] = off
	}
	if len(fields[0]) > 0 && isLetter(fields[0][0]) && !strings.HasSuffix(fields[0], ",") {
		fields[0] += "," // "Mon 24 Sep ..." -> "Mon, 24 Sep ..."
	}
	norm := strings.Join(fields, " ")
	for _, layout := range [...]string{
		layoutCommon,
		"2 Jan 2006 15:04:05 -0700",
		"Mon, 2 Jan 2006 15:04 -0700",
		"2 Jan 2006 15:04 -0700",
		"Mon, 2 Jan 2006 15:04:05 -07:00",
		"2 Jan 2006 15:04:05 -07:00",
		"Mon, 2 Jan 2006 15:04 -07:00",
		"2 Jan 2006 15:04 -07:00",
	} {
		if t, err := time.Parse(layout, norm); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// shortName returns the three-letter form of word when word is a
// case-insensitive prefix, of three letters or more, of one of names.
func shortName(word, names string) (string, bool) {
	if len(word) < 3 {
		return "", false
	}
	lower := strings.ToLower(word)
	for name := range strings.FieldsSeq(names) {
		if strings.HasPrefix(name, lower) {
			return strings.ToUpper(name[:1]) + name[1:3], true
		}
	}
	return "", false
}

func isLetter(b byte) bool { return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' }
