package main

import (
	"os"
	"strings"
	"testing"
)

// TestNodePeerSkipped: without node on PATH the peer is skipped, and the
// table says why in one row.
func TestNodePeerSkipped(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	p, err := installNode(t.Context(), "", t.TempDir(), t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	if p.skipped != "node is not on PATH" {
		t.Fatalf("skipped %q", p.skipped)
	}
	tb := &table{}
	addNodeRows(tb, options{}, builds{}, p, nil)
	if len(tb.rows) != 1 || tb.rows[0].ours != "skipped: node is not on PATH" {
		t.Errorf("rows %+v", tb.rows)
	}
}

// TestProcDirArgument: a process is found by its executable and, when
// given, an argument of its command line (node runs every script).
func TestProcDirArgument(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Skip(err)
	}
	if _, err := procDir(proc{exe: exe, arg: os.Args[0]}); err != nil {
		if strings.Contains(err.Error(), "need /proc") {
			t.Skip(err)
		}
		t.Fatalf("this test process by its argv[0]: %v", err)
	}
	if dir, err := procDir(proc{exe: exe, arg: "no-such-argument"}); err == nil {
		t.Errorf("found %s for an argument no process has", dir)
	}
}
