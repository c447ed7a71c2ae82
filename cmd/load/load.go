package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/signalwire-lambda/participants/internal/app"
	"github.com/signalwire-lambda/participants/internal/function"
	"github.com/signalwire-lambda/participants/internal/problem"
	"github.com/signalwire-lambda/participants/internal/webhook"
	"github.com/signalwire-lambda/participants/test/httpevent"
	"github.com/signalwire-lambda/participants/test/localenv"
	"github.com/signalwire-lambda/participants/test/sandbox"
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

// KindStats summarises one kind of request.
type KindStats struct {
	Count, OK int
	P50, P99  time.Duration
	// Errors counts the unexpected answers by description.
	Errors map[string]int
}

// Report is the outcome of a run.
type Report struct {
	Mode        string
	N           int
	Concurrency int
	Wall        time.Duration
	Kinds       map[string]*KindStats

	// WebhooksSent are the signed webhooks sent (outage ones included);
	// Accepted those answered
	// 200 "delivered" (AcceptedDelivered) or "queued" (AcceptedQueued).
	WebhooksSent, Accepted, AcceptedDelivered, AcceptedQueued int
	// ForgedSent forged webhooks, ForgedRejected of them answered 403.
	ForgedSent, ForgedRejected int

	// Distinct envelope ids of accepted webhooks found at each destination.
	ReceiverAccepted, BusEvents, QueueMessages int
	// BusChecked is false when more events were expected than kumo keeps.
	BusChecked bool
	// Delivered is the accepted webhooks found at every (checked) destination.
	Delivered int
	// Queued is the retry queue's depth, DeadLettered its dead-letter queue's.
	Queued, DeadLettered int
	// Unaccounted are envelope ids found at a destination that no accepted
	// webhook produced (e.g. a forged one).
	Unaccounted int
}

// Unexpected returns the number of requests whose answer was not the one
// their kind expects.
func (r *Report) Unexpected() int {
	n := 0
	for _, k := range r.Kinds {
		n += k.Count - k.OK
	}
	return n
}

// Check returns an error unless every answer was the expected one, every
// forged webhook was rejected with 403, nothing unknown reached a
// destination and accepted = delivered + queued + dead-lettered.
func (r *Report) Check() error {
	var errs []error
	if n := r.Unexpected(); n > 0 {
		errs = append(errs, fmt.Errorf("%d unexpected answers", n))
	}
	if r.ForgedRejected != r.ForgedSent {
		errs = append(errs, fmt.Errorf("%d of %d forged webhooks rejected with 403", r.ForgedRejected, r.ForgedSent))
	}
	if r.Unaccounted > 0 {
		errs = append(errs, fmt.Errorf("%d events at the destinations come from no accepted webhook", r.Unaccounted))
	}
	if r.Accepted != r.Delivered+r.Queued+r.DeadLettered {
		errs = append(errs, fmt.Errorf("accepted %d != delivered %d + queued %d + dead-lettered %d", r.Accepted, r.Delivered, r.Queued, r.DeadLettered))
	}
	return errors.Join(errs...)
}

