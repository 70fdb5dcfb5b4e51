package obs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// cloudWatchUnits are the units the EMF specification allows.
var cloudWatchUnits = []string{
	"Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes", "Terabytes",
	"Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count",
	"Bytes/Second", "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second",
	"Bits/Second", "Kilobits/Second", "Megabits/Second", "Gigabits/Second", "Terabits/Second", "Count/Second", "None",
}

// validateEMF checks one line against the Embedded Metric Format
// specification: the _aws metadata, each directive's namespace, dimension
// sets and metric definitions, and that every name they mention is a root
// member of the right type.
func validateEMF(line []byte) error {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	var root map[string]any
	if err := dec.Decode(&root); err != nil {
		return fmt.Errorf("not a JSON object: %w", err)
	}
	meta, ok := root["_aws"].(map[string]any)
	if !ok {
		return errors.New("no _aws object")
	}
	ts, ok := meta["Timestamp"].(json.Number)
	if !ok {
		return errors.New("_aws.Timestamp is not a number")
	}
	if n, err := ts.Int64(); err != nil || n < 0 {
		return fmt.Errorf("_aws.Timestamp %s is not a non-negative integer of milliseconds", ts)
	}
	directives, ok := meta["CloudWatchMetrics"].([]any)
	if !ok || len(directives) == 0 {
		return errors.New("_aws.CloudWatchMetrics is not a non-empty array")
	}
	for i, d := range directives {
		dir, ok := d.(map[string]any)
		if !ok {
			return fmt.Errorf("directive %d is not an object", i)
		}
		if ns, ok := dir["Namespace"].(string); !ok || ns == "" || len(ns) > 255 {
			return fmt.Errorf("directive %d: Namespace is not a string of 1 to 255 characters", i)
		}
		sets, ok := dir["Dimensions"].([]any)
		if !ok {
			return fmt.Errorf("directive %d: Dimensions is not an array", i)
		}
		for _, s := range sets {
			set, ok := s.([]any)
			if !ok || len(set) > 30 {
				return fmt.Errorf("directive %d: a dimension set is not an array of at most 30 keys", i)
			}
			for _, k := range set {
				key, _ := k.(string)
				if v, ok := root[key].(string); !ok || v == "" || len(v) > 1024 {
					return fmt.Errorf("directive %d: dimension %v is not a root member holding a string", i, k)
				}
			}
		}
		defs, ok := dir["Metrics"].([]any)
		if !ok || len(defs) == 0 || len(defs) > 100 {
			return fmt.Errorf("directive %d: Metrics is not an array of 1 to 100 definitions", i)
		}
		for _, md := range defs {
			def, ok := md.(map[string]any)
			if !ok {
				return fmt.Errorf("directive %d: a metric definition is not an object", i)
			}
			name, _ := def["Name"].(string)
			if name == "" || len(name) > 255 {
				return fmt.Errorf("directive %d: a metric Name is not a string of 1 to 255 characters", i)
			}
			if u, present := def["Unit"]; present {
				if s, _ := u.(string); !slices.Contains(cloudWatchUnits, s) {
					return fmt.Errorf("metric %s: unit %v is not a CloudWatch unit", name, u)
				}
			}
			if err := checkMetricValue(root[name]); err != nil {
				return fmt.Errorf("metric %s: %w", name, err)
			}
		}
	}
	return nil
}

func checkMetricValue(v any) error {
	switch v := v.(type) {
	case json.Number:
		return nil
	case []any:
		if len(v) == 0 || len(v) > 100 {
			return errors.New("value array must hold 1 to 100 numbers")
		}
		for _, e := range v {
			if _, ok := e.(json.Number); !ok {
				return errors.New("value array holds a non-number")
			}
		}
		return nil
	case nil:
		return errors.New("no root member holds its value")
	}
	return fmt.Errorf("value %v is neither a number nor an array of numbers", v)
}

