// Command bench (`make bench`) measures the function against baselines
// built and run in the same invocation, and prints one table of medians,
// ranges and ratios, each beside its target:
//
//  1. stripped bootstrap size for linux/arm64 and linux/amd64, against a
//     hello-world aws-lambda-go function (test/benchdata/hello) and a
//     minimal one linking aws-lambda-go, config.LoadDefaultConfig and a
//     Secrets Manager client (test/benchdata/minsdk), all built with
//     the bootstrap's flags;
//  2. cold start under the Lambda Runtime Interface Emulator, a fresh
//     emulator per run: time to the first answer of a real read request
//     (events/http-api-read.json, against the SignalWire sandbox and kumo)
//     against the baselines answering a trivial event;
//  3. warm latency under the RIE of the read and the webhook route
//     (events/webhook-participant-join.json, signed for the local
//     PUBLIC_BASE_URL; delivered to every destination);
//  4. in-process per-request cost (internal/trigger's BenchmarkReadPath and
//     BenchmarkWebhookPath, -benchmem) against a bare net/http GET +
//     json.Unmarshal of the same participant;
//  5. peak RSS of the bootstrap (/proc/<pid>/status VmHWM) and Secrets
//     Manager GetSecretValue calls per 1,000 warm invocations, counted by a
//     reverse proxy in front of kumo.
//
// Diagnostic rows without targets explain the figures: the cold start of the
// function answering a route-not-found event (init only) and of its read
// with SSL_CERT_DIR pointing at an empty directory, minsdkcall
// (test/benchdata/minsdkcall) fetching the secret, minsdk with this
// machine's AWS_CA_BUNDLE, the CPU-only in-process paths and the read path
// against a sandbox answering after 5 ms.
//
// Everything runs on loopback with static test credentials. The machine is
// shared, so absolute times are noise: compare the ratios, which pair
// measurements taken in the same run (interleaved rounds).
//
//	go run ./cmd/bench                     # defaults: -runs 10 -warm 500 -rounds 10
//	go run ./cmd/bench -out bench.md       # also write the table to bench.md
//	go run ./cmd/bench -pprof prof/        # also profile the in-process paths
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"time"

	"github.com/signalwire-lambda/participants/test/localenv"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// options are the command's flags.
