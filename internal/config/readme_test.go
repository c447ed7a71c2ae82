package config

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestREADMEConfigurationTableMatchesCode keeps the README's configuration
// table equal to Variables: same names in the same order, same defaults.
func TestREADMEConfigurationTableMatchesCode(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	section := string(b)
	start := strings.Index(section, "## Configuration")
	if start < 0 {
		t.Fatal("README has no Configuration section")
	}
	section = section[start:]
	if end := strings.Index(section[3:], "\n## "); end >= 0 {
		section = section[:end+3]
	}
	row := regexp.MustCompile("(?m)^\\| `([A-Z_]+)` \\|[^|]*\\|([^|]*)\\|")
	rows := row.FindAllStringSubmatch(section, -1)
	if len(rows) != len(Variables) {
		t.Fatalf("README lists %d variables, the code reads %d", len(rows), len(Variables))
	}
	for i, r := range rows {
		v := Variables[i]
		if r[1] != v.Name {
			t.Errorf("row %d: README has %s, code has %s", i, r[1], v.Name)
			continue
		}
		def := strings.Trim(strings.TrimSpace(r[2]), "`")
		want := v.Default
		if v.Required {
			want = "(required)"
		}
		if def != want {
			t.Errorf("%s: README default %q, code default %q", v.Name, def, want)
		}
	}
}
