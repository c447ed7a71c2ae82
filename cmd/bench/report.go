package main

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"
)

// Targets (issue 12, tightened by issue 20).
const (
	maxSizeVsBare = 1.0
	// maxColdVsBare is the cold first-response target at a given RTT.
	maxColdVsBareLoopback = 1.0
	maxColdVsBare20ms     = 0.7
	// maxColdReadVsFloor20ms is the cold read's target against the floor
	// (hello + 4 RTT) at 20 ms RTT and above.
	maxColdReadVsFloor20ms = 1.05
	maxWarmVsBare20ms      = 1.01
	maxReadCPUVsBare       = 3.0
	maxWebhookCPUVsBare    = 2.0
	// maxPeakRSS is 20 MB, counted strictly in decimal megabytes.
	maxPeakRSS = 20_000_000
)

// floorRTTs is, per route, the round trips of the floor: cold, the secret
// (TCP + TLS + request, the SignalWire handshake overlapped) and the GET, plus
// the forward's request for a webhook (its connection opened meanwhile);
// warm, the GET and, for a webhook, the forward.
var floorRTTs = map[string]struct{ cold, warm int }{
	routeRead:    {cold: 4, warm: 1},
	routeWebhook: {cold: 5, warm: 2},
}

// floor returns, per round, hello's time plus n round trips: the least any
// implementation can take at that RTT, paired with the round's other runs.
func floor(helloTimes []time.Duration, n int, rtt time.Duration) sample {
	out := make(sample, len(helloTimes))
	for i, d := range helloTimes {
		out[i] = float64(d+time.Duration(n)*rtt) / float64(time.Millisecond)
	}
	return out
}

// sumMs returns, per round, a[i] + b[i] in milliseconds.
func sumMs(a, b []time.Duration) sample {
	out := make(sample, min(len(a), len(b)))
	for i := range out {
		out[i] = float64(a[i]+b[i]) / float64(time.Millisecond)
	}
	return out
}

