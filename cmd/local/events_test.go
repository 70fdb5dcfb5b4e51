package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ottuops/ottu-lambda/dev/sandbox"
)

// eventSample is one file of events/: a sample API Gateway event
// (*-apigw.json) or direct invocation (*-direct.json) for one function.
type eventSample struct {
	file     string // base name, e.g. refund-apigw.json
	function string // logical id, e.g. RefundFunction
	apigw    bool
	payload  []byte
}

// eventSamples reads events/*.json in file order.
func eventSamples(t *testing.T) []eventSample {
	t.Helper()
	files, err := filepath.Glob("../../events/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no sample events in events/: %v", err)
	}
	slices.Sort(files)
	samples := make([]eventSample, 0, len(files))
	for _, f := range files {
		name := filepath.Base(f)
		stem, kind, ok := cutLast(strings.TrimSuffix(name, ".json"), "-")
		if !ok || (kind != "apigw" && kind != "direct") {
			t.Fatalf("%s: a sample is named <function>-apigw.json or <function>-direct.json", name)
		}
		payload, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		samples = append(samples, eventSample{file: name, function: logicalID(functionDir(t, stem)), apigw: kind == "apigw", payload: payload})
	}
	return samples
}

// cutLast splits s around the last sep.
func cutLast(s, sep string) (before, after string, found bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}

// functionDir is the function a sample's name starts with: the longest
// directory of functions/ that is the stem or its prefix before a "-", so
// that one function may have several samples (refund-workflow-read-apigw.json
// is a sample of refund-workflow).
func functionDir(t *testing.T, stem string) string {
	t.Helper()
	dirs, err := os.ReadDir("../../functions")
	if err != nil {
		t.Fatal(err)
	}
	best := ""
	for _, d := range dirs {
		if n := d.Name(); d.IsDir() && (stem == n || strings.HasPrefix(stem, n+"-")) && len(n) > len(best) {
			best = n
		}
	}
	if best == "" {
		t.Fatalf("sample %s names no function of functions/", stem)
	}
	return best
}

// workflowSample reports whether a sample reads or decides the workflow the
// local stack starts at start-up (by the path's id).
func (s eventSample) workflowSample() bool {
	return (s.function == "RefundWorkflowFunction" || s.function == "RefundApprovalFunction") && strings.Contains(string(s.payload), `"id": "`+sandbox.DemoWorkflowID+`"`)
}

// logicalID turns a function directory name into the template's logical
// id: operation-status -> OperationStatusFunction.
func logicalID(dir string) string {
	var b strings.Builder
	for word := range strings.SplitSeq(dir, "-") {
		if word != "" {
			b.WriteString(strings.ToUpper(word[:1]) + word[1:])
		}
	}
	return b.String() + "Function"
}

// target is what a sample acts on: its transaction (operation and inquiry
// samples, by session_id, order_no or the path's id) or the Tracking-Key
// it reads (the status sample).
func (s eventSample) target(t *testing.T) (sessionID, trackingKey string) {
	t.Helper()
	var req struct {
		SessionID   string `json:"session_id"`
		OrderNo     string `json:"order_no"`
		TrackingKey string `json:"tracking_key"`
	}
	body := s.payload
	if s.apigw {
		var ev struct {
			Headers        map[string]string `json:"headers"`
			PathParameters map[string]string `json:"pathParameters"`
			Body           string            `json:"body"`
		}
		if err := json.Unmarshal(s.payload, &ev); err != nil {
			t.Fatalf("%s is not an API Gateway event: %v", s.file, err)
		}
		if ev.Body == "" {
			return demoSession(ev.PathParameters["id"]), ev.PathParameters["tracking_key"]
		}
		body = []byte(ev.Body)
		req.TrackingKey = ev.Headers["tracking-key"]
	}
	if err := json.Unmarshal(body, &req); err != nil {
		t.Fatalf("%s: the request is not JSON: %v", s.file, err)
	}
	if req.SessionID == "" {
		req.SessionID = demoSession(req.OrderNo)
	}
	return req.SessionID, req.TrackingKey
}

