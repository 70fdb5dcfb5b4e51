package integration_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/ottuops/ottu-lambda/dev/sandbox"
	"github.com/ottuops/ottu-lambda/dev/testkit"
	inquiryapp "github.com/ottuops/ottu-lambda/shared/inquiry/app"
	"github.com/ottuops/ottu-lambda/shared/ottu"
	"github.com/ottuops/ottu-lambda/shared/platform/boot"
	"github.com/ottuops/ottu-lambda/shared/txn"
	"github.com/ottuops/ottu-lambda/shared/txn/ddb"
	"github.com/ottuops/ottu-lambda/shared/webhook"
	"github.com/ottuops/ottu-lambda/shared/webhook/api"
	webhookapp "github.com/ottuops/ottu-lambda/shared/webhook/app"
	"github.com/ottuops/ottu-lambda/shared/webhook/sfn"
)

// sandboxWebhookKey is the key the sandbox signs its callbacks with, and
// the webhook secret holds.
const sandboxWebhookKey = "sandbox-webhook-key-" + "e2e"

// webhookStack is the webhook function built by webhookapp.BuildWebhook as a cold
// start would, on moto (DynamoDB, Secrets Manager, Step Functions) and
// served over HTTP the way API Gateway hands it requests, with an Ottu
// sandbox posting its disclosures there.
type webhookStack struct {
	t        testing.TB
	moto     *testkit.Moto
	aws      aws.Config
	clock    *testkit.Clock
	sandbox  *sandbox.Server
	ottuURL  string
	apiKey   string
	table    string
	secretID string
	logs     *testkit.Buffer
	webhook  *api.Webhook
	dynamo   *testkit.CountingClient
	// hookURL is the webhook's URL, POST /webhooks/ottu.
	hookURL string
}

func newWebhookStack(t testing.TB, m *testkit.Moto) *webhookStack {
	t.Helper()
	ctx := context.Background()
	s := &webhookStack{t: t, moto: m, aws: m.AWSConfig(), clock: testkit.NewClock(time.Now().UTC()), logs: &testkit.Buffer{}}
	s.apiKey = "sandbox-key-" + testkit.UniqueName("k")
	s.sandbox = sandbox.New(sandbox.Config{
		APIKey: s.apiKey, WebhookKey: sandboxWebhookKey, Now: s.clock.Now,
		CallbackTimeout: 5 * time.Second, CallbackRetries: -1,
		InquiryLimits: sandbox.InquiryLimits{Off: true},
		Logger:        slog.New(slog.NewJSONHandler(io.Discard, nil)),
	})
	ts := httptest.NewServer(s.sandbox.Handler())
	t.Cleanup(func() { ts.Close(); s.sandbox.Close() })
	s.ottuURL = ts.URL

	s.table = testkit.UniqueName("inquiries")
	if err := testkit.CreateTable(ctx, dynamodb.NewFromConfig(s.aws), "InquiriesTable", s.table); err != nil {
		t.Fatal(err)
	}
	s.secretID = (&stack{t: t, aws: s.aws}).putSecret(testkit.UniqueName("ottu-webhook"), map[string]string{"webhook_key": sandboxWebhookKey})
	s.webhook = s.build(s.secretID)
	hook := httptest.NewServer(apiGateway(func(ctx context.Context, ev events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
		resp, _ := s.webhook.HTTP(ctx, ev)
		return resp
	}))
	t.Cleanup(hook.Close)
	s.hookURL = hook.URL + "/webhooks/ottu"
	return s
}

// build wires the webhook with secretID as its secret, counting its
// DynamoDB requests.
func (s *webhookStack) build(secretID string) *api.Webhook {
	s.t.Helper()
	env := map[string]string{"OTTU_WEBHOOK_SECRET_ID": secretID, "INQUIRIES_TABLE": s.table}
	h, err := webhookapp.BuildWebhook(context.Background(), func(k string) string { return env[k] },
		boot.Options{AWS: &s.aws, Output: s.logs, Now: s.clock.Now}, sfn.FromConfig)
	if err != nil {
		s.t.Fatalf("build webhook: %v", err)
	}
	s.dynamo = testkit.NewCountingClient(dynamodb.NewFromConfig(s.aws))
	h.Service.(*webhook.Service).Store = ddb.New(s.dynamo, s.table)
	return h
}

