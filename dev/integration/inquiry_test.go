package integration_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/ottuops/ottu-lambda/dev/sandbox"
	"github.com/ottuops/ottu-lambda/dev/testkit"
	"github.com/ottuops/ottu-lambda/shared/inquiry"
	"github.com/ottuops/ottu-lambda/shared/inquiry/api"
	"github.com/ottuops/ottu-lambda/shared/inquiry/app"
	"github.com/ottuops/ottu-lambda/shared/inquiry/resultapp"
	"github.com/ottuops/ottu-lambda/shared/platform/boot"
	"github.com/ottuops/ottu-lambda/shared/platform/problem"
	"github.com/ottuops/ottu-lambda/shared/txn/ddb"
)

// inquiryStack is the inquiry and inquiry-result functions, built by
// boot.BuildInquiry and resultapp.BuildInquiryResult as a cold start would, on
// moto's DynamoDB and Secrets Manager and an Ottu sandbox enforcing Ottu's
// inquiry throttle. The sandbox and the functions share one clock, so a
// test can let 30 minutes pass.
type inquiryStack struct {
	t       *testing.T
	aws     aws.Config
	clock   *testkit.Clock
	sandbox *sandbox.Server
	ottuURL string
	apiKey  string
	table   string
	env     map[string]string
	logs    *testkit.Buffer
	inquiry *api.Inquiry
	results *api.InquiryResult
}

// webhookBase stands for this stack's public URL; nothing listens there,
// so a disclosure's delivery fails, which the sandbox records.
const webhookBase = "http://127.0.0.1:9"

func newInquiryStack(t *testing.T) *inquiryStack {
	t.Helper()
	ctx := context.Background()
	m := testkit.SharedMoto(t)
	s := &inquiryStack{t: t, aws: m.AWSConfig(), clock: testkit.NewClock(time.Now().UTC()), logs: &testkit.Buffer{}}
	s.apiKey = "sandbox-key-" + testkit.UniqueName("k")
	s.sandbox = sandbox.New(sandbox.Config{
		APIKey: s.apiKey, WebhookKey: "webhook-key", Now: s.clock.Now,
		CallbackTimeout: 200 * time.Millisecond, CallbackRetries: -1,
		Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)),
	})
	ts := httptest.NewServer(s.sandbox.Handler())
	t.Cleanup(func() { ts.Close(); s.sandbox.Close() })
	s.ottuURL = ts.URL

	s.table = testkit.UniqueName("inquiries")
	if err := testkit.CreateTable(ctx, dynamodb.NewFromConfig(s.aws), "InquiriesTable", s.table); err != nil {
		t.Fatal(err)
	}
	base := &stack{t: t, aws: s.aws}
	s.env = map[string]string{
		"OTTU_API_SECRET_ID": base.putSecret(testkit.UniqueName("ottu-api"), map[string]string{"base_url": s.ottuURL, "api_key": s.apiKey}),
		"INQUIRIES_TABLE":    s.table,
		"PUBLIC_BASE_URL":    webhookBase,
	}
	s.build()
	return s
}

// build wires both functions from s.env, as a cold start would.
func (s *inquiryStack) build() {
	s.t.Helper()
	getenv := func(k string) string { return s.env[k] }
	opts := boot.Options{AWS: &s.aws, Output: s.logs, Now: s.clock.Now}
	var err error
	if s.inquiry, err = app.BuildInquiry(context.Background(), getenv, opts); err != nil {
		s.t.Fatalf("build inquiry: %v", err)
	}
	if s.results, err = resultapp.BuildInquiryResult(context.Background(), getenv, opts); err != nil {
		s.t.Fatalf("build inquiry-result: %v", err)
	}
}

// txn creates a sandbox transaction ageMinutes old.
func (s *inquiryStack) txn(session, order, state string, ageMinutes int) {
	s.t.Helper()
	if _, err := s.sandbox.CreateTransaction(sandbox.TransactionSpec{SessionID: session, OrderNo: order, Amount: "5.000",
		CurrencyCode: "KWD", State: state, PGCode: "kpay", AgeMinutes: ageMinutes}); err != nil {
		s.t.Fatal(err)
	}
}

