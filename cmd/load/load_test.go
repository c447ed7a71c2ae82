package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/signalwire-lambda/participants/test/localenv"
)

// TestLoadSmall runs a small in-process load (200 requests, 4 in flight,
// then 5 webhooks while the HTTPS destination is down) against a fresh
// local environment: every answer is the expected one, every forged webhook
// is rejected with 403, the outage webhooks are queued, nothing unknown
// reaches a destination, and accepted = delivered + queued + dead-lettered.
func TestLoadSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a local environment and runs 200 invocations")
	}
	for _, kv := range localenv.OfflineAWSEnv() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil))) // kumo's logs
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rep, err := Run(ctx, Options{N: 200, Concurrency: 4, Outage: 5, Seed: 7})
	if rep != nil {
		var out bytes.Buffer
		rep.Print(&out)
		t.Log(out.String())
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range Kinds {
		if rep.Kinds[k].Count == 0 {
			t.Errorf("the mix has no %s request", k)
		}
	}
	if n := rep.Unexpected(); n != 0 {
		t.Errorf("%d unexpected answers", n)
	}
	if rep.ForgedSent == 0 || rep.ForgedRejected != rep.ForgedSent {
		t.Errorf("%d of %d forged webhooks rejected with 403", rep.ForgedRejected, rep.ForgedSent)
	}
	if rep.Accepted != rep.WebhooksSent || rep.Accepted != rep.Delivered+rep.Queued+rep.DeadLettered {
		t.Errorf("sent %d, accepted %d, delivered %d + queued %d + dead-lettered %d",
			rep.WebhooksSent, rep.Accepted, rep.Delivered, rep.Queued, rep.DeadLettered)
	}
	if rep.AcceptedQueued != 5 || rep.Queued != 5 || rep.Delivered != rep.AcceptedDelivered || rep.Delivered == 0 {
		t.Errorf("answered delivered %d (found delivered %d), answered queued %d (retry queue %d); want 5 queued",
			rep.AcceptedDelivered, rep.Delivered, rep.AcceptedQueued, rep.Queued)
	}
	if rep.Unaccounted != 0 || !rep.BusChecked {
		t.Errorf("%d unaccounted events; bus checked: %v", rep.Unaccounted, rep.BusChecked)
	}
	if err := rep.Check(); err != nil {
		t.Error(err)
	}
}

// TestWorkloadIsReproducibleAndUnique: a seed gives the same mix, and the
// signed webhooks all have distinct bodies (distinct SequenceNumbers).
func TestWorkloadIsReproducibleAndUnique(t *testing.T) {
	a, b := workload(300, 3, "PSK_k", "https://hooks.example"), workload(300, 3, "PSK_k", "https://hooks.example")
	seen := map[string]bool{}
	for i := range a {
		if a[i].kind != b[i].kind || !bytes.Equal(a[i].payload, b[i].payload) {
			t.Fatalf("request %d differs between runs with the same seed", i)
		}
		if a[i].kind == KindWebhook {
			key := string(a[i].payload)
			if seen[key] {
				t.Fatalf("request %d repeats a webhook", i)
			}
			seen[key] = true
		}
	}
	if !strings.Contains(string(a[0].payload)+string(a[1].payload), "ca110001") {
		t.Fatal("the mix does not address the sandbox's participants")
	}
}

// TestPercentile pins the nearest-rank percentile.
func TestPercentile(t *testing.T) {
	ds := []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	if p := percentile(ds, 50); p != 5 {
		t.Errorf("p50 = %d, want 5", p)
	}
	if p := percentile(ds, 99); p != 10 {
		t.Errorf("p99 = %d, want 10", p)
	}
	if p := percentile(nil, 50); p != 0 {
		t.Errorf("empty p50 = %d", p)
	}
}