// Print writes the report as a table.
func (r *Report) Print(w io.Writer) {
	fmt.Fprintf(w, "\n%s: %d requests, %d in flight, %s wall (%.0f req/s)\n\n", r.Mode, r.N, r.Concurrency,
		r.Wall.Round(time.Millisecond), float64(r.N)/max(r.Wall.Seconds(), 1e-9))
	fmt.Fprintf(w, "%-15s %6s %6s %10s %10s %7s\n", "kind", "count", "ok", "p50", "p99", "errors")
	for _, name := range Kinds {
		k := r.Kinds[name]
		fmt.Fprintf(w, "%-15s %6d %6d %10s %10s %7d\n", name, k.Count, k.OK, fmtDur(k.P50), fmtDur(k.P99), k.Count-k.OK)
	}
	for _, name := range Kinds {
		for _, e := range sortedKeys(r.Kinds[name].Errors) {
			fmt.Fprintf(w, "  %s error: %s ×%d\n", name, e, r.Kinds[name].Errors[e])
		}
	}
	fmt.Fprintf(w, "\nwebhooks: %d signed sent, %d accepted (%d answered delivered, %d answered queued); forged: %d of %d rejected with 403\n",
		r.WebhooksSent, r.Accepted, r.AcceptedDelivered, r.AcceptedQueued, r.ForgedRejected, r.ForgedSent)
	bus := strconv.Itoa(r.BusEvents)
	if !r.BusChecked {
		bus += " (not checked: kumo keeps the last " + strconv.Itoa(busRetention) + " events)"
	}
	fmt.Fprintf(w, "destinations: HTTPS receiver accepted %d, events on the bus %s, destination queue messages %d; retry queue %d, dead-letter queue %d\n",
		r.ReceiverAccepted, bus, r.QueueMessages, r.Queued, r.DeadLettered)
	verdict := "OK"
	if r.Accepted != r.Delivered+r.Queued+r.DeadLettered || r.Unaccounted > 0 {
		verdict = "MISMATCH"
	}
	fmt.Fprintf(w, "accepted %d = delivered %d + queued %d + dead-lettered %d: %s (unaccounted events: %d)\n",
		r.Accepted, r.Delivered, r.Queued, r.DeadLettered, verdict, r.Unaccounted)
}

func fmtDur(d time.Duration) string {
	switch {
	case d == 0:
		return "-"
	case d < time.Millisecond:
		return fmt.Sprintf("%.0fµs", float64(d)/float64(time.Microsecond))
	default:
		return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
	}
}

func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// job is one request of the mix.
type job struct {
	kind, shape string
	payload     []byte
}

// result is what one request got.
type result struct {
	latency time.Duration
	ok      bool
	reason  string // why the answer is unexpected
	outcome string // webhooks: "delivered" or "queued"
	id      string // webhooks: the envelope id answered
	status  int    // HTTP-shaped answers
}

// invokeFunc runs one invocation: the raw output, the Lambda errorType of a
// function error, or an error when the invocation itself failed.
type invokeFunc func(ctx context.Context, payload []byte) (out []byte, errorType string, err error)

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

// drive runs jobs with at most concurrency in flight and returns their
// results in job order; it stops handing out jobs when ctx is done.
func drive(ctx context.Context, invoke invokeFunc, jobs []job, concurrency int) []result {
	results := make([]result, len(jobs))
	next := make(chan int)
	var wg sync.WaitGroup
	for range concurrency {
		wg.Go(func() {
			for i := range next {
				results[i] = do(ctx, invoke, jobs[i])
			}
		})
	}
feed:
	for i := range jobs {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	return results
}

// useFunctionEnv makes this process's AWS_* variables and SSL_CERT_FILE
// those of the function's environment (other AWS_* variables, such as
// AWS_CA_BUNDLE or AWS_PROFILE, are unset; shared config files point
// nowhere) and returns a function restoring them.
func useFunctionEnv(env *localenv.Env) (func(), error) {
	want := envMap(env.FunctionEnv())
	want["AWS_CONFIG_FILE"] = filepath.Join(env.Dir, "no-aws-config")
	want["AWS_SHARED_CREDENTIALS_FILE"] = filepath.Join(env.Dir, "no-aws-credentials")
	saved := map[string]*string{}
	save := func(k string) {
		if _, done := saved[k]; done {
			return
		}
		if v, ok := os.LookupEnv(k); ok {
			saved[k] = &v
		} else {
			saved[k] = nil
		}
	}
	restore := func() {
		for k, v := range saved {
			if v == nil {
				os.Unsetenv(k)
			} else {
				os.Setenv(k, *v)
			}
		}
	}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if _, keep := want[k]; strings.HasPrefix(k, "AWS_") && !keep {
			save(k)
			os.Unsetenv(k)
		}
	}
	for k, v := range want {
		if strings.HasPrefix(k, "AWS_") || k == "SSL_CERT_FILE" {
			save(k)
			if err := os.Setenv(k, v); err != nil {
				restore()
				return nil, err
			}
		}
	}
	return restore, nil
}