// inquiredAt is how many inquiries the sandbox answered for session.
func (s *inquiryStack) inquiredAt(session string) int {
	s.t.Helper()
	tx, ok := s.sandbox.Transaction(session)
	if !ok {
		s.t.Fatalf("no sandbox transaction %s", session)
	}
	return len(tx.InquiredAt)
}

// post sends POST /inquiry[?query] through the function's entry point.
func (s *inquiryStack) post(body, query string) events.APIGatewayV2HTTPResponse {
	s.t.Helper()
	ev := events.APIGatewayV2HTTPRequest{Version: "2.0", RouteKey: "POST /inquiry", RawPath: "/inquiry", RawQueryString: query,
		Headers: map[string]string{"content-type": "application/json"}, Body: body}
	if k, v, ok := strings.Cut(query, "="); ok {
		ev.QueryStringParameters = map[string]string{k: v}
	}
	ev.RequestContext.HTTP.Method = http.MethodPost
	ev.RequestContext.RequestID = testkit.UniqueName("req")
	return s.invokeHTTP(s.inquiry.Invoke, ev)
}

// get sends GET /transactions/{id}/inquiry[?query].
func (s *inquiryStack) get(id, query string) events.APIGatewayV2HTTPResponse {
	s.t.Helper()
	ev := events.APIGatewayV2HTTPRequest{Version: "2.0", RouteKey: "GET /transactions/{id}/inquiry", RawPath: "/transactions/" + id + "/inquiry",
		PathParameters: map[string]string{"id": id}}
	if k, v, ok := strings.Cut(query, "="); ok {
		ev.QueryStringParameters = map[string]string{k: v}
	}
	ev.RequestContext.HTTP.Method = http.MethodGet
	ev.RequestContext.RequestID = testkit.UniqueName("req")
	return s.invokeHTTP(s.results.Invoke, ev)
}

func (s *inquiryStack) invokeHTTP(invoke func(context.Context, json.RawMessage) (any, error), ev events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	s.t.Helper()
	payload, _ := json.Marshal(ev)
	out, err := invoke(context.Background(), payload)
	if err != nil {
		s.t.Fatalf("invoke: %v", err)
	}
	return out.(events.APIGatewayV2HTTPResponse)
}

// view decodes a 200 answer of the stored view.
type storedView struct {
	Source       string          `json:"source"`
	StoredSource string          `json:"stored_source"`
	SessionID    string          `json:"session_id"`
	OrderNo      string          `json:"order_no"`
	State        string          `json:"state"`
	ReceivedAt   time.Time       `json:"received_at"`
	FreshAfter   *time.Time      `json:"fresh_after"`
	Ottu         json.RawMessage `json:"ottu"`
	History      []storedView    `json:"history"`
}

func viewOf(t *testing.T, resp events.APIGatewayV2HTTPResponse) storedView {
	t.Helper()
	var v storedView
	if resp.StatusCode != 200 || json.Unmarshal([]byte(resp.Body), &v) != nil {
		t.Fatalf("%d %s", resp.StatusCode, resp.Body)
	}
	return v
}

