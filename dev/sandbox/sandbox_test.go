package sandbox

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ottuops/ottu-lambda/dev/testkit"
)

const (
	testAPIKey     = "test-api-key-7f3a"
	testWebhookKey = "test-webhook-key-91c2"
	testPassword   = "s3cret-pass-for-tests"
)

// apiKey and basic build Authorization header values.
func apiKey() string { return "Api-Key " + testAPIKey }

func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

// harness is one sandbox behind a real HTTP server.
type harness struct {
	t    *testing.T
	srv  *Server
	ts   *httptest.Server
	logs *testkit.Buffer
}

// testUsers cover each permission pattern the tests need.
func testUsers() map[string]User {
	return map[string]User{
		"admin":     {Password: testPassword, Permissions: []string{PermissionAll}},
		"refunder":  {Password: testPassword, Permissions: []string{"payment.refund"}},
		"inquirer":  {Password: testPassword, Permissions: []string{"payment.inquiry"}},
		"nobody":    {Password: testPassword},
		"canceller": {Password: testPassword, Permissions: []string{"payment.cancel", "payment.expire"}},
	}
}

// newHarness starts a sandbox with short callback timings; queued refunds
// settle only when a test says so unless it changes QueueSettleDelay. The
// inquiry throttle is off, since most tests inquire on new transactions
// about something else; throttle_test.go turns it on.
func newHarness(t *testing.T, mods ...func(*Config)) *harness {
	t.Helper()
	logs := &testkit.Buffer{}
	cfg := Config{
		APIKey:             testAPIKey,
		WebhookKey:         testWebhookKey,
		Users:              testUsers(),
		CallbackTimeout:    100 * time.Millisecond,
		CallbackRetries:    2,
		CallbackRetryDelay: 5 * time.Millisecond,
		QueueSettleDelay:   time.Hour,
		Logger:             slog.New(slog.NewJSONHandler(logs, nil)),
		InquiryLimits:      InquiryLimits{Off: true},
	}
	for _, m := range mods {
		m(&cfg)
	}
	srv := New(cfg)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		srv.Close() // first: ends sleeps so the HTTP server can close
		ts.Close()
	})
	return &harness{t: t, srv: srv, ts: ts, logs: logs}
}

// create adds a transaction through the Go admin API.
func (h *harness) create(spec TransactionSpec) Transaction {
	h.t.Helper()
	tr, err := h.srv.CreateTransaction(spec)
	if err != nil {
		h.t.Fatalf("create transaction %+v: %v", spec, err)
	}
	return tr
}

// paid creates a paid transaction of amt in cur on the gateway.
func (h *harness) txn(state, amt, cur, pg string) Transaction {
	h.t.Helper()
	return h.create(TransactionSpec{Amount: amt, CurrencyCode: cur, State: state, PGCode: pg})
}

// get reads the admin view; the test fails when it is gone.
func (h *harness) get(sessionID string) Transaction {
	h.t.Helper()
	tr, ok := h.srv.Transaction(sessionID)
	if !ok {
		h.t.Fatalf("transaction %s not found", sessionID)
	}
	return tr
}

// response is a decoded answer.
type response struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

func (r response) str(key string) string {
	s, _ := r.body[key].(string)
	return s
}

// txnField reads body.txn[key] of an external-operation answer.
func (r response) txnField(key string) string {
	m, _ := r.body["txn"].(map[string]any)
	s, _ := m[key].(string)
	return s
}

// do sends a request; headers go in pairs (name, value).
func (h *harness) do(method, path, auth, body string, headers ...string) response {
	h.t.Helper()
	req, err := http.NewRequest(method, h.ts.URL+path, strings.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := h.ts.Client().Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	r := response{status: resp.StatusCode, header: resp.Header, raw: raw}
	if len(raw) > 0 && raw[0] == '{' {
		if err := json.Unmarshal(raw, &r.body); err != nil {
			h.t.Fatalf("%s %s answered invalid JSON %q: %v", method, path, raw, err)
		}
	}
	return r
}

// op posts a v2 operation with the API key, optionally with a Tracking-Key.
func (h *harness) op(body map[string]any, trackingKey string) response {
	h.t.Helper()
	var hdr []string
	if trackingKey != "" {
		hdr = []string{"Tracking-Key", trackingKey}
	}
	return h.do(http.MethodPost, "/b/pbl/v2/operation/", apiKey(), mustJSON(h.t, body), hdr...)
}

// inquiry posts a v2 inquiry with the API key.
func (h *harness) inquiry(body map[string]any) response {
	h.t.Helper()
	return h.do(http.MethodPost, "/b/pbl/v2/inquiry/", apiKey(), mustJSON(h.t, body))
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// wantStatus fails with the body when the status differs.
func wantStatus(t *testing.T, r response, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.raw)
	}
}

// wantDetail fails unless the answer is status with exactly this detail.
func wantDetail(t *testing.T, r response, status int, detail string) {
	t.Helper()
	wantStatus(t, r, status)
	if got := r.str("detail"); got != detail {
		t.Fatalf("detail %q, want %q", got, detail)
	}
}

// eventually polls cond until it holds; the deadline only guards against
// a hang, nothing asserts how long it took.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting: %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func readFixture(t *testing.T, name string, v any) {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("fixture %s: %v", name, err)
	}
}

