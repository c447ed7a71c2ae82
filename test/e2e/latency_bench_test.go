package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/signalwire-lambda/participants/test/localenv"
	"github.com/signalwire-lambda/participants/test/sandbox"
)

// BenchmarkWebhookRouteUnderRIE measures the webhook route as SignalWire
// sees it: the real bootstrap under the RIE, a SignalWire API that answers
// in 100 ms, all three destinations on. It reports p50/p99 of the RIE round
// trip (issue target: p99 under 1 s).
//
//	go test -run '^$' -bench WebhookRouteUnderRIE -benchtime 200x ./test/e2e
func BenchmarkWebhookRouteUnderRIE(b *testing.B) {
	ctx := context.Background()
	env, err := localenv.Start(ctx, localenv.Options{Sandbox: []sandbox.Option{sandbox.WithLatency(100 * time.Millisecond)}})
	if err != nil {
		b.Fatal(err)
	}
	defer env.Close()
	fn, err := localenv.StartRIE(ctx, rieBin, bootstrapBin, env.FunctionEnv(), localenv.RIEOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer fn.Close()
	payloads := make([][]byte, b.N+1)
	for i := range payloads {
		payloads[i] = signedWebhookFor(b, env, "participant-join", sandbox.CallBob, 1000+i)
	}
	if _, err := fn.Invoke(ctx, payloads[b.N]); err != nil { // cold start, not measured
		b.Fatal(err)
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		out, err := fn.Invoke(ctx, payloads[i])
		lat = append(lat, time.Since(start))
		var r httpResponse
		if err != nil || json.Unmarshal(out, &r) != nil || r.StatusCode != 200 {
			b.Fatalf("invoke %d: %v %s", i, err, out)
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[(len(lat)*99)/100].Microseconds())/1000, "p99-ms")
}

// signedWebhookFor is signedWebhook for any testing.TB and environment.
func signedWebhookFor(tb testing.TB, env *localenv.Env, event, call string, seq int) []byte {
	tb.Helper()
	return signWebhook(tb, env.PublicBaseURL, readEventTB(tb, "webhook-participant-join.json"), event, call, fmt.Sprint(seq))
}
