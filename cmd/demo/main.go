// Command demo is the README's local run. On a machine with only Go it
// builds the real bootstrap, starts a local AWS (kumo: Secrets Manager
// holding the credentials secret, SQS, EventBridge), the local SignalWire
// sandbox and an HTTPS receiver, runs the bootstrap under the AWS Lambda
// Runtime Interface Emulator as `sam local invoke` does inside its
// container, invokes it with every file in events/, and prints the answers
// and what reached each destination. The function's JSON logs and EMF lines
// go to stderr.
//
//	go run ./cmd/demo                  # every event
//	go run ./cmd/demo -event events/direct-read.json
//	go run ./cmd/demo -serve -sam-env .aws-sam/demo-env.json   # for sam local invoke
//	go run ./cmd/demo -sign http://127.0.0.1:3000/webhooks/signalwire  # a signed curl for sam local start-api
//
// With -serve it builds nothing and invokes nothing: it keeps kumo, the
// sandbox and the receiver running behind a gateway reachable from SAM's
// container (host.docker.internal) and writes a `sam local invoke
// --env-vars` file pointing the function at them (see serve.go).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/signalwire-lambda/participants/test/localenv"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return // -h: the usage was printed
		}
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	event := fs.String("event", "", "invoke only this event file (default: every file in events/)")
	quiet := fs.Bool("quiet", false, "do not stream the function's logs to stderr")
	serveMode := fs.Bool("serve", false, "keep kumo, the SignalWire sandbox and the receiver running for sam local invoke (Ctrl-C stops)")
	samEnv := fs.String("sam-env", filepath.Join(".aws-sam", "demo-env.json"), "with -serve: where to write the env-vars file for sam local invoke --env-vars")
	listen := fs.String("listen", "127.0.0.1", "with -serve: address the gateway listens on (0.0.0.0 or Docker's bridge address on Linux)")
	advertise := fs.String("advertise-host", "host.docker.internal", "with -serve: host name SAM's container uses to reach this machine")
	sign := fs.String("sign", "", "print a curl command POSTing -event's body (default events/webhook-participant-join.json) to this URL, signed for it with the demo secret's key (sam local start-api)")
	samBuild := fs.String("sam-build-dir", filepath.Join(".aws-sam", "build", "ParticipantsFunction"), "with -serve: the function's sam build output, mounted at /var/task in the container")
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	// kumo logs through the default slog logger; keep stdout for results.
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	// The demo's own SDK clients (talking to kumo) stay on this machine too.
	if err := localenv.UseOfflineAWS(); err != nil {
		return err
	}
	root, err := localenv.ModuleRoot()
	if err != nil {
		return err
	}
	if *sign != "" {
		if *event == "" {
			*event = filepath.Join("events", "webhook-participant-join.json")
		}
		if !filepath.IsAbs(*event) {
			*event = filepath.Join(root, *event)
		}
		cmd, err := signedCurl(*event, *sign)
		fmt.Fprintln(stdout, cmd)
		return err
	}
	if *serveMode {
		env, err := localenv.Start(ctx, localenv.Options{ExactNames: true})
		if err != nil {
			return err
		}
		defer env.Close()
		return serve(ctx, env, serveOptions{listen: *listen, advertise: *advertise, envFile: *samEnv, buildDir: *samBuild}, stdout)
	}
	files, err := eventFiles(root, *event)
	if err != nil {
		return err
	}

	buildDir := filepath.Join(root, ".aws-sam", "local")
	fmt.Fprintf(stdout, "building bootstrap (linux/%s, -tags lambda.norpc) and the Lambda Runtime Interface Emulator...\n", runtime.GOARCH)
	bootstrap, err := localenv.BuildBootstrap(ctx, buildDir, runtime.GOARCH)
	if err != nil {
		return err
	}
	rie, err := localenv.BuildRIE(ctx, buildDir)
	if err != nil {
		return err
	}

	env, err := localenv.Start(ctx, localenv.Options{ExactNames: true})
	if err != nil {
		return err
	}
	defer env.Close()
	fmt.Fprintf(stdout, "local AWS (kumo) at %s: secret %q, retry queue + DLQ, destination queue, bus %q\n", env.KumoURL, env.SecretName, env.EventBusName)
	fmt.Fprintf(stdout, "SignalWire sandbox at https://%s, HTTPS receiver at %s\n", env.Sandbox.Host(), env.Receiver.URL())

	// The logs stop before the emulator is killed: the bootstrap's last
	// words ("failed to get the next invoke: connection refused") are the
	// shutdown, not an error of the run.
	logs := &gatedWriter{w: io.Discard}
	if !*quiet {
		logs.w = stderr
	}
	fn, err := localenv.StartRIE(ctx, rie, bootstrap, env.FunctionEnv(), localenv.RIEOptions{LogOutput: logs})
	if err != nil {
		return err
	}
	defer fn.Close()
	defer logs.close()
	fmt.Fprintf(stdout, "bootstrap running under the RIE at %s\n", fn.URL())

	for _, f := range files {
		payload, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		start := time.Now()
		out, err := fn.Invoke(ctx, payload)
		if err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		rel, _ := filepath.Rel(root, f)
		fmt.Fprintf(stdout, "\n=== %s (%s)\n%s\n", rel, time.Since(start).Round(time.Millisecond), describe(out))
		if note := explainBatch(payload, out); note != "" {
			fmt.Fprintln(stdout, note)
		}
	}
	if fn.FirstInvoke() > 0 {
		fmt.Fprintf(stdout, "\ncold start (first invocation, RIE round trip): %s\n", fn.FirstInvoke().Round(time.Millisecond))
	}
	return summarizeDestinations(ctx, env, stdout)
}

