package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/signalwire-lambda/participants/test/localenv"
)

// benchPattern selects the in-process benchmarks of internal/trigger.
const benchPattern = "^(BenchmarkReadPath|BenchmarkWebhookPath)$"

// goBench is one benchmark's results over the rounds, index i being round i.
type goBench struct {
	ns, bytes, allocs sample
}

// benchLine matches a result line of `go test -bench -benchmem`.
var benchLine = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+([\d.]+) ns/op(?:\s+([\d.]+) B/op)?(?:\s+([\d.]+) allocs/op)?`)

// parseBenchOutput adds the result lines of one round to results.
func parseBenchOutput(r io.Reader, results map[string]*goBench) error {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		m := benchLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		b := results[m[1]]
		if b == nil {
			b = &goBench{}
			results[m[1]] = b
		}
		for i, dst := range []*sample{&b.ns, &b.bytes, &b.allocs} {
			if m[i+2] == "" {
				continue
			}
			v, err := strconv.ParseFloat(m[i+2], 64)
			if err != nil {
				return fmt.Errorf("bench: %q: %w", sc.Text(), err)
			}
			*dst = append(*dst, v)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("bench: reading benchmark output: %w", err)
	}
	return nil
}

// benchEnv is the benchmarks' environment: this process's, without
// AWS_CA_BUNDLE and with the offline AWS settings.
func benchEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_CA_BUNDLE=") {
			env = append(env, kv)
		}
	}
	return append(env, localenv.OfflineAWSEnv()...)
}

// runGoBench runs the compiled benchmarks `rounds` times, each round running
// every benchmark once (-test.count 1), so that ours and bare alternate
// under the same machine load.
func runGoBench(ctx context.Context, testBin, pkgDir string, rounds int, benchtime string, progress func(string, ...any)) (map[string]*goBench, error) {
	results := map[string]*goBench{}
	for i := range rounds {
		progress("in-process benchmarks: round %d/%d", i+1, rounds)
		out, err := runTestBinary(ctx, testBin, pkgDir,
			"-test.run", "^$", "-test.bench", benchPattern, "-test.benchmem", "-test.count", "1", "-test.benchtime", benchtime)
		if err != nil {
			return nil, err
		}
		if err := parseBenchOutput(strings.NewReader(out), results); err != nil {
			return nil, err
		}
	}
	if len(results) == 0 {
		return nil, fmt.Errorf("bench: no benchmark results from %s", testBin)
	}
	return results, nil
}

func runTestBinary(ctx context.Context, testBin, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, testBin, args...)
	cmd.Dir = dir
	cmd.Env = benchEnv()
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("bench: %s %v: %w\n%s", filepath.Base(testBin), args, err, out)
	}
	return string(out), nil
}

// profile runs each route's "ours" benchmark (canned upstream: the
// function's own CPU work only) with CPU and memory profiles into dir, and
// writes `go tool pprof -top` of each next to them.
func profile(ctx context.Context, testBin, pkgDir, dir, benchtime string, progress func(string, ...any)) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	for _, route := range []struct{ name, bench string }{
		{"read", "^BenchmarkReadPath$/^ours$/^canned$"},
		{"webhook", "^BenchmarkWebhookPath$/^ours$/^canned$"},
	} {
		progress("profiling the %s path into %s", route.name, dir)
		cpu := filepath.Join(dir, route.name+"-cpu.pprof")
		mem := filepath.Join(dir, route.name+"-mem.pprof")
		if _, err := runTestBinary(ctx, testBin, pkgDir, "-test.run", "^$", "-test.bench", route.bench,
			"-test.benchmem", "-test.benchtime", benchtime, "-test.cpuprofile", cpu, "-test.memprofile", mem); err != nil {
			return err
		}
		for _, p := range []struct {
			file, out string
			args      []string
		}{
			{cpu, route.name + "-cpu-top.txt", []string{"-top", "-cum", "-nodecount", "60"}},
			{mem, route.name + "-allocs-top.txt", []string{"-top", "-sample_index", "alloc_objects", "-nodecount", "40"}},
		} {
			cmd := exec.CommandContext(ctx, "go", append(append([]string{"tool", "pprof"}, p.args...), testBin, p.file)...)
			out, err := cmd.Output()
			if err != nil {
				return fmt.Errorf("bench: go tool pprof %s: %w", p.file, err)
			}
			if err := os.WriteFile(filepath.Join(dir, p.out), out, 0o644); err != nil {
				return fmt.Errorf("bench: %w", err)
			}
		}
	}
	return nil
}