func TestRouting(t *testing.T) {
	h := newHarness(t)
	tr := h.create(TransactionSpec{OrderNo: "route-1", Amount: "5.000", CurrencyCode: "KWD", State: "paid", PGCode: "mpgs"})
	refund := `{"operation":"refund","session_id":"` + tr.SessionID + `","amount":"0.001"}`
	tests := []struct {
		name, method, path, auth, body string
		status                         int
	}{
		{"the v2 operation path works with a trailing slash", "POST", "/b/pbl/v2/operation/", apiKey(), refund, 200},
		{"the v2 operation path works without a trailing slash", "POST", "/b/pbl/v2/operation", apiKey(), refund, 200},
		{"the v2 inquiry path works without a trailing slash", "POST", "/b/pbl/v2/inquiry", apiKey(), `{"order_no":"route-1"}`, 200},
		{"the v1 operation path works without a trailing slash", "POST", "/b/pbl/v1/operation/route-1", basic("admin", testPassword), `{"operation":"refund","amount":"0.001"}`, 200},
		{"GET on the operation path is not allowed", "GET", "/b/pbl/v2/operation/", apiKey(), "", 405},
		{"GET without credentials is not authenticated first", "GET", "/b/pbl/v2/operation/", "", "", 401},
		{"a v1 path without an order number is not found", "POST", "/b/pbl/v1/operation/", basic("admin", testPassword), "{}", 404},
		{"a v1 path with two segments is not found", "POST", "/b/pbl/v1/operation/a/b", basic("admin", testPassword), "{}", 404},
		{"an unknown path is not found", "GET", "/nothing", "", "", 404},
		{"the v3 API does not exist", "POST", "/b/pbl/v3/operation/", apiKey(), refund, 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := h.do(tc.method, tc.path, tc.auth, tc.body)
			wantStatus(t, r, tc.status)
			if r.header.Get("Content-Type") != "application/json" || r.body == nil {
				t.Fatalf("answer %q with Content-Type %q, want a JSON object", r.raw, r.header.Get("Content-Type"))
			}
			if tc.status == http.StatusMethodNotAllowed && r.header.Get("Allow") != "POST" {
				t.Fatalf("Allow %q, want POST", r.header.Get("Allow"))
			}
		})
	}
}

func TestRequestLog(t *testing.T) {
	h := newHarness(t)
	tr := h.txn("paid", "5.000", "KWD", "mpgs")
	h.op(map[string]any{"operation": "refund", "session_id": tr.SessionID, "amount": "1.000"}, "log-key")
	h.do(http.MethodPost, "/b/pbl/v2/operation/", basic("admin", "wrong-password-xyz"), `{}`)
	h.do(http.MethodGet, "/sandbox/transactions/"+tr.SessionID, "", "")

	// A line is written as its handler returns, which may follow the
	// client reading the answer.
	requestLines := func() []map[string]any {
		var lines []map[string]any
		for _, line := range strings.Split(strings.TrimSpace(h.logs.String()), "\n") {
			var m map[string]any
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				t.Fatalf("log line %q is not JSON: %v", line, err)
			}
			if m["msg"] == "request" {
				lines = append(lines, m)
			}
		}
		return lines
	}
	eventually(t, "three request lines", func() bool { return len(requestLines()) >= 3 })
	lines := requestLines()
	t.Run("each request writes one line", func(t *testing.T) {
		if len(lines) != 3 {
			t.Fatalf("%d request lines, want 3: %v", len(lines), lines)
		}
	})
	t.Run("the operation line names the operation, transaction and key", func(t *testing.T) {
		l := lines[0]
		want := map[string]any{"method": "POST", "path": "/b/pbl/v2/operation/", "status": float64(200),
			"operation": "refund", "session_id": tr.SessionID, "tracking_key": "log-key"}
		for k, v := range want {
			if l[k] != v {
				t.Errorf("%s = %v, want %v", k, l[k], v)
			}
		}
		if _, ok := l["duration_ms"].(float64); !ok {
			t.Errorf("duration_ms missing from %v", l)
		}
	})
	t.Run("a refused login is logged with its status and no credential", func(t *testing.T) {
		if lines[1]["status"] != float64(401) {
			t.Fatalf("line %v, want status 401", lines[1])
		}
		logs := h.logs.String()
		for _, secret := range []string{"wrong-password-xyz", testAPIKey, "Authorization", "Basic "} {
			if strings.Contains(logs, secret) {
				t.Fatalf("the log holds %q: %s", secret, logs)
			}
		}
	})
}

func TestCloseIsSafeAndStopsWork(t *testing.T) {
	h := newHarness(t)
	tr := h.txn("paid", "5.000", "KWD", "mpgs")
	if err := h.srv.AddFault(Fault{Kind: FaultQueueRefund}); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, h.op(map[string]any{"operation": "refund", "session_id": tr.SessionID, "amount": "1.000"}, ""), http.StatusOK)
	h.srv.Close()
	h.srv.Close()
	if c := h.get(tr.SessionID).Children; c[0].State != ChildRefundQueued {
		t.Fatalf("child %+v, want it still queued: Close stops settlements", c[0])
	}
	wantDetail(t, h.op(map[string]any{"operation": "refund", "session_id": tr.SessionID}, ""), http.StatusServiceUnavailable, "The sandbox is shutting down.")
}

func TestLatencyIsCutShortByClose(t *testing.T) {
	h := newHarness(t)
	tr := h.txn("paid", "5.000", "KWD", "mpgs")
	if err := h.srv.AddFault(Fault{Kind: FaultLatency, LatencyMS: maxLatencyMS}); err != nil {
		t.Fatal(err)
	}
	done := make(chan response, 1)
	go func() {
		done <- h.op(map[string]any{"operation": "refund", "session_id": tr.SessionID}, "")
	}()
	eventually(t, "the request to take the fault", func() bool { return len(h.srv.Faults()) == 0 })
	h.srv.Close()
	r := <-done
	wantDetail(t, r, http.StatusServiceUnavailable, "The sandbox is shutting down.")
}
