package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/signalwire-lambda/participants/test/localenv"
)

// invokeTimeout bounds one invocation.
const invokeTimeout = 30 * time.Second

// coldSpec is one kind of cold start to measure.
type coldSpec struct {
	name    string
	bin     string
	env     []string
	payload []byte
	// check validates each answer.
	check func(answer []byte) error
	// proc finds the function's process; default: bin's.
	proc proc
	// conns, when set, counts the connections opened to SignalWire.
	conns func() int64
	// probe, when set, replaces the function: the bench's own least
	// client of a cold read (bin and the rest unused).
	probe *netProbe
}

// process identifies the spec's function process.
func (s coldSpec) process() proc {
	if s.proc.exe != "" {
		return s.proc
	}
	return proc{exe: s.bin}
}

// hasStatus checks for an HTTP-shaped answer with the given statusCode.
func hasStatus(status int) func([]byte) error {
	return func(out []byte) error {
		var resp struct {
			StatusCode int `json:"statusCode"`
		}
		if json.Unmarshal(out, &resp) != nil || resp.StatusCode != status {
			return fmt.Errorf("answer %s, want statusCode %d", truncate(out, 400), status)
		}
		return nil
	}
}

// coldResult holds one coldSpec's runs, index i being run i.
type coldResult struct {
	// first is the RIE round trip of the first invocation: process start,
	// runtime and function init, and the first request.
	first []time.Duration
	// warm is, per run, the median of a few later invocations of the same
	// payload on the same emulator.
	warm []time.Duration
	// reported is the RIE REPORT line's Init Duration.
	reported []time.Duration
	// hwm is the bootstrap's peak RSS (VmHWM) at the end of the run.
	hwm []int64
	// cpu is the CPU time the bootstrap process used up to its first
	// answer (every thread's, from /proc schedstat).
	cpu []time.Duration
	// handler and upstream are, for the real function, the first
	// invocation's duration_ms and upstream_latency_ms from its log line
	// (the handler's own time, and the SignalWire call's within it).
	handler, upstream []time.Duration
	// warmConns is, per run, the SignalWire connections opened per warm
	// invocation (when the spec counts them).
	warmConns sample
}

// warmPerColdRun is how many warm invocations follow each cold one.
const warmPerColdRun = 10

// measureCold runs every spec `runs` times, interleaved (run i of every spec,
// in rotating order, before run i+1), each on a fresh emulator, after one
// discarded round that loads the binaries into the page cache.
func measureCold(ctx context.Context, rieBin string, specs []coldSpec, runs int, logs io.Writer, progress func(string, ...any)) (map[string]*coldResult, error) {
	results := map[string]*coldResult{}
	for _, s := range specs {
		results[s.name] = &coldResult{}
	}
	for i := -1; i < runs; i++ {
		if i < 0 {
			progress("cold start: warm-up round (discarded)")
		} else {
			progress("cold start: round %d/%d", i+1, runs)
		}
		for k := range specs {
			s := specs[(k+max(i, 0))%len(specs)]
			r, err := coldRun(ctx, rieBin, s, logs)
			if err != nil {
				return nil, fmt.Errorf("cold start %s: %w", s.name, err)
			}
			if i >= 0 {
				res := results[s.name]
				res.first = append(res.first, r.first[0])
				res.warm = append(res.warm, r.warm[0])
				res.reported = append(res.reported, r.reported...)
				res.hwm = append(res.hwm, r.hwm...)
				res.cpu = append(res.cpu, r.cpu...)
				res.handler = append(res.handler, r.handler...)
				res.upstream = append(res.upstream, r.upstream...)
				res.warmConns = append(res.warmConns, r.warmConns...)
			}
		}
	}
	return results, nil
}

