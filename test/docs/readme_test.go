package docs

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func read(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestQuickStartIsWhatCIRuns: the README's first code block is the two
// quick-start commands, the local run (`go run ./cmd/demo`, only Go) and the
// tests (`go test ./...`), and .ci/run runs that same test command.
func TestQuickStartIsWhatCIRuns(t *testing.T) {
	readme := read(t, "README.md")
	block := regexp.MustCompile("(?s)```sh\n(.*?)```").FindStringSubmatch(readme)
	if block == nil {
		t.Fatal("README has no sh code block")
	}
	var cmds []string
	for _, line := range strings.Split(block[1], "\n") {
		if cmd, _, _ := strings.Cut(line, "#"); strings.TrimSpace(cmd) != "" {
			cmds = append(cmds, strings.TrimSpace(cmd))
		}
	}
	if len(cmds) != 2 || cmds[0] != "go run ./cmd/demo" || cmds[1] != "go test ./..." {
		t.Errorf("README's first commands are %q, want [go run ./cmd/demo, go test ./...]", cmds)
	}
	ci := regexp.MustCompile(`(?m)^go test \./\.\.\.$`)
	if !ci.MatchString(read(t, ".ci/run")) {
		t.Error(".ci/run does not run `go test ./...` (the README's test command)")
	}
}

// TestMakeTargetsExist: every `make TARGET` the README and docs/*.md name is
// a target of the Makefile with a `## ` help line (so `make help` lists it).
func TestMakeTargetsExist(t *testing.T) {
	mk := read(t, "Makefile")
	targets := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^([a-zA-Z_-]+):.*## `).FindAllStringSubmatch(mk, -1) {
		targets[m[1]] = true
	}
	files, err := markdownFiles(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	named := regexp.MustCompile("`make ([a-z][a-z-]*)")
	n := 0
	for _, f := range files {
		for _, m := range named.FindAllStringSubmatch(read(t, f), -1) {
			n++
			if !targets[m[1]] {
				t.Errorf("%s names `make %s`, which the Makefile's help does not list", f, m[1])
			}
		}
	}
	if n == 0 {
		t.Error("no `make TARGET` found in the README or docs")
	}
}
