package main

import (
	"math"
	"os"
	"strings"
	"testing"
	"time"
)

func TestParseBenchOutput(t *testing.T) {
	out := `goos: linux
goarch: amd64
pkg: github.com/signalwire-lambda/participants/internal/trigger
BenchmarkReadPath/ours/loopback-2         	    5094	    217871 ns/op	   32538 B/op	     472 allocs/op
BenchmarkReadPath/bare/canned-2           	   52354	     19571.5 ns/op	    6200 B/op	      75 allocs/op
BenchmarkNoMem                            	     100	       12.0 ns/op
PASS
`
	results := map[string]*goBench{}
	if err := parseBenchOutput(strings.NewReader(out), results); err != nil {
		t.Fatal(err)
	}
	if err := parseBenchOutput(strings.NewReader(out), results); err != nil { // a second round
		t.Fatal(err)
	}
	ours := results["BenchmarkReadPath/ours/loopback"]
	if ours == nil || len(ours.ns) != 2 || ours.ns[0] != 217871 || ours.bytes[1] != 32538 || ours.allocs[0] != 472 {
		t.Fatalf("ours: %+v", ours)
	}
	if bare := results["BenchmarkReadPath/bare/canned"]; bare == nil || bare.ns[0] != 19571.5 {
		t.Fatalf("bare: %+v", bare)
	}
	if nm := results["BenchmarkNoMem"]; nm == nil || len(nm.ns) != 2 || len(nm.allocs) != 0 {
		t.Fatalf("no -benchmem: %+v", nm)
	}
}

func TestSampleStatistics(t *testing.T) {
	s := sample{5, 1, 3, 2, 4}
	if s.median() != 3 || s.min() != 1 || s.max() != 5 {
		t.Errorf("median %v min %v max %v", s.median(), s.min(), s.max())
	}
	if got := (sample{1, 2, 3, 4}).median(); got != 2.5 {
		t.Errorf("even median %v", got)
	}
	if got := (sample{0, 10}).quantile(0.99); math.Abs(got-9.9) > 1e-9 {
		t.Errorf("p99 %v", got)
	}
	if !math.IsNaN(sample{}.median()) {
		t.Error("empty median is not NaN")
	}
	r := ratios(sample{2, 6, 9}, sample{1, 3})
	if len(r) != 2 || r[0] != 2 || r[1] != 2 {
		t.Errorf("ratios %v", r)
	}
	if got := fmtRatio(3, 2, sample{1.4, 1.6}); got != "1.50× [1.40–1.60]" {
		t.Errorf("fmtRatio %q", got)
	}
	if got := fmtRatioPrec(3, 2, sample{1.0104, 1.0112}, 3); got != "1.011× [1.010–1.011]" {
		t.Errorf("fmtRatioPrec %q", got)
	}
	if got := ms(1500 * time.Microsecond); got[0] != 1.5 {
		t.Errorf("ms %v", got)
	}
}

func TestProcStatus(t *testing.T) {
	hwm, rss, err := readStatus("/proc/self/status")
	if err != nil {
		t.Skip("no /proc here:", err)
	}
	if hwm <= 0 || rss <= 0 || rss > hwm {
		t.Errorf("VmHWM %d, VmRSS %d", hwm, rss)
	}
}

func TestInvocationLog(t *testing.T) {
	logs := "START RequestId: x\n" +
		`{"level":"INFO","message":"invocation","outcome":200,"duration_ms":17.964,"cold_start":true,"upstream_status":200,"upstream_latency_ms":16.5}` + "\n"
	h, u, ok := invocationLog(logs)
	if !ok || h != 17964*time.Microsecond || u != 16500*time.Microsecond {
		t.Errorf("handler %v upstream %v ok %v", h, u, ok)
	}
}

func TestProcCPU(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Skip(err)
	}
	d, err := procCPU(proc{exe: exe})
	if err != nil {
		t.Skip("no /proc schedstat here:", err)
	}
	if d <= 0 {
		t.Errorf("CPU time %v of this test process", d)
	}
}

// TestFloor: each round's floor is that round's hello plus n round trips.
func TestFloor(t *testing.T) {
	got := floor([]time.Duration{5 * time.Millisecond, 6 * time.Millisecond}, 4, 20*time.Millisecond)
	if len(got) != 2 || got[0] != 85 || got[1] != 86 {
		t.Errorf("floor %v, want [85 86]", got)
	}
}
