package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/signalwire-lambda/participants/test/localenv"
)

// FunctionID is the function's logical id in template.yaml: the key of its
// variables in a `sam local invoke --env-vars` file.
const FunctionID = "ParticipantsFunction"

// ContainerTaskDir is where `sam local invoke` mounts the function's built
// code (the SAM build directory) inside its container.
const ContainerTaskDir = "/var/task"

// caSubdir is the directory, inside the SAM build directory, that holds the
// gateway's certificate; SSL_CERT_DIR points at it in the container.
const caSubdir = "local-ca"

// serveOptions configures serve mode.
type serveOptions struct {
	listen    string // address the gateway listens on (IP or host)
	advertise string // host name the container uses to reach it
	envFile   string // where to write the --env-vars file
	buildDir  string // SAM's build directory of the function (mounted at /var/task)
}

// gateway makes the local world reachable from SAM's container: kumo (plain
// HTTP), the SignalWire sandbox and the HTTPS receiver (TLS re-terminated
// with a certificate for the advertised host name, since the originals are
// httptest's certificates for 127.0.0.1 only).
type gateway struct {
	servers []*http.Server
	certPEM []byte
	kumo    string // http://advertise:port
	sandbox string // advertise:port (the secret's space_host)
	recv    string // https://advertise:port
}

func startGateway(env *localenv.Env, listen, advertise string) (*gateway, error) {
	cert, certPEM, err := selfSigned(advertise, listen)
	if err != nil {
		return nil, err
	}
	g := &gateway{certPEM: certPEM}
	tlsCfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	quiet := log.New(io.Discard, "", 0)
	start := func(target string, transport http.RoundTripper, withTLS bool) (int, error) {
		u, err := url.Parse(target)
		if err != nil {
			return 0, fmt.Errorf("demo: gateway target %q: %w", target, err)
		}
		proxy := httputil.NewSingleHostReverseProxy(u)
		proxy.Transport = transport
		proxy.ErrorLog = quiet
		ln, err := net.Listen("tcp", net.JoinHostPort(listen, "0"))
		if err != nil {
			return 0, fmt.Errorf("demo: gateway listen on %s: %w", listen, err)
		}
		srv := &http.Server{Handler: proxy, ReadHeaderTimeout: 10 * time.Second, ErrorLog: quiet}
		g.servers = append(g.servers, srv)
		if withTLS {
			ln = tls.NewListener(ln, tlsCfg)
		}
		go func() { _ = srv.Serve(ln) }()
		return ln.Addr().(*net.TCPAddr).Port, nil
	}
	hostPort := func(p int) string { return net.JoinHostPort(advertise, strconv.Itoa(p)) }
	kp, err := start(env.KumoURL, http.DefaultTransport, false)
	if err != nil {
		return nil, errors.Join(err, g.Close())
	}
	g.kumo = "http://" + hostPort(kp)
	sp, err := start(env.Sandbox.URL(), env.Sandbox.Client().Transport, true)
	if err != nil {
		return nil, errors.Join(err, g.Close())
	}
	g.sandbox = hostPort(sp)
	rp, err := start(origin(env.Receiver.URL()), env.Receiver.Client().Transport, true)
	if err != nil {
		return nil, errors.Join(err, g.Close())
	}
	g.recv = "https://" + hostPort(rp)
	return g, nil
}

