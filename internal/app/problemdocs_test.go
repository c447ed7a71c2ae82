package app

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// emittedKinds returns the value of every problem* constant of this package
// and fails if a newProblem call outside the tests passes anything else,
// so that no kind escapes the documentation check.
func emittedKinds(t *testing.T) map[string]string {
	t.Helper()
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]string{}
	var calls []*ast.CallExpr
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.ValueSpec:
				for i, name := range x.Names {
					if strings.HasPrefix(name.Name, "problem") && i < len(x.Values) {
						if lit, ok := x.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
							if v, _ := strconv.Unquote(lit.Value); !strings.ContainsAny(v, "/#") { // not problemContentType, problemTypeBase
								kinds[name.Name] = v
							}
						}
					}
				}
			case *ast.CallExpr:
				if id, ok := x.Fun.(*ast.Ident); ok && id.Name == "newProblem" {
					calls = append(calls, x)
				}
			}
			return true
		})
	}
	for _, c := range calls {
		id, ok := c.Args[0].(*ast.Ident)
		if !ok || kinds[id.Name] == "" {
			t.Errorf("%s: newProblem with a kind that is not a problem* constant", fset.Position(c.Pos()))
		}
	}
	if len(kinds) == 0 {
		t.Fatal("no problem* constants found")
	}
	return kinds
}

// TestProblemTypesResolve: every problem type URI the code can emit points
// at docs/problems.md and at an anchor (a "## kind" heading) that exists
// there; the page documents no kind the code does not emit.
func TestProblemTypesResolve(t *testing.T) {
	const page = "https://github.com/signalwire-lambda/participants/blob/main/docs/problems.md#"
	if problemTypeBase != page {
		t.Fatalf("problemTypeBase = %q, want %q", problemTypeBase, page)
	}
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "problems.md"))
	if err != nil {
		t.Fatal(err)
	}
	heading := regexp.MustCompile(`(?m)^## ([a-z-]+)\n\*\*(\d{3})\*\*`)
	anchors := map[string]string{}
	for _, m := range heading.FindAllStringSubmatch(string(b), -1) {
		anchors[m[1]] = m[2]
	}
	var kinds []string
	for _, k := range emittedKinds(t) {
		kinds = append(kinds, k)
		if _, ok := anchors[k]; !ok {
			t.Errorf("problem type %s%s has no \"## %s\" section in docs/problems.md", page, k, k)
		}
	}
	for a := range anchors {
		if !slices.Contains(kinds, a) {
			t.Errorf("docs/problems.md documents %q, which the code never emits", a)
		}
	}
}