type options struct {
	runs      int
	warm      int
	rounds    int
	benchtime string
	out       string
	pprofDir  string
	verbose   bool
	keep      bool
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o options
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&o.runs, "runs", 10, "cold starts per variant, each on a fresh emulator")
	fs.IntVar(&o.warm, "warm", 500, "timed warm invocations per route under the RIE (the Secrets Manager count covers 2×warm)")
	fs.IntVar(&o.rounds, "rounds", 10, "rounds of the in-process benchmarks, each running every benchmark once")
	fs.StringVar(&o.benchtime, "benchtime", "400ms", "go test -benchtime of each in-process benchmark per round")
	fs.StringVar(&o.out, "out", "", "also write the table as markdown to this file")
	fs.StringVar(&o.pprofDir, "pprof", "", "also write CPU and allocation profiles of the in-process paths (and their pprof -top) to this directory")
	fs.BoolVar(&o.verbose, "v", false, "stream the functions' logs to stderr")
	fs.BoolVar(&o.keep, "keep", false, "keep the build directory")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.runs < 1 || o.warm < 1 || o.rounds < 1 {
		return fmt.Errorf("-runs, -warm and -rounds must be at least 1")
	}
	started := time.Now()
	progress := func(format string, a ...any) {
		fmt.Fprintf(stderr, "bench [%5.1fs]: %s\n", time.Since(started).Seconds(), fmt.Sprintf(format, a...))
	}
	// kumo logs through the default slog logger.
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := localenv.UseOfflineAWS(); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	var logs io.Writer
	if o.verbose {
		logs = stderr
	}

	root, err := localenv.ModuleRoot()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "bench-")
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	if o.keep {
		progress("build directory: %s", dir)
	} else {
		defer os.RemoveAll(dir)
	}

	// 1. Build everything first, so that no compilation competes with the timings.
	b, err := buildAll(ctx, dir, progress)
	if err != nil {
		return err
	}
	progress("building the Runtime Interface Emulator and the in-process benchmarks")
	rieBin, err := localenv.BuildRIE(ctx, dir)
	if err != nil {
		return err
	}
	testBin, err := buildTestBinary(ctx, root, dir)
	if err != nil {
		return err
	}
	readEvent, err := os.ReadFile(filepath.Join(root, "events", "http-api-read.json"))
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	webhookEvent, err := os.ReadFile(filepath.Join(root, "events", "webhook-participant-join.json"))
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}

	// 2, 3 and 5 under the RIE, against kumo and the sandbox.
	progress("starting kumo, the SignalWire sandbox and the HTTPS receiver")
	env, err := localenv.Start(ctx, localenv.Options{})
	if err != nil {
		return err
	}
	defer env.Close()
	fnEnv := env.FunctionEnv()
	emptyCertDir := filepath.Join(dir, "empty-cert-dir")
	if err := os.MkdirAll(emptyCertDir, 0o755); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	specs := []coldSpec{
		{name: ours, bin: b.host(ours), env: fnEnv, payload: readEvent, check: hasStatus(200)},
		{name: minsdk, bin: b.host(minsdk), env: fnEnv, payload: trivialEvent, check: echoes(trivialEvent)},
		{name: hello, bin: b.host(hello), env: fnEnv, payload: trivialEvent, check: echoes(trivialEvent)},
		{name: oursInit, bin: b.host(ours), env: fnEnv, payload: routeNotFoundEvent, check: hasStatus(404)},
		{name: oursCertDir, bin: b.host(ours), env: env.FunctionEnv(localenv.WithVar("SSL_CERT_DIR", emptyCertDir)), payload: readEvent, check: hasStatus(200)},
		{name: minsdkSecret, bin: b.host(minsdkCall), env: fnEnv, payload: []byte(`{"secret_id":` + strconv.Quote(env.SecretName) + `}`), check: contains(`"secret_bytes"`)},
	}
	caBundle := os.Getenv("AWS_CA_BUNDLE")
	if caBundle != "" {
		specs = append(specs, coldSpec{name: minsdkCA, bin: b.host(minsdk), env: append(append([]string(nil), fnEnv...), "AWS_CA_BUNDLE="+caBundle), payload: trivialEvent, check: echoes(trivialEvent)})
	}
	cold, err := measureCold(ctx, rieBin, specs, o.runs, logs, progress)
	if err != nil {
		return err
	}
	warm, err := measureWarm(ctx, env, rieBin, b.host(ours), readEvent, webhookEvent, o.warm, logs, progress)
	if err != nil {
		return err
	}
	if err := env.Close(); err != nil {
		progress("closing the local environment: %v", err)
	}

	// 4. In-process benchmarks, with nothing else of ours running.
	pkgDir := filepath.Join(root, "internal", "trigger")
	gb, err := runGoBench(ctx, testBin, pkgDir, o.rounds, o.benchtime, progress)
	if err != nil {
		return err
	}
	if o.pprofDir != "" {
		if err := profile(ctx, testBin, pkgDir, o.pprofDir, o.benchtime, progress); err != nil {
			return err
		}
	}

	t := buildTable(o, b, cold, warm, gb, caBundle != "")
	progress("done in %s", time.Since(started).Round(time.Second))
	if err := t.writeMarkdown(stdout); err != nil {
		return err
	}
	if o.out != "" {
		f, err := os.Create(o.out)
		if err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		if err := t.writeMarkdown(f); err != nil {
			_ = f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("bench: %w", err)
		}
	}
	return nil
}

// Names of the diagnostic cold-start specs.
const (
	oursInit     = "ours-init"     // the real function answering a route-not-found event
	oursCertDir  = "ours-certdir"  // the real read with SSL_CERT_DIR set to an empty directory
	minsdkSecret = "minsdk-secret" // minsdkcall fetching the function's secret from kumo
	minsdkCA     = "minsdk-ca"     // minsdk with this machine's AWS_CA_BUNDLE
)

// hostInfo describes the machine for the notes.
func hostInfo() string {
	return fmt.Sprintf("%s/%s, %d CPUs, %s", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version())
}