// Close stops the gateway's servers.
func (g *gateway) Close() error {
	var errs []error
	for _, s := range g.servers {
		if err := s.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// origin returns scheme://host of a URL.
func origin(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return s
	}
	return u.Scheme + "://" + u.Host
}

// rehost replaces the scheme and host of a URL with base's (path kept).
func rehost(s, base string) string {
	u, err := url.Parse(s)
	if err != nil {
		return s
	}
	return base + u.RequestURI()
}

// selfSigned returns a fresh self-signed certificate (its own CA) for the
// advertised host name, localhost and the listen address.
func selfSigned(names ...string) (tls.Certificate, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("demo: key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("demo: serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "signalwire-participants demo gateway"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(7 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if n != "" {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("demo: certificate: %w", err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, certPEM, nil
}

// samEnvVars is the --env-vars file for `sam local invoke`: every value the
// container needs to use the local world through the gateway. SAM applies
// only variables template.yaml declares for the function.
func samEnvVars(env *localenv.Env, g *gateway) map[string]map[string]string {
	return map[string]map[string]string{FunctionID: {
		"SIGNALWIRE_SECRET_ID":           env.SecretName,
		"LOG_LEVEL":                      "info",
		"WEBHOOK_SIGNATURE_VERIFICATION": "on",
		"WEBHOOK_MAX_AGE":                "off", // events/ are signed for a fixed date
		"PUBLIC_BASE_URL":                "",
		"FORWARD_HTTPS_URL":              g.recv + localenv.ReceiverPath,
		"FORWARD_EVENT_BUS":              env.EventBusName,
		"FORWARD_SQS_QUEUE_URL":          rehost(env.DestinationQueueURL, g.kumo),
		"RETRY_QUEUE_URL":                rehost(env.RetryQueueURL, g.kumo),
		"DEAD_LETTER_QUEUE_URL":          rehost(env.RetryDLQURL, g.kumo),
		"RETRY_MAX_RECEIVE_COUNT":        strconv.Itoa(env.MaxReceiveCount),
		"AWS_ENDPOINT_URL":               g.kumo,
		"SSL_CERT_DIR":                   ContainerTaskDir + "/" + caSubdir,
	}}
}

// serve keeps the local world running for `sam local invoke`: it starts
// the gateway, points the secret's space_host at it, writes the gateway's
// certificate into the SAM build directory and the --env-vars file, and
// waits for ctx. Run `sam build` first: the build directory must exist.
func serve(ctx context.Context, env *localenv.Env, opts serveOptions, stdout io.Writer) error {
	g, err := startGateway(env, opts.listen, opts.advertise)
	if err != nil {
		return err
	}
	defer g.Close()
	s := env.Secret()
	s.SpaceHost = g.sandbox
	if err := env.PutSecret(ctx, s); err != nil {
		return err
	}
	if fi, err := os.Stat(opts.buildDir); err != nil || !fi.IsDir() {
		return fmt.Errorf("demo: no SAM build directory %s (sam local invoke mounts it at %s): run `sam build` first", opts.buildDir, ContainerTaskDir)
	}
	caDir := filepath.Join(opts.buildDir, caSubdir)
	if err := os.MkdirAll(caDir, 0o755); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if err := os.WriteFile(filepath.Join(caDir, "gateway.pem"), g.certPEM, 0o644); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	b, err := json.MarshalIndent(samEnvVars(env, g), "", "  ")
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if dir := filepath.Dir(opts.envFile); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("demo: %w", err)
		}
	}
	// Written last (rename): its presence means everything is up.
	tmp := opts.envFile + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if err := os.Rename(tmp, opts.envFile); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	fmt.Fprintf(stdout, `serving the local world for sam local invoke (Ctrl-C stops it):
  AWS (kumo)         %s   secret %q, retry queue + DLQ, destination queue, bus %q
  SignalWire sandbox https://%s
  HTTPS receiver     %s
  listening on %s; the container reaches it as %s
  certificate        %s (the container trusts it through SSL_CERT_DIR=%s/%s)
  env-vars file      %s

in another terminal (after a new sam build, start this again: it rewrites the certificate):
  sam local invoke -e events/http-api-read.json --env-vars %s
or  sam local start-api --env-vars %s   and, for a signed webhook,
  go run ./cmd/demo -sign http://127.0.0.1:3000/webhooks/signalwire
`, g.kumo, env.SecretName, env.EventBusName, g.sandbox, g.recv, opts.listen, opts.advertise,
		filepath.Join(caDir, "gateway.pem"), ContainerTaskDir, caSubdir, opts.envFile, opts.envFile, opts.envFile)
	<-ctx.Done()
	fmt.Fprintf(stdout, "\nstopped. HTTPS receiver got %d signed deliveries.\n", len(env.Receiver.Accepted()))
	return nil
}
