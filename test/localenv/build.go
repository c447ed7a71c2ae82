package localenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
)

// FunctionPackage is the function's main package, relative to the module root.
const FunctionPackage = "./functions/participants"

// RIEPackage is the Runtime Interface Emulator's main package (a tool
// dependency in go.mod).
const RIEPackage = "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie"

// ModuleRoot returns the directory of the go.mod enclosing the working directory.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("localenv: working directory: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("localenv: no go.mod above the working directory")
		}
		dir = parent
	}
}

// BuildBootstrap builds the function as Lambda's provided.al2023 runtime
// expects it, into dir/bootstrap, and returns that path: CGO_ENABLED=0
// GOOS=linux GOARCH=goarch (the host's when empty) go build -tags
// lambda.norpc -trimpath -ldflags='-s -w' ./functions/participants.
func BuildBootstrap(ctx context.Context, dir, goarch string) (string, error) {
	return BuildLambda(ctx, FunctionPackage, dir, goarch)
}

// BuildLambda builds pkg (a package path, or a directory relative to the
// module root such as "./test/localenv/testdata/hello") like
// BuildBootstrap, into dir/bootstrap.
func BuildLambda(ctx context.Context, pkg, dir, goarch string) (string, error) {
	if goarch == "" {
		goarch = runtime.GOARCH
	}
	out, err := outputPath(dir, "bootstrap")
	if err != nil {
		return "", err
	}
	args := []string{"build", "-tags", "lambda.norpc", "-trimpath", "-buildvcs=false", "-ldflags=-s -w", "-o", out, pkg}
	if err := goCommand(ctx, args, "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+goarch); err != nil {
		return "", err
	}
	return out, nil
}

// BuildRIE builds the Runtime Interface Emulator for the host into
// dir/aws-lambda-rie and returns that path. Build it once and start it many
// times (StartRIE).
func BuildRIE(ctx context.Context, dir string) (string, error) {
	out, err := outputPath(dir, "aws-lambda-rie")
	if err != nil {
		return "", err
	}
	args := []string{"build", "-trimpath", "-buildvcs=false", "-o", out, RIEPackage}
	if err := goCommand(ctx, args, "CGO_ENABLED=0", "GOOS="+runtime.GOOS, "GOARCH="+runtime.GOARCH); err != nil {
		return "", err
	}
	return out, nil
}

func outputPath(dir, name string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("localenv: output directory %s: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return "", fmt.Errorf("localenv: output directory: %w", err)
	}
	return filepath.Join(abs, name), nil
}

// goCommand runs the go command in the module root with extra environment.
func goCommand(ctx context.Context, args []string, env ...string) error {
	root, err := ModuleRoot()
	if err != nil {
		return err
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("localenv: go command: %w", err)
	}
	cmd := exec.CommandContext(ctx, goBin, args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("localenv: go %v: %w\n%s", args, err, out)
	}
	return nil
}
