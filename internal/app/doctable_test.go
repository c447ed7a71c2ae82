package app

import (
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestErrorTableMatchesCode: every problem kind the code emits has a
// section of docs/problems.md (the README points there) giving its status
// and Lambda errorType, and nothing else has.
func TestErrorTableMatchesCode(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "problems.md"))
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^## ([a-z-]+)\n\\*\\*(\\d{3})\\*\\*(?:, errorType `([A-Za-z]+)`)?[.]")
	rows := row.FindAllStringSubmatch(string(b), -1)
	// Every problem* constant of the package (emittedKinds also fails on a
	// newProblem call with anything else), so a new kind must be added here.
	var kinds []string
	for _, k := range emittedKinds(t) {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	documented := map[string]bool{}
	for _, r := range rows {
		kind, errType := r[1], r[3]
		status, _ := strconv.Atoi(r[2])
		documented[kind] = true
		if http.StatusText(status) == "" {
			t.Errorf("%s: bad status %s", kind, r[2])
		}
		if errType != errorTypes[kind] {
			t.Errorf("%s: docs/problems.md errorType %q, code %q", kind, errType, errorTypes[kind])
		}
	}
	for _, k := range kinds {
		if !documented[k] {
			t.Errorf("problem kind %q has no section in docs/problems.md", k)
		}
	}
	if len(documented) != len(kinds) {
		t.Errorf("docs/problems.md documents %d kinds, the code has %d: %s", len(documented), len(kinds), strings.Join(kinds, ","))
	}
}