// coldRun starts a fresh emulator, invokes it once cold and a few times warm.
func coldRun(ctx context.Context, rieBin string, s coldSpec, logs io.Writer) (*coldResult, error) {
	if s.probe != nil {
		cold, warm, err := s.probe.run(ctx, warmPerColdRun)
		if err != nil {
			return nil, err
		}
		return &coldResult{first: []time.Duration{cold}, warm: []time.Duration{warm}}, nil
	}
	fn, err := localenv.StartRIE(ctx, rieBin, s.bin, s.env, localenv.RIEOptions{LogOutput: logs})
	if err != nil {
		return nil, err
	}
	defer func() { _ = fn.Close() }()
	if err := invokeCheck(ctx, fn, s.payload, s.check); err != nil {
		return nil, fmt.Errorf("%w\nlogs:\n%s", err, fn.Logs())
	}
	r := &coldResult{first: []time.Duration{fn.FirstInvoke()}}
	if cpu, err := procCPU(s.process()); err == nil {
		r.cpu = []time.Duration{cpu}
	}
	if h, u, ok := invocationLog(fn.Logs()); ok {
		r.handler, r.upstream = []time.Duration{h}, []time.Duration{u}
	}
	var warm []time.Duration
	var conns0 int64
	if s.conns != nil {
		conns0 = s.conns()
	}
	for range warmPerColdRun {
		start := time.Now()
		if err := invokeCheck(ctx, fn, s.payload, s.check); err != nil {
			return nil, err
		}
		warm = append(warm, time.Since(start))
	}
	r.warm = []time.Duration{time.Duration(ms(warm...).median() * float64(time.Millisecond))}
	if s.conns != nil {
		r.warmConns = sample{float64(s.conns()-conns0) / warmPerColdRun}
	}
	if d, ok := fn.InitDuration(); ok {
		r.reported = []time.Duration{d}
	}
	if hwm, _, err := procMemory(s.process()); err == nil {
		r.hwm = []int64{hwm}
	}
	return r, nil
}

// invokeCheck invokes once and checks the answer.
func invokeCheck(ctx context.Context, fn *localenv.RIE, payload []byte, check func([]byte) error) error {
	ctx, cancel := context.WithTimeout(ctx, invokeTimeout)
	defer cancel()
	out, err := fn.Invoke(ctx, payload)
	if err != nil {
		return err
	}
	return check(out)
}

// invocationLog finds the real function's first "invocation" log line and
// returns its duration_ms and upstream_latency_ms.
func invocationLog(logs string) (handler, upstream time.Duration, ok bool) {
	for line := range strings.Lines(logs) {
		if !strings.Contains(line, `"message":"invocation"`) {
			continue
		}
		var l struct {
			DurationMs float64 `json:"duration_ms"`
			UpstreamMs float64 `json:"upstream_latency_ms"`
		}
		if json.Unmarshal([]byte(line), &l) != nil {
			continue
		}
		return time.Duration(l.DurationMs * float64(time.Millisecond)), time.Duration(l.UpstreamMs * float64(time.Millisecond)), true
	}
	return 0, 0, false
}

func truncate(b []byte, n int) string {
	if len(b) <= n {
		return string(b)
	}
	return string(b[:n]) + "…"
}

// warmResult is the long warm run of the real function.
type warmResult struct {
	read, webhook []time.Duration
	// coldSMCalls counts GetSecretValue calls of the first (cold) invocation;
	// warmSMCalls those of every later one (warm-up included).
	coldSMCalls, warmSMCalls int64
	// invocations is the number of warm invocations warmSMCalls covers.
	invocations int
	// hwm and rss are the bootstrap's peak and current RSS at the end.
	hwm, rss int64
	// outcomes counts the webhook answers' outcome field.
	outcomes map[string]int
}

// warmUpPerRoute is how many untimed invocations of each route precede the timing.
const warmUpPerRoute = 20

// measureWarm runs the real function under one emulator, with Secrets
// Manager behind a counting proxy: one cold read, a warm-up, then perRoute
// timed invocations of each route, alternating.
func measureWarm(ctx context.Context, env *localenv.Env, rieBin, bin string, readEvent, webhookEvent []byte, perRoute int, logs io.Writer, progress func(string, ...any)) (*warmResult, error) {
	var smCalls atomic.Int64
	target, err := url.Parse(env.KumoURL)
	if err != nil {
		return nil, fmt.Errorf("bench: kumo URL: %w", err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	counting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Amz-Target") == "secretsmanager.GetSecretValue" {
			smCalls.Add(1)
		}
		proxy.ServeHTTP(w, r)
	}))
	defer counting.Close()

	fnEnv := env.FunctionEnv(localenv.WithVar("AWS_ENDPOINT_URL_SECRETS_MANAGER", counting.URL))
	fn, err := localenv.StartRIE(ctx, rieBin, bin, fnEnv, localenv.RIEOptions{LogOutput: logs})
	if err != nil {
		return nil, err
	}
	defer func() { _ = fn.Close() }()

	res := &warmResult{outcomes: map[string]int{}}
	if err := invokeCheck(ctx, fn, readEvent, hasStatus(http.StatusOK)); err != nil {
		return nil, fmt.Errorf("cold read: %w\nlogs:\n%s", err, fn.Logs())
	}
	res.coldSMCalls = smCalls.Load()
	progress("warm: %d untimed + %d timed invocations per route", warmUpPerRoute, perRoute)
	for i := range warmUpPerRoute + perRoute {
		for _, route := range []string{"read", "webhook"} {
			payload := readEvent
			if route == "webhook" {
				payload = webhookEvent
			}
			d, out, err := timedInvoke(ctx, fn, payload)
			if err != nil {
				return nil, fmt.Errorf("warm %s: %w\nlogs:\n%s", route, err, truncate([]byte(fn.Logs()), 4000))
			}
			outcome, err := httpOutcome(out)
			if err != nil {
				return nil, fmt.Errorf("warm %s: %w", route, err)
			}
			res.invocations++
			if i < warmUpPerRoute {
				continue
			}
			if route == "read" {
				res.read = append(res.read, d)
			} else {
				res.webhook = append(res.webhook, d)
				res.outcomes[outcome]++
			}
		}
	}
	res.warmSMCalls = smCalls.Load() - res.coldSMCalls
	res.hwm, res.rss, err = procMemory(proc{exe: bin})
	if err != nil {
		return nil, err
	}
	return res, nil
}