func TestInquiryStoredAndReadBack(t *testing.T) {
	s := newInquiryStack(t)
	s.txn("inq-read-1", "inq-order-1", sandbox.StateAttempted, 15)
	resp := s.post(`{"session_id":"inq-read-1"}`, "")
	if resp.StatusCode != 200 || resp.Headers["Inquiry-Source"] != "inquiry" || resp.Headers["Result-Stored"] != "" {
		t.Fatalf("%d %v %s", resp.StatusCode, resp.Headers, resp.Body)
	}
	var ottuBody map[string]any
	if err := json.Unmarshal([]byte(resp.Body), &ottuBody); err != nil || ottuBody["state"] != "attempted" || ottuBody["signature"] != nil {
		t.Fatalf("the answer is not Ottu's inquiry body without its signature: %s", resp.Body)
	}
	for _, id := range []string{"inq-read-1", "inq-order-1"} {
		t.Run("it reads back by "+id, func(t *testing.T) {
			v := viewOf(t, s.get(id, ""))
			if v.Source != "inquiry" || v.SessionID != "inq-read-1" || v.OrderNo != "inq-order-1" || v.State != "attempted" || !v.ReceivedAt.Equal(s.clock.Now().Truncate(time.Millisecond)) {
				t.Fatalf("view %+v", v)
			}
			if !jsonEqual(v.Ottu, []byte(resp.Body)) {
				t.Fatalf("stored body %s differs from Ottu's answer %s", v.Ottu, resp.Body)
			}
		})
	}
	t.Run("an inquiry by order_no is stored under the session Ottu names", func(t *testing.T) {
		s.txn("inq-read-2", "inq-order-2", sandbox.StatePending, 15)
		if resp := s.post(`{"order_no":"inq-order-2"}`, ""); resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, resp.Body)
		}
		if v := viewOf(t, s.get("inq-read-2", "")); v.OrderNo != "inq-order-2" || v.State != "pending" {
			t.Fatalf("view %+v", v)
		}
	})
	t.Run("each request logs its id and each outcome writes a metric", func(t *testing.T) {
		logs := s.logs.String()
		for _, want := range []string{`"msg":"inquiry done"`, `"function":"inquiry"`, `"request_id":"req-`, `"Inquiry_inquiry"`, `"InquiryResult_found"`} {
			if !strings.Contains(logs, want) {
				t.Errorf("the output lacks %s", want)
			}
		}
		mustNotContain(t, logs+resp.Body, s.apiKey)
	})
}

func jsonEqual(a, b []byte) bool {
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal(b, &y) == nil && reflect.DeepEqual(x, y)
}

func TestInquiryThrottleAnsweredFromTheStore(t *testing.T) {
	s := newInquiryStack(t)
	s.txn("inq-throttle-1", "inq-throttle-order-1", sandbox.StateAttempted, 15)
	if resp := s.post(`{"session_id":"inq-throttle-1"}`, ""); resp.StatusCode != 200 {
		t.Fatalf("first inquiry: %d %s", resp.StatusCode, resp.Body)
	}
	firstAt := s.clock.Now()

	t.Run("a second inquiry within 30 minutes is the stored result, source stored, and Ottu is not asked", func(t *testing.T) {
		s.clock.Advance(5 * time.Minute)
		resp := s.post(`{"order_no":"inq-throttle-order-1"}`, "")
		v := viewOf(t, resp)
		if v.Source != "stored" || v.StoredSource != "inquiry" || resp.Headers["Inquiry-Source"] != "stored" || v.FreshAfter == nil ||
			!v.FreshAfter.Equal(firstAt.Add(inquiry.Interval).Truncate(time.Millisecond)) || !v.ReceivedAt.Equal(firstAt.Truncate(time.Millisecond)) {
			t.Fatalf("answer %+v", v)
		}
		if n := s.inquiredAt("inq-throttle-1"); n != 1 {
			t.Fatalf("the sandbox answered %d inquiries, want 1", n)
		}
	})
	t.Run("fresh=true asks Ottu anyway and passes on its refusal with Retry-After", func(t *testing.T) {
		resp := s.post(`{"session_id":"inq-throttle-1"}`, "fresh=true")
		p := problemOf(t, resp)
		if resp.StatusCode != 429 || p.Code != inquiry.CodeThrottled || resp.Headers["Retry-After"] != "1500" || len(p.Ottu) == 0 {
			t.Fatalf("%d %v %+v", resp.StatusCode, resp.Headers, p)
		}
	})
	t.Run("30 minutes after the first, Ottu is asked again", func(t *testing.T) {
		s.clock.Advance(25 * time.Minute)
		resp := s.post(`{"session_id":"inq-throttle-1"}`, "")
		if resp.StatusCode != 200 || resp.Headers["Inquiry-Source"] != "inquiry" || s.inquiredAt("inq-throttle-1") != 2 {
			t.Fatalf("%d %v %s", resp.StatusCode, resp.Headers, resp.Body)
		}
	})
	t.Run("the history lists both inquiries newest first", func(t *testing.T) {
		v := viewOf(t, s.get("inq-throttle-order-1", "history=true"))
		if len(v.History) != 2 || !v.History[0].ReceivedAt.After(v.History[1].ReceivedAt) || v.History[0].Source != "inquiry" {
			t.Fatalf("history %+v", v.History)
		}
		if !v.ReceivedAt.Equal(v.History[0].ReceivedAt) {
			t.Fatalf("current view %+v is not the newest entry", v)
		}
	})
	t.Run("Ottu refusing as throttled answers the stored result, fresh after Ottu's Retry-After", func(t *testing.T) {
		s.clock.Advance(inquiry.Interval)
		// Other systems on the same Ottu account use up the minute's 30.
		for i := range sandbox.DefaultInquiryPerMinute {
			req, _ := http.NewRequest(http.MethodPost, s.ottuURL+"/b/pbl/v2/inquiry/", strings.NewReader(fmt.Sprintf(`{"session_id":"elsewhere-%d"}`, i)))
			req.Header.Set("Authorization", "Api-Key "+s.apiKey)
			req.Header.Set("Content-Type", "application/json")
			r, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_ = r.Body.Close()
		}
		resp := s.post(`{"session_id":"inq-throttle-1"}`, "")
		v := viewOf(t, resp)
		if v.Source != "stored" || v.FreshAfter == nil || !v.FreshAfter.Equal(s.clock.Now().Add(time.Minute).Truncate(time.Millisecond)) {
			t.Fatalf("answer %s", resp.Body)
		}
	})
}

