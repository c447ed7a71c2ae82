package localenv_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/signalwire-lambda/participants/test/localenv"
)

// buildHello builds the emulator and the hello function into a temp dir.
func buildHello(t *testing.T) (rie, hello string) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the RIE and a bootstrap: skipped with -short")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	dir := t.TempDir()
	rie, err := localenv.BuildRIE(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	hello, err = localenv.BuildLambda(ctx, "./test/localenv/testdata/hello", filepath.Join(dir, "hello"), "")
	if err != nil {
		t.Fatal(err)
	}
	return rie, hello
}

func startRIE(t *testing.T, rie, bootstrap string, env []string) *localenv.RIE {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	r, err := localenv.StartRIE(ctx, rie, bootstrap, env, localenv.RIEOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

func TestRIERunsABootstrap(t *testing.T) {
	rieBin, hello := buildHello(t)
	env := start(t, localenv.Options{})
	r1 := startRIE(t, rieBin, hello, env.FunctionEnv(localenv.WithVar("HELLO_MARK", "first")))
	r2 := startRIE(t, rieBin, hello, env.FunctionEnv(localenv.WithVar("HELLO_MARK", "second")))
	if r1.URL() == r2.URL() {
		t.Fatalf("both emulators on %s", r1.URL())
	}
	for _, u := range []string{r1.URL(), r2.URL()} {
		if !strings.HasPrefix(u, "http://127.0.0.1:") || !strings.HasSuffix(u, localenv.InvocationPath) {
			t.Errorf("URL = %s", u)
		}
	}
	if r1.Startup() <= 0 || r1.FirstInvoke() != 0 {
		t.Errorf("Startup = %v, FirstInvoke before any invoke = %v", r1.Startup(), r1.FirstInvoke())
	}

	ctx := timeout(t)
	for i, payload := range []string{`{"hello":"world"}`, `[1,2,3]`} {
		got, err := r1.Invoke(ctx, []byte(payload))
		if err != nil {
			t.Fatalf("Invoke #%d: %v\nlogs:\n%s", i+1, err, r1.Logs())
		}
		if string(bytes.TrimSpace(got)) != payload {
			t.Errorf("Invoke #%d = %s, want %s", i+1, got, payload)
		}
	}
	if got, err := r2.Invoke(ctx, []byte(`"two"`)); err != nil || string(got) != `"two"` {
		t.Errorf("second emulator: %s, %v", got, err)
	}
	if r1.Invocations() != 2 || r1.FirstInvoke() <= 0 {
		t.Errorf("Invocations = %d, FirstInvoke = %v", r1.Invocations(), r1.FirstInvoke())
	}
	if err := r1.WaitForLog(ctx, `hello: invoked with [1,2,3]`); err != nil {
		t.Error(err)
	}
	// The bootstrap got the environment it was given, not the test's.
	for r, mark := range map[*localenv.RIE]string{r1: "first", r2: "second"} {
		if err := r.WaitForLog(ctx, "HELLO_MARK="+mark+"\n"); err != nil {
			t.Errorf("%v\nlogs:\n%s", err, r.Logs())
		}
	}
	if d, ok := r1.InitDuration(); !ok || d <= 0 {
		t.Errorf("InitDuration = %v, %v\nlogs:\n%s", d, ok, r1.Logs())
	}

	if err := r1.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-r1.Exited():
	default:
		t.Error("emulator still running after Close")
	}
	u, _ := url.Parse(r1.URL())
	if conn, err := net.DialTimeout("tcp", u.Host, time.Second); err == nil {
		_ = conn.Close()
		t.Error("emulator port still accepts connections after Close")
	}
	if _, err := r1.Invoke(ctx, []byte(`{}`)); err == nil {
		t.Error("Invoke after Close succeeded")
	}
	if err := r1.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestRIEReportsABrokenBootstrap(t *testing.T) {
	rieBin, _ := buildHello(t)
	broken := filepath.Join(t.TempDir(), "bootstrap")
	if err := os.WriteFile(broken, []byte("#!/bin/sh\necho broken bootstrap >&2\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	r := startRIE(t, rieBin, broken, []string{"PATH=/usr/bin:/bin", "AWS_LAMBDA_FUNCTION_TIMEOUT=5"})
	_, err := r.Invoke(timeout(t), []byte(`{}`))
	var ie *localenv.InvokeError
	if !errors.As(err, &ie) || ie.StatusCode < 400 {
		t.Errorf("Invoke = %v, want an InvokeError\nlogs:\n%s", err, r.Logs())
	}
	if err := r.WaitForLog(timeout(t), "broken bootstrap"); err != nil {
		t.Error(err)
	}
}

func TestStartRIEFailsFast(t *testing.T) {
	ctx := timeout(t)
	_, err := localenv.StartRIE(ctx, filepath.Join(t.TempDir(), "no-such-rie"), "/bin/true", nil, localenv.RIEOptions{})
	if err == nil {
		t.Fatal("StartRIE with a missing binary succeeded")
	}
}

func TestBuildBootstrap(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the function: skipped with -short")
	}
	root, err := localenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	if files, _ := filepath.Glob(filepath.Join(root, localenv.FunctionPackage, "*.go")); len(files) == 0 {
		t.Skip("functions/participants has no Go files yet")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	for _, arch := range []string{"amd64", "arm64"} {
		path, err := localenv.BuildBootstrap(ctx, filepath.Join(t.TempDir(), arch), arch)
		if err != nil {
			t.Fatal(err)
		}
		head := make([]byte, 4)
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.Read(head)
		_ = f.Close()
		if err != nil || string(head) != "\x7fELF" || filepath.Base(path) != "bootstrap" {
			t.Errorf("%s: %q is not an ELF bootstrap (%v)", arch, head, err)
		}
	}
}
