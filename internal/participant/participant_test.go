package participant

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/signalwire-lambda/participants/internal/signalwire"
)

func compileSchema(t testing.TB) *jsonschema.Schema {
	t.Helper()
	path := filepath.Join("..", "..", "schema", "participant.v1.schema.json")
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource("participant.v1.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("participant.v1.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func validate(t testing.TB, s *jsonschema.Schema, p Participant) map[string]any {
	t.Helper()
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	v, err := jsonschema.UnmarshalJSON(strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(v); err != nil {
		t.Fatalf("%s\ndoes not match the schema: %v", b, err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestNormalizeFullResponse(t *testing.T) {
	body, err := os.ReadFile(filepath.Join("testdata", "participant.json"))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := signalwire.DecodeParticipant(body)
	if err != nil {
		t.Fatal(err)
	}
	got := validate(t, compileSchema(t), Normalize(raw))
	want := map[string]any{
		"schema_version": float64(1), "account_sid": "b3877c40-da60-4998-90ad-b792e98472af",
		"call_sid": "b3877c40-da60-4998-90ad-b792e98472ca", "call_sid_to_coach": "b3877c40-da60-4998-90ad-b792e98472cb",
		"coaching": true, "conference_sid": "b3877c40-da60-4998-90ad-b792e98472cf",
		"date_created": "2018-09-24T21:00:00Z", "date_updated": "2018-09-24T23:30:00Z",
		"status": "in-progress", "end_conference_on_exit": false, "muted": true, "hold": false,
		"start_conference_on_enter": true,
		"uri":                       "/api/laml/2010-04-01/Accounts/b3877c40-da60-4998-90ad-b792e98472af/Conferences/b3877c40-da60-4998-90ad-b792e98472cf/Participants/b3877c40-da60-4998-90ad-b792e98472ca.json",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %#v, want %#v", k, got[k], v)
		}
	}
	if len(got["extra"].(map[string]any)) != 0 || len(got["unparsed"].(map[string]any)) != 0 {
		t.Errorf("extra/unparsed should be empty: %v %v", got["extra"], got["unparsed"])
	}
}

func TestNormalizeLenient(t *testing.T) {
	body := `{"account_sid":"not-a-uuid","call_sid":"x","conference_sid":"y","status":"on-stage",
		"date_created":"Mon, 24 Sept 2018 21:00:00 +0000","date_updated":"yesterday","muted":"true","hold":1,
		"label":"customer","queue_time":"1500"}`
	raw, err := signalwire.DecodeParticipant([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	got := validate(t, compileSchema(t), Normalize(raw))
	if got["status"] != "on-stage" || got["account_sid"] != "not-a-uuid" || got["date_created"] != "2018-09-24T21:00:00Z" || got["muted"] != true {
		t.Fatalf("lenient fields: %v", got)
	}
	if got["date_updated"] != nil || got["unparsed"].(map[string]any)["date_updated"] != "yesterday" {
		t.Fatalf("an unreadable date must be null and carried in unparsed: %v", got)
	}
	if got["hold"] != nil || got["unparsed"].(map[string]any)["hold"] != float64(1) {
		t.Fatalf("a wrong-typed boolean must be null and carried in unparsed: %v", got)
	}
	extra := got["extra"].(map[string]any)
	if extra["label"] != "customer" || extra["queue_time"] != "1500" {
		t.Fatalf("extra %v", extra)
	}
	for _, k := range []string{"call_sid_to_coach", "coaching", "end_conference_on_exit", "start_conference_on_enter", "uri"} {
		if v, ok := got[k]; !ok || v != nil {
			t.Errorf("absent field %s must be present as null, got %v (present %v)", k, v, ok)
		}
	}
}

func TestParseDate(t *testing.T) {
	want := time.Date(2018, 9, 24, 21, 0, 0, 0, time.UTC)
	for _, s := range []string{
		"Mon, 24 Sep 2018 21:00:00 +0000",
		"Mon, 24 Sept 2018 21:00:00 +0000",
		"24 Sep 2018 21:00:00 +0000",
		"Mon, 24 September 2018 21:00:00 GMT",
		"Mon, 24 Sep 2018 23:00:00 +0200",
		"Mon, 24 Sep 2018 17:00:00 -0400",
		"  Mon, 24 Sep 2018 21:00:00 +0000 ",
		"2018-09-24T21:00:00Z",
		"Mon, 24 sep 2018 21:00 +0000",
	} {
		got, err := ParseDate(s)
		if err != nil || !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("ParseDate(%q) = %v, %v", s, got, err)
		}
	}
	for _, s := range []string{"", "yesterday", "Mon, 32 Sep 2018 21:00:00 +0000", "Mon, 24 Foo 2018 21:00:00 +0000", strings.Repeat("9", 100)} {
		if _, err := ParseDate(s); err == nil {
			t.Errorf("ParseDate(%q) succeeded", s)
		}
	}
}

func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"Mon, 24 Sep 2018 21:00:00 +0000", "Tue, 3 June 2025 08:15:30 -0700", "2018-09-24T21:00:00Z", "", "Sept"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseDate(s)
		if err != nil {
			return
		}
		if got.Location() != time.UTC {
			t.Fatalf("ParseDate(%q) not in UTC", s)
		}
		// A parsed date re-parses to the same instant from its RFC 3339 form.
		back, err := ParseDate(got.Format(time.RFC3339))
		if err != nil || !back.Equal(got) {
			t.Fatalf("round trip of %q: %v %v", s, back, err)
		}
	})
}

func FuzzNormalize(f *testing.F) {
	f.Add([]byte(`{"status":"in-progress","date_created":"Mon, 24 Sep 2018 21:00:00 +0000","muted":true}`))
	f.Add([]byte(`{"date_updated":7,"hold":"maybe","x":[1,2]}`))
	s := compileSchema(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		raw, err := signalwire.DecodeParticipant(body)
		if err != nil {
			return
		}
		validate(t, s, Normalize(raw)) // every decodable answer normalizes to a schema-valid document
	})
}