func (s *webhookStack) store() *ddb.Store {
	return ddb.New(dynamodb.NewFromConfig(s.aws), s.table)
}

// apiGateway serves fn over HTTP as API Gateway's HTTP API does (payload
// 2.0; a body that is not text arrives base64-encoded).
func apiGateway(fn func(context.Context, events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ev := events.APIGatewayV2HTTPRequest{Version: "2.0", RouteKey: r.Method + " " + r.URL.Path, RawPath: r.URL.Path, Headers: map[string]string{}}
		for k := range r.Header {
			ev.Headers[strings.ToLower(k)] = r.Header.Get(k)
		}
		ev.RequestContext.HTTP.Method = r.Method
		ev.RequestContext.RequestID = testkit.UniqueName("req")
		mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if mt == "application/json" {
			ev.Body = string(body)
		} else {
			// HTTP APIs hand form posts to Lambda base64-encoded.
			ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString(body), true
		}
		resp := fn(r.Context(), ev)
		for k, v := range resp.Headers {
			w.Header().Set(k, v)
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = io.WriteString(w, resp.Body)
	})
}

// txn creates a sandbox transaction whose disclosures go to the webhook.
func (s *webhookStack) txn(state string) string {
	s.t.Helper()
	tx, err := s.sandbox.CreateTransaction(sandbox.TransactionSpec{Amount: "5.000", CurrencyCode: "KWD", State: state,
		PGCode: "kpay", OrderNo: testkit.UniqueName("order"), WebhookURL: s.hookURL})
	if err != nil {
		s.t.Fatal(err)
	}
	return tx.SessionID
}

// ottuCall posts to the sandbox's Ottu API, as Ottu is called.
func (s *webhookStack) ottuCall(path string, body map[string]any) {
	s.t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, s.ottuURL+path, bytes.NewReader(b))
	req.Header.Set("Authorization", "Api-Key "+s.apiKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	out, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		s.t.Fatalf("%s answered %d: %s", path, resp.StatusCode, out)
	}
}

// disclose asks the sandbox's inquiry to disclose session to the webhook.
func (s *webhookStack) disclose(session string) {
	s.t.Helper()
	s.ottuCall("/b/pbl/v2/inquiry/", map[string]any{"session_id": session, "disclose_to_merchant": true})
}