// coldTarget returns the cold-start target against the bare peer at rtt:
// ≤ 1.0× on loopback, ≤ 0.7× at 20 ms and above; none in between.
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
			target:   fmt.Sprintf("≤ %.1f×", maxSizeVsBare),
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
	h := cold[specName(hello, routeRead, 0, "")]
	t.add(row{
		measure:  fmt.Sprintf("floor: hello-world's cold first response (test/benchdata/hello, a fixed answer), n=%d fresh emulators", len(h.first)),
		ours:     info,
		baseline: "hello " + fmtMedian(ms(h.first...), 1, "ms"),
		ratio:    info,
		target:   info,
		status:   info,
	})
	for _, route := range []string{routeRead, routeWebhook} {
		n := floorRTTs[route].cold
		for _, rtt := range o.rtts {
			c, p := cold[specName(ours, route, rtt, "")], cold[specName(bare, route, rtt, "")]
			co, cp, f := ms(c.first...), ms(p.first...), floor(h.first, n, rtt)
			paired := ratios(co, f)
			target, status := info, info
			if route == routeRead && rtt >= 20*time.Millisecond {
				r := headlineRatio(co.median(), f.median(), paired)
				target, status = fmt.Sprintf("≤ %.2f×", maxColdReadVsFloor20ms), verdict(r <= maxColdReadVsFloor20ms)
			}
			base := "floor " + fmtMedian(f, 1, "ms") + "; bare " + fmtRatio(cp.median(), f.median(), ratios(cp, f))
			if pr := cold[specName(probe, route, rtt, "")]; pr != nil {
				m := sumMs(h.first, pr.first)
				base += "; measured floor (hello + the probe) " + fmtMedian(m, 1, "ms") + ", ours ÷ it " + fmtRatioPrec(co.median(), m.median(), ratios(co, m), 3)
			}
			t.add(row{
				measure:  fmt.Sprintf("cold first response, %s, RTT %s, against the floor (hello + %d RTT)", routeLabel[route], rtt, n),
				ours:     fmtMedian(co, 1, "ms"),
				baseline: base,
				ratio:    fmtRatioPrec(co.median(), f.median(), paired, 3),
				target:   target,
				status:   status,
			})
		}
	}
	for _, rtt := range o.rtts {
		pr := cold[specName(probe, routeRead, rtt, "")]
		if pr == nil {
			continue
		}
		n := floorRTTs[routeRead]
		pc, pw := ms(pr.first...), ms(pr.warm...)
		t.add(row{
			measure: fmt.Sprintf("the simulated network's round trips as measured, RTT %s: the probe (cmd/bench/probe.go) cold (%d RTT: TCP + TLS + GetSecretValue, the SignalWire TCP + TLS overlapped, the GET) and warm (%d RTT: one GET)", rtt, n.cold, n.warm),
			ours:    info,
			baseline: fmt.Sprintf("probe cold %s, %+.1f ms over %d × RTT; warm %s, %+.2f ms over %d × RTT", fmtMedian(pc, 1, "ms"),
				pc.median()-float64(time.Duration(n.cold)*rtt)/float64(time.Millisecond), n.cold,
				fmtMedian(pw, 2, "ms"), pw.median()-float64(time.Duration(n.warm)*rtt)/float64(time.Millisecond), n.warm),
			ratio:  info,
			target: info,
			status: info,
		})
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
			co, cp, ch := ms(c.cpu...), ms(p.cpu...), ms(h.cpu...)
			t.add(row{
				measure:  fmt.Sprintf("CPU time of the bootstrap process up to its first response, %s, RTT %s (all threads, /proc schedstat)", routeLabel[route], rtt),
				ours:     fmtMedian(co, 1, "ms"),
				baseline: "bare " + fmtMedian(cp, 1, "ms") + "; hello " + fmtMedian(ch, 1, "ms") + ", ours ÷ hello " + fmtRatio(co.median(), ch.median(), ratios(co, ch)),
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
				ratio:    fmtRatioPrec(wo.median(), wp.median(), paired, 3),
				target:   target,
				status:   status,
			})
		}
	}

	for _, route := range []string{routeRead, routeWebhook} {
		n := floorRTTs[route].warm
		for _, rtt := range o.rtts {
			c, p := cold[specName(ours, route, rtt, "")], cold[specName(bare, route, rtt, "")]
			wo, wp, f := ms(c.warm...), ms(p.warm...), floor(h.warm, n, rtt)
			t.add(row{
				measure:  fmt.Sprintf("warm latency, %s, RTT %s, against the floor (hello's warm + %d RTT)", routeLabel[route], rtt, n),
				ours:     fmtMedian(wo, 2, "ms"),
				baseline: "floor " + fmtMedian(f, 2, "ms") + "; bare " + fmtRatio(wp.median(), f.median(), ratios(wp, f)),
				ratio:    fmtRatio(wo.median(), f.median(), ratios(wo, f)),
				target:   info,
				status:   info,
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
		target:   fmt.Sprintf("≤ %d MB", maxPeakRSS/1_000_000),
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
	t.note("Floor: hello-world's cold first response (test/benchdata/hello: a Go function answering a fixed 200, built like the bootstrap, a fresh emulator per run in the same rounds) plus the round trips no implementation can skip: a cold read 4 RTT (Secrets Manager's TCP + TLS + request, SignalWire's handshake overlapped with it, then the GET), a cold webhook 5 (and the forward; its connection opened meanwhile); warm, hello's warm invocation plus 1 RTT (read) or 2 (webhook). Ratios to it are paired by round. Targets are judged against this nominal floor; the measured floor beside it adds, per round, what the probe (cmd/bench/probe.go, the bench's own least client of a cold read: TCP + TLS + GetSecretValue while it opens the SignalWire connection, then the GET, through the same relay and fakes) actually took instead of 4 × RTT: the relay's timer overshoot and the fakes' own time.")
	t.note("Simulated network (cmd/bench/rtt.go): every connection to SignalWire (the sandbox), Secrets Manager and SQS (kumo behind a TLS 1.3 front, separate hosts) passes a loopback relay adding RTT/2 per direction and one more RTT before the client's first bytes (the TCP handshake): a new connection costs TCP + TLS + request = 3 RTT, a request on an open one 1 RTT. The Lambda runtime API (the RIE) is not delayed, as on Lambda.")
	_, roots := systemBundle()
	t.note("Certificates and clock as on Lambda: every function trusts one CA file holding this machine's CA bundle (%d certificates; provided.al2023 parses its own, about 140, at the first TLS handshake), the sandbox's CA and the TLS fronts' self-signed ECDSA P-256 certificate (a fake endpoint's handshake signature then costs about 0.03 ms instead of RSA-2048's 1 ms); TZ=:UTC.", roots)
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