// eventFiles lists the event files to invoke, sorted; env.json is the
// environment file for `sam local invoke --env-vars`, not an event.
func eventFiles(root, only string) ([]string, error) {
	if only != "" {
		if !filepath.IsAbs(only) {
			only = filepath.Join(root, only)
		}
		return []string{only}, nil
	}
	all, err := filepath.Glob(filepath.Join(root, "events", "*.json"))
	if err != nil {
		return nil, err
	}
	var files []string
	for _, f := range all {
		if filepath.Base(f) != "env.json" {
			files = append(files, f)
		}
	}
	sort.Strings(files)
	return files, nil
}

// describe renders an invocation result: HTTP-shaped answers as status,
// content type and indented body; anything else indented as is.
func describe(out []byte) string {
	var resp struct {
		StatusCode *int              `json:"statusCode"`
		Headers    map[string]string `json:"headers"`
		Body       string            `json:"body"`
	}
	if json.Unmarshal(out, &resp) == nil && resp.StatusCode != nil {
		return fmt.Sprintf("HTTP %d %s\n%s", *resp.StatusCode, resp.Headers["Content-Type"], indent([]byte(resp.Body)))
	}
	return indent(out)
}

func indent(b []byte) string {
	var buf bytes.Buffer
	if json.Indent(&buf, b, "", "  ") != nil {
		return string(b)
	}
	return buf.String()
}