func TestValidateEMF(t *testing.T) {
	tests := []struct {
		name    string
		fixture string
		wantErr string
	}{
		{"AWS's own example passes", "emf_aws_example.json", ""},
		{"a line without _aws fails", "emf_no_metadata.json", "no _aws object"},
		{"a timestamp written as text fails", "emf_timestamp_string.json", "Timestamp is not a number"},
		{"a metric with no value member fails", "emf_missing_member.json", "no root member holds its value"},
		{"a unit CloudWatch does not know fails", "emf_bad_unit.json", "is not a CloudWatch unit"},
		{"a dimension whose value is a number fails", "emf_numeric_dimension.json", "is not a root member holding a string"},
		{"a metric value written as text fails", "emf_string_value.json", "neither a number nor an array"},
		{"a directive without Dimensions fails", "emf_no_dimensions.json", "Dimensions is not an array"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", tt.fixture))
			if err != nil {
				t.Fatalf("read fixture: %v", err)
			}
			err = validateEMF(b)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

// emfLine is the parsed form the metric tests look at.
type emfLine struct {
	AWS struct {
		Timestamp         int64 `json:"Timestamp"`
		CloudWatchMetrics []struct {
			Namespace  string     `json:"Namespace"`
			Dimensions [][]string `json:"Dimensions"`
			Metrics    []struct {
				Name string `json:"Name"`
				Unit string `json:"Unit"`
			} `json:"Metrics"`
		} `json:"CloudWatchMetrics"`
	} `json:"_aws"`
	Members map[string]any `json:"-"`
}

// lines splits what Flush wrote, validates each line and parses it.
func lines(t *testing.T, out string) []emfLine {
	t.Helper()
	if out == "" {
		return nil
	}
	if !strings.HasSuffix(out, "\n") {
		t.Fatalf("output does not end in a newline: %q", out)
	}
	var parsed []emfLine
	for _, raw := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if err := validateEMF([]byte(raw)); err != nil {
			t.Fatalf("line is not valid EMF (%v): %s", err, raw)
		}
		var l emfLine
		if err := json.Unmarshal([]byte(raw), &l); err != nil {
			t.Fatalf("parse line: %v", err)
		}
		if err := json.Unmarshal([]byte(raw), &l.Members); err != nil {
			t.Fatalf("parse line members: %v", err)
		}
		parsed = append(parsed, l)
	}
	return parsed
}

// units maps each metric name of a line's first directive to its unit.
func (l emfLine) units() map[string]string {
	u := map[string]string{}
	for _, m := range l.AWS.CloudWatchMetrics[0].Metrics {
		u[m.Name] = m.Unit
	}
	return u
}

func TestMetricsFlush(t *testing.T) {
	fixedNow := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	dims := map[string]string{"Function": "refund", "Operation": "refund"}
	tests := []struct {
		name   string
		dims   map[string]string
		record func(m *Metrics)
		check  func(t *testing.T, got []emfLine)
	}{
		{
			name: "counts and durations become one line with units, values and dimensions",
			dims: dims,
			record: func(m *Metrics) {
				m.Count("Requests", 1)
				m.Count("Requests", 2)
				m.Duration("OttuLatency", 1500*time.Millisecond)
				m.Duration("OttuLatency", 250*time.Microsecond)
				m.Flush()
			},
			check: func(t *testing.T, got []emfLine) {
				if len(got) != 1 {
					t.Fatalf("%d lines, want 1", len(got))
				}
				l := got[0]
				d := l.AWS.CloudWatchMetrics[0]
				if l.AWS.Timestamp != fixedNow.UnixMilli() {
					t.Errorf("Timestamp = %d, want %d", l.AWS.Timestamp, fixedNow.UnixMilli())
				}
				if d.Namespace != "OttuOperations" {
					t.Errorf("Namespace = %q", d.Namespace)
				}
				if fmt.Sprint(d.Dimensions) != "[[Function Operation]]" {
					t.Errorf("Dimensions = %v, want [[Function Operation]]", d.Dimensions)
				}
				if u := l.units(); u["Requests"] != "Count" || u["OttuLatency"] != "Milliseconds" || len(u) != 2 {
					t.Errorf("units = %v", u)
				}
				if l.Members["Requests"] != 3.0 {
					t.Errorf("Requests = %v, want the sum 3", l.Members["Requests"])
				}
				if fmt.Sprint(l.Members["OttuLatency"]) != "[1500 0.25]" {
					t.Errorf("OttuLatency = %v, want both samples [1500 0.25]", l.Members["OttuLatency"])
				}
				if l.Members["Function"] != "refund" || l.Members["Operation"] != "refund" {
					t.Errorf("dimension members = %v, %v", l.Members["Function"], l.Members["Operation"])
				}
			},
		},
		{
			name:   "a flush with nothing recorded writes nothing",
			dims:   dims,
			record: func(m *Metrics) { m.Flush() },
			check: func(t *testing.T, got []emfLine) {
				if len(got) != 0 {
					t.Errorf("%d lines, want none", len(got))
				}
			},
		},
		{
			name: "a flush starts afresh so the next line counts from zero",
			dims: dims,
			record: func(m *Metrics) {
				m.Count("Requests", 5)
				m.Flush()
				m.Flush()
				m.Count("Requests", 1)
				m.Flush()
			},
			check: func(t *testing.T, got []emfLine) {
				if len(got) != 2 {
					t.Fatalf("%d lines, want 2", len(got))
				}
				if got[0].Members["Requests"] != 5.0 || got[1].Members["Requests"] != 1.0 {
					t.Errorf("Requests = %v then %v, want 5 then 1", got[0].Members["Requests"], got[1].Members["Requests"])
				}
			},
		},
		{
			name:   "no dimensions give one empty dimension set",
			record: func(m *Metrics) { m.Count("Requests", 1); m.Flush() },
			check: func(t *testing.T, got []emfLine) {
				if d := got[0].AWS.CloudWatchMetrics[0].Dimensions; len(d) != 1 || len(d[0]) != 0 {
					t.Errorf("Dimensions = %v, want [[]]", d)
				}
			},
		},
		{
			name:   "a dimension with an empty value is left out",
			dims:   map[string]string{"Function": "refund", "Stage": ""},
			record: func(m *Metrics) { m.Count("Requests", 1); m.Flush() },
			check: func(t *testing.T, got []emfLine) {
				if fmt.Sprint(got[0].AWS.CloudWatchMetrics[0].Dimensions) != "[[Function]]" {
					t.Errorf("Dimensions = %v, want [[Function]]", got[0].AWS.CloudWatchMetrics[0].Dimensions)
				}
			},
		},
		{
			name: "values EMF cannot carry are ignored and the rest still written",
			dims: dims,
			record: func(m *Metrics) {
				m.Count("Function", 1)                     // clashes with a dimension
				m.Count("_aws", 1)                         // clashes with the metadata
				m.Count("", 1)                             // no name
				m.Count("Bad", math.NaN())                 // not JSON
				m.Count("Bad", math.Inf(1))                // not JSON
				m.Count("Requests", 1)                     // fine
				m.Duration("Requests", 5)                  // other unit than first recorded
				m.Duration("Latency", 10*time.Millisecond) // fine
				m.Flush()
			},
			check: func(t *testing.T, got []emfLine) {
				if u := got[0].units(); len(u) != 2 || u["Requests"] != "Count" || u["Latency"] != "Milliseconds" {
					t.Errorf("units = %v, want Requests (Count) and Latency (Milliseconds) only", u)
				}
				if got[0].Members["Function"] != "refund" || got[0].Members["Requests"] != 1.0 || got[0].Members["Latency"] != 10.0 {
					t.Errorf("members = %v", got[0].Members)
				}
			},
		},
		{
			name: "more samples than EMF allows in one array spill into a second line",
			dims: dims,
			record: func(m *Metrics) {
				for range maxValuesPerMetric + 1 {
					m.Duration("Latency", time.Millisecond)
				}
				m.Flush()
			},
			check: func(t *testing.T, got []emfLine) {
				if len(got) != 2 {
					t.Fatalf("%d lines, want 2", len(got))
				}
				if n := len(got[0].Members["Latency"].([]any)); n != maxValuesPerMetric {
					t.Errorf("first line holds %d samples, want %d", n, maxValuesPerMetric)
				}
				if got[1].Members["Latency"] != 1.0 {
					t.Errorf("second line Latency = %v, want the one left over", got[1].Members["Latency"])
				}
			},
		},
		{
			name: "more metrics than EMF allows in one directive spill into a second line",
			record: func(m *Metrics) {
				for i := range maxMetrics + 1 {
					m.Count(fmt.Sprintf("M%03d", i), 1)
				}
				m.Flush()
			},
			check: func(t *testing.T, got []emfLine) {
				if len(got) != 2 || len(got[0].units()) != maxMetrics || len(got[1].units()) != 1 {
					t.Fatalf("got %d lines, want %d metrics then 1", len(got), maxMetrics)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			m := NewMetrics(&buf, "OttuOperations", tt.dims)
			m.now = func() time.Time { return fixedNow }
			tt.record(m)
			tt.check(t, lines(t, buf.String()))
		})
	}
}

func TestMetricsConcurrentUse(t *testing.T) {
	tests := []struct {
		name    string
		workers int
		each    int
	}{
		{"counts from many goroutines, flushed meanwhile, all arrive once in whole lines", 8, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			m := NewMetrics(&buf, "OttuOperations", map[string]string{"Function": "refund"})
			var wg sync.WaitGroup
			for w := range tt.workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range tt.each {
						m.Count("Hits", 1)
						m.Duration("Latency", time.Millisecond)
						if (w+i)%50 == 0 {
							m.Flush()
						}
					}
				}()
			}
			wg.Wait()
			m.Flush()
			total, samples := 0.0, 0
			for _, l := range lines(t, buf.String()) {
				hits, _ := l.Members["Hits"].(float64) // a line may hold only another goroutine's Latency
				total += hits
				switch v := l.Members["Latency"].(type) {
				case []any:
					samples += len(v)
				case float64:
					samples++
				}
			}
			if want := float64(tt.workers * tt.each); total != want {
				t.Errorf("Hits summed over all lines = %v, want %v", total, want)
			}
			if want := tt.workers * tt.each; samples != want {
				t.Errorf("Latency samples over all lines = %d, want %d", samples, want)
			}
		})
	}
}
