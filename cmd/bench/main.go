// Command bench (`make bench`) measures the function against a bare peer
// of the same job (test/benchdata/bare: the SDK's GetSecretValue, one
// net/http GET with Basic auth, json.Decode into a struct; for a webhook
// the same plus one SQS SendMessage), built and run in the same invocation,
// and against the floor (hello-world's cold first response, test/benchdata/hello,
// plus the round trips no implementation can skip), and prints one table of
// medians, ranges and same-run ratios, each beside its target and status:
//
//  1. stripped bootstrap size (linux/arm64 and linux/amd64), both built
//     like the bootstrap;
//  2. cold first response under the Lambda Runtime Interface Emulator, a
//     fresh emulator per run, of a read (events/http-api-read.json) and of a
//     webhook (events/webhook-participant-join.json, forwarded to one SQS
//     queue), at each simulated round-trip time (-rtt, default 0 and 20 ms):
//     every connection to SignalWire (the sandbox), Secrets Manager and SQS
//     (kumo, behind a TLS front like the real endpoints) goes through a
//     loopback proxy that costs one RTT for TCP, one for TLS and one per
//     request (rtt.go);
//  3. warm latency, the median of later invocations on the same emulators;
//  4. in-process CPU per invocation (internal/trigger's BenchmarkReadPath
//     and BenchmarkWebhookPath, canned in-memory upstream, -benchmem) of
//     trigger.Router.Invoke against the bare peer's Handler.Invoke on the
//     same event;
//  5. peak RSS of the bootstrap (/proc/<pid>/status VmHWM) after a long
//     warm run, and Secrets Manager GetSecretValue calls per 1,000 warm
//     invocations, counted by a reverse proxy in front of kumo;
//  6. against the official-SDK peer (test/benchdata/nodepeer: Node.js with
//     @signalwire/compatibility-api, installed with npm ci into the build
//     directory; skipped without node or npm): deployed size, the cold and
//     warm read at each RTT under the same RIE and network, and peak RSS.
//
// Everything runs on loopback with static test credentials and without
// AWS_CA_BUNDLE. The machine is shared, so absolute times are noise: compare
// the ratios, which pair measurements taken in the same round.
//
//	go run ./cmd/bench                     # defaults: -runs 15 -rtt 0,20ms -warm 500 -rounds 8
//	go run ./cmd/bench -out bench.md       # also write the table to bench.md
//	go run ./cmd/bench -pprof prof/        # also profile the in-process paths
package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/signalwire-lambda/participants/test/localenv"
	"github.com/signalwire-lambda/participants/test/sandbox"
	"github.com/signalwire-lambda/participants/test/signing"
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
	rtts      []time.Duration
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
	rtts := fs.String("rtt", "0,20ms", "simulated network round-trip times, comma-separated Go durations")
	fs.IntVar(&o.runs, "runs", 15, "cold starts per variant, route and RTT, each on a fresh emulator")
	fs.IntVar(&o.warm, "warm", 500, "timed warm invocations per route for peak RSS and Secrets Manager calls (the count covers 2×warm)")
	fs.IntVar(&o.rounds, "rounds", 8, "rounds of the in-process benchmarks, each running every benchmark once")
	fs.StringVar(&o.benchtime, "benchtime", "300ms", "go test -benchtime of each in-process benchmark per round")
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
	for _, f := range strings.Split(*rtts, ",") {
		f = strings.TrimSpace(f)
		if f == "0" {
			f = "0s"
		}
		d, err := time.ParseDuration(f)
		if err != nil || d < 0 {
			return fmt.Errorf("-rtt %q: want comma-separated durations", *rtts)
		}
		o.rtts = append(o.rtts, d)
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
	// Measurements run without this machine's CA bundle, as on Lambda.
	_ = os.Unsetenv("AWS_CA_BUNDLE")
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
	node, err := installNode(ctx, root, dir, progress)
	if err != nil {
		return err
	}
	if node.skipped != "" {
		progress("skipping the Node.js SDK peer: %s", node.skipped)
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
	events := map[string][]byte{}
	for route, file := range map[string]string{routeRead: "http-api-read.json", routeWebhook: "webhook-participant-join.json"} {
		if events[route], err = os.ReadFile(filepath.Join(root, "events", file)); err != nil {
			return fmt.Errorf("bench: %w", err)
		}
	}
	// The sample is signed for a fixed date, which the replay window refuses.
	if events[routeWebhook], err = signing.Restamp(events[routeWebhook], sandbox.SigningKey, localenv.DefaultPublicBaseURL+"/webhooks/signalwire", time.Now()); err != nil {
		return err
	}

	// 2 and 3 under the RIE, against kumo and the sandbox behind the simulated network.
	progress("starting kumo, the SignalWire sandbox and the simulated network")
	cert, certPEM, err := frontCert()
	if err != nil {
		return err
	}
	env, err := localenv.Start(ctx, localenv.Options{Sandbox: []sandbox.Option{sandbox.WithCertificate(cert)}})
	if err != nil {
		return err
	}
	defer env.Close()
	specs, closeNet, err := rttSpecs(ctx, dir, env, b, node, o.rtts, events, cert, certPEM)
	if err != nil {
		return err
	}
	defer closeNet()
	cold, err := measureCold(ctx, rieBin, specs, o.runs, logs, progress)
	if err != nil {
		return err
	}
	closeNet()
	warm, err := measureWarm(ctx, env, rieBin, b.host(ours), events[routeRead], events[routeWebhook], o.warm, logs, progress)
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

	t := buildTable(o, b, node, cold, warm, gb)
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

// Routes measured under the RIE.
const (
	routeRead    = "read"
	routeWebhook = "webhook"
)

// specName names one cold-start spec: variant, route, RTT, and a suffix for
// diagnostic configurations.
func specName(variant, route string, rtt time.Duration, suffix string) string {
	return fmt.Sprintf("%s/%s/%s%s", variant, route, rtt, suffix)
}

// noSpaceHost is the suffix of ours' read without SIGNALWIRE_SPACE_HOST
// (no connection opened at init): what the overlap saves.
const noSpaceHost = "/no-space-host"

// rttSpecs starts the simulated network for every RTT and returns the
// cold-start specs: hello once (the floor's fixed part), ours and the bare
// peer, read and webhook, at each RTT,
// plus ours' read without SIGNALWIRE_SPACE_HOST and, unless skipped, the
// Node.js SDK peer's read (trusting the same CA file through
// NODE_EXTRA_CA_CERTS). Each RTT has its own copy
// of the secret, whose space_host is that RTT's proxy in front of the
// sandbox. Both variants forward webhooks to the same SQS queue; ours has no
// other destination.
func rttSpecs(ctx context.Context, dir string, env *localenv.Env, b builds, node *nodePeer, rtts []time.Duration, events map[string][]byte, cert tls.Certificate, certPEM []byte) ([]coldSpec, func(), error) {
	caFile, err := writeCAFile(dir, env.CAFile, certPEM)
	if err != nil {
		return nil, nil, err
	}
	kumo := strings.TrimPrefix(env.KumoURL, "http://")
	roots, getPath, err := probeSetup(env.CAFile, certPEM, events[routeRead])
	if err != nil {
		return nil, nil, err
	}
	var nets []*upstreams
	closeNet := func() {
		for _, n := range nets {
			n.Close()
		}
		nets = nil
	}
	// hello makes no connection: one spec for every RTT's floor.
	specs := []coldSpec{{name: specName(hello, routeRead, 0, ""), bin: b.host(hello), env: env.FunctionEnv(localenv.WithVar("TZ", ":UTC")),
		payload: events[routeRead], check: hasStatus(200)}}
	for _, rtt := range rtts {
		n, err := startUpstreams(rtt, env.Sandbox.Host(), kumo, cert)
		if err != nil {
			closeNet()
			return nil, nil, err
		}
		nets = append(nets, n)
		secret := env.Secret()
		secret.SpaceHost = n.signalwire.Addr()
		name := fmt.Sprintf("%s-rtt-%d", env.SecretName, rtt.Milliseconds())
		raw, _ := json.Marshal(secret)
		if _, err := env.SecretsManager().CreateSecret(ctx, &secretsmanager.CreateSecretInput{
			Name: aws.String(name), SecretString: aws.String(string(raw)),
		}); err != nil {
			closeNet()
			return nil, nil, fmt.Errorf("bench: creating %s: %w", name, err)
		}
		base := []localenv.EnvOption{
			localenv.WithVar("SSL_CERT_FILE", caFile),
			localenv.WithVar("TZ", ":UTC"), // as Lambda sets it
			localenv.WithVar("SIGNALWIRE_SECRET_ID", name),
			localenv.WithVar("AWS_ENDPOINT_URL_SECRETS_MANAGER", "https://"+n.sm.Addr()),
			localenv.WithVar("AWS_ENDPOINT_URL_SQS", "https://"+n.sqs.Addr()),
			localenv.WithoutHTTPSDestination(),
			localenv.WithoutEventBus(),
		}
		withHost := append(slices.Clone(base), localenv.WithVar("SIGNALWIRE_SPACE_HOST", n.signalwire.Addr()))
		for _, v := range []string{ours, bare} {
			for _, route := range []string{routeRead, routeWebhook} {
				opts := withHost
				if v == bare {
					opts = base
				}
				specs = append(specs, coldSpec{name: specName(v, route, rtt, ""),
					bin: b.host(v), env: env.FunctionEnv(opts...), payload: events[route], check: hasStatus(200), conns: n.signalwire.Conns})
			}
		}
		specs = append(specs, coldSpec{name: specName(probe, routeRead, rtt, ""), probe: &netProbe{
			sm: n.sm.Addr(), space: n.signalwire.Addr(), secretID: name, getPath: getPath,
			user: secret.ProjectID, pass: secret.APIToken, roots: roots,
		}})
		specs = append(specs, coldSpec{name: specName(ours, routeRead, rtt, noSpaceHost),
			bin: b.host(ours), env: env.FunctionEnv(base...), payload: events[routeRead], check: hasStatus(200)})
		if node.skipped == "" {
			nodeEnv := append(slices.Clone(base), localenv.WithVar("NODE_EXTRA_CA_CERTS", caFile), localenv.WithVar("PATH", node.path))
			specs = append(specs, coldSpec{name: specName(nodeSDK, routeRead, rtt, ""), bin: node.bootstrap, proc: node.proc,
				env: env.FunctionEnv(nodeEnv...), payload: events[routeRead], check: hasStatus(200), conns: n.signalwire.Conns})
		}
	}
	return specs, closeNet, nil
}

// frontCert is the certificate of the TLS fronts and of the SignalWire
// sandbox under the bench: a self-signed ECDSA P-256
// certificate for 127.0.0.1, so that the fake endpoints' own handshake work
// (one signature) stays small, as a real endpoint's does; an RSA-2048
// signature costs about 1 ms of this machine's CPU on the cold path. It
// returns the certificate and its PEM.
func frontCert() (tls.Certificate, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("bench: front key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "bench front"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("bench: front certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}

// systemBundles are where a CA bundle may be; the first found is this
// machine's.
var systemBundles = []string{"/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/certs/ca-certificates.crt"}

// systemBundle returns this machine's CA bundle and its number of
// certificates (nil, 0 when it has none).
func systemBundle() ([]byte, int) {
	for _, f := range systemBundles {
		if b, err := os.ReadFile(f); err == nil {
			return b, bytes.Count(b, []byte("-----BEGIN CERTIFICATE-----"))
		}
	}
	return nil, 0
}

// writeCAFile writes the functions' CA file into dir and returns its path:
// the system bundle, so that loading the roots costs what it costs on
// Lambda (provided.al2023 parses /etc/pki/tls/certs/ca-bundle.crt, about
// 140 certificates, at the first TLS handshake), then the local
// environment's CA (the sandbox and the receiver) and the TLS fronts'
// certificate.
func writeCAFile(dir, envCA string, front []byte) (string, error) {
	all, _ := systemBundle()
	b, err := os.ReadFile(envCA)
	if err != nil {
		return "", fmt.Errorf("bench: %w", err)
	}
	all = append(append(append(all, '\n'), b...), front...)
	path := filepath.Join(dir, "ca-bundle.pem")
	if err := os.WriteFile(path, all, 0o644); err != nil {
		return "", fmt.Errorf("bench: %w", err)
	}
	return path, nil
}

// hostInfo describes the machine for the notes.
func hostInfo() string {
	return fmt.Sprintf("%s/%s, %d CPUs, %s", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version())
}
