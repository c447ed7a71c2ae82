package obs

import (
	"encoding/json"
	"io"
	"maps"
	"slices"
	"sync"
	"time"
)

// Metric names emitted by the function.
const (
	MetricColdStart          = "ColdStart"
	MetricUpstreamLatency    = "UpstreamLatency"
	MetricUpstreamErrors     = "UpstreamErrors"
	MetricCredentialsRefresh = "CredentialsRefresh"
	MetricWebhookRejected    = "WebhookRejected"
	MetricForwarded          = "Forwarded"
	MetricForwardFailures    = "ForwardFailures"
	MetricEnqueued           = "Enqueued"
	MetricDeadLettered       = "DeadLettered"
)

// Units used by the metrics.
const (
	UnitCount        = "Count"
	UnitMilliseconds = "Milliseconds"
)

// Metrics writes EMF lines (no API call); each invocation collects into a
// Batch and flushes it once.
type Metrics struct {
	mu                 sync.Mutex
	w                  io.Writer
	namespace, service string
}

// NewMetrics returns an EMF writer for namespace with the Service dimension.
func NewMetrics(w io.Writer, namespace, service string) *Metrics {
	return &Metrics{w: w, namespace: namespace, service: service}
}

// Batch collects one invocation's metrics, safe for concurrent use; a nil
// *Batch ignores everything.
type Batch struct {
	mu     sync.Mutex
	groups map[string]*group // by extra dimension "name=value" ("=": none)
}

type group struct {
	dim    [2]string
	values map[string][]float64
	units  map[string]string
}

// NewBatch starts an empty batch.
func (m *Metrics) NewBatch() *Batch { return &Batch{groups: map[string]*group{}} }

// Add records value for metric under the Service dimension.
func (b *Batch) Add(metric, unit string, value float64) { b.AddDim(metric, unit, value, "", "") }

// AddDim records value under the Service dimension plus one more.
func (b *Batch) AddDim(metric, unit string, value float64, dimName, dimValue string) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	key := dimName + "=" + dimValue
	g := b.groups[key]
	if g == nil {
		g = &group{dim: [2]string{dimName, dimValue}, values: map[string][]float64{}, units: map[string]string{}}
		b.groups[key] = g
	}
	g.values[metric] = append(g.values[metric], value)
	g.units[metric] = unit
}

// Flush writes the batch as EMF lines (one per dimension set, in order)
// and empties it.
func (m *Metrics) Flush(b *Batch) error {
	if b == nil {
		return nil
	}
	b.mu.Lock()
	groups := b.groups
	b.groups = map[string]*group{}
	b.mu.Unlock()
	for _, k := range slices.Sorted(maps.Keys(groups)) {
		if err := m.write(groups[k]); err != nil {
			return err
		}
	}
	return nil
}

type emfMeta struct {
	Timestamp         int64
	CloudWatchMetrics []emfDirective
}

type emfDirective struct {
	Namespace  string
	Dimensions [][]string
	Metrics    []emfMetric
}

type emfMetric struct{ Name, Unit string } // as {"Name":..,"Unit":..}, without a map

func (m *Metrics) write(g *group) error {
	dims := []string{"Service"}
	line := map[string]any{"Service": m.service}
	if g.dim[0] != "" {
		dims = append(dims, g.dim[0])
		line[g.dim[0]] = g.dim[1]
	}
	d := emfDirective{Namespace: m.namespace, Dimensions: [][]string{dims}}
	for _, n := range slices.Sorted(maps.Keys(g.values)) {
		d.Metrics = append(d.Metrics, emfMetric{Name: n, Unit: g.units[n]})
		if v := g.values[n]; len(v) == 1 {
			line[n] = v[0]
		} else {
			line[n] = v
		}
	}
	line["_aws"] = emfMeta{Timestamp: time.Now().UnixMilli(), CloudWatchMetrics: []emfDirective{d}}
	b, err := json.Marshal(line)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	_, err = m.w.Write(append(b, '\n'))
	return err
}