func envMap(kvs []string) map[string]string {
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}

// rieInvoker invokes through the emulator; a function error is a 200
// whose body is {"errorMessage":..,"errorType":..}.
func rieInvoker(rie *localenv.RIE) invokeFunc {
	return func(ctx context.Context, payload []byte) ([]byte, string, error) {
		out, err := rie.Invoke(ctx, payload)
		if err != nil {
			return out, "", err
		}
		var fe struct {
			ErrorType    string  `json:"errorType"`
			ErrorMessage *string `json:"errorMessage"`
		}
		if json.Unmarshal(out, &fe) == nil && fe.ErrorType != "" && fe.ErrorMessage != nil {
			return nil, fe.ErrorType, nil
		}
		return out, "", nil
	}
}

// do runs one job and judges its answer.
func do(ctx context.Context, invoke invokeFunc, j job) result {
	ctx, cancel := context.WithTimeout(ctx, invocationTimeout)
	defer cancel()
	start := time.Now()
	out, errorType, err := invoke(ctx, j.payload)
	r := result{latency: time.Since(start)}
	switch {
	case err != nil:
		r.reason = "invoke failed: " + err.Error()
	case j.shape == "direct":
		r.judgeDirect(j.kind, out, errorType)
	case errorType != "":
		r.reason = "HTTP event got Lambda error " + errorType
	default:
		r.judgeHTTP(j.kind, out)
	}
	r.ok = r.reason == ""
	return r
}

func (r *result) judgeDirect(kind string, out []byte, errorType string) {
	switch kind {
	case KindRead:
		var p map[string]any
		if errorType != "" || json.Unmarshal(out, &p) != nil || p["schema_version"] == nil {
			r.reason = "direct read: errorType " + orNone(errorType)
		}
	case KindInvalidSID:
		if errorType != "InvalidSid" {
			r.reason = "direct invalid SID: errorType " + orNone(errorType)
		}
	}
}

