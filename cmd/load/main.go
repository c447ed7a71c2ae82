// Command load drives a bounded, mixed load against the function in a
// local environment (localenv: kumo, the SignalWire sandbox, the HTTPS
// receiver) and reports counts, latency percentiles and errors per kind of
// request, then checks that every accepted webhook was delivered to every
// destination, queued for retry or dead-lettered.
//
// The request mix: valid reads of the sandbox's participants, reads with
// hostile SIDs, freshly signed webhooks (a distinct SequenceNumber each, so
// event ids differ) and forged webhooks, spread over the HTTP API, REST API,
// Function URL and direct invocation shapes. After the mix, a few more
// signed webhooks are sent while the HTTPS destination is down (-outage):
// they must be answered "queued" and wait on the retry queue. Nothing
// consumes the retry queue during the run, so dead-lettering is reported
// (the dead-letter queue's depth) but not exercised.
//
// It builds the bootstrap, then by default runs the requests in process
// and concurrently through function.New, the handler the bootstrap runs,
// configured with the environment localenv gives the bootstrap (the RIE
// serialises invocations, so it cannot show concurrency). With -rie it
// runs them one at a time against the real bootstrap under the Lambda
// Runtime Interface Emulator instead. Everything stays on 127.0.0.1.
//
//	go run ./cmd/load                 # 2000 requests, 8 at a time, in process
//	go run ./cmd/load -n 500 -c 16
//	go run ./cmd/load -rie -n 300     # serial, under the emulator
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"time"

	"github.com/signalwire-lambda/participants/test/localenv"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o Options
	fs.IntVar(&o.N, "n", 2000, "number of requests")
	fs.IntVar(&o.Concurrency, "c", 8, "requests in flight at once (in-process run)")
	fs.IntVar(&o.Outage, "outage", 20, "signed webhooks sent after the mix while the HTTPS destination answers 503 (each is queued for retry)")
	fs.BoolVar(&o.RIE, "rie", false, "run serially against the bootstrap under the Lambda RIE instead of in process")
	fs.Uint64Var(&o.Seed, "seed", 1, "seed of the request mix")
	timeout := fs.Duration("timeout", 10*time.Minute, "stop everything after this long")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.N < 1 || o.Concurrency < 1 {
		return errors.New("-n and -c must be at least 1")
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	// kumo logs through the default slog logger.
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	o.Progress = func(format string, a ...any) { fmt.Fprintf(stderr, "load: "+format+"\n", a...) }

	root, err := localenv.ModuleRoot()
	if err != nil {
		return err
	}
	dir := filepath.Join(root, ".aws-sam", "load")
	o.Progress("building bootstrap (linux/%s, -tags lambda.norpc)", runtime.GOARCH)
	if o.Bootstrap, err = localenv.BuildBootstrap(ctx, dir, runtime.GOARCH); err != nil {
		return err
	}
	if o.RIE {
		o.Progress("building the Lambda Runtime Interface Emulator")
		if o.RIEBin, err = localenv.BuildRIE(ctx, dir); err != nil {
			return err
		}
	}
	rep, err := Run(ctx, o)
	if rep != nil {
		rep.Print(stdout)
	}
	if err != nil {
		return err
	}
	return rep.Check()
}
