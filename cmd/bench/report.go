package main

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"
)

// Targets (issue 12).
const (
	maxSizeVsBare = 1.15
	// maxColdVsBare is the cold first-response target at a given RTT.
	maxColdVsBareLoopback = 1.0
	maxColdVsBare20ms     = 0.7
	maxWarmVsBare20ms     = 1.02
	maxReadCPUVsBare      = 3.0
	maxWebhookCPUVsBare   = 5.0
	// maxPeakRSS is 40 MB, counted strictly in decimal megabytes.
	maxPeakRSS = 40_000_000
)

// coldTarget returns the cold-start target at rtt: ≤ 1.0× on loopback,
// ≤ 0.7× at 20 ms and above; none in between.
func coldTarget(rtt time.Duration) (float64, bool) {
	switch {
	case rtt == 0:
		return maxColdVsBareLoopback, true
	case rtt >= 20*time.Millisecond:
		return maxColdVsBare20ms, true
	}
	return 0, false
}

// buildTable turns every measurement into the results table.
func buildTable(o options, b builds, node *nodePeer, cold map[string]*coldResult, warm *warmResult, gb map[string]*goBench) *table {
	t := &table{}

	// 1. Sizes.
	for _, arch := range sizeArches {
		our, peer := b.sizes[ours][arch], b.sizes[bare][arch]
		r := float64(our) / float64(peer)
		t.add(row{
			measure:  "bootstrap size, linux/" + arch + " (stripped)",
			ours:     fmtBytes(our),
			baseline: "bare " + fmtBytes(peer),
			ratio:    fmt.Sprintf("%.2f×", r),
			target:   fmt.Sprintf("≤ %.2f×", maxSizeVsBare),
			status:   verdict(r <= maxSizeVsBare),
		})
	}

	// 2. Cold first response, per route and RTT.
	routeLabel := map[string]string{routeRead: "read", routeWebhook: "webhook (+ one SQS forward)"}
	for _, route := range []string{routeRead, routeWebhook} {
		for _, rtt := range o.rtts {
			c, p := cold[specName(ours, route, rtt, "")], cold[specName(bare, route, rtt, "")]
			co, cp := ms(c.first...), ms(p.first...)
			paired := ratios(co, cp)
			r := headlineRatio(co.median(), cp.median(), paired)
			target, status := info, info
			if max, ok := coldTarget(rtt); ok {
				target, status = fmt.Sprintf("≤ %.1f×", max), verdict(r <= max)
			}
			t.add(row{
				measure:  fmt.Sprintf("cold first response, %s, RTT %s, n=%d fresh emulators", routeLabel[route], rtt, len(co)),
				ours:     fmtMedian(co, 1, "ms"),
				baseline: "bare " + fmtMedian(cp, 1, "ms"),
				ratio:    fmtRatio(co.median(), cp.median(), paired),
				target:   target,
				status:   status,
			})
		}
	}
	for _, rtt := range o.rtts {
		c, n := cold[specName(ours, routeRead, rtt, "")], cold[specName(ours, routeRead, rtt, noSpaceHost)]
		if n == nil {
			continue
		}
		cn, co := ms(n.first...), ms(c.first...)
		t.add(row{
			measure:  fmt.Sprintf("cold first response, read, RTT %s, ours without SIGNALWIRE_SPACE_HOST (secret, then connection)", rtt),
			ours:     fmtMedian(cn, 1, "ms"),
			baseline: "ours with it " + fmtMedian(co, 1, "ms"),
			ratio:    fmtRatio(cn.median(), co.median(), ratios(cn, co)),
			target:   info,
			status:   info,
		})
	}

	for _, route := range []string{routeRead, routeWebhook} {
		for _, rtt := range o.rtts {
			c, p := cold[specName(ours, route, rtt, "")], cold[specName(bare, route, rtt, "")]
			if len(c.cpu) == 0 || len(p.cpu) == 0 {
				continue
			}
			co, cp := ms(c.cpu...), ms(p.cpu...)
			t.add(row{
				measure:  fmt.Sprintf("CPU time of the bootstrap process up to its first response, %s, RTT %s (all threads, /proc schedstat)", routeLabel[route], rtt),
				ours:     fmtMedian(co, 1, "ms"),
				baseline: "bare " + fmtMedian(cp, 1, "ms"),
				ratio:    fmtRatio(co.median(), cp.median(), ratios(co, cp)),
				target:   info,
				status:   info,
			})
		}
	}

	// 3. Warm latency (median of each run's later invocations).
	for _, route := range []string{routeRead, routeWebhook} {
		for _, rtt := range o.rtts {
			c, p := cold[specName(ours, route, rtt, "")], cold[specName(bare, route, rtt, "")]
			wo, wp := ms(c.warm...), ms(p.warm...)
			paired := ratios(wo, wp)
			r := headlineRatio(wo.median(), wp.median(), paired)
			target, status := info, info
			if route == routeRead && rtt >= 20*time.Millisecond {
				target, status = fmt.Sprintf("≤ %.2f×", maxWarmVsBare20ms), verdict(r <= maxWarmVsBare20ms)
			}
			t.add(row{
				measure:  fmt.Sprintf("warm latency, %s, RTT %s (median of %d invocations per emulator)", routeLabel[route], rtt, warmPerColdRun),
				ours:     fmtMedian(wo, 2, "ms"),
				baseline: "bare " + fmtMedian(wp, 2, "ms"),
				ratio:    fmtRatio(wo.median(), wp.median(), paired),
				target:   target,
				status:   status,
			})
		}
	}

	// 4. In-process CPU per invocation.
	for _, route := range []struct {
		name, bench string
		max         float64
	}{{"read", "BenchmarkReadPath", maxReadCPUVsBare}, {"webhook", "BenchmarkWebhookPath", maxWebhookCPUVsBare}} {
		our, peer := gb[route.bench+"/ours/canned"], gb[route.bench+"/bare/canned"]
		if our == nil || peer == nil {
			t.add(row{measure: "in-process " + route.name + " path", ours: "missing", status: verdict(false)})
			continue
		}
		paired := ratios(our.ns, peer.ns)
		r := headlineRatio(our.ns.median(), peer.ns.median(), paired)
		t.add(row{
			measure:  fmt.Sprintf("CPU per invocation, %s path (in process, canned upstream), %d rounds", route.name, len(our.ns)),
			ours:     fmtMedian(scale(our.ns, 1e-3), 1, "µs") + fmt.Sprintf("; %.0f allocs, %.1f KiB", our.allocs.median(), our.bytes.median()/1024),
			baseline: "bare " + fmtMedian(scale(peer.ns, 1e-3), 1, "µs") + fmt.Sprintf("; %.0f allocs, %.1f KiB", peer.allocs.median(), peer.bytes.median()/1024),
			ratio:    fmtRatio(our.ns.median(), peer.ns.median(), paired),
			target:   fmt.Sprintf("≤ %.0f×", route.max),
			status:   verdict(r <= route.max),
		})
		if g := gb[route.bench+"/getdecode/canned"]; g != nil {
			t.add(row{
				measure:  fmt.Sprintf("CPU per invocation, %s path, against the GET + json.Decode alone (no event, no answer)", route.name),
				ours:     fmtMedian(scale(our.ns, 1e-3), 1, "µs"),
				baseline: "GET+decode " + fmtMedian(scale(g.ns, 1e-3), 1, "µs"),
				ratio:    fmtRatio(our.ns.median(), g.ns.median(), ratios(our.ns, g.ns)),
				target:   info,
				status:   info,
			})
		}
	}

	// 5. Memory and Secrets Manager calls.
	t.add(row{
		measure:  fmt.Sprintf("peak RSS of the bootstrap, /proc VmHWM after 1 cold + %d warm invocations", warm.invocations),
		ours:     fmtBytes(warm.hwm) + fmt.Sprintf(" (%.1f MB)", float64(warm.hwm)/1e6),
		baseline: "bare after 1 cold + 10 warm: " + hwmMedian(cold, bare),
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
	t.note("Machine: %s; %s. Shared cores: absolute times are noise, compare ratios: with paired measurements (same round, rounds interleaved) the ratio is the median of the paired ratios, brackets their min–max; values are median [min–max].", hostInfo(), time.Now().UTC().Format(time.RFC3339))
	t.note("Bare peer (test/benchdata/bare): events.APIGatewayV2HTTPRequest in, the SDK's GetSecretValue (once, cached), one net/http GET with Basic auth (http.DefaultClient), json.Decode into a struct, json.Marshal out; a webhook also SendMessage's the participant to the SQS queue. No validation, normalization, signature check, retries, logs or metrics.")
	t.note("Simulated network (cmd/bench/rtt.go): every connection to SignalWire (the sandbox), Secrets Manager and SQS (kumo behind a TLS 1.3 front, separate hosts) passes a loopback relay adding RTT/2 per direction and one more RTT before the client's first bytes (the TCP handshake): a new connection costs TCP + TLS + request = 3 RTT, a request on an open one 1 RTT. The Lambda runtime API (the RIE) is not delayed, as on Lambda.")
	t.note("Cold: a fresh RIE and bootstrap per run (`FirstInvoke()`: process start, init, first request), %d runs per spec in rotating order after one discarded round. Ours runs with SIGNALWIRE_SPACE_HOST (init fetches the secret and opens the SignalWire connection concurrently), no HTTPS or EventBridge destination, the SQS destination and the retry queue. Warm: the median of %d later invocations on each emulator.", o.runs, warmPerColdRun)
	t.note("Webhook answers of the long warm run (loopback, every destination: HTTPS receiver, EventBridge, SQS) by outcome: %s.", fmtCounts(warm.outcomes))
	t.note("CPU: ours = trigger.Router.Invoke as function.New builds it (JSON logs and EMF to io.Discard, signature verification on, no destination), bare = bare.Handler.Invoke without a queue, both on the same event with the SignalWire answer from memory (an http.RoundTripper) and the secret cached; -benchtime %s, %d rounds.", o.benchtime, o.rounds)
	addNodeRows(t, o, b, node, cold)
	return t
}

func hwmMedian(cold map[string]*coldResult, variant string) string {
	var s sample
	for name, r := range cold {
		if strings.HasPrefix(name, variant+"/") {
			for _, v := range r.hwm {
				s = append(s, float64(v)/(1<<20))
			}
		}
	}
	if len(s) == 0 || math.IsNaN(s.median()) {
		return "n/a"
	}
	return fmtMedian(s, 1, "MiB")
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
