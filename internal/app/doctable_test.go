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

// TestErrorTableMatchesCode: every problem kind the code emits is in the
// error table of docs/ERRORS.md (the README points there) with its Lambda
// errorType, and nothing else is.
func TestErrorTableMatchesCode(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "ERRORS.md"))
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| (\\d{3}) \\| `([a-z-]+)` \\| `?([A-Za-z]*)`? ?\\|")
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
		status, _ := strconv.Atoi(r[1])
		kind, errType := r[2], r[3]
		documented[kind] = true
		if http.StatusText(status) == "" {
			t.Errorf("%s: bad status %s", kind, r[1])
		}
		if errType != errorTypes[kind] {
			t.Errorf("%s: docs/ERRORS.md errorType %q, code %q", kind, errType, errorTypes[kind])
		}
	}
	for _, k := range kinds {
		if !documented[k] {
			t.Errorf("problem kind %q is not in docs/ERRORS.md's error table", k)
		}
	}
	if len(documented) != len(kinds) {
		t.Errorf("docs/ERRORS.md documents %d kinds, the code has %d: %s", len(documented), len(kinds), strings.Join(kinds, ","))
	}
}
