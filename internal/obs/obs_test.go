package obs

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

func TestLogLineCarriesInvocation(t *testing.T) {
	var buf bytes.Buffer
	log := NewLogger(&buf, slog.LevelInfo)
	inv := &Invocation{RequestID: "req-1", FunctionName: "fn", ColdStart: true, TraceID: "Root=1-abc"}
	inv.SetTrigger("http-api")
	inv.SetSIDs("a", "c", "p")
	inv.SetUpstream(404, 12.5)
	log.InfoContext(WithInvocation(context.Background(), inv), "done", "status", 200)
	log.DebugContext(context.Background(), "hidden")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("want 1 line (debug filtered), got %d: %s", len(lines), buf.String())
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"message": "done", "level": "INFO", "requestId": "req-1", "function_name": "fn", "cold_start": true,
		"trigger": "http-api", "trace_id": "Root=1-abc", "account_sid": "a", "conference_sid": "c", "call_sid": "p", "status": float64(200),
		"upstream_status": float64(404), "upstream_latency_ms": 12.5}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	if _, ok := got["timestamp"]; !ok {
		t.Error("no timestamp")
	}
}

func TestEMFShape(t *testing.T) { synctest.Test(t, testEMFShape) }

func testEMFShape(t *testing.T) {
	time.Sleep(time.Until(time.UnixMilli(1700000000123))) // the bubble's clock then reads that instant
	var buf bytes.Buffer
	m := NewMetrics(&buf, "NS", "svc")
	b := m.NewBatch()
	b.Add(MetricColdStart, UnitCount, 1)
	b.Add(MetricUpstreamLatency, UnitMilliseconds, 12.5)
	b.Add(MetricUpstreamLatency, UnitMilliseconds, 7)
	b.AddDim(MetricUpstreamErrors, UnitCount, 1, "StatusClass", "5xx")
	if err := m.Flush(b); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 EMF lines, got %d", len(lines))
	}
	want := []string{
		`{"ColdStart":1,"Service":"svc","UpstreamLatency":[12.5,7],"_aws":{"Timestamp":1700000000123,"CloudWatchMetrics":[{"Namespace":"NS","Dimensions":[["Service"]],"Metrics":[{"Name":"ColdStart","Unit":"Count"},{"Name":"UpstreamLatency","Unit":"Milliseconds"}]}]}}`,
		`{"Service":"svc","StatusClass":"5xx","UpstreamErrors":1,"_aws":{"Timestamp":1700000000123,"CloudWatchMetrics":[{"Namespace":"NS","Dimensions":[["Service","StatusClass"]],"Metrics":[{"Name":"UpstreamErrors","Unit":"Count"}]}]}}`,
	}
	for i := range want {
		if lines[i] != want[i] {
			t.Errorf("line %d:\n got %s\nwant %s", i, lines[i], want[i])
		}
	}
	buf.Reset()
	m.Flush(b)
	if buf.Len() != 0 {
		t.Fatal("a flushed batch wrote again")
	}
	var nilBatch *Batch
	nilBatch.Add("x", UnitCount, 1) // must not panic
}

// TestEMFKeyCollision: a dimension named as a metric is written once, the
// metric's value winning, as json.Marshal of the line's map wrote it.
func TestEMFKeyCollision(t *testing.T) {
	var buf bytes.Buffer
	m := NewMetrics(&buf, "NS", "svc")
	b := m.NewBatch()
	b.AddDim("Forwarded", UnitCount, 2, "Forwarded", "sqs")
	if err := m.Flush(b); err != nil {
		t.Fatal(err)
	}
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil || line["Forwarded"] != float64(2) || strings.Count(buf.String(), `"Forwarded":`) != 1 {
		t.Fatalf("line %s (%v)", buf.Bytes(), err)
	}
}
