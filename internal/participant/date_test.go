package participant

import (
	"strings"
	"testing"
	"time"
)

// parse is ParseDate reporting success as a bool.
func parse(s string) (time.Time, bool) {
	t, err := ParseDate(s)
	return t, err == nil
}

func TestParseTimestamp(t *testing.T) {
	want := time.Date(2018, 9, 24, 21, 0, 0, 0, time.UTC)
	good := []string{
		"Mon, 24 Sep 2018 21:00:00 +0000",
		"Mon, 24 Sept 2018 21:00:00 +0000",
		"Monday, 24 September 2018 21:00:00 +0000",
		"24 Sept 2018 21:00:00 +0000",
		"24 sep 2018 21:00:00 GMT",
		"Mon 24 Sep 2018 21:00:00 UTC",
		"  Mon,  24 Sep 2018   21:00:00 +0000 ",
		"Mon, 24 Sep 2018 21:00:00 +0000 (UTC)",
		"Mon, 24 Sep 2018 21:00 +0000",
		"Mon, 24 Sep 2018 23:00:00 +02:00",
		"Mon, 24 Sep 2018 17:00:00 EDT",
		"Mon, 24 Sep 2018 14:00:00 PDT",
		"Tue, 24 Sep 2018 21:00:00 +0000", // wrong weekday: ignored
		"2018-09-24T21:00:00Z",
		"2018-09-24T23:00:00+02:00",
	}
	for _, s := range good {
		got, ok := parse(s)
		if !ok || !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("parse(%q) = %v, %v", s, got, ok)
		}
	}
	if got, ok := parse("Sun, 1 Jun 2025 01:02:03 -0000"); !ok || !got.Equal(time.Date(2025, 6, 1, 1, 2, 3, 0, time.UTC)) {
		t.Errorf("single-digit day: %v %v", got, ok)
	}
	bad := []string{"", "yesterday", "Mon, 24 Foo 2018 21:00:00 +0000", "Mon, 24 Sep 2018 21:00:00 XYZ", "Mon, 24 Sep 2018",
		"Mon, 32 Sep 2018 21:00:00 +0000", "Mon, 24 Sep 2018 25:00:00 +0000", "1537822800"}
	for _, s := range bad {
		if got, ok := parse(s); ok {
			t.Errorf("parse(%q) = %v, want failure", s, got)
		}
	}
}

func TestParseBoundsInput(t *testing.T) {
	if _, ok := parse("Mon, 24 Sep 2018 21:00:00 +0000" + strings.Repeat(" ", 100) + "x"); ok {
		t.Fatal("an overlong input parsed")
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"Mon, 24 Sep 2018 21:00:00 +0000", "mon, 24 sep 2018 21:00:00 +0000", "Mon,  24 Sep 2018 21:00:00 +0000", "Mon, 4 Sep 2018 21:00:00 -2359", "Fri, 24 Sep 2018 21:00:00 +0000", "Tue, 3 June 2025 08:15:30 -0700", "2018-09-24T21:00:00Z", "", "Sept", "Mon, 24 Sep 2018 21:00 +0000 (UTC)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := parse(s)
		// The fast path never changes an answer.
		if slow, slowOK := parseLenient(strings.TrimSpace(s)); len(strings.TrimSpace(s)) <= maxLen && strings.TrimSpace(s) != "" && (slowOK != ok || !slow.Equal(got)) {
			t.Fatalf("parse(%q) = %v, %v; without the fast path %v, %v", s, got, ok, slow, slowOK)
		}
		if !ok {
			return
		}
		if got.Location() != time.UTC {
			t.Fatalf("parse(%q) not in UTC", s)
		}
		if back, ok := parse(got.Format(time.RFC3339Nano)); !ok || !back.Equal(got) {
			t.Fatalf("round trip of %q: %v %v", s, back, ok)
		}
	})
}
