package webhook

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

const (
	envelopeSchemaID    = "https://github.com/signalwire-lambda/participants/schema/envelope.v1.schema.json"
	participantSchemaID = "https://github.com/signalwire-lambda/participants/schema/participant.v1.schema.json"
)

// compileEnvelopeSchema loads both schemas from ../../schema (no network) and
// compiles the envelope's, with format assertions on.
func compileEnvelopeSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	for id, file := range map[string]string{
		envelopeSchemaID:    "envelope.v1.schema.json",
		participantSchemaID: "participant.v1.schema.json",
	} {
		f, err := os.Open(filepath.Join("..", "..", "schema", file))
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if err := c.AddResource(id, doc); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
	}
	sch, err := c.Compile(envelopeSchemaID)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	return sch
}

func instance(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// participantSample matches schema/participant.v1.schema.json.
const participantSample = `{
	"schema_version": 1,
	"account_sid": "` + accountSID + `",
	"conference_sid": "` + conferenceSID + `",
	"call_sid": "` + callSID + `",
	"call_sid_to_coach": null,
	"coaching": false,
	"status": "in-progress",
	"muted": false,
	"hold": false,
	"end_conference_on_exit": true,
	"start_conference_on_enter": true,
	"date_created": "2018-09-24T21:00:00Z",
	"date_updated": null,
	"uri": "/api/laml/2010-04-01/Accounts/` + accountSID + `/Conferences/` + conferenceSID + `/Participants/` + callSID + `.json",
	"extra": {"label": "agent"},
	"unparsed": {"date_updated": "Mon, 24 Sept 2018 21:00:00 +0000"}
}`

func TestEnvelopeSchema(t *testing.T) {
	sch := compileEnvelopeSchema(t)
	received := time.Date(2018, 9, 24, 21, 0, 2, 123_000_000, time.UTC)

	join := NewEnvelope(mustNormalize(t, mustParse(t, participantJoinBody), nil), received)
	found := join
	found.ParticipantLookup = LookupFound
	found.Participant = json.RawMessage(participantSample)
	notFound := join
	notFound.ParticipantLookup = LookupNotFound

	callForm := url.Values{"AccountSid": {accountSID}, "CallSid": {callSID}, "CallStatus": {"completed"},
		"CallDuration": {"abc"}, "Tag": {"x", "y"}, "Duration": {"1", "2"}}
	call := NewEnvelope(mustNormalize(t, callForm, url.Values{"ConferenceSid": {conferenceSID}}), received)

	valid := map[string]Envelope{"skipped": join, "found": found, "not_found": notFound, "call with unparsed values": call}
	for name, env := range valid {
		if err := sch.Validate(instance(t, env)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}

	badParticipant := found
	badParticipant.Participant = json.RawMessage(`{"schema_version": 1}`)
	foundNull := found
	foundNull.Participant = nil
	skippedWithParticipant := join
	skippedWithParticipant.Participant = json.RawMessage(participantSample)
	badLookup := join
	badLookup.ParticipantLookup = "maybe"
	badID := join
	badID.ID = "evt_123"
	zeroSource := join
	zeroSource.Source = Source{}
	invalid := map[string]Envelope{
		"participant not matching participant.v1": badParticipant,
		"found with null participant":             foundNull,
		"skipped with a participant":              skippedWithParticipant,
		"unknown lookup":                          badLookup,
		"bad id":                                  badID,
		"source without account or event":         zeroSource,
	}
	for name, env := range invalid {
		if err := sch.Validate(instance(t, env)); err == nil {
			t.Errorf("%s: validated, want an error", name)
		}
	}
	// A non-UTC time in the JSON is rejected (the envelope always writes UTC).
	doc := instance(t, join).(map[string]any)
	doc["occurred_at"] = "2018-09-24T23:00:00+02:00"
	if err := sch.Validate(doc); err == nil {
		t.Error("non-UTC occurred_at validated")
	}
	doc["occurred_at"] = "not a date Z"
	if err := sch.Validate(doc); err == nil {
		t.Error("invalid date-time validated (format assertions off?)")
	}
}

// The schema's typed source keys are exactly boolKeys, intKeys and timeKeys.
func TestEnvelopeSchemaSourceKeys(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "schema", "envelope.v1.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	var schema struct {
		Defs struct {
			Source struct {
				Properties map[string]json.RawMessage `json:"properties"`
			} `json:"source"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(b, &schema); err != nil {
		t.Fatal(err)
	}
	var bools, ints, times []string
	for key, raw := range schema.Defs.Source.Properties {
		switch s := string(raw); {
		case strings.Contains(s, "nullable_boolean"):
			bools = append(bools, key)
		case strings.Contains(s, "nullable_integer"):
			ints = append(ints, key)
		case strings.Contains(s, "utc_time"):
			times = append(times, key)
		}
	}
	for _, c := range []struct {
		list   string
		schema []string
	}{{boolKeys, bools}, {intKeys, ints}, {timeKeys, times}} {
		want := strings.Fields(c.list)
		slices.Sort(want)
		slices.Sort(c.schema)
		if !slices.Equal(want, c.schema) {
			t.Errorf("schema has %v, Go has %v", c.schema, want)
		}
	}
}