// demoSession is the session_id of the demo transaction whose session_id
// or order_no is id; "" when none.
func demoSession(id string) string {
	for _, spec := range sandbox.DemoTransactions() {
		if id != "" && (spec.SessionID == id || spec.OrderNo == id) {
			return spec.SessionID
		}
	}
	return ""
}

// keyed are the functions whose samples carry a Tracking-Key: the
// operations and the status of one. Inquiry takes none.
var keyed = map[string]bool{
	"CaptureFunction": true, "RefundFunction": true, "VoidFunction": true, "CancelFunction": true,
	"ExpireFunction": true, "DeleteFunction": true, "OperationStatusFunction": true,
}

func TestEventSamplesEachNameTheirOwnDemoTransaction(t *testing.T) {
	demo := map[string]bool{}
	for _, spec := range sandbox.DemoTransactions() {
		demo[spec.SessionID] = true
	}
	usedBy := map[string]string{}
	keyUsedBy := map[string]string{}
	for _, s := range eventSamples(t) {
		t.Run(s.file+" acts on a demo transaction or record no other sample uses", func(t *testing.T) {
			session, key := s.target(t)
			switch {
			case key == "" && keyed[s.function]:
				t.Fatal("the sample has no Tracking-Key")
			case key != "":
				if other, ok := keyUsedBy[key]; ok {
					t.Fatalf("Tracking-Key %s is also used by %s", key, other)
				}
				keyUsedBy[key] = s.file
			}
			if s.workflowSample() {
				return // the workflow the local stack starts, which acts on its own transaction
			}
			if s.function == "OperationStatusFunction" {
				if key != sandbox.DemoStatusTrackingKey {
					t.Fatalf("it reads %s, want the record the local stack seeds, %s", key, sandbox.DemoStatusTrackingKey)
				}
				return
			}
			if s.function == "InquiryResultFunction" && session != sandbox.DemoInquirySessionID {
				t.Fatalf("it reads %s, want the transaction the local stack inquires at start, %s", session, sandbox.DemoInquirySessionID)
			}
			if !demo[session] {
				t.Fatalf("session_id %q is not a demo transaction", session)
			}
			if session == sandbox.DemoStatusSessionID || session == sandbox.DemoWorkflowSessionID {
				t.Fatalf("session_id %s is one the local stack refunds for a sample", session)
			}
			if other, ok := usedBy[session]; ok {
				t.Fatalf("session_id %s is also used by %s", session, other)
			}
			usedBy[session] = s.file
		})
	}
}

// TestEventSamplesRunInAnyOrder runs every sample of events/ once against a
// fresh local stack from template.yaml, in file order and in reverse: each
// must succeed whatever ran before it (the reverse order reads the status
// record before any refund sample has run, and runs each direct sample
// before its API Gateway twin).
func TestEventSamplesRunInAnyOrder(t *testing.T) {
	samples := eventSamples(t)
	reversed := slices.Clone(samples)
	slices.Reverse(reversed)
	orders := []struct {
		name    string
		samples []eventSample
	}{
		{"in file order every sample succeeds on a fresh stack", samples},
		{"in reverse file order every sample succeeds on a fresh stack", reversed},
	}
	for _, order := range orders {
		t.Run(order.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			stack := startStack(ctx, t, 2)
			for _, s := range order.samples {
				t.Run(s.file+" succeeds through the Invoke API", func(t *testing.T) {
					out := invokeSample(ctx, t, stack.URLs().API, s)
					if s.apigw {
						checkHTTPAnswer(t, s, out)
					} else {
						checkDirectAnswer(t, s, out)
					}
				})
			}
		})
	}
}

// invokeSample sends the sample through the Lambda Invoke API, as
// `aws lambda invoke --payload file://events/…` does, and returns the
// function's answer; a function error fails the test.
func invokeSample(ctx context.Context, t *testing.T, api string, s eventSample) []byte {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, api+"/2015-03-31/functions/"+s.function+"/invocations", strings.NewReader(string(s.payload)))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Amz-Function-Error") != "" {
		t.Fatalf("%s: %d, function error %q: %s", s.function, resp.StatusCode, resp.Header.Get("X-Amz-Function-Error"), b)
	}
	return b
}

