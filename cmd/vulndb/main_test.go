package main

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLatestFixed(t *testing.T) {
	r := func(events ...[2]string) []Range {
		var rg Range
		rg.Type = "SEMVER"
		for _, e := range events {
			rg.Events = append(rg.Events, struct {
				Introduced string `json:"introduced,omitempty"`
				Fixed      string `json:"fixed,omitempty"`
			}{e[0], e[1]})
		}
		return []Range{rg}
	}
	for _, tc := range []struct {
		name   string
		ranges []Range
		want   string
	}{
		{"single fix", r([2]string{"0", ""}, [2]string{"", "1.2.3"}), "1.2.3"},
		{"fixed twice", r([2]string{"0", ""}, [2]string{"", "1.5.0"}, [2]string{"2.0.0", ""}, [2]string{"", "2.4.0"}), "2.4.0"},
		{"semver order, not string order", r([2]string{"0", ""}, [2]string{"", "1.10.0"}, [2]string{"1.9.0", ""}, [2]string{"", "1.9.5"}), "1.10.0"},
		{"reintroduced after the fix", r([2]string{"0", ""}, [2]string{"", "1.0.1"}, [2]string{"1.2.0", ""}), ""},
		{"never fixed", r([2]string{"0", ""}), ""},
		{"pseudo-version fix", r([2]string{"0", ""}, [2]string{"", "0.0.0-20260610131716-5dc8f53b70a3"}), "0.0.0-20260610131716-5dc8f53b70a3"},
		{"other range types ignored", []Range{{Type: "GIT"}}, ""},
	} {
		if got := LatestFixed(tc.ranges); got != tc.want {
			t.Errorf("%s: LatestFixed = %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestBuildsTheV1Layout builds the database from testdata/osv and checks
// every file govulncheck's file:// client reads.
func TestBuildsTheV1Layout(t *testing.T) {
	out := filepath.Join(t.TempDir(), "db")
	if err := run([]string{"-src", "testdata/osv", "-out", out, "-modified", "2099-02-03T04:05:06Z"}, io.Discard); err != nil {
		t.Fatal(err)
	}
	read := func(name string, v any) {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	var db struct{ Modified time.Time }
	read("index/db.json", &db)
	if !db.Modified.Equal(time.Date(2099, 2, 3, 4, 5, 6, 0, time.UTC)) {
		t.Errorf("db.json modified %v", db.Modified)
	}
	var modules []Module
	read("index/modules.json", &modules)
	if len(modules) != 2 || modules[0].Path != "example.com/a" || modules[1].Path != "stdlib" {
		t.Fatalf("modules.json: %+v", modules)
	}
	if a := modules[0].Vulns; len(a) != 2 || a[0].ID != "GO-2099-0001" || a[0].Fixed != "2.4.0" || a[1].ID != "GO-2099-0002" || a[1].Fixed != "" {
		t.Errorf("example.com/a vulns: %+v", a)
	}
	if s := modules[1].Vulns; len(s) != 1 || s[0].Fixed != "1.26.9" || !s[0].Modified.Equal(time.Date(2099, 1, 2, 3, 4, 5, 0, time.UTC)) {
		t.Errorf("stdlib vulns: %+v", s)
	}
	var vulns []Vuln
	read("index/vulns.json", &vulns)
	if len(vulns) != 2 || vulns[0].ID != "GO-2099-0001" || strings.Join(vulns[0].Aliases, ",") != "CVE-2099-0001,GHSA-xxxx-yyyy-zzzz" || vulns[1].Aliases != nil {
		t.Errorf("vulns.json: %+v", vulns)
	}
	var entry map[string]any
	read("ID/GO-2099-0002.json", &entry)
	if entry["id"] != "GO-2099-0002" || entry["summary"] == nil {
		t.Errorf("ID/GO-2099-0002.json: %v", entry)
	}
	// A second build must not mix with the first.
	if err := run([]string{"-src", "testdata/osv", "-out", out}, io.Discard); err == nil {
		t.Error("wrote into a non-empty directory")
	}
}

func TestRejectsMisnamedEntries(t *testing.T) {
	src := t.TempDir()
	b, err := os.ReadFile("testdata/osv/GO-2099-0002.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "GO-2099-9999.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(src); err == nil || !strings.Contains(err.Error(), "does not match the file name") {
		t.Fatalf("Load = %v", err)
	}
	if _, err := Load(t.TempDir()); err == nil {
		t.Fatal("an empty source loaded")
	}
}

func TestPseudoVersionTime(t *testing.T) {
	got, ok := pseudoVersionTime("/root/go/pkg/mod/golang.org/x/vulndb@v0.0.0-20261105234957-e22db6528018/data/osv")
	if !ok || !got.Equal(time.Date(2026, 11, 5, 23, 49, 57, 0, time.UTC)) {
		t.Fatalf("pseudoVersionTime = %v, %v", got, ok)
	}
	if _, ok := pseudoVersionTime("/src/osv"); ok {
		t.Fatal("time from a path without a pseudo-version")
	}
}