func (r *result) judgeHTTP(kind string, out []byte) {
	var resp struct {
		StatusCode int               `json:"statusCode"`
		Headers    map[string]string `json:"headers"`
		Body       string            `json:"body"`
	}
	if err := json.Unmarshal(out, &resp); err != nil {
		r.reason = "answer is not an HTTP response"
		return
	}
	r.status = resp.StatusCode
	var p problem.Problem
	if resp.Headers["Content-Type"] == problem.ContentType {
		if json.Unmarshal([]byte(resp.Body), &p) != nil || p.Status != resp.StatusCode {
			r.reason = fmt.Sprintf("HTTP %d with a malformed problem", resp.StatusCode)
			return
		}
	}
	got := fmt.Sprintf("HTTP %d %s", resp.StatusCode, strings.TrimPrefix(p.Type, problem.TypeBase))
	switch kind {
	case KindRead:
		var body map[string]any
		if resp.StatusCode != 200 || json.Unmarshal([]byte(resp.Body), &body) != nil || body["schema_version"] == nil {
			r.reason = got
		}
	case KindInvalidSID:
		if resp.StatusCode != 400 || p.Type != problem.TypeBase+app.KindInvalidSID || p.Field == "" {
			r.reason = got
		}
	case KindWebhook, KindOutage:
		var ans struct{ ID, Outcome string }
		if resp.StatusCode != 200 || json.Unmarshal([]byte(resp.Body), &ans) != nil || ans.ID == "" ||
			(ans.Outcome != string(app.OutcomeDelivered) && ans.Outcome != string(app.OutcomeQueued)) ||
			(kind == KindOutage && ans.Outcome != string(app.OutcomeQueued)) {
			r.reason = got
			if ans.Outcome != "" {
				r.reason += " " + ans.Outcome
			}
			return
		}
		r.id, r.outcome = ans.ID, ans.Outcome
	case KindForged:
		if resp.StatusCode != 403 || p.Type != problem.TypeBase+app.KindInvalidSignature {
			r.reason = got
		}
	}
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// summarize fills the per-kind statistics and webhook counts, and returns
// the accepted webhooks' ids with their outcome.
func summarize(rep *Report, jobs []job, results []result) map[string]string {
	lat := map[string][]time.Duration{}
	accepted := map[string]string{}
	for _, k := range Kinds {
		rep.Kinds[k] = &KindStats{Errors: map[string]int{}}
	}
	for i, j := range jobs {
		r, k := results[i], rep.Kinds[jobs[i].kind]
		k.Count++
		lat[j.kind] = append(lat[j.kind], r.latency)
		if r.ok {
			k.OK++
		} else {
			k.Errors[r.reason]++
		}
		switch j.kind {
		case KindWebhook, KindOutage:
			rep.WebhooksSent++
			if r.ok {
				if _, dup := accepted[r.id]; dup {
					k.OK--
					k.Errors["duplicate event id "+r.id]++
					continue
				}
				accepted[r.id] = r.outcome
				rep.Accepted++
				if r.outcome == string(app.OutcomeQueued) {
					rep.AcceptedQueued++
				} else {
					rep.AcceptedDelivered++
				}
			}
		case KindForged:
			rep.ForgedSent++
			if r.status == 403 && r.ok {
				rep.ForgedRejected++
			}
		}
	}
	for k, ds := range lat {
		slices.Sort(ds)
		rep.Kinds[k].P50, rep.Kinds[k].P99 = percentile(ds, 50), percentile(ds, 99)
	}
	return accepted
}

// percentile returns the nearest-rank percentile of sorted durations.
func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := (p*len(sorted) + 99) / 100 // ceil(p/100 * n)
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// collect counts, per destination, the accepted webhooks that reached it,
// and reads the retry and dead-letter queue depths. Delivery is
// synchronous within an invocation, so everything has arrived by now; the
// waits only absorb kumo's bookkeeping.
func collect(ctx context.Context, env *localenv.Env, rep *Report, accepted map[string]string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var errs []error
	seen := map[string]bool{} // every envelope id found at some destination

	receiver := map[string]bool{}
	for _, q := range env.Receiver.Accepted() {
		id := q.Header.Get("Webhook-Id")
		receiver[id], seen[id] = true, true
	}

	queue := map[string]bool{}
	depth, err := env.QueueDepth(ctx, env.DestinationQueueURL)
	if err != nil {
		errs = append(errs, err)
	}
	if depth > 0 {
		msgs, err := env.WaitMessages(ctx, env.DestinationQueueURL, depth)
		if err != nil {
			errs = append(errs, err)
		}
		for _, m := range msgs {
			if m.Body != nil {
				id := envelopeID([]byte(*m.Body))
				queue[id], seen[id] = true, true
			}
		}
	}

	bus := map[string]bool{}
	rep.BusChecked = rep.Accepted < busRetention
	evs, err := env.Events(ctx)
	if rep.BusChecked && len(evs) < rep.AcceptedDelivered {
		evs, err = env.WaitEvents(ctx, rep.AcceptedDelivered)
	}
	if err != nil {
		errs = append(errs, err)
	}
	for _, e := range evs {
		id := envelopeID(e.Detail)
		bus[id], seen[id] = true, true
	}

	for id, outcome := range accepted {
		if receiver[id] {
			rep.ReceiverAccepted++
		}
		if bus[id] {
			rep.BusEvents++
		}
		if queue[id] {
			rep.QueueMessages++
		}
		if outcome == string(app.OutcomeDelivered) && receiver[id] && queue[id] && (bus[id] || !rep.BusChecked) {
			rep.Delivered++
		}
	}
	for id := range seen {
		if _, ok := accepted[id]; !ok {
			rep.Unaccounted++
		}
	}
	if rep.Queued, err = env.QueueDepth(ctx, env.RetryQueueURL); err != nil {
		errs = append(errs, err)
	}
	if rep.DeadLettered, err = env.QueueDepth(ctx, env.RetryDLQURL); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func envelopeID(b []byte) string {
	var env struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(b, &env) != nil || env.ID == "" {
		return "(not an envelope)"
	}
	return env.ID
}

// seeded are the sandbox's participants: conference and call SIDs.
var seeded = [][2]string{
	{sandbox.ConferenceStandup, sandbox.CallAlice}, {sandbox.ConferenceStandup, sandbox.CallBob},
	{sandbox.ConferenceStandup, sandbox.CallCarol}, {sandbox.ConferenceStandup, sandbox.CallDave},
	{sandbox.ConferenceSupport, sandbox.CallAgent}, {sandbox.ConferenceSupport, sandbox.CallCoach},
	{sandbox.ConferenceSupport, sandbox.CallCustomer}, {sandbox.ConferenceTownHall, sandbox.CallErin},
	{sandbox.ConferenceTownHall, sandbox.CallFrank},
}

// hostileSIDs never reach SignalWire (no literal '/': they also go in raw paths).
var hostileSIDs = []string{
	"..", "%2e%2e", "ca110001-5a4d-4b0c-9a11-..%2F..%2Fadmin", "ca110001%2F5a4d-4b0c-9a11-000000000001",
	"ca110001%252F5a4d-4b0c-9a11-00000000001", `ca110001-5a4d-4b0c-9a11\..\..\admin`,
	"ca110001-5a4d-4b0c-9a11-00000000000１", "cа110001-5a4d-4b0c-9a11-000000000001", "not-a-uuid",
	strings.Repeat("f", 10<<10),
}

// workload returns the request mix: about 40% reads, 15% hostile reads,
// 30% signed webhooks and 15% forged ones, over every trigger shape.
func workload(n int, seed uint64, signingKey, publicBaseURL string) []job {
	rng := rand.New(rand.NewPCG(seed, 0x5157))
	readShapes := []string{"http-api", "rest-api", "function-url", "direct"}
	hookShapes := []string{"http-api", "rest-api", "function-url"}
	signURL := strings.TrimRight(publicBaseURL, "/") + app.WebhookRoute
	jobs := make([]job, 0, n)
	for i := range n {
		var j job
		switch x := rng.IntN(100); {
		case x < 40:
			j.kind, j.shape = KindRead, readShapes[rng.IntN(len(readShapes))]
			p := seeded[rng.IntN(len(seeded))]
			j.payload = readEvent(j.shape, sandbox.ProjectID, p[0], p[1])
		case x < 55:
			j.kind, j.shape = KindInvalidSID, readShapes[rng.IntN(len(readShapes))]
			p := seeded[rng.IntN(len(seeded))]
			sids := []string{sandbox.ProjectID, p[0], p[1]}
			sids[rng.IntN(3)] = hostileSIDs[rng.IntN(len(hostileSIDs))]
			j.payload = readEvent(j.shape, sids[0], sids[1], sids[2])
		case x < 85:
			j.kind, j.shape = KindWebhook, hookShapes[rng.IntN(len(hookShapes))]
			form := callback(rng, i)
			j.payload = webhookEvent(j.shape, form.Encode(), webhook.SignForm(signingKey, signURL, form), rng.IntN(3) == 0)
		default:
			j.kind, j.shape = KindForged, hookShapes[rng.IntN(len(hookShapes))]
			form := callback(rng, i)
			sig := webhook.SignForm(signingKey, signURL, form)
			switch i % 4 {
			case 0: // replayed with a modified parameter
				form.Set("Muted", strconv.FormatBool(form.Get("Muted") != "true"))
			case 1: // signed with another key
				sig = webhook.SignForm("PSK_attacker", signURL, form)
			case 2: // signed for another URL
				sig = webhook.SignForm(signingKey, "https://attacker.example"+app.WebhookRoute, form)
			default: // unsigned
				sig = ""
			}
			j.payload = webhookEvent(j.shape, form.Encode(), sig, rng.IntN(3) == 0)
		}
		jobs = append(jobs, j)
	}
	return jobs
}

// outageWorkload returns n signed webhooks (HTTP API), numbered after the
// mix's from.
func outageWorkload(n, from int, seed uint64, signingKey, publicBaseURL string) []job {
	rng := rand.New(rand.NewPCG(seed, 0x07a9e))
	signURL := strings.TrimRight(publicBaseURL, "/") + app.WebhookRoute
	jobs := make([]job, 0, n)
	for i := range n {
		form := callback(rng, from+i)
		jobs = append(jobs, job{kind: KindOutage, shape: "http-api", payload: webhookEvent("http-api", form.Encode(), webhook.SignForm(signingKey, signURL, form), false)})
	}
	return jobs
}

// callback is a conference participant status callback; i makes its
// SequenceNumber, and so its event id, unique.
func callback(rng *rand.Rand, i int) url.Values {
	p := seeded[rng.IntN(len(seeded))]
	call := p[1]
	if rng.IntN(10) == 0 {
		call = sandbox.CallGone // the participant already left: lookup not_found
	}
	event := []string{"participant-join", "participant-leave", "participant-mute", "participant-unmute"}[rng.IntN(4)]
	return url.Values{
		"AccountSid":          {sandbox.ProjectID},
		"ApiVersion":          {"2010-04-01"},
		"ConferenceSid":       {p[0]},
		"CallSid":             {call},
		"StatusCallbackEvent": {event},
		"Muted":               {strconv.FormatBool(rng.IntN(2) == 0)},
		"Hold":                {"false"},
		"SequenceNumber":      {strconv.Itoa(1_000_000 + i)},
		"Timestamp":           {time.Date(2026, 11, 26, 10, 15, 0, 0, time.UTC).Add(time.Duration(i) * time.Second).Format(time.RFC1123Z)},
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // plain structs of strings and maps
	}
	return b
}

// readEvent is a read of a/c/p in the given trigger shape.
func readEvent(shape, a, c, p string) []byte {
	params := map[string]string{"account_sid": a, "conference_sid": c, "call_sid": p}
	if shape == "direct" {
		return mustJSON(params)
	}
	path := "/accounts/" + a + "/conferences/" + c + "/participants/" + p
	return event(shape, httpevent.Request{
		Method: "GET", Path: path, Params: params, RouteKey: "GET " + path,
		Headers: map[string]string{"accept": "application/json"},
	})
}

// webhookEvent is a POST of body to the webhook route, with signature sig
// (none when empty), base64-encoded when b64.
func webhookEvent(shape, body, sig string, b64 bool) []byte {
	headers := map[string]string{"content-type": webhook.FormContentType, "user-agent": "SignalWire-Webhook/1.0"}
	if sig != "" {
		headers["x-signalwire-signature"] = sig
	}
	if b64 {
		body = base64.StdEncoding.EncodeToString([]byte(body))
	}
	return event(shape, httpevent.Request{
		Method: "POST", Path: app.WebhookRoute, RouteKey: "POST " + app.WebhookRoute,
		Headers: headers, Body: body, Base64: b64,
	})
}

// event renders r in the trigger shape ("rest-api", "function-url", else
// the HTTP API).
func event(shape string, r httpevent.Request) []byte {
	switch shape {
	case "rest-api":
		return mustJSON(r.RESTAPI())
	case "function-url":
		return mustJSON(r.FunctionURL())
	default:
		return mustJSON(r.HTTPAPI())
	}
}