// summarizeDestinations prints what reached the HTTPS receiver, the
// EventBridge bus and the SQS queues.
func summarizeDestinations(ctx context.Context, env *localenv.Env, stdout io.Writer) error {
	wait, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	fmt.Fprintln(stdout, "\n=== destinations")
	accepted := env.Receiver.Accepted()
	fmt.Fprintf(stdout, "HTTPS receiver: %d signed deliveries\n", len(accepted))
	seen := map[string]int{}
	for _, r := range accepted {
		fmt.Fprintf(stdout, "  webhook-id %s  %s\n", r.Header.Get("webhook-id"), summary(r.Body))
		seen[r.Header.Get("webhook-id")]++
	}
	for id, n := range seen {
		if n > 1 {
			fmt.Fprintf(stdout, "  (%s arrives %d times on purpose: events/sqs-retry-batch.json carries a stored retry of the\n"+
				"   same participant-join callback as events/webhook-participant-join.json. One callback keeps one id and\n"+
				"   one envelope however often it is delivered: delivery is at-least-once, deduplicate on the id.)\n", id, n)
		}
	}
	events, _ := env.WaitEvents(wait, len(accepted))
	fmt.Fprintf(stdout, "EventBridge bus %s: %d events\n", env.EventBusName, len(events))
	for _, e := range events {
		fmt.Fprintf(stdout, "  %s / %s  %s\n", e.Source, e.DetailType, summary(e.Detail))
	}
	msgs, _ := env.WaitMessages(wait, env.DestinationQueueURL, len(accepted))
	fmt.Fprintf(stdout, "SQS destination queue: %d messages\n", len(msgs))
	for _, m := range msgs {
		if m.Body != nil {
			fmt.Fprintf(stdout, "  %s\n", summary([]byte(*m.Body)))
		}
	}
	if len(accepted) > 0 {
		fmt.Fprintf(stdout, "\none forwarded envelope:\n%s\n", indent(accepted[0].Body))
	}
	retry, err := env.QueueDepth(ctx, env.RetryQueueURL)
	if err != nil {
		return err
	}
	dlq, err := env.QueueDepth(ctx, env.RetryDLQURL)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "retry queue: %d waiting, dead-letter queue: %d\n", retry, dlq)
	return nil
}

// summary is one line about an envelope: id, type and participant lookup.
func summary(b []byte) string {
	var env struct {
		ID     string `json:"id"`
		Type   string `json:"type"`
		Lookup string `json:"participant_lookup"`
	}
	if json.Unmarshal(b, &env) != nil || env.ID == "" {
		return strings.TrimSpace(string(b))
	}
	return fmt.Sprintf("%s %s participant:%s", env.ID, env.Type, env.Lookup)
}

// gatedWriter forwards writes until close; after it, writes are dropped.
type gatedWriter struct {
	mu     sync.Mutex
	w      io.Writer
	closed bool
}

func (g *gatedWriter) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return len(p), nil
	}
	return g.w.Write(p)
}

func (g *gatedWriter) close() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
}

// explainBatch explains the answer to an SQS event: which records the
// function reported as failures (SQS retries only those) and why.
func explainBatch(payload, out []byte) string {
	var in struct {
		Records []struct {
			MessageID   string `json:"messageId"`
			EventSource string `json:"eventSource"`
			Body        string `json:"body"`
		} `json:"Records"`
	}
	var resp struct {
		Failures []struct {
			ID string `json:"itemIdentifier"`
		} `json:"batchItemFailures"`
	}
	if json.Unmarshal(payload, &in) != nil || len(in.Records) == 0 || in.Records[0].EventSource != "aws:sqs" || json.Unmarshal(out, &resp) != nil {
		return ""
	}
	failed := map[string]bool{}
	for _, f := range resp.Failures {
		failed[f.ID] = true
	}
	var b strings.Builder
	fmt.Fprintf(&b, "what happened: a batch of %d records from the retry queue.\n", len(in.Records))
	for _, r := range in.Records {
		body := r.Body
		if len(body) > 60 {
			body = body[:60] + "…"
		}
		if failed[r.MessageID] {
			fmt.Fprintf(&b, "  %s  reported in batchItemFailures: deliberately not a stored webhook (%s); SQS retries only\n"+
				"      this record and, after maxReceiveCount receives, moves it to the dead-letter queue\n", r.MessageID, body)
		} else {
			fmt.Fprintf(&b, "  %s  processed and delivered: a stored webhook, so SQS deletes it\n", r.MessageID)
		}
	}
	return strings.TrimRight(b.String(), "\n")
}