// checkHTTPAnswer wants a 200 that is no replay; the status sample's
// record must be the succeeded demo refund.
func checkHTTPAnswer(t *testing.T, s eventSample, out []byte) {
	t.Helper()
	var resp struct {
		StatusCode int               `json:"statusCode"`
		Headers    map[string]string `json:"headers"`
		Body       string            `json:"body"`
	}
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatalf("not an API Gateway response: %v: %s", err, out)
	}
	want := http.StatusOK
	if s.function == "RefundWorkflowFunction" && !s.workflowSample() {
		want = http.StatusAccepted // a workflow started
	}
	if resp.StatusCode != want {
		t.Fatalf("status %d, want %d: %s", resp.StatusCode, want, resp.Body)
	}
	if http.Header(canonical(resp.Headers)).Get("Idempotent-Replayed") == "true" {
		t.Fatalf("the answer is a replay, so the sample's key was used before: %s", resp.Body)
	}
	if s.function != "OperationStatusFunction" {
		return
	}
	var rec struct {
		TrackingKey string `json:"tracking_key"`
		Operation   string `json:"operation"`
		Status      string `json:"status"`
	}
	if err := json.Unmarshal([]byte(resp.Body), &rec); err != nil {
		t.Fatalf("the record is not JSON: %v: %s", err, resp.Body)
	}
	if rec.TrackingKey != sandbox.DemoStatusTrackingKey || rec.Operation != "refund" || rec.Status != "succeeded" {
		t.Fatalf("record %+v, want the succeeded demo refund %s", rec, sandbox.DemoStatusTrackingKey)
	}
}

// checkDirectAnswer wants a first, successful operation, or an inquiry
// Ottu answered now.
func checkDirectAnswer(t *testing.T, s eventSample, out []byte) {
	t.Helper()
	var res struct {
		Result   string `json:"result"`
		Replayed bool   `json:"replayed"`
		Source   string `json:"source"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("not a direct result: %v: %s", err, out)
	}
	if s.function == "InquiryFunction" {
		if res.Source != "inquiry" {
			t.Fatalf("source %q, want an answer Ottu gave now: %s", res.Source, out)
		}
		return
	}
	if res.Result != "success" || res.Replayed {
		t.Fatalf("result %q, replayed %v, want a first success: %s", res.Result, res.Replayed, out)
	}
}

// canonical keys a header map as http.Header does.
func canonical(h map[string]string) map[string][]string {
	out := make(map[string][]string, len(h))
	for k, v := range h {
		out[http.CanonicalHeaderKey(k)] = []string{v}
	}
	return out
}

// TestEventSamplesREADMEMap checks the README's table of samples against
// events/: every sample is listed once, with the function its name gives,
// and every listed file exists.
func TestEventSamplesREADMEMap(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| (`[a-z-]+\\.json`(?:, `[a-z-]+\\.json`)*) \\| `([A-Za-z]+)` \\|$")
	listed := map[string]string{}
	for _, m := range row.FindAllStringSubmatch(string(readme), -1) {
		for f := range strings.SplitSeq(m[1], ", ") {
			f = strings.Trim(f, "`")
			if other, ok := listed[f]; ok {
				t.Errorf("README lists %s twice (%s and %s)", f, other, m[2])
			}
			listed[f] = m[2]
		}
	}
	samples := eventSamples(t)
	t.Run("every sample of events/ is in the README's table with its function", func(t *testing.T) {
		for _, s := range samples {
			if got, ok := listed[s.file]; !ok || got != s.function {
				t.Errorf("README maps %s to %q, want %s", s.file, got, s.function)
			}
		}
	})
	t.Run("every file of the README's table exists in events/", func(t *testing.T) {
		for f := range listed {
			if !slices.ContainsFunc(samples, func(s eventSample) bool { return s.file == f }) {
				t.Errorf("README lists %s, which events/ lacks", f)
			}
		}
	})
}
