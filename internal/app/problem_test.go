package app

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestJSONIsRFC9457(t *testing.T) {
	p := newProblem("invalid-sid", 400, "call_sid is not a UUID")
	p.Field = "call_sid"
	var got map[string]any
	if err := json.Unmarshal(ProblemResponse(p).Body, &got); err != nil {
		t.Fatal(err)
	}
	if got["status"] != float64(400) || got["title"] != "Bad Request" || got["field"] != "call_sid" {
		t.Fatalf("unexpected body %v", got)
	}
	if !strings.HasSuffix(got["type"].(string), "/docs/problems.md#invalid-sid") {
		t.Fatalf("type = %v", got["type"])
	}
	if _, ok := got["retry_after_seconds"]; ok {
		t.Fatal("zero extension members must be omitted")
	}
	if p.Error() != "Bad Request: call_sid is not a UUID" {
		t.Fatalf("Error() = %q", p.Error())
	}
}
