package main

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Targets.
const (
	maxColdVsMinSDK   = 1.25
	maxColdVsHello    = 2.0
	maxOverheadVsBare = 1.1
	maxSizeVsMinSDK   = 1.25
	// maxPeakRSS is 40 MB, counted strictly in decimal megabytes.
	maxPeakRSS = 40_000_000
)

// buildTable turns every measurement into the results table.
func buildTable(o options, b builds, cold map[string]*coldResult, warm *warmResult, gb map[string]*goBench, withCA bool) *table {
	t := &table{}

	// 1. Sizes.
	for _, arch := range sizeArches {
		our, msdk, hel, call := b.sizes[ours][arch], b.sizes[minsdk][arch], b.sizes[hello][arch], b.sizes[minsdkCall][arch]
		r := float64(our) / float64(msdk)
		t.add(row{
			measure:  "bootstrap size, linux/" + arch + " (stripped)",
			ours:     fmtBytes(our),
			baseline: "minsdk " + fmtBytes(msdk) + "; hello " + fmtBytes(hel) + "; minsdkcall " + fmtBytes(call),
			ratio:    fmt.Sprintf("%.2f× minsdk; %.2f× hello; %.2f× minsdkcall", r, float64(our)/float64(hel), float64(our)/float64(call)),
			target:   fmt.Sprintf("≤ %.2f× minsdk", maxSizeVsMinSDK),
			status:   verdict(r <= maxSizeVsMinSDK),
		})
	}

	// 2. Cold starts.
	co, cm, ch := ms(cold[ours].first...), ms(cold[minsdk].first...), ms(cold[hello].first...)
	coldMeasure := fmt.Sprintf("cold start under the RIE, first answer, n=%d (ours: real read; baselines: trivial event)", o.runs)
	t.add(row{
		measure:  coldMeasure,
		ours:     fmtMedian(co, 1, "ms"),
		baseline: "minsdk " + fmtMedian(cm, 1, "ms"),
		ratio:    fmtRatio(co.median(), cm.median(), ratios(co, cm)),
		target:   fmt.Sprintf("≤ %.2f× minsdk", maxColdVsMinSDK),
		status:   verdict(headlineRatio(co.median(), cm.median(), ratios(co, cm)) <= maxColdVsMinSDK),
	})
	t.add(row{
		measure:  coldMeasure,
		ours:     fmtMedian(co, 1, "ms"),
		baseline: "hello " + fmtMedian(ch, 1, "ms"),
		ratio:    fmtRatio(co.median(), ch.median(), ratios(co, ch)),
		target:   fmt.Sprintf("≤ %.0f× hello", maxColdVsHello),
		status:   verdict(headlineRatio(co.median(), ch.median(), ratios(co, ch)) <= maxColdVsHello),
	})
	if h, u := ms(cold[ours].handler...), ms(cold[ours].upstream...); len(h) == len(co) && len(h) > 0 {
		startup := make(sample, len(co))
		rest := make(sample, len(h))
		for i := range co {
			startup[i] = co[i] - h[i]
			rest[i] = h[i] - u[i]
		}
		t.add(row{
			measure: "breakdown of ours' cold read (its invocation log line)",
			ours: "start+init+RIE " + fmtMedian(startup, 1, "ms") + "; handler " + fmtMedian(h, 1, "ms") + " = SignalWire call " + fmtMedian(u, 1, "ms") +
				" (first TLS connection, system roots) + rest " + fmtMedian(rest, 1, "ms") + " (Secrets Manager fetch, decoding, logs)",
			baseline: "minsdk " + fmtMedian(cm, 1, "ms"),
			ratio:    fmtRatio(startup.median(), cm.median(), nil) + " (start+init / minsdk)",
			target:   info,
			status:   info,
		})
	}
	ci := ms(cold[oursInit].first...)
	t.add(row{
		measure:  "cold start, ours answering a route-not-found event (init only: no Secrets Manager, no SignalWire)",
		ours:     fmtMedian(ci, 1, "ms"),
		baseline: "minsdk " + fmtMedian(cm, 1, "ms") + "; hello " + fmtMedian(ch, 1, "ms"),
		ratio:    fmtRatio(ci.median(), cm.median(), ratios(ci, cm)) + " minsdk; " + fmtRatio(ci.median(), ch.median(), nil) + " hello",
		target:   info,
		status:   info,
	})
	cd := ms(cold[oursCertDir].first...)
	t.add(row{
		measure:  "cold start, ours' real read with SSL_CERT_DIR set to an empty directory (no host roots parsed besides SSL_CERT_FILE)",
		ours:     fmtMedian(cd, 1, "ms") + " vs " + fmtMedian(co, 1, "ms") + " as deployed",
		baseline: "minsdk " + fmtMedian(cm, 1, "ms"),
		ratio:    fmtRatio(cd.median(), co.median(), ratios(cd, co)) + " of ours; " + fmtRatio(cd.median(), cm.median(), ratios(cd, cm)) + " minsdk",
		target:   info,
		status:   info,
	})
	cs := ms(cold[minsdkSecret].first...)
	t.add(row{
		measure:  "cold start, minsdkcall fetching the function's secret from kumo (the SDK's first call, no TLS)",
		ours:     info,
		baseline: "minsdkcall+GetSecretValue " + fmtMedian(cs, 1, "ms") + " vs minsdk " + fmtMedian(cm, 1, "ms"),
		ratio:    fmtRatio(cs.median(), cm.median(), ratios(cs, cm)) + "; ours/this " + fmtRatio(co.median(), cs.median(), ratios(co, cs)),
		target:   info,
		status:   info,
	})
	initOf := func(name string) sample {
		r := cold[name]
		out := make(sample, 0, len(r.first))
		for i := range r.first {
			out = append(out, float64(r.first[i]-r.warm[i])/float64(time.Millisecond))
		}
		return out
	}
	t.add(row{
		measure:  "first-answer penalty = first answer − warm answer (same emulator, same event)",
		ours:     "read " + fmtMedian(initOf(ours), 1, "ms") + "; init-only " + fmtMedian(initOf(oursInit), 1, "ms"),
		baseline: "minsdk " + fmtMedian(initOf(minsdk), 1, "ms") + "; hello " + fmtMedian(initOf(hello), 1, "ms"),
		ratio:    fmtRatio(initOf(oursInit).median(), initOf(minsdk).median(), nil) + " (init-only/minsdk)",
		target:   info,
		status:   info,
	})
	t.add(row{
		measure:  "RIE REPORT \"Init Duration\" (not the runtime's init under the RIE, see notes)",
		ours:     fmtMedian(ms(cold[ours].reported...), 2, "ms"),
		baseline: "minsdk " + fmtMedian(ms(cold[minsdk].reported...), 2, "ms") + "; hello " + fmtMedian(ms(cold[hello].reported...), 2, "ms"),
		ratio:    info,
		target:   info,
		status:   info,
	})
	if withCA {
		cc := ms(cold[minsdkCA].first...)
		t.add(row{
			measure:  "cold start of minsdk with this machine's AWS_CA_BUNDLE added (the function's environment has none)",
			ours:     info,
			baseline: "minsdk+AWS_CA_BUNDLE " + fmtMedian(cc, 1, "ms") + " vs minsdk " + fmtMedian(cm, 1, "ms"),
			ratio:    fmtRatio(cc.median(), cm.median(), ratios(cc, cm)),
			target:   info,
			status:   info,
		})
	}

	// 3. Warm latency under the RIE.
	hw := ms(cold[hello].warm...)
	for _, route := range []struct {
		name string
		d    []time.Duration
	}{{"read (events/http-api-read.json)", warm.read}, {"webhook (events/webhook-participant-join.json, 3 destinations)", warm.webhook}} {
		s := ms(route.d...)
		t.add(row{
			measure:  fmt.Sprintf("warm latency under the RIE, %s, n=%d", route.name, len(s)),
			ours:     fmt.Sprintf("p50 %.2f ms, p99 %.2f ms", s.median(), s.quantile(0.99)),
			baseline: fmt.Sprintf("hello warm trivial p50 %.2f ms", hw.median()),
			ratio:    fmtRatio(s.median(), hw.median(), nil) + " (p50)",
			target:   info,
			status:   info,
		})
	}

	// 4. In-process per-request cost.
	for _, route := range []struct{ name, bench string }{{"read", "BenchmarkReadPath"}, {"webhook", "BenchmarkWebhookPath"}} {
		our, bare := gb[route.bench+"/ours/loopback"], gb[route.bench+"/bare/loopback"]
		if our == nil || bare == nil {
			t.add(row{measure: "in-process " + route.name + " path", ours: "missing", status: verdict(false)})
			continue
		}
		r := headlineRatio(our.ns.median(), bare.ns.median(), ratios(our.ns, bare.ns))
		t.add(row{
			measure:  fmt.Sprintf("in-process %s path, time/op (sandbox over loopback HTTPS), %d rounds", route.name, len(our.ns)),
			ours:     fmtMedian(scale(our.ns, 1e-3), 1, "µs"),
			baseline: "bare GET+Unmarshal " + fmtMedian(scale(bare.ns, 1e-3), 1, "µs"),
			ratio:    fmtRatio(our.ns.median(), bare.ns.median(), ratios(our.ns, bare.ns)) + fmt.Sprintf(" (+%.1f µs/request)", (our.ns.median()-bare.ns.median())/1e3),
			target:   fmt.Sprintf("≤ %.1f× bare", maxOverheadVsBare),
			status:   verdict(r <= maxOverheadVsBare),
		})
	}
	for _, route := range []struct{ name, bench string }{{"read", "BenchmarkReadPath"}, {"webhook", "BenchmarkWebhookPath"}} {
		our, bare := gb[route.bench+"/ours/canned"], gb[route.bench+"/bare/canned"]
		if our == nil || bare == nil {
			continue
		}
		t.add(row{
			measure:  fmt.Sprintf("in-process %s path, CPU only (canned in-memory upstream)", route.name),
			ours:     fmtMedian(scale(our.ns, 1e-3), 1, "µs"),
			baseline: "bare " + fmtMedian(scale(bare.ns, 1e-3), 1, "µs"),
			ratio:    fmtRatio(our.ns.median(), bare.ns.median(), ratios(our.ns, bare.ns)),
			target:   info,
			status:   info,
		})
	}
	if our, bare := gb["BenchmarkReadPath/ours/loopback-5ms"], gb["BenchmarkReadPath/bare/loopback-5ms"]; our != nil && bare != nil {
		t.add(row{
			measure:  "in-process read path, sandbox answering after 5 ms (sandbox.WithLatency, ~a nearby upstream)",
			ours:     fmtMedian(scale(our.ns, 1e-3), 1, "µs"),
			baseline: "bare " + fmtMedian(scale(bare.ns, 1e-3), 1, "µs"),
			ratio:    fmtRatio(our.ns.median(), bare.ns.median(), ratios(our.ns, bare.ns)) + fmt.Sprintf(" (+%.1f µs/request)", (our.ns.median()-bare.ns.median())/1e3),
			target:   info,
			status:   info,
		})
	}
	for _, route := range []struct{ name, bench string }{{"read", "BenchmarkReadPath"}, {"webhook", "BenchmarkWebhookPath"}} {
		our, bare := gb[route.bench+"/ours/loopback"], gb[route.bench+"/bare/loopback"]
		if our == nil || bare == nil {
			continue
		}
		t.add(row{
			measure:  fmt.Sprintf("allocations per request, %s path (loopback)", route.name),
			ours:     fmt.Sprintf("%.0f allocs, %.1f KiB", our.allocs.median(), our.bytes.median()/1024),
			baseline: fmt.Sprintf("bare %.0f allocs, %.1f KiB", bare.allocs.median(), bare.bytes.median()/1024),
			ratio:    fmt.Sprintf("%.2f× allocs; %.2f× bytes", our.allocs.median()/bare.allocs.median(), our.bytes.median()/bare.bytes.median()),
			target:   info,
			status:   info,
		})
	}

	// 5. Memory and Secrets Manager calls.
	hwmMedian := func(name string) string {
		s := make(sample, 0, len(cold[name].hwm))
		for _, v := range cold[name].hwm {
			s = append(s, float64(v)/(1<<20))
		}
		return fmtMedian(s, 1, "MiB")
	}
	t.add(row{
		measure:  fmt.Sprintf("peak RSS of the bootstrap, /proc VmHWM after 1 cold + %d warm invocations", warm.invocations),
		ours:     fmtBytes(warm.hwm) + fmt.Sprintf(" (%.1f MB)", float64(warm.hwm)/1e6),
		baseline: "after 1 cold + 3 warm: ours " + hwmMedian(ours) + "; minsdk " + hwmMedian(minsdk) + "; hello " + hwmMedian(hello),
		ratio:    info,
		target:   "≤ 40 MB",
		status:   verdict(warm.hwm <= maxPeakRSS),
	})
	perK := float64(warm.warmSMCalls) * 1000 / float64(warm.invocations)
	t.add(row{
		measure:  fmt.Sprintf("Secrets Manager GetSecretValue calls per 1,000 warm invocations (counting proxy, %d warm invocations)", warm.invocations),
		ours:     fmt.Sprintf("%.1f (%d calls)", perK, warm.warmSMCalls),
		baseline: fmt.Sprintf("cold invocation: %d call(s)", warm.coldSMCalls),
		ratio:    info,
		target:   "0",
		status:   verdict(warm.warmSMCalls == 0),
	})

	// Notes.
	t.note("Machine: %s; %s. Shared cores: absolute times are noise, compare ratios: with paired measurements (same round or run, rounds interleaved) the ratio is the median of the paired ratios, brackets their min–max; values are median [min–max].", hostInfo(), time.Now().UTC().Format(time.RFC3339))
	t.note("Every bootstrap (ours, minsdk, hello) runs with localenv's FunctionEnv, built from scratch: kumo endpoints, static test credentials, IMDS off, SSL_CERT_FILE for the sandbox, and no AWS_CA_BUNDLE, although this machine sets it globally%s.",
		map[bool]string{true: " (the minsdk+AWS_CA_BUNDLE row shows what it would cost)", false: ""}[withCA])
	t.note("Cold start: a fresh RIE per run (`localenv.StartRIE`, `FirstInvoke()`: process start, runtime init, function init and the first request), %d runs per variant in rotating order after one discarded round. Ours' first read also fetches the secret from kumo and opens the TLS connection to the sandbox.", o.runs)
	t.note("Under the RIE, REPORT's Init Duration only times the emulator's asynchronous init dispatch, and Max Memory Used prints the configured 3008 MB; hence the first-answer penalty row and /proc/<pid>/status VmHWM of the bootstrap process.")
	t.note("Warm webhook answers by outcome: %s (each delivered to the HTTPS receiver, EventBridge and SQS, kumo and the receiver running in this process).", fmtCounts(warm.outcomes))
	t.note("In-process: ours = trigger.Router.Invoke as function.New builds it (JSON logs and EMF to io.Discard, signature verification on, no destinations; the SDK reads a local fake Secrets Manager once, then the cache holds the secret), bare = net/http GET with Basic auth + json.Unmarshal into a map; loopback = the sandbox over HTTPS in the same process, canned = an in-memory RoundTripper (CPU work only); -benchtime %s, %d rounds.", o.benchtime, o.rounds)
	return t
}

func scale(s sample, f float64) sample {
	out := make(sample, len(s))
	for i, v := range s {
		out[i] = v * f
	}
	return out
}

func fmtCounts(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		name := k
		if name == "" {
			name = "(none)"
		}
		parts = append(parts, fmt.Sprintf("%s %d", name, m[k]))
	}
	return strings.Join(parts, ", ")
}