// delivered waits until the sandbox has delivered n callbacks of session
// and returns the status codes the webhook answered.
func (s *webhookStack) delivered(session string, n int) []int {
	s.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		tx, _ := s.sandbox.Transaction(session)
		var codes []int
		done := 0
		for _, cb := range tx.Callbacks {
			if cb.Outcome != sandbox.OutcomePending {
				done++
				codes = append(codes, cb.StatusCodes...)
			}
		}
		if done >= n {
			return codes
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("%d of %d callbacks of %s delivered after 30 s: %+v", done, n, session, tx.Callbacks)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// post sends body to the webhook as Ottu would.
func (s *webhookStack) post(body []byte, contentType string) (int, string) {
	s.t.Helper()
	resp, err := http.Post(s.hookURL, contentType, bytes.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// signed is a callback for session signed with the sandbox's key.
func signed(session, state, ts string) ottu.Fields {
	f := ottu.Fields{"amount": "5.000", "currency_code": "KWD", "gateway_name": "kpay", "session_id": session,
		"order_no": session + "-order", "reference_number": "REF-" + session,
		"state": state, "result": "pending", "timestamp_utc": ts}
	f["signature"] = ottu.Sign(f, sandboxWebhookKey)
	return f
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// outcomes counts the webhook's log lines by outcome.
func outcomes(t testing.TB, logs string) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["function"] == "webhook" {
			if o, ok := m["outcome"].(string); ok {
				out[o]++
			}
		}
	}
	return out
}

// TestWebhookAgainstMotoAndSandbox delivers the sandbox's own signed
// disclosures (and hand-made ones) to the webhook built as deployed, over
// HTTP, with moto behind it.
func TestWebhookAgainstMotoAndSandbox(t *testing.T) {
	s := newWebhookStack(t, testkit.SharedMoto(t))
	ctx := context.Background()

	t.Run("a disclosure the sandbox posts is verified, stored and becomes the current view", func(t *testing.T) {
		sid := s.txn(sandbox.StateAttempted)
		s.disclose(sid)
		if codes := s.delivered(sid, 1); fmt.Sprint(codes) != "[200]" {
			t.Fatalf("the webhook answered %v", codes)
		}
		cur, err := s.store().Current(ctx, sid)
		if err != nil || cur.Source != txn.SourceDisclosure || cur.State != sandbox.StateAttempted || cur.OttuTimestamp.IsZero() {
			t.Fatalf("current %+v, %v", cur, err)
		}
	})

	t.Run("20 deliveries of one callback (the duplicate_callback fault) are answered 200 and stored once", func(t *testing.T) {
		sid := s.txn(sandbox.StatePending)
		if err := s.sandbox.AddFault(sandbox.Fault{Kind: sandbox.FaultDuplicateCallback, Copies: 20}); err != nil {
			t.Fatal(err)
		}
		before := outcomes(t, s.logs.String())
		s.disclose(sid)
		codes := s.delivered(sid, 20)
		if len(codes) != 20 || strings.Trim(strings.ReplaceAll(fmt.Sprint(codes), "200", ""), "[ ]") != "" {
			t.Fatalf("the webhook answered %v, want twenty 200s", codes)
		}
		hist, err := s.store().History(ctx, sid, 0)
		if err != nil || len(hist) != 1 {
			t.Fatalf("history of %d entries (%v), want 1", len(hist), err)
		}
		after := outcomes(t, s.logs.String())
		if after["accepted"]-before["accepted"] != 1 || after["duplicate"]-before["duplicate"] != 19 {
			t.Errorf("outcomes logged %v (before %v), want 1 accepted and 19 duplicates", after, before)
		}
	})

	t.Run("deliveries reordered by the reorder_callbacks fault keep the newest state current and both in the history", func(t *testing.T) {
		sid := s.txn(sandbox.StateAttempted)
		if err := s.sandbox.AddFault(sandbox.Fault{Kind: sandbox.FaultReorderCallbacks, Count: 2}); err != nil {
			t.Fatal(err)
		}
		s.disclose(sid) // attempted, held
		s.clock.Advance(time.Minute)
		s.ottuCall("/b/pbl/v2/operation/", map[string]any{"operation": "expire", "session_id": sid})
		s.disclose(sid) // expired, then both delivered newest first
		s.delivered(sid, 2)
		cur, err := s.store().Current(ctx, sid)
		if err != nil || cur.State != sandbox.StateExpired {
			t.Fatalf("current %+v, %v; want expired", cur, err)
		}
		hist, err := s.store().History(ctx, sid, 0)
		if err != nil || len(hist) != 2 || hist[0].State == hist[1].State {
			t.Fatalf("history of %d entries (%v), want the late attempted one and expired", len(hist), err)
		}
	})

	t.Run("a transaction is found by its order_no too", func(t *testing.T) {
		tx, err := s.sandbox.CreateTransaction(sandbox.TransactionSpec{Amount: "1.000", CurrencyCode: "KWD", State: sandbox.StatePending,
			PGCode: "kpay", OrderNo: "wh-order-1", WebhookURL: s.hookURL})
		if err != nil {
			t.Fatal(err)
		}
		s.disclose(tx.SessionID)
		s.delivered(tx.SessionID, 1)
		if cur, err := s.store().Current(ctx, "wh-order-1"); err != nil || cur.SessionID != tx.SessionID {
			t.Fatalf("current by order_no: %+v, %v", cur, err)
		}
	})

	cases := []struct {
		name        string
		body        []byte
		contentType string
		status      int
		code        string
		stored      bool
	}{
		{name: "a signed form-encoded callback is accepted and stored", body: []byte(func() string {
			f := signed("wh-form-1", "pending", "2026-11-22 10:00:00")
			return fmt.Sprintf("amount=5.000&currency_code=KWD&gateway_name=kpay&order_no=wh-form-1-order&reference_number=REF-wh-form-1&session_id=wh-form-1&state=pending&result=pending&timestamp_utc=2026-11-22+10%%3A00%%3A00&signature=%s", f["signature"])
		}()), contentType: "application/x-www-form-urlencoded", status: 200, stored: true},
		{name: "a subscription callback signed by the subscription scheme is accepted and stored", body: func() []byte {
			f := ottu.Fields{"amount": "12.500", "session_id": "wh-sub-1", "state": "paid", "payment_type": "auto_debit",
				"token": ottu.Fields{"customer_id": "c-1", "pg_code": "mpgs", "token": "tok-1"}, "agreement": ottu.Fields{"id": "agr-1"}}
			f["signature"] = ottu.SignSubscription(f, sandboxWebhookKey)
			return mustJSON(f)
		}(), contentType: "application/json", status: 200, stored: true},
		{name: "a tampered callback is a 401 and nothing is stored", body: func() []byte {
			f := signed("wh-tampered-1", "pending", "2026-11-22 10:00:00")
			f["state"] = "paid"
			return mustJSON(f)
		}(), contentType: "application/json", status: 401, code: "invalid_signature"},
		{name: "an unsigned callback is a 401 and nothing is stored", body: func() []byte {
			f := signed("wh-unsigned-1", "paid", "2026-11-22 10:00:00")
			delete(f, "signature")
			return mustJSON(f)
		}(), contentType: "application/json", status: 401, code: "invalid_signature"},
		{name: "a callback over 256 KiB is a 413 and nothing is stored", body: func() []byte {
			f := signed("wh-large-1", "paid", "2026-11-22 10:00:00")
			f["pad"] = strings.Repeat("x", webhook.MaxBodyBytes)
			return mustJSON(f)
		}(), contentType: "application/json", status: 413, code: "body_too_large"},
		{name: "a body that is not a callback is a 400", body: []byte(`["wh-malformed-1"]`), contentType: "application/json", status: 400, code: "invalid_callback"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body := s.post(tc.body, tc.contentType)
			if status != tc.status || (tc.code != "" && !strings.Contains(body, `"code":"`+tc.code+`"`)) {
				t.Fatalf("answered %d %s; want %d %s", status, body, tc.status, tc.code)
			}
			f, _ := ottu.ParseCallback(tc.body, tc.contentType)
			sid, _ := f["session_id"].(string)
			if sid == "" {
				return
			}
			_, err := s.store().Current(ctx, sid)
			if stored := err == nil; stored != tc.stored {
				t.Errorf("stored %v (%v), want %v", stored, err, tc.stored)
			}
		})
	}

	t.Run("a webhook secret that cannot be read answers 503 and stores nothing, never 401", func(t *testing.T) {
		working := s.webhook
		s.webhook = s.build("arn:aws:secretsmanager:us-east-1:123456789012:secret:no-such-webhook-secret-AbCdEf")
		defer func() { s.webhook = working }()
		status, body := s.post(mustJSON(signed("wh-nokey-1", "paid", "2026-11-22 10:00:00")), "application/json")
		if status != 503 || !strings.Contains(body, `"code":"webhook_key_unavailable"`) {
			t.Fatalf("answered %d %s", status, body)
		}
		if _, err := s.store().Current(ctx, "wh-nokey-1"); !errors.Is(err, txn.ErrNotFound) {
			t.Errorf("something was stored: %v", err)
		}
	})

	t.Run("the webhook key never reaches a log line or an answer", func(t *testing.T) {
		if strings.Contains(s.logs.String(), sandboxWebhookKey) {
			t.Error("the webhook key is in the logs")
		}
	})
}

// TestWebhookRequestsPerCallback holds the webhook to its DynamoDB budget:
// a first delivery is three PutItems (the session's binding, its link from
// the signed reference_number, the entry), one UpdateItem and one Query per
// id the callback names (waiting workflows); a repeat two PutItems refused
// by their conditions (no link: the binding was refused), one UpdateItem,
// the Queries, and one GetItem (when it was first received, so it resumes
// no newer workflow).
func TestWebhookRequestsPerCallback(t *testing.T) {
	s := newWebhookStack(t, testkit.SharedMoto(t))
	body := mustJSON(signed("wh-budget-1", "paid", "2026-11-22 10:00:00"))
	for _, tc := range []struct {
		name string
		want testkit.RequestCounts
	}{
		{"a first delivery naming session_id, order_no and reference_number costs three PutItems, one UpdateItem and two Queries", testkit.RequestCounts{PutItem: 3, UpdateItem: 1, Query: 2}},
		{"a repeated delivery costs two PutItems, one UpdateItem, two Queries and one GetItem", testkit.RequestCounts{PutItem: 2, UpdateItem: 1, Query: 2, GetItem: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s.dynamo.Reset()
			if status, b := s.post(body, "application/json"); status != 200 {
				t.Fatalf("%d %s", status, b)
			}
			if c := s.dynamo.Counts(); c != tc.want {
				t.Errorf("requests %+v", c)
			}
		})
	}
}

// TestStepFunctionsResumedByDisclosure runs a real Step Functions execution
// in moto's engine: a .waitForTaskToken task invokes the inquiry function
// (built as deployed, reached through a Lambda Invoke endpoint on the port
// moto's engine calls) with the task token; the sandbox discloses twice to
// the webhook; the execution is resumed exactly once and succeeds with the
// callback as its output.
func TestStepFunctionsResumedByDisclosure(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	invoke := &invokeAPI{}
	lambdaSrv := httptest.NewServer(invoke)
	defer lambdaSrv.Close()
	m, err := testkit.StartMotoWith(ctx, "127.0.0.1:0", testkit.MotoOptions{LambdaPort: portOfURL(t, lambdaSrv.URL)})
	if err != nil {
		t.Fatalf("moto_server with its Step Functions engine is needed for this test: %v", err)
	}
	defer m.Stop()
	s := newWebhookStack(t, m)

	inquiryEnv := map[string]string{
		"OTTU_API_SECRET_ID": (&stack{t: t, aws: s.aws}).putSecret(testkit.UniqueName("ottu-api"), map[string]string{"base_url": s.ottuURL, "api_key": s.apiKey}),
		"INQUIRIES_TABLE":    s.table,
		"PUBLIC_BASE_URL":    strings.TrimSuffix(s.hookURL, "/webhooks/ottu"),
	}
	inq, err := inquiryapp.BuildInquiry(ctx, func(k string) string { return inquiryEnv[k] }, boot.Options{AWS: &s.aws, Output: s.logs, Now: s.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	invoke.set("InquiryFunction", inq.Invoke)

	sid := s.txn(sandbox.StateAttempted)
	if err := s.sandbox.AddFault(sandbox.Fault{Kind: sandbox.FaultDuplicateCallback, Copies: 2}); err != nil {
		t.Fatal(err)
	}
	definition, err := os.ReadFile("testdata/wait-for-disclosure.asl.json")
	if err != nil {
		t.Fatal(err)
	}
	run := runStateMachine(ctx, t, s.aws, strings.ReplaceAll(string(definition), "${InquiryFunctionArn}",
		"arn:aws:lambda:us-east-1:123456789012:function:InquiryFunction"), `{"session_id":"`+sid+`"}`)

	t.Run("the execution succeeds with the callback as its output", func(t *testing.T) {
		if run.status != "SUCCEEDED" {
			t.Fatalf("execution %s: %s", run.status, run.history)
		}
		var out map[string]any
		if err := json.Unmarshal([]byte(run.output), &out); err != nil || out["session_id"] != sid || out["state"] != sandbox.StateAttempted || out["amount"] == nil || out["reference_number"] == nil {
			t.Errorf("output %s, want the summary of %s's callback", run.output, sid)
		}
	})
	t.Run("the execution's history holds no customer field, card token, signature or raw Ottu body", func(t *testing.T) {
		if strings.Count(run.events, `\"order_no\"`) < 2 {
			t.Fatalf("the history does not show the inquiry's answer and the callback:\n%s", run.events)
		}
		for _, leak := range []string{"customer_", "signature", `\"token\"`, `\"ottu\"`, "transactions", "remaining_amount", "gateway_account"} {
			if strings.Contains(run.events, leak) {
				t.Errorf("the execution history holds %s:\n%s", leak, run.events)
			}
		}
	})
	t.Run("the task was resumed once though the callback was delivered twice", func(t *testing.T) {
		if codes := s.delivered(sid, 2); fmt.Sprint(codes) != "[200 200]" {
			t.Errorf("the webhook answered %v", codes)
		}
		if n := strings.Count(run.history, `"TaskSucceeded"`); n != 2 {
			t.Errorf("%d TaskSucceeded events, want 2 (the inquiry, and the wait once):\n%s", n, run.history)
		}
		if n := strings.Count(s.logs.String(), `"msg":"waiting workflow resumed"`); n != 1 {
			t.Errorf("%d resumes logged, want 1", n)
		}
		if o := outcomes(t, s.logs.String()); o["accepted"] != 1 || o["duplicate"] != 1 {
			t.Errorf("outcomes %v, want one accepted and one duplicate", o)
		}
	})
}

func portOfURL(t *testing.T, u string) int {
	t.Helper()
	var port int
	if _, err := fmt.Sscanf(u[strings.LastIndex(u, ":")+1:], "%d", &port); err != nil {
		t.Fatalf("port of %s: %v", u, err)
	}
	return port
}

// invokeAPI is the Lambda Invoke API moto's engine calls, serving
// functions built in this process, by name or ARN.
type invokeAPI struct {
	mu  sync.Mutex
	fns map[string]func(context.Context, json.RawMessage) (any, error)
}

func (a *invokeAPI) set(name string, fn func(context.Context, json.RawMessage) (any, error)) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.fns == nil {
		a.fns = map[string]func(context.Context, json.RawMessage) (any, error){}
	}
	a.fns[name] = fn
}

func (a *invokeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// /2015-03-31/functions/{name or ARN[:qualifier]}/invocations
	name := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/2015-03-31/functions/"), "/invocations")
	if i := strings.Index(name, ":function:"); i >= 0 {
		name = name[i+len(":function:"):]
	}
	name, _, _ = strings.Cut(name, ":")
	a.mu.Lock()
	fn := a.fns[name]
	a.mu.Unlock()
	if fn == nil {
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"Type":"User","Message":"Function not found: `+name+`"}`)
		return
	}
	payload, _ := io.ReadAll(r.Body)
	out, err := fn(r.Context(), payload)
	w.Header().Set("Content-Type", "application/json")
	if err != nil {
		w.Header().Set("X-Amz-Function-Error", "Unhandled")
		typ := reflect.TypeOf(err)
		if typ.Kind() == reflect.Pointer {
			typ = typ.Elem()
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"errorType": typ.Name(), "errorMessage": err.Error()})
		return
	}
	_ = json.NewEncoder(w).Encode(out)
}

// TestBuildWebhookNeedsOnlyItsOwnSettings: the webhook starts with the
// webhook secret and the transactions table alone — no Ottu API secret,
// no Tracking-Key table — and names what is missing otherwise.
func TestBuildWebhookNeedsOnlyItsOwnSettings(t *testing.T) {
	cfg := aws.Config{Region: "us-east-1"}
	cases := []struct {
		name    string
		env     map[string]string
		wantErr string
	}{
		{name: "the webhook secret and the transactions table are enough",
			env: map[string]string{"OTTU_WEBHOOK_SECRET_ID": "ottu-webhook", "INQUIRIES_TABLE": "inquiries"}},
		{name: "without the webhook secret it names OTTU_WEBHOOK_SECRET_ID",
			env: map[string]string{"INQUIRIES_TABLE": "inquiries"}, wantErr: "OTTU_WEBHOOK_SECRET_ID"},
		{name: "without the transactions table it names INQUIRIES_TABLE",
			env: map[string]string{"OTTU_WEBHOOK_SECRET_ID": "ottu-webhook"}, wantErr: "INQUIRIES_TABLE"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := webhookapp.BuildWebhook(context.Background(), func(k string) string { return tc.env[k] },
				boot.Options{AWS: &cfg, Output: io.Discard}, sfn.FromConfig)
			if tc.wantErr == "" && err != nil {
				t.Fatal(err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("err %v, want one naming %s", err, tc.wantErr)
			}
		})
	}
}

// checkWebhookEvent sends an events/ sample, signed with the local stack's
// default webhook key, to the webhook built on a secret holding that key:
// accepted the first time.
func checkWebhookEvent(t *testing.T, file string) {
	s := newWebhookStack(t, testkit.SharedMoto(t))
	s.webhook = s.build((&stack{t: t, aws: s.aws}).putSecret(testkit.UniqueName("ottu-webhook"), map[string]string{"webhook_key": sandbox.DefaultWebhookKey}))
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	resp, _ := s.webhook.HTTP(context.Background(), ev)
	if resp.StatusCode != 200 || resp.Body != `{"status":"accepted"}` {
		t.Fatalf("%d %s", resp.StatusCode, resp.Body)
	}
}
