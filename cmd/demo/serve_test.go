package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signalwire-lambda/participants/test/localenv"
	"github.com/signalwire-lambda/participants/test/samlocal"
)

// syncBuffer is a bytes.Buffer safe for the concurrent writes of run.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestHelpExitsZero(t *testing.T) {
	var out syncBuffer
	err := run(context.Background(), []string{"-h"}, &out, &out)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("run -h = %v, want flag.ErrHelp (main exits 0 on it)", err)
	}
	if !strings.Contains(out.String(), "-serve") {
		t.Errorf("usage does not list -serve:\n%s", out.String())
	}
}

// startHostMapper starts an HTTP proxy (CONNECT for TLS, absolute-form requests for
// plain HTTP) that maps host.docker.internal to 127.0.0.1 and refuses every
// other host: it stands in for Docker's host mapping, and keeps the
// bootstrap's traffic on loopback.
func startHostMapper(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mapHost := func(hostport string) (string, bool) {
		h, p, err := net.SplitHostPort(hostport)
		if err != nil || h != "host.docker.internal" {
			return "", false
		}
		return net.JoinHostPort("127.0.0.1", p), true
	}
	plain := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		to, _ := mapHost(r.In.URL.Host)
		r.Out.URL.Host = to
	}}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if r.Method != http.MethodConnect {
			host = r.URL.Host
		}
		to, ok := mapHost(host)
		if !ok {
			http.Error(w, "only host.docker.internal", http.StatusForbidden)
			return
		}
		if r.Method != http.MethodConnect {
			plain.ServeHTTP(w, r)
			return
		}
		upstream, err := net.Dial("tcp", to)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			_ = upstream.Close()
			return
		}
		_, _ = conn.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n"))
		go func() {
			_, _ = io.Copy(upstream, bufio.NewReader(io.MultiReader(buf.Reader, conn)))
			_ = upstream.Close()
		}()
		_, _ = io.Copy(conn, upstream)
		_ = conn.Close()
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String()
}

