package config

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// configDoc is the page whose "## Environment variables" table documents
// every setting (the README points there).
var configDoc = filepath.Join("..", "..", "docs", "CONFIGURATION.md")

// TestConfigurationTableMatchesCode keeps docs/CONFIGURATION.md's table of
// environment variables equal to variables: same names in the same order,
// same defaults.
func TestConfigurationTableMatchesCode(t *testing.T) {
	b, err := os.ReadFile(configDoc)
	if err != nil {
		t.Fatal(err)
	}
	section := string(b)
	start := strings.Index(section, "## Environment variables")
	if start < 0 {
		t.Fatalf("%s has no Environment variables section", configDoc)
	}
	section = section[start:]
	if end := strings.Index(section[3:], "\n## "); end >= 0 {
		section = section[:end+3]
	}
	row := regexp.MustCompile("(?m)^\\| `([A-Z_]+)` \\|[^|]*\\|([^|]*)\\|")
	rows := row.FindAllStringSubmatch(section, -1)
	if len(rows) != len(variables) {
		t.Fatalf("docs/CONFIGURATION.md lists %d variables, the code reads %d", len(rows), len(variables))
	}
	for i, r := range rows {
		v := variables[i]
		if r[1] != v.name {
			t.Errorf("row %d: docs/CONFIGURATION.md has %s, code has %s", i, r[1], v.name)
			continue
		}
		def := strings.Trim(strings.TrimSpace(r[2]), "`")
		want := v.def
		if v.required {
			want = "(required)"
		}
		if def != want {
			t.Errorf("%s: docs/CONFIGURATION.md default %q, code default %q", v.name, def, want)
		}
	}
}
