package obs

import (
	"bytes"
	"encoding/json"
	"io"
	"slices"
	"strings"
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
	groups []*group // in the order of their first metric
}

// group is the metrics of one dimension set, in the order first added.
type group struct {
	dim     [2]string // the extra dimension's name and value; "" for none
	metrics []metric
}

type metric struct {
	name, unit string
	values     []float64
}

// NewBatch starts an empty batch.
func (m *Metrics) NewBatch() *Batch { return &Batch{} }

// Add records value for metric under the Service dimension.
func (b *Batch) Add(metric, unit string, value float64) { b.AddDim(metric, unit, value, "", "") }

// AddDim records value under the Service dimension plus one more.
func (b *Batch) AddDim(name, unit string, value float64, dimName, dimValue string) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	i := slices.IndexFunc(b.groups, func(g *group) bool { return g.dim == [2]string{dimName, dimValue} })
	if i < 0 {
		i = len(b.groups)
		b.groups = append(b.groups, &group{dim: [2]string{dimName, dimValue}})
	}
	g := b.groups[i]
	j := slices.IndexFunc(g.metrics, func(m metric) bool { return m.name == name })
	if j < 0 {
		j = len(g.metrics)
		g.metrics = append(g.metrics, metric{name: name})
	}
	g.metrics[j].unit = unit
	g.metrics[j].values = append(g.metrics[j].values, value)
}

// Flush writes the batch as EMF lines (one per dimension set, sorted by
// "name=value" of the extra dimension) and empties it.
func (m *Metrics) Flush(b *Batch) error {
	if b == nil {
		return nil
	}
	b.mu.Lock()
	groups := b.groups
	b.groups = nil
	b.mu.Unlock()
	slices.SortFunc(groups, func(x, y *group) int { return strings.Compare(x.dim[0]+"="+x.dim[1], y.dim[0]+"="+y.dim[1]) })
	for _, g := range groups {
		if err := m.write(g); err != nil {
			return err
		}
	}
	return nil
}

// write writes g as one EMF line: the bytes json.Marshal gives for the map
// of the dimensions, the metrics and "_aws" (keys sorted), without the map.
func (m *Metrics) write(g *group) error {
	type field struct {
		key   string
		value any
	}
	fields := []field{{"Service", m.service}}
	dims := []string{"Service"}
	if g.dim[0] != "" {
		fields = append(fields, field{g.dim[0], g.dim[1]})
		dims = append(dims, g.dim[0])
	}
	d := emfDirective{Namespace: m.namespace, Dimensions: [][]string{dims}}
	slices.SortFunc(g.metrics, func(x, y metric) int { return strings.Compare(x.name, y.name) })
	for _, mt := range g.metrics {
		d.Metrics = append(d.Metrics, emfMetric{Name: mt.name, Unit: mt.unit})
		if len(mt.values) == 1 {
			fields = append(fields, field{mt.name, mt.values[0]})
		} else {
			fields = append(fields, field{mt.name, mt.values})
		}
	}
	fields = append(fields, field{"_aws", emfMeta{Timestamp: time.Now().UnixMilli(), CloudWatchMetrics: []emfDirective{d}}})
	slices.SortStableFunc(fields, func(x, y field) int { return strings.Compare(x.key, y.key) })
	var buf bytes.Buffer
	buf.Grow(512)
	enc := json.NewEncoder(&buf)
	encode := func(v any) error {
		if err := enc.Encode(v); err != nil {
			return err
		}
		buf.Truncate(buf.Len() - 1) // Encode's newline
		return nil
	}
	buf.WriteByte('{')
	for i, f := range fields {
		if i+1 < len(fields) && fields[i+1].key == f.key {
			continue // a dimension named as a metric: the map kept the last
		}
		if buf.Len() > 1 {
			buf.WriteByte(',')
		}
		_ = encode(f.key) // a string always encodes
		buf.WriteByte(':')
		if err := encode(f.value); err != nil {
			return err
		}
	}
	buf.WriteString("}\n")
	m.mu.Lock()
	defer m.mu.Unlock()
	_, err := m.w.Write(buf.Bytes())
	return err
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
