package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/signalwire-lambda/participants/internal/function"
	"github.com/signalwire-lambda/participants/test/localenv"
)

// Request kinds.
const (
	KindRead       = "read"        // a valid read of a seeded participant: 200
	KindInvalidSID = "invalid-sid" // a read with a hostile SID: 400 invalid-sid (direct: InvalidSid)
	KindWebhook    = "webhook"     // a freshly signed webhook: 200, delivered or queued
	KindForged     = "forged"      // a forged or tampered webhook: 403 invalid-signature
	// KindOutage is a signed webhook sent while the HTTPS destination
	// answers 503: 200 "queued" (parked on the retry queue).
	KindOutage = "webhook-outage"
)

// Kinds lists the request kinds in report order.
var Kinds = []string{KindRead, KindInvalidSID, KindWebhook, KindForged, KindOutage}

// invocationTimeout is each invocation's deadline (the environment's
// AWS_LAMBDA_FUNCTION_TIMEOUT).
const invocationTimeout = localenv.DefaultFunctionTimeout * time.Second

// busRetention is how many matched events kumo keeps (process-wide): with
// more deliveries than this, the bus cannot be checked event by event.
const busRetention = 1000

// Options configures Run.
type Options struct {
	// N is the number of requests of the mix, Concurrency how many are in
	// flight at once (in process; the RIE runs one at a time).
	N, Concurrency int
	// Outage is the number of signed webhooks sent after the mix while the
	// HTTPS destination answers 503: each is answered "queued".
	Outage int
	// RIE runs the requests against Bootstrap under the emulator RIEBin
	// instead of in process.
	RIE               bool
	RIEBin, Bootstrap string
	// Seed makes the request mix reproducible.
	Seed uint64
	// Progress, when set, receives progress lines.
	Progress func(format string, a ...any)
}

// Run starts a local environment, runs the request mix and collects what
// reached the destinations. It returns the report even when collecting
// failed part way. The in-process run sets this process's AWS_* and
// SSL_CERT_FILE variables to the function's environment for its duration
// (the AWS SDK and crypto/x509 read them from the process); it must run
// before anything in the process has verified a TLS certificate.
func Run(ctx context.Context, o Options) (*Report, error) {
	progress := o.Progress
	if progress == nil {
		progress = func(string, ...any) {}
	}
	if err := localenv.UseOfflineAWS(); err != nil {
		return nil, err
	}
	env, err := localenv.Start(ctx, localenv.Options{})
	if err != nil {
		return nil, err
	}
	defer env.Close()
	progress("local environment up: kumo %s, sandbox https://%s, receiver %s", env.KumoURL, env.Sandbox.Host(), env.Receiver.URL())

	rep := &Report{N: o.N, Concurrency: max(o.Concurrency, 1), Kinds: map[string]*KindStats{}}
	var invoke invokeFunc
	if o.RIE {
		rep.Mode, rep.Concurrency = "RIE (bootstrap under the Runtime Interface Emulator, serial)", 1
		rie, err := localenv.StartRIE(ctx, o.RIEBin, o.Bootstrap, env.FunctionEnv(), localenv.RIEOptions{})
		if err != nil {
			return nil, err
		}
		defer rie.Close()
		invoke = rieInvoker(rie)
	} else {
		rep.Mode = "in process (function.New, the bootstrap's handler)"
		restore, err := useFunctionEnv(env)
		if err != nil {
			return nil, err
		}
		defer restore()
		vals := envMap(env.FunctionEnv())
		router, err := function.New(ctx, func(k string) string { return vals[k] }, io.Discard)
		if err != nil {
			return nil, fmt.Errorf("function.New: %w", err)
		}
		invoke = func(ctx context.Context, payload []byte) ([]byte, string, error) {
			out, err := router.Invoke(ctx, payload)
			var le messages.InvokeResponse_Error
			if errors.As(err, &le) {
				return out, le.Type, nil
			}
			return out, "", err
		}
	}

	key := env.Secret().SigningKey
	jobs := workload(o.N, o.Seed, key, env.PublicBaseURL)
	progress("running %d requests, %d in flight (%s)", len(jobs), rep.Concurrency, rep.Mode)
	start := time.Now()
	results := drive(ctx, invoke, jobs, rep.Concurrency)
	rep.Wall = time.Since(start)
	if o.Outage > 0 && ctx.Err() == nil {
		progress("HTTPS destination down: %d more signed webhooks", o.Outage)
		outage := outageWorkload(o.Outage, o.N, o.Seed, key, env.PublicBaseURL)
		env.Receiver.FailUntilRecover(503)
		results = append(results, drive(ctx, invoke, outage, rep.Concurrency)...)
		env.Receiver.Recover()
		jobs = append(jobs, outage...)
	}
	if err := ctx.Err(); err != nil {
		return rep, err
	}

	accepted := summarize(rep, jobs, results)
	progress("collecting what reached the destinations")
	return rep, collect(ctx, env, rep, accepted)
}
