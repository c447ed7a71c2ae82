// Package layering holds tests of the product's package structure: what
// docs/DESIGN.md promises about who may import what. It has no non-test code.
package layering

import (
	"go/parser"
	"go/token"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/signalwire-lambda/participants/"

// lambdaAware are the only product packages that may know Lambda's types:
// the trigger adapters and the wiring.
var lambdaAware = []string{"internal/trigger", "internal/function"}

// imports returns the non-test imports of every package under internal/, by
// package directory relative to the module root.
func imports(t *testing.T) map[string][]string {
	t.Helper()
	root := filepath.Join("..", "..")
	out := map[string][]string{}
	err := filepath.WalkDir(filepath.Join(root, "internal"), func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "testdata" {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		dir, err := filepath.Rel(root, filepath.Dir(path))
		if err != nil {
			return err
		}
		dir = filepath.ToSlash(dir)
		out[dir] = append(out[dir], "") // the package exists even without imports
		for _, imp := range f.Imports {
			p, err := strconv.Unquote(imp.Path.Value)
			if err != nil {
				return err
			}
			out[dir] = append(out[dir], p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestCoreKnowsNothingOfLambda: no product package but trigger and function
// imports aws-lambda-go, directly or through another product package.
func TestCoreKnowsNothingOfLambda(t *testing.T) {
	graph := imports(t)
	if len(graph) < 10 {
		t.Fatalf("found %d packages under internal/; is the test run from test/layering?", len(graph))
	}
	for pkg := range graph {
		if slices.Contains(lambdaAware, pkg) {
			continue
		}
		seen := map[string]bool{}
		var path []string
		var visit func(p string) bool
		visit = func(p string) bool {
			if seen[p] {
				return false
			}
			seen[p] = true
			path = append(path, p)
			for _, imp := range graph[p] {
				if strings.HasPrefix(imp, "github.com/aws/aws-lambda-go") {
					path = append(path, imp)
					return true
				}
				if dep, ok := strings.CutPrefix(imp, module); ok && !slices.Contains(lambdaAware, dep) && visit(dep) {
					return true
				}
			}
			path = path[:len(path)-1]
			return false
		}
		if visit(pkg) {
			t.Errorf("%s knows Lambda: %s", pkg, strings.Join(path, " -> "))
		}
	}
}

// TestAWebhookTouchesAtMostTenPackages: an invocation enters through
// internal/trigger, so every product package a webhook (or a read) runs
// through is in trigger's import closure; the wiring (function, config)
// runs at init only. Issue 17 bounds that closure at 10 packages.
func TestAWebhookTouchesAtMostTenPackages(t *testing.T) {
	graph := imports(t)
	seen := map[string]bool{}
	var visit func(p string)
	visit = func(p string) {
		if seen[p] {
			return
		}
		seen[p] = true
		for _, imp := range graph[p] {
			if dep, ok := strings.CutPrefix(imp, module); ok {
				visit(dep)
			}
		}
	}
	visit("internal/trigger")
	if len(seen) > 10 || seen["internal/function"] || seen["internal/config"] {
		t.Errorf("an invocation reaches %d product packages (at most 10, neither function nor config): %v", len(seen), slices.Sorted(maps.Keys(seen)))
	}
	t.Logf("an invocation reaches %d product packages: %v", len(seen), slices.Sorted(maps.Keys(seen)))
}
