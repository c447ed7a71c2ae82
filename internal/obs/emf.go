package obs

import (
	"encoding/json"
	"io"
	"sort"
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

// Metrics writes EMF lines. One Metrics is built at init and shared; each
// invocation collects into a Batch and flushes it once.
type Metrics struct {
	mu        sync.Mutex
	w         io.Writer
	namespace string
	service   string
}

// NewMetrics returns an EMF writer for namespace with the Service dimension.
func NewMetrics(w io.Writer, namespace, service string) *Metrics {
	return &Metrics{w: w, namespace: namespace, service: service}
}

// Batch collects one invocation's metrics. Its methods are safe for
// concurrent use; a nil *Batch ignores everything.
type Batch struct {
	mu     sync.Mutex
	groups map[string]*group // key: extra dimension name=value ("" for none)
}

type group struct {
	dimName, dimValue string
	values            map[string][]float64
	units             map[string]string
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
		g = &group{dimName: dimName, dimValue: dimValue, values: map[string][]float64{}, units: map[string]string{}}
		b.groups[key] = g
	}
	g.values[metric] = append(g.values[metric], value)
	g.units[metric] = unit
}

// Flush writes the batch as EMF lines (one per dimension set) and empties it.
func (m *Metrics) Flush(b *Batch) error {
	if b == nil {
		return nil
	}
	b.mu.Lock()
	groups := b.groups
	b.groups = map[string]*group{}
	b.mu.Unlock()
	keys := make([]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := m.write(groups[k]); err != nil {
			return err
		}
	}
	return nil
}

type emfMetric struct {
	Name string `json:"Name"`
	Unit string `json:"Unit"`
}

type emfDirective struct {
	Namespace  string      `json:"Namespace"`
	Dimensions [][]string  `json:"Dimensions"`
	Metrics    []emfMetric `json:"Metrics"`
}

type emfMeta struct {
	Timestamp         int64          `json:"Timestamp"`
	CloudWatchMetrics []emfDirective `json:"CloudWatchMetrics"`
}

func (m *Metrics) write(g *group) error {
	dims := []string{"Service"}
	line := map[string]any{"Service": m.service}
	if g.dimName != "" {
		dims = append(dims, g.dimName)
		line[g.dimName] = g.dimValue
	}
	names := make([]string, 0, len(g.values))
	for n := range g.values {
		names = append(names, n)
	}
	sort.Strings(names)
	d := emfDirective{Namespace: m.namespace, Dimensions: [][]string{dims}}
	for _, n := range names {
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
	b = append(b, '\n')
	m.mu.Lock()
	defer m.mu.Unlock()
	_, err = m.w.Write(b)
	return err
}
