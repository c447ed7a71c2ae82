package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"

	"github.com/signalwire-lambda/participants/test/localenv"
)

// Variant names: the real function, the bare peer of the same job
// (test/benchdata/bare), and hello, the floor's fixed part
// (test/benchdata/hello: a fixed answer).
const (
	ours  = "ours"
	bare  = "bare"
	hello = "hello"
)

// helloPackage is hello's main package, built for the host only.
const helloPackage = "./test/benchdata/hello"

// variants maps each variant to the main package it is built from.
var variants = []struct{ name, pkg string }{
	{ours, localenv.FunctionPackage},
	{bare, "./test/benchdata/barepeer"},
}

// sizeArches are the architectures whose bootstrap sizes are compared.
var sizeArches = []string{"arm64", "amd64"}

// builds holds every built bootstrap: binaries[variant][goarch] is its path
// and sizes[variant][goarch] its size in bytes.
type builds struct {
	binaries map[string]map[string]string
	sizes    map[string]map[string]int64
}

// host returns the path of variant's bootstrap for this machine, the one
// the RIE runs.
func (b builds) host(variant string) string { return b.binaries[variant][runtime.GOARCH] }

// buildAll builds every variant for every size architecture and the host,
// and hello for the host, exactly like the bootstrap (localenv.BuildLambda),
// into dir/<variant>-<arch>/.
func buildAll(ctx context.Context, dir string, progress func(string, ...any)) (builds, error) {
	b := builds{binaries: map[string]map[string]string{}, sizes: map[string]map[string]int64{}}
	arches := sizeArches
	if runtime.GOARCH != "arm64" && runtime.GOARCH != "amd64" {
		arches = append(arches, runtime.GOARCH)
	}
	for _, v := range variants {
		b.binaries[v.name] = map[string]string{}
		b.sizes[v.name] = map[string]int64{}
		for _, arch := range arches {
			progress("building %s (%s) for linux/%s", v.name, v.pkg, arch)
			bin, err := localenv.BuildLambda(ctx, v.pkg, filepath.Join(dir, v.name+"-"+arch), arch)
			if err != nil {
				return b, err
			}
			st, err := os.Stat(bin)
			if err != nil {
				return b, fmt.Errorf("bench: %w", err)
			}
			b.binaries[v.name][arch] = bin
			b.sizes[v.name][arch] = st.Size()
		}
	}
	progress("building %s (%s) for linux/%s", hello, helloPackage, runtime.GOARCH)
	bin, err := localenv.BuildLambda(ctx, helloPackage, filepath.Join(dir, hello+"-"+runtime.GOARCH), runtime.GOARCH)
	if err != nil {
		return b, err
	}
	b.binaries[hello] = map[string]string{runtime.GOARCH: bin}
	return b, nil
}

// buildTestBinary compiles the in-process benchmarks (internal/trigger's
// tests) once, so that rounds of them can run interleaved.
func buildTestBinary(ctx context.Context, root, dir string) (string, error) {
	out := filepath.Join(dir, "trigger.test")
	cmd := exec.CommandContext(ctx, "go", "test", "-c", "-o", out, "./internal/trigger")
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("bench: go test -c ./internal/trigger: %w\n%s", err, b)
	}
	return out, nil
}