func TestInquiryProblems(t *testing.T) {
	s := newInquiryStack(t)
	s.txn("inq-canceled", "", sandbox.StateCanceled, 15)
	s.txn("inq-created", "inq-created-order", sandbox.StateCreated, 15)
	s.txn("inq-young", "", sandbox.StateAttempted, 0)
	s.txn("inq-down", "", sandbox.StatePending, 15)
	tests := []struct {
		name   string
		body   string
		setup  func()
		status int
		code   problem.Code
		header string
	}{
		{"an unknown transaction is a 404 not_found", `{"session_id":"inq-nobody"}`, nil, 404, problem.CodeNotFound, ""},
		{"a canceled payment, which inquiry does not answer, is a 422 inquiry_not_allowed", `{"session_id":"inq-canceled"}`, nil, 422, inquiry.CodeNotAllowed, ""},
		{"a payment with no attempt yet is a 422 inquiry_not_allowed", `{"order_no":"inq-created-order"}`, nil, 422, inquiry.CodeNotAllowed, ""},
		{"a payment in its first 10 minutes, with nothing stored, is a 429 inquiry_throttled", `{"session_id":"inq-young"}`, nil, 429, inquiry.CodeThrottled, "600"},
		{"Ottu down is a 502 ottu_unavailable", `{"session_id":"inq-down"}`, func() {
			if err := s.sandbox.AddFault(sandbox.Fault{Kind: sandbox.FaultError5xx, Operation: "inquiry", Status: 503}); err != nil {
				t.Fatal(err)
			}
		}, 502, problem.CodeOttuUnavailable, ""},
		{"a disclosure_url Ottu could not post to safely is a 400 invalid_request", `{"session_id":"inq-down","disclose_to_merchant":true,"disclosure_url":"http://shop.example.com/hook"}`, nil, 400, problem.CodeInvalidRequest, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.setup != nil {
				tc.setup()
			}
			resp := s.post(tc.body, "")
			p := problemOf(t, resp)
			if resp.StatusCode != tc.status || p.Code != tc.code || !strings.HasSuffix(p.Detail, ".") {
				t.Fatalf("%d %+v", resp.StatusCode, p)
			}
			if tc.header != "" && resp.Headers["Retry-After"] != tc.header {
				t.Fatalf("Retry-After %q, want %s", resp.Headers["Retry-After"], tc.header)
			}
		})
	}
	t.Run("nothing stored is a 404 on GET", func(t *testing.T) {
		resp := s.get("inq-canceled", "")
		if p := problemOf(t, resp); resp.StatusCode != 404 || p.Code != problem.CodeNotFound {
			t.Fatalf("%d %+v", resp.StatusCode, p)
		}
	})
	t.Run("disclosure with neither disclosure_url nor PUBLIC_BASE_URL is a 400 disclosure_url_missing", func(t *testing.T) {
		delete(s.env, "PUBLIC_BASE_URL")
		s.build()
		defer func() { s.env["PUBLIC_BASE_URL"] = webhookBase; s.build() }()
		_, err := s.inquiry.Direct(context.Background(), json.RawMessage(`{"session_id":"inq-down","disclose_to_merchant":true}`))
		if err == nil || !strings.Contains(err.Error(), `"code":"disclosure_url_missing"`) || reflect.TypeOf(err).Elem().Name() != "InvalidRequest" {
			t.Fatalf("error %v", err)
		}
	})
}

