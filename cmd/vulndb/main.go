// Command vulndb builds an offline Go vulnerability database that
// `govulncheck -db file://DIR` reads, from a directory of OSV entries such
// as golang.org/x/vulndb's data/osv. It writes the v1 layout of
// https://go.dev/security/vuln/database#api, uncompressed, as the
// file:// client of golang.org/x/vuln reads it:
//
//	DIR/index/db.json       {"modified": <latest modified>}
//	DIR/index/modules.json  [{"path", "vulns": [{"id", "modified", "fixed"}]}] sorted by path, then id
//	DIR/index/vulns.json    [{"id", "modified", "aliases"}] sorted by id
//	DIR/ID/<id>.json        each entry, byte for byte
//
// "fixed" is the latest fixed version of the module's SEMVER ranges unless
// the vulnerability is introduced again after it (then omitted), as
// golang.org/x/vulndb computes it; govulncheck only uses it to skip
// fetching entries that cannot affect a version.
//
// The entries in x/vulndb's repository have a zero "modified" time (the
// published database fills it in from git history), so db.json's time
// comes from -modified, or else from the pseudo-version in the source
// path (golang.org/x/vulndb@v0.0.0-20261105234957-...), or else the latest
// entry time.
//
//	go run ./cmd/vulndb -src $(go env GOMODCACHE)/golang.org/x/vulndb@v0.0.0-.../data/osv -out /tmp/vulndb
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "vulndb:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("vulndb", flag.ContinueOnError)
	src := fs.String("src", "", "directory of OSV entries (<ID>.json)")
	out := fs.String("out", "", "directory to write the database to (created; must be empty or absent)")
	modified := fs.String("modified", "", "the database's modified time, RFC 3339 (default: from the source's pseudo-version)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *src == "" || *out == "" {
		return errors.New("-src and -out are required")
	}
	var at time.Time
	if *modified != "" {
		var err error
		if at, err = time.Parse(time.RFC3339, *modified); err != nil {
			return fmt.Errorf("-modified: %w", err)
		}
	}
	db, err := Load(*src)
	if err != nil {
		return err
	}
	if !at.IsZero() {
		db.Modified = at
	} else if t, ok := pseudoVersionTime(*src); ok && db.Modified.IsZero() {
		db.Modified = t
	}
	if err := db.Write(*out); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "vulndb: %d entries, %d modules, modified %s -> %s\n", len(db.Entries), len(db.Modules), db.Modified.Format(time.RFC3339), *out)
	return nil
}

// entry is the part of an OSV entry the indexes need.
type entry struct {
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
	Aliases  []string  `json:"aliases"`
	Affected []struct {
		Package struct {
			Name string `json:"name"`
		} `json:"package"`
		Ranges []Range `json:"ranges"`
	} `json:"affected"`
}

// Range is an OSV affected range.
type Range struct {
	Type   string `json:"type"`
	Events []struct {
		Introduced string `json:"introduced,omitempty"`
		Fixed      string `json:"fixed,omitempty"`
	} `json:"events"`
}

// ModuleVuln is one vulnerability of a module in index/modules.json.
type ModuleVuln struct {
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
	Fixed    string    `json:"fixed,omitempty"`
}

// Module is one element of index/modules.json.
type Module struct {
	Path  string       `json:"path"`
	Vulns []ModuleVuln `json:"vulns"`
}

// Vuln is one element of index/vulns.json.
type Vuln struct {
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
	Aliases  []string  `json:"aliases,omitempty"`
}

// DB is a database ready to write.
type DB struct {
	Modified time.Time
	Modules  map[string]*Module
	Vulns    []Vuln
	// Entries maps each id to the entry's bytes.
	Entries map[string][]byte
}

