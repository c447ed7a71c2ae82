package template_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// cfnLint returns the command that runs cfn-lint, or skips the test when
// cfn-lint is not installed (never under CI=true, where it must run).
func cfnLint(t *testing.T) []string {
	t.Helper()
	if p, err := exec.LookPath("cfn-lint"); err == nil {
		return []string{p}
	}
	if py, err := exec.LookPath("python3"); err == nil && exec.Command(py, "-c", "import cfnlint").Run() == nil {
		return []string{py, "-c", "import sys; from cfnlint.runner import main; sys.exit(main())"}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("cfn-lint is not installed (pip install cfn-lint) and CI=true: it must run in CI")
	}
	t.Skip("cfn-lint not installed (pip install cfn-lint)")
	return nil
}

func runCfnLint(t *testing.T, lint []string, path string) (string, error) {
	t.Helper()
	cmd := exec.Command(lint[0], append(lint[1:], "--format", "parseable", path)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestCfnLint: cfn-lint, SAM transform included, finds no error, warning
// or informational issue in template.yaml.
func TestCfnLint(t *testing.T) {
	lint := cfnLint(t)
	if out, err := runCfnLint(t, lint, templatePath); err != nil || strings.TrimSpace(out) != "" {
		t.Fatalf("cfn-lint template.yaml: %v\n%s", err, out)
	}
	// The same run fails on a template with a known defect (a string
	// where SQS wants an integer), so the check above is not vacuous.
	bad := strings.Replace(string(readTemplate(t)), "VisibilityTimeout: 60", "VisibilityTimeout: sixty", 1)
	if bad == string(readTemplate(t)) {
		t.Fatal("template.yaml has no \"VisibilityTimeout: 60\" to break")
	}
	path := filepath.Join(t.TempDir(), "template.yaml")
	if err := os.WriteFile(path, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := runCfnLint(t, lint, path); err == nil || !strings.Contains(out, "E3012") {
		t.Fatalf("cfn-lint accepted a broken template: %v\n%s", err, out)
	}
}