func TestInquiryDisclosureWithATaskToken(t *testing.T) {
	s := newInquiryStack(t)
	s.txn("inq-token-1", "inq-token-order-1", sandbox.StateAttempted, 15)
	v, err := s.inquiry.Direct(context.Background(), json.RawMessage(`{"order_no":"inq-token-order-1","disclose_to_merchant":true,"task_token":"token-for-inq-token-1"}`))
	if err != nil {
		t.Fatal(err)
	}
	if v.Source != "inquiry" || !v.Waiting || *v.SessionID != "inq-token-1" {
		t.Fatalf("answer %+v", v)
	}
	t.Run("the waiter is stored for the disclosure to find", func(t *testing.T) {
		ws, err := ddb.New(dynamodb.NewFromConfig(s.aws), s.table).Waiters(context.Background(), "inq-token-order-1")
		if err != nil || len(ws) != 1 || ws[0].TaskToken != "token-for-inq-token-1" {
			t.Fatalf("waiters %+v, %v", ws, err)
		}
	})
	t.Run("Ottu was asked to disclose to this stack's own webhook", func(t *testing.T) {
		tx, _ := s.sandbox.Transaction("inq-token-1")
		if len(tx.Callbacks) != 1 || tx.Callbacks[0].URL != webhookBase+"/webhooks/ottu" {
			t.Fatalf("callbacks %+v", tx.Callbacks)
		}
	})
	t.Run("the task token is in no log line", func(t *testing.T) {
		mustNotContain(t, s.logs.String(), "token-for-inq-token-1")
	})
}

func TestInquiryResultNeedsOnlyItsTable(t *testing.T) {
	m := testkit.SharedMoto(t)
	awsCfg := m.AWSConfig()
	_, err := resultapp.BuildInquiryResult(context.Background(), func(k string) string {
		return map[string]string{"INQUIRIES_TABLE": "some-table"}[k]
	}, boot.Options{AWS: &awsCfg, Output: io.Discard})
	if err != nil {
		t.Fatalf("inquiry-result needs only INQUIRIES_TABLE, but: %v", err)
	}
	_, err = app.BuildInquiry(context.Background(), func(k string) string {
		return map[string]string{"INQUIRIES_TABLE": "some-table"}[k]
	}, boot.Options{AWS: &awsCfg, Output: io.Discard})
	if err == nil || !strings.Contains(err.Error(), "OTTU_API_SECRET_ID") {
		t.Fatalf("inquiry without the API secret: %v", err)
	}
}

// checkInquiryEvent invokes the inquiry or inquiry-result function's real
// handler with a sample of events/ (file, named name), on the demo
// transactions the local stack starts with; the result sample reads the
// inquiry the local stack makes at start, made here first.
func checkInquiryEvent(t *testing.T, name, file string) {
	s := newInquiryStack(t)
	for _, spec := range sandbox.DemoTransactions() {
		if _, err := s.sandbox.CreateTransaction(spec); err != nil {
			t.Fatal(err)
		}
	}
	payload, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	invoke := s.inquiry.Invoke
	if strings.HasPrefix(name, "inquiry-result") {
		if _, err := s.inquiry.Direct(context.Background(), json.RawMessage(`{"session_id":"`+sandbox.DemoInquirySessionID+`"}`)); err != nil {
			t.Fatalf("seed the demo inquiry: %v", err)
		}
		invoke = s.results.Invoke
	}
	out, err := invoke(context.Background(), payload)
	if err != nil {
		t.Fatalf("%s: %v", reflect.TypeOf(err), err)
	}
	switch v := out.(type) {
	case events.APIGatewayV2HTTPResponse:
		if v.StatusCode != 200 {
			t.Fatalf("%d %s", v.StatusCode, v.Body)
		}
	case *api.InquiryView:
		if v.Source != "inquiry" {
			t.Fatalf("answer %+v, want one Ottu gave now", v)
		}
	default:
		t.Fatalf("unexpected %T", out)
	}
}