// Load reads every <ID>.json in dir and indexes it.
func Load(dir string) (*DB, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no OSV entries (*.json) in %s", dir)
	}
	db := &DB{Modules: map[string]*Module{}, Entries: map[string][]byte{}}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		if err := db.Add(filepath.Base(f), b); err != nil {
			return nil, err
		}
	}
	sort.Slice(db.Vulns, func(i, j int) bool { return db.Vulns[i].ID < db.Vulns[j].ID })
	for _, m := range db.Modules {
		sort.Slice(m.Vulns, func(i, j int) bool { return m.Vulns[i].ID < m.Vulns[j].ID })
	}
	return db, nil
}

// Add indexes one entry; name is its file name, which must be <ID>.json.
func (db *DB) Add(name string, b []byte) error {
	var e entry
	if err := json.Unmarshal(b, &e); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if e.ID == "" || name != e.ID+".json" {
		return fmt.Errorf("%s: entry id %q does not match the file name", name, e.ID)
	}
	if _, dup := db.Entries[e.ID]; dup {
		return fmt.Errorf("%s: duplicate id", name)
	}
	db.Entries[e.ID] = b
	db.Vulns = append(db.Vulns, Vuln{ID: e.ID, Modified: e.Modified.UTC(), Aliases: e.Aliases})
	if e.Modified.After(db.Modified) {
		db.Modified = e.Modified.UTC()
	}
	for _, a := range e.Affected {
		path := a.Package.Name
		m := db.Modules[path]
		if m == nil {
			m = &Module{Path: path, Vulns: []ModuleVuln{}}
			db.Modules[path] = m
		}
		m.Vulns = append(m.Vulns, ModuleVuln{ID: e.ID, Modified: e.Modified.UTC(), Fixed: LatestFixed(a.Ranges)})
	}
	return nil
}

// LatestFixed returns the latest fixed version of the SEMVER ranges, or ""
// when a range introduces the vulnerability again after it (x/vulndb's
// osvutils.LatestFixed and x/vuln's NonSupersededFix).
func LatestFixed(ranges []Range) string {
	var latest string
	for _, r := range ranges {
		if r.Type != "SEMVER" {
			continue
		}
		for _, e := range r.Events {
			if e.Fixed != "" && less(latest, e.Fixed) {
				latest = e.Fixed
			}
		}
		for _, e := range r.Events {
			if e.Introduced != "" && e.Introduced != "0" && less(latest, e.Introduced) {
				latest = ""
				break
			}
		}
	}
	return latest
}

// less compares OSV versions (no "v" prefix); "" is below every version.
func less(a, b string) bool {
	return semver.Compare("v"+strings.TrimPrefix(a, "v"), "v"+strings.TrimPrefix(b, "v")) < 0
}

// Write writes the database under dir, which must not hold files already.
func (db *DB) Write(dir string) error {
	if ents, err := os.ReadDir(dir); err == nil && len(ents) > 0 {
		return fmt.Errorf("%s is not empty", dir)
	}
	for _, d := range []string{"index", "ID"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	modules := make([]*Module, 0, len(db.Modules))
	for _, m := range db.Modules {
		modules = append(modules, m)
	}
	sort.Slice(modules, func(i, j int) bool { return modules[i].Path < modules[j].Path })
	for name, v := range map[string]any{
		"db.json": struct {
			Modified time.Time `json:"modified"`
		}{db.Modified.UTC()},
		"modules.json": modules,
		"vulns.json":   db.Vulns,
	} {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, "index", name), b, 0o644); err != nil {
			return err
		}
	}
	for id, b := range db.Entries {
		if err := os.WriteFile(filepath.Join(dir, "ID", id+".json"), bytes.TrimSpace(b), 0o644); err != nil {
			return err
		}
	}
	return nil
}

var pseudoVersion = regexp.MustCompile(`@(v[0-9]+\.[0-9]+\.[0-9]+-[0-9.]*[0-9]{14}-[0-9a-f]{12})`)

// pseudoVersionTime returns the time of the module pseudo-version in path.
func pseudoVersionTime(path string) (time.Time, bool) {
	m := pseudoVersion.FindStringSubmatch(filepath.ToSlash(path))
	if m == nil {
		return time.Time{}, false
	}
	t, err := module.PseudoVersionTime(m[1])
	return t, err == nil
}