// TestServeForSAMLocalInvoke runs the demo's serve mode, checks the
// env-vars file it writes, then runs the real bootstrap under the RIE with
// the environment `sam local invoke --env-vars <file>` computes from it
// (test/samlocal), host.docker.internal mapped to loopback by a proxy and
// /var/task standing for the SAM build directory, and invokes every event.
func TestServeForSAMLocalInvoke(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the bootstrap")
	}
	if err := localenv.UseOfflineAWS(); err != nil {
		t.Fatal(err)
	}
	root, err := localenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	bin := t.TempDir()
	bootstrap, err := localenv.BuildBootstrap(ctx, bin, runtime.GOARCH)
	if err != nil {
		t.Fatal(err)
	}
	rie, err := localenv.BuildRIE(ctx, bin)
	if err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	build := filepath.Join(dir, "build")
	if err := os.Mkdir(build, 0o755); err != nil {
		t.Fatal(err)
	}
	envFile := filepath.Join(dir, "sam-env.json")
	serveCtx, stop := context.WithCancel(ctx)
	var out syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(serveCtx, []string{"-serve", "-listen", "127.0.0.1", "-sam-env", envFile, "-sam-build-dir", build}, &out, &out)
	}()
	t.Cleanup(func() { stop(); <-done })
	var file []byte
	for file == nil {
		select {
		case err := <-done:
			t.Fatalf("serve ended: %v\n%s", err, out.String())
		case <-time.After(20 * time.Millisecond):
			file, _ = os.ReadFile(envFile)
		}
	}

	// The file: one object for the function, only variables the template
	// declares (SAM drops the others), every address via host.docker.internal.
	var parsed map[string]map[string]string
	if err := json.Unmarshal(file, &parsed); err != nil || len(parsed) != 1 || parsed[FunctionID] == nil {
		t.Fatalf("env file: %v\n%s", err, file)
	}
	template, err := os.ReadFile(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	declared, err := samlocal.Declared(template, FunctionID)
	if err != nil {
		t.Fatal(err)
	}
	vars := parsed[FunctionID]
	for k := range vars {
		if !slices.Contains(declared, k) {
			t.Errorf("env file sets %s, which template.yaml does not declare: sam local ignores it", k)
		}
	}
	for _, k := range []string{"AWS_ENDPOINT_URL", "FORWARD_HTTPS_URL", "FORWARD_SQS_QUEUE_URL", "RETRY_QUEUE_URL", "DEAD_LETTER_QUEUE_URL"} {
		if !strings.Contains(vars[k], "://host.docker.internal:") {
			t.Errorf("%s = %q, want an address on host.docker.internal", k, vars[k])
		}
	}
	if vars["SSL_CERT_DIR"] != "/var/task/local-ca" {
		t.Errorf("SSL_CERT_DIR = %q", vars["SSL_CERT_DIR"])
	}
	if _, err := os.Stat(filepath.Join(build, "local-ca", "gateway.pem")); err != nil {
		t.Fatalf("certificate not in the build directory: %v", err)
	}

	overrides, err := samlocal.SamconfigParameterOverrides(filepath.Join(root, "samconfig.toml"), "default", "local_invoke")
	if err != nil {
		t.Fatal(err)
	}
	env, err := samlocal.FunctionEnv(samlocal.Input{
		Template: template, FunctionID: FunctionID, ParameterOverrides: overrides, EnvVars: file,
		Credentials: samlocal.Credentials{Key: "test", Secret: "test", Region: "us-east-1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	// What SAM's container adds: the mount of the build directory at
	// /var/task, and a route to the host through host.docker.internal.
	env["SSL_CERT_DIR"] = strings.Replace(env["SSL_CERT_DIR"], ContainerTaskDir, build, 1)
	proxy := startHostMapper(t)
	env["HTTPS_PROXY"], env["HTTP_PROXY"] = proxy, proxy
	env["PATH"], env["HOME"], env["AWS_EC2_METADATA_DISABLED"] = "/usr/bin:/bin", dir, "true"
	var list []string
	for k, v := range env {
		list = append(list, k+"="+v)
	}
	fn, err := localenv.StartRIE(ctx, rie, bootstrap, list, localenv.RIEOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer fn.Close()

	invoke := func(name string) string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(root, "events", name))
		if err != nil {
			t.Fatal(err)
		}
		got, err := fn.Invoke(ctx, b)
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, fn.Logs())
		}
		return string(got)
	}
	for name, want := range map[string]string{
		"http-api-read.json":            `"statusCode":200`,
		"direct-read.json":              `"call_sid"`,
		"webhook-participant-join.json": `\"outcome\":\"delivered\"`,
		"webhook-call-status.json":      `\"outcome\":\"delivered\"`,
		"webhook-forged.json":           `"statusCode":403`,
	} {
		if got := invoke(name); !strings.Contains(got, want) {
			t.Errorf("%s: want %s in %s\n%s", name, want, got, fn.Logs())
		}
	}
	// The servers keep answering: a second round after the first.
	if got := invoke("http-api-read.json"); !strings.Contains(got, `"statusCode":200`) {
		t.Errorf("second read: %s", got)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatalf("serve returned %v", err)
	}
	done <- nil // for the cleanup
	if !strings.Contains(out.String(), "HTTPS receiver got 2 signed deliveries") {
		t.Errorf("serve output:\n%s", out.String())
	}
}

// TestDemoRun: a normal run explains the deliberately bad SQS record and
// the id that arrives twice, and its stderr does not end on an error line
// (the bootstrap's shutdown noise when the emulator stops).
func TestDemoRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the bootstrap")
	}
	if err := localenv.UseOfflineAWS(); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr syncBuffer
	if err := run(context.Background(), nil, &stdout, &stderr); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{
		"7e2a4c6d-1b3f-4a5e-8c9d-0e1f2a3b4c5d  reported in batchItemFailures: deliberately not a stored webhook",
		"processed and delivered: a stored webhook",
		"arrives 2 times on purpose",
		"deduplicate on the id",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	last := lines[len(lines)-1]
	if strings.Contains(strings.ToLower(last), "error") || strings.Contains(last, "failed") || strings.Contains(last, "refused") {
		t.Errorf("stderr ends with an error line: %s", last)
	}
}
