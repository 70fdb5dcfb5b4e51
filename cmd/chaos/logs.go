package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"sync"
	"time"
)

// lineWriter hands each complete line written to it to fn, one at a time.
type lineWriter struct {
	mu  sync.Mutex
	buf []byte
	fn  func(line []byte)
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.fn(w.buf[:i])
		w.buf = w.buf[i+1:]
	}
	if len(w.buf) == 0 {
		w.buf = nil // let a large buffer go
	}
	return len(p), nil
}

// secret is a value that must never appear in a log line.
type secret struct {
	Name  string
	Value string
}

// secretScan checks every line of the functions' output (and the stack's
// own log) for the secrets, counting lines and keeping the first leaks with
// the secret blanked out, so the report never repeats it.
type secretScan struct {
	secrets []secret
	mu      sync.Mutex
	lines   int
	notJSON int
	// odd are the first function lines that are not JSON (secrets blanked).
	odd    []string
	leaks  []string
	nLeaks int
}

const keepLeaks = 20

func (s *secretScan) line(l []byte, function bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lines++
	odd := function && notJSON(l)
	if odd {
		s.notJSON++
	}
	text := string(l)
	var found []string
	for _, sec := range s.secrets {
		if sec.Value != "" && strings.Contains(text, sec.Value) {
			found = append(found, sec.Name)
			text = strings.ReplaceAll(text, sec.Value, "<"+sec.Name+">")
		}
	}
	if odd && len(s.odd) < keepLeaks {
		s.odd = append(s.odd, truncate(text, 300))
	}
	if len(found) > 0 {
		s.nLeaks++
		if len(s.leaks) < keepLeaks {
			s.leaks = append(s.leaks, strings.Join(found, ", ")+": "+truncate(text, 300))
		}
	}
}

// notJSON reports a function's output line ("Name | text") whose text is
// not JSON. aws-lambda-rie's own lines (START, END, REPORT, and its "(rapid)"
// warnings), which Lambda writes beside a function's logs too, are not the
// function's.
func notJSON(l []byte) bool {
	_, rest, _ := bytes.Cut(l, []byte(" | "))
	rest = bytes.TrimSpace(rest)
	for _, platform := range []string{"START RequestId: ", "END RequestId: ", "REPORT RequestId: "} {
		if bytes.HasPrefix(rest, []byte(platform)) {
			return false
		}
	}
	if bytes.Contains(rest, []byte(" (rapid) ")) {
		return false
	}
	return len(rest) > 0 && !json.Valid(rest)
}

// writer scans the stack's and the sandbox's JSON logs.
func (s *secretScan) writer() *lineWriter {
	return &lineWriter{fn: func(l []byte) { s.line(l, false) }}
}

// functionWriter scans the functions' output, prefixed "Name | ".
func (s *secretScan) functionWriter() *lineWriter {
	return &lineWriter{fn: func(l []byte) { s.line(l, true) }}
}

// counts returns the lines seen, lines that were not JSON, and lines
// holding a secret with the first of them (secrets blanked).
func (s *secretScan) counts() (lines, notJSON, leaks int, first []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lines, s.notJSON, s.nLeaks, append([]string(nil), s.leaks...)
}

// notJSONLines returns the first function lines that were not JSON.
func (s *secretScan) notJSONLines() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.odd...)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// ottuRequest is one line of the sandbox's request log for an operation.
type ottuRequest struct {
	Status   int
	Replayed bool
	Dropped  bool
	Duration time.Duration
}

// sandboxLog reads the sandbox's JSON request log: what reached "Ottu" per
// Tracking-Key, which requests were replays of a key Ottu already held, and
// which connections a fault dropped.
type sandboxLog struct {
	mu    sync.Mutex
	byKey map[string][]ottuRequest
}

func newSandboxLog() *sandboxLog {
	return &sandboxLog{byKey: map[string][]ottuRequest{}}
}

func (s *sandboxLog) line(l []byte) {
	var v struct {
		Msg         string  `json:"msg"`
		Path        string  `json:"path"`
		Status      int     `json:"status"`
		TrackingKey string  `json:"tracking_key"`
		Replayed    bool    `json:"replayed"`
		Dropped     bool    `json:"dropped"`
		DurationMS  float64 `json:"duration_ms"`
	}
	if json.Unmarshal(l, &v) != nil || v.Msg != "request" || !strings.Contains(v.Path, "/operation/") {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if v.TrackingKey != "" {
		s.byKey[v.TrackingKey] = append(s.byKey[v.TrackingKey], ottuRequest{
			Status: v.Status, Replayed: v.Replayed, Dropped: v.Dropped,
			Duration: time.Duration(v.DurationMS * float64(time.Millisecond)),
		})
	}
}

func (s *sandboxLog) writer() *lineWriter { return &lineWriter{fn: s.line} }

// requests returns a copy of what reached the sandbox for key.
func (s *sandboxLog) requests(key string) []ottuRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]ottuRequest(nil), s.byKey[key]...)
}

// stackLog counts the local stack's own events: function time-outs (the
// pool kills the process, as Lambda does) and process exits.
type stackLog struct {
	mu       sync.Mutex
	timeouts int
	exits    int
}

func (s *stackLog) line(l []byte) {
	var v struct {
		Msg string `json:"msg"`
	}
	if json.Unmarshal(l, &v) != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case strings.HasPrefix(v.Msg, "function timed out"):
		s.timeouts++
	case v.Msg == "function process exited":
		s.exits++
	}
}

func (s *stackLog) counts() (timeouts, exits int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.timeouts, s.exits
}

func (s *stackLog) writer() *lineWriter { return &lineWriter{fn: s.line} }
