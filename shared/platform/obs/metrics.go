package obs

import (
	"encoding/json"
	"io"
	"math"
	"slices"
	"sync"
	"time"
)

// CloudWatch units the metrics use.
const (
	UnitCount        = "Count"
	UnitMilliseconds = "Milliseconds"
)

// EMF limits: values per metric and metrics per directive.
const (
	maxValuesPerMetric = 100
	maxMetrics         = 100
	maxNameLength      = 255
)

// Metrics gathers counts and durations for one invocation and writes them
// as one CloudWatch Embedded Metric Format line on Flush; CloudWatch Logs
// turns the line into metrics, so recording costs no API call. Safe for
// concurrent use.
type Metrics struct {
	mu        sync.Mutex
	w         io.Writer
	namespace string
	dims      map[string]string
	dimKeys   []string
	order     []string
	metrics   map[string]*metric
	now       func() time.Time
}

type metric struct {
	unit   string
	values []float64
}

// NewMetrics writes to w (stdout in Lambda) under namespace, every metric
// with dims as its one dimension set. Dimensions with an empty value are
// left out: CloudWatch refuses them.
func NewMetrics(w io.Writer, namespace string, dims map[string]string) *Metrics {
	m := &Metrics{w: w, namespace: namespace, dims: map[string]string{}, metrics: map[string]*metric{}, now: time.Now}
	for k, v := range dims {
		if k != "" && v != "" {
			m.dims[k] = v
			m.dimKeys = append(m.dimKeys, k)
		}
	}
	slices.Sort(m.dimKeys)
	return m
}

// Count adds v to the count name; counts of one name are summed.
func (m *Metrics) Count(name string, v float64) {
	m.record(name, UnitCount, v, true)
}

// Duration records one sample of name in milliseconds; samples are kept
// apart so CloudWatch can compute percentiles.
func (m *Metrics) Duration(name string, d time.Duration) {
	m.record(name, UnitMilliseconds, float64(d)/float64(time.Millisecond), false)
}

// record ignores what EMF cannot carry rather than breaking the whole line:
// an empty or over-long name, one clashing with a dimension or "_aws", a
// name already recorded with another unit, and NaN or infinite values.
func (m *Metrics) record(name, unit string, v float64, sum bool) {
	if name == "" || len(name) > maxNameLength || name == "_aws" || math.IsNaN(v) || math.IsInf(v, 0) {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, isDim := m.dims[name]; isDim {
		return
	}
	mt, ok := m.metrics[name]
	switch {
	case ok && mt.unit != unit:
		return
	case ok && sum:
		mt.values[0] += v
		return
	case ok && len(mt.values) >= maxValuesPerMetric, !ok && len(m.order) >= maxMetrics:
		m.flushLocked()
		ok = false
	}
	if !ok {
		mt = &metric{unit: unit}
		m.metrics[name] = mt
		m.order = append(m.order, name)
	}
	mt.values = append(mt.values, v)
}

// Flush writes what was recorded as one EMF line and starts afresh. With
// nothing recorded it writes nothing.
func (m *Metrics) Flush() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.flushLocked()
}

// emfDirective and emfMetadata are the "_aws" member of an EMF line.
type emfDirective struct {
	Namespace  string          `json:"Namespace"`
	Dimensions [][]string      `json:"Dimensions"`
	Metrics    []emfDefinition `json:"Metrics"`
}

type emfDefinition struct {
	Name string `json:"Name"`
	Unit string `json:"Unit"`
}

type emfMetadata struct {
	Timestamp         int64          `json:"Timestamp"`
	CloudWatchMetrics []emfDirective `json:"CloudWatchMetrics"`
}

func (m *Metrics) flushLocked() {
	if len(m.order) == 0 {
		return
	}
	root := make(map[string]any, len(m.dims)+len(m.order)+1)
	for k, v := range m.dims {
		root[k] = v
	}
	defs := make([]emfDefinition, 0, len(m.order))
	for _, name := range m.order {
		mt := m.metrics[name]
		defs = append(defs, emfDefinition{Name: name, Unit: mt.unit})
		if len(mt.values) == 1 {
			root[name] = mt.values[0]
		} else {
			root[name] = mt.values
		}
	}
	root["_aws"] = emfMetadata{
		Timestamp: m.now().UnixMilli(),
		CloudWatchMetrics: []emfDirective{{
			Namespace:  m.namespace,
			Dimensions: [][]string{append([]string{}, m.dimKeys...)},
			Metrics:    defs,
		}},
	}
	m.order = m.order[:0]
	clear(m.metrics)
	line, err := json.Marshal(root)
	if err != nil {
		return // only finite floats and strings are recorded, so this cannot happen
	}
	_, _ = m.w.Write(append(line, '\n'))
}