func timedInvoke(ctx context.Context, fn *localenv.RIE, payload []byte) (time.Duration, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, invokeTimeout)
	defer cancel()
	start := time.Now()
	out, err := fn.Invoke(ctx, payload)
	return time.Since(start), out, err
}

// httpOutcome checks for a 200 HTTP answer and returns the "outcome" of its
// JSON body, if any (the webhook route's).
func httpOutcome(out []byte) (string, error) {
	var resp struct {
		StatusCode int    `json:"statusCode"`
		Body       string `json:"body"`
	}
	if err := json.Unmarshal(out, &resp); err != nil || resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("answer %s, want statusCode 200", truncate(out, 400))
	}
	var body struct {
		Outcome string `json:"outcome"`
	}
	_ = json.Unmarshal([]byte(resp.Body), &body)
	return body.Outcome, nil
}

// proc identifies a running process: its executable and, when set, an
// argument its command line holds (node's script).
type proc struct{ exe, arg string }

// procMemory finds the running process p and returns its VmHWM (peak
// resident set) and VmRSS from /proc/<pid>/status, in bytes. The RIE's
// REPORT line cannot be used: it prints the configured memory size
// (3008 MB) as Max Memory Used.
func procMemory(p proc) (hwm, rss int64, err error) {
	dir, err := procDir(p)
	if err != nil {
		return 0, 0, err
	}
	return readStatus(filepath.Join(dir, "status"))
}

// procDir finds the running process p and returns its /proc directory.
func procDir(p proc) (string, error) {
	want, err := filepath.EvalSymlinks(p.exe)
	if err != nil {
		return "", fmt.Errorf("bench: %w", err)
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return "", fmt.Errorf("bench: peak RSS and CPU time need /proc: %w", err)
	}
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		if err != nil || exe != want {
			continue
		}
		if p.arg != "" {
			cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
			if err != nil || !slices.Contains(strings.Split(string(cmdline), "\x00"), p.arg) {
				continue
			}
		}
		return filepath.Join("/proc", e.Name()), nil
	}
	return "", fmt.Errorf("bench: no running process of %s %s", p.exe, p.arg)
}

// procCPU sums the time on CPU of every thread of the running process p
// (the first field of /proc/<pid>/task/<tid>/schedstat, nanoseconds).
func procCPU(p proc) (time.Duration, error) {
	dir, err := procDir(p)
	if err != nil {
		return 0, err
	}
	tasks, err := os.ReadDir(filepath.Join(dir, "task"))
	if err != nil {
		return 0, fmt.Errorf("bench: %w", err)
	}
	var total time.Duration
	for _, t := range tasks {
		b, err := os.ReadFile(filepath.Join(dir, "task", t.Name(), "schedstat"))
		if err != nil {
			continue // the thread ended
		}
		f := strings.Fields(string(b))
		if len(f) == 0 {
			continue
		}
		ns, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("bench: schedstat %q: %w", b, err)
		}
		total += time.Duration(ns)
	}
	return total, nil
}

func readStatus(path string) (hwm, rss int64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, fmt.Errorf("bench: %w", err)
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok || (key != "VmHWM" && key != "VmRSS") {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(val), " kB"), 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("bench: %s %q: %w", key, val, err)
		}
		if key == "VmHWM" {
			hwm = kb << 10
		} else {
			rss = kb << 10
		}
	}
	if err := sc.Err(); err != nil {
		return 0, 0, fmt.Errorf("bench: %w", err)
	}
	if hwm == 0 {
		return 0, 0, errors.New("bench: no VmHWM in " + path)
	}
	return hwm, rss, nil
}
