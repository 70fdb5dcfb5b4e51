package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ottuops/ottu-lambda/dev/testkit/apigwtest"
	"github.com/ottuops/ottu-lambda/shared/operation"
	"github.com/ottuops/ottu-lambda/shared/payment"
	"github.com/ottuops/ottu-lambda/shared/platform/apigw"
	"github.com/ottuops/ottu-lambda/shared/platform/problem"
)

// recordingExecutor stands in for the domain service: these tests are about
// translating events, not about Ottu or DynamoDB.
type recordingExecutor struct {
	got []operation.Request
	res *operation.Result
	err error
}

func (r *recordingExecutor) Execute(_ context.Context, req operation.Request) (*operation.Result, error) {
	// The service validates every request before anything else.
	if err := req.Validate(); err != nil {
		return nil, err
	}
	r.got = append(r.got, req)
	if r.err != nil {
		return nil, r.err
	}
	res := *r.res
	res.TrackingKey, res.Operation = req.TrackingKey, req.Operation
	return &res, nil
}

const ottuRefundBody = `{"amount":"2.500","operation":"refund","result":"success","success":true}`

func okExecutor() *recordingExecutor {
	return &recordingExecutor{res: &operation.Result{OttuStatus: 200, Body: json.RawMessage(ottuRefundBody), OttuResult: "success"}}
}

func TestHTTPOperationFromFixture(t *testing.T) {
	exec := okExecutor()
	h := &Operation{Op: payment.Refund, Service: exec}
	out, err := h.Invoke(context.Background(), mustJSON(t, apigwtest.LoadEvent(t, "apigw-refund.json")))
	if err != nil {
		t.Fatal(err)
	}
	resp := out.(events.APIGatewayV2HTTPResponse)
	if resp.StatusCode != 200 || resp.Body != ottuRefundBody {
		t.Fatalf("got %d %s, want 200 with Ottu's body unchanged", resp.StatusCode, resp.Body)
	}
	if resp.Headers["Tracking-Key"] != "order-1001-refund-1" || resp.Headers["X-Request-Id"] != "JKJaXmPLvHcESHA=" {
		t.Fatalf("headers %v lack the tracking key or request id", resp.Headers)
	}
	if _, ok := resp.Headers["Idempotent-Replayed"]; ok {
		t.Fatal("a first success must not say it was replayed")
	}
	req := exec.got[0]
	if req.Operation != payment.Refund || req.SessionID != "0aceca9c3e7ebb6b5c6bf54497241a1818c1272f" || req.Amount.String() != "2.5" || req.TrackingKey != "order-1001-refund-1" {
		t.Fatalf("domain request %+v", req)
	}
}

func TestHTTPOperationRequests(t *testing.T) {
	big := `{"session_id":"s","extra":{"pad":"` + strings.Repeat("x", apigw.DefaultMaxBodyBytes) + `"}}`
	tests := []struct {
		name      string
		op        payment.Operation
		method    string
		headers   map[string]string
		noKey     bool // no header at all; otherwise tracking-key: k is sent when headers is nil
		body      string
		base64    bool
		status    int
		code      problem.Code
		check     func(t *testing.T, req operation.Request, resp events.APIGatewayV2HTTPResponse)
		wantCalls int
	}{
		{name: "a JSON number amount is read exactly", op: payment.Refund, body: `{"session_id":"s","amount":0.1}`, status: 200, wantCalls: 1,
			check: func(t *testing.T, req operation.Request, _ events.APIGatewayV2HTTPResponse) {
				if req.Amount.String() != "0.1" {
					t.Fatalf("amount %s", req.Amount)
				}
			}},
		{name: "a cancel without a key gets a generated one back", op: payment.Cancel, noKey: true, body: `{"order_no":"o1"}`, status: 200, wantCalls: 1,
			check: func(t *testing.T, req operation.Request, resp events.APIGatewayV2HTTPResponse) {
				if req.TrackingKey != "generated-key" || resp.Headers["Tracking-Key"] != "generated-key" {
					t.Fatalf("key %q / header %q", req.TrackingKey, resp.Headers["Tracking-Key"])
				}
			}},
		{name: "Idempotency-Key is accepted as the Tracking-Key", op: payment.Refund, headers: map[string]string{"idempotency-key": "idem-1"}, body: `{"session_id":"s"}`, status: 200, wantCalls: 1,
			check: func(t *testing.T, req operation.Request, _ events.APIGatewayV2HTTPResponse) {
				if req.TrackingKey != "idem-1" {
					t.Fatalf("key %q", req.TrackingKey)
				}
			}},
		{name: "both key headers with the same value are accepted", op: payment.Refund, headers: map[string]string{"tracking-key": "k", "Idempotency-Key": "k"}, body: `{"session_id":"s"}`, status: 200, wantCalls: 1},
		{name: "a base64 body is decoded", op: payment.Void, body: base64.StdEncoding.EncodeToString([]byte(`{"session_id":"s"}`)), base64: true, status: 200, wantCalls: 1},
		{name: "extra is passed on unchanged", op: payment.Refund, body: `{"session_id":"s","extra":{"b":1, "a":"x"}}`, status: 200, wantCalls: 1,
			check: func(t *testing.T, req operation.Request, _ events.APIGatewayV2HTTPResponse) {
				if string(req.Extra) != `{"b":1, "a":"x"}` {
					t.Fatalf("extra %s", req.Extra)
				}
			}},
		{name: "both key headers differing are refused", op: payment.Refund, headers: map[string]string{"tracking-key": "a", "idempotency-key": "b"}, body: `{"session_id":"s"}`, status: 400, code: problem.CodeInvalidTrackingKey},
		{name: "a key with a space is refused", op: payment.Refund, headers: map[string]string{"tracking-key": "a b"}, body: `{"session_id":"s"}`, status: 400, code: problem.CodeInvalidTrackingKey},
		{name: "an empty key header is refused", op: payment.Refund, headers: map[string]string{"tracking-key": ""}, body: `{"session_id":"s"}`, status: 400, code: problem.CodeInvalidTrackingKey},
		{name: "a body that is not JSON is refused", op: payment.Refund, body: `session_id=s`, status: 400, code: problem.CodeInvalidRequest},
		{name: "a JSON array body is refused", op: payment.Refund, body: `[{"session_id":"s"}]`, status: 400, code: problem.CodeInvalidRequest},
		{name: "an empty body is refused", op: payment.Refund, body: ``, status: 400, code: problem.CodeInvalidRequest},
		{name: "trailing data after the object is refused", op: payment.Refund, body: `{"session_id":"s"} {}`, status: 400, code: problem.CodeInvalidRequest},
		{name: "an unknown field is named", op: payment.Refund, body: `{"session_id":"s","amout":"1"}`, status: 400, code: problem.CodeUnknownField,
			check: func(t *testing.T, _ operation.Request, resp events.APIGatewayV2HTTPResponse) {
				if !strings.Contains(resp.Body, `amout`) {
					t.Fatalf("problem does not name the field: %s", resp.Body)
				}
			}},
		{name: "tracking_key in an HTTP body is an unknown field", op: payment.Refund, body: `{"session_id":"s","tracking_key":"k"}`, status: 400, code: problem.CodeUnknownField},
		{name: "an amount on a void is not applicable", op: payment.Void, body: `{"session_id":"s","amount":"1.000"}`, status: 400, code: problem.CodeAmountNotApplicable},
		{name: "a null amount on a refund is refused, never read as a full refund", op: payment.Refund, body: `{"session_id":"s","amount":null}`, status: 400, code: problem.CodeInvalidAmount},
		{name: "a null amount on a void is refused", op: payment.Void, body: `{"session_id":"s","amount":null}`, status: 400, code: problem.CodeInvalidAmount},
		{name: "an amount sent twice is refused", op: payment.Refund, body: `{"session_id":"s","amount":"1.000","amount":"100.000"}`, status: 400, code: problem.CodeInvalidRequest},
		{name: "a member twice inside extra is refused", op: payment.Refund, body: `{"session_id":"s","extra":{"a":{"b":1,"b":2}}}`, status: 400, code: problem.CodeInvalidRequest},
		{name: "the same member name in two objects is accepted", op: payment.Refund, body: `{"session_id":"s","extra":{"a":{"session_id":1},"b":[{"a":1},{"a":2}]}}`, status: 200, wantCalls: 1},
		{name: "a refund without a Tracking-Key is refused with how to choose one", op: payment.Refund, noKey: true, body: `{"session_id":"s"}`, status: 400, code: problem.CodeTrackingKeyRequired},
		{name: "a capture without a Tracking-Key is refused", op: payment.Capture, noKey: true, body: `{"session_id":"s"}`, status: 400, code: problem.CodeTrackingKeyRequired},
		{name: "a void without a Tracking-Key is refused", op: payment.Void, noKey: true, body: `{"session_id":"s"}`, status: 400, code: problem.CodeTrackingKeyRequired},
		{name: "a form-encoded body is refused as not JSON", op: payment.Refund, headers: map[string]string{"tracking-key": "k", "content-type": "application/x-www-form-urlencoded"}, body: `session_id=s`, status: 415, code: problem.CodeUnsupportedMediaType},
		{name: "JSON with a charset is accepted", op: payment.Refund, headers: map[string]string{"tracking-key": "k", "Content-Type": "application/json; charset=utf-8"}, body: `{"session_id":"s"}`, status: 200, wantCalls: 1},
		{name: "a +json media type is accepted", op: payment.Refund, headers: map[string]string{"tracking-key": "k", "content-type": "application/merge-patch+json"}, body: `{"session_id":"s"}`, status: 200, wantCalls: 1},
		{name: "an amount with four decimals is refused", op: payment.Refund, body: `{"session_id":"s","amount":"1.0001"}`, status: 400, code: problem.CodeInvalidAmount},
		{name: "an amount in exponent form is refused", op: payment.Capture, body: `{"session_id":"s","amount":1e3}`, status: 400, code: problem.CodeInvalidAmount},
		{name: "a negative amount is refused", op: payment.Refund, body: `{"session_id":"s","amount":"-1"}`, status: 400, code: problem.CodeInvalidAmount},
		{name: "a boolean amount is refused", op: payment.Refund, body: `{"session_id":"s","amount":true}`, status: 400, code: problem.CodeInvalidAmount},
		{name: "a numeric session id is refused", op: payment.Refund, body: `{"session_id":12}`, status: 400, code: problem.CodeInvalidRequest},
		{name: "extra that is a string is refused", op: payment.Refund, body: `{"session_id":"s","extra":"x"}`, status: 400, code: problem.CodeInvalidRequest},
		{name: "extra nested eight levels deep is accepted", op: payment.Refund, body: `{"session_id":"s","extra":` + nested(8) + `}`, status: 200, wantCalls: 1},
		{name: "extra nested nine levels deep is refused before Ottu echoes it back", op: payment.Refund, body: `{"session_id":"s","extra":` + nested(9) + `}`, status: 400, code: problem.CodeInvalidRequest},
		{name: "extra nested thousands of levels deep is refused", op: payment.Refund, body: `{"session_id":"s","extra":{"a":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}}`, status: 400, code: problem.CodeInvalidRequest},
		{name: "brackets inside extra's strings do not count as depth", op: payment.Refund, body: `{"session_id":"s","extra":{"note":"[[[[[[[[[[{{{{{{{{{{ \" ]"}}`, status: 200, wantCalls: 1},
		{name: "extra over 16 KiB is refused", op: payment.Refund, body: `{"session_id":"s","extra":{"pad":"` + strings.Repeat("x", 16<<10) + `"}}`, status: 400, code: problem.CodeInvalidRequest},
		{name: "a body over 64 KiB is too large", op: payment.Refund, body: big, status: 413, code: problem.CodeBodyTooLarge},
		{name: "a base64 body over 64 KiB is too large", op: payment.Refund, body: base64.StdEncoding.EncodeToString([]byte(big)), base64: true, status: 413, code: problem.CodeBodyTooLarge},
		{name: "broken base64 is refused", op: payment.Refund, body: "%%%", base64: true, status: 400, code: problem.CodeInvalidRequest},
		{name: "GET on an operation route is not allowed", op: payment.Refund, method: "GET", body: `{"session_id":"s"}`, status: 405, code: problem.CodeMethodNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exec := okExecutor()
			h := &Operation{Op: tt.op, Service: exec, NewTrackingKey: func() string { return "generated-key" }}
			method := tt.method
			if method == "" {
				method = "POST"
			}
			headers := tt.headers
			if headers == nil && !tt.noKey {
				headers = map[string]string{"tracking-key": "k"}
			}
			ev := events.APIGatewayV2HTTPRequest{Headers: headers, Body: tt.body, IsBase64Encoded: tt.base64}
			ev.RequestContext.HTTP.Method = method
			ev.RequestContext.RequestID = "req-1"
			resp := h.HTTP(context.Background(), ev)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, resp.Body)
			}
			if resp.Headers["X-Request-Id"] != "req-1" {
				t.Fatalf("no request id header: %v", resp.Headers)
			}
			if len(exec.got) != tt.wantCalls {
				t.Fatalf("service called %d times, want %d", len(exec.got), tt.wantCalls)
			}
			if tt.code != "" {
				if p := apigwtest.DecodeProblem(t, resp); p.Code != tt.code {
					t.Fatalf("code %q, want %q (%s)", p.Code, tt.code, p.Detail)
				}
			}
			if tt.check != nil {
				var req operation.Request
				if len(exec.got) > 0 {
					req = exec.got[0]
				}
				tt.check(t, req, resp)
			}
		})
	}
}

func TestHTTPOperationErrors(t *testing.T) {
	ottuBody := json.RawMessage(`{"detail":"Refund amount exceeds the balance","result":"failed"}`)
	tests := []struct {
		name       string
		err        error
		status     int
		retryAfter string
	}{
		{"Ottu not finding the transaction is a 404", &problem.Error{Code: problem.CodeNotFound, Detail: "x"}, 404, ""},
		{"the same key in flight is a 409 with Retry-After", &problem.Error{Code: problem.CodeInProgress, Detail: "x", RetryAfter: 7 * time.Second}, 409, "7"},
		{"a key held after an unknown outcome is a 409 with the seconds until it may be retried", &problem.Error{Code: problem.CodeOutcomePending, Detail: "x", RetryAfter: 280*time.Second + 300*time.Millisecond}, 409, "281"},
		{"an unknown outcome on API v2 is a 504 with Retry-After", &problem.Error{Code: problem.CodeOutcomeUnknown, Detail: "x", RetryAfter: 300 * time.Second}, 504, "300"},
		{"an Ottu rejection is a 422 carrying Ottu's body", &problem.Error{Code: problem.CodeOperationRejected, Detail: "x", Ottu: ottuBody}, 422, ""},
		{"a reused key is a 422", &problem.Error{Code: problem.CodeTrackingKeyReused, Detail: "x"}, 422, ""},
		{"Ottu unavailable is a 502", &problem.Error{Code: problem.CodeOttuUnavailable, Detail: "x"}, 502, ""},
		{"Ottu refusing credentials is a 502", &problem.Error{Code: problem.CodeOttuAuth, Detail: "x"}, 502, ""},
		{"an unknown outcome is a 504", &problem.Error{Code: problem.CodeOutcomeUnknown, Detail: "x"}, 504, ""},
		{"the store being down is a 503", &problem.Error{Code: problem.CodeStoreUnavailable, Detail: "x", RetryAfter: time.Second}, 503, "1"},
		{"an unexpected error is a 500 that reveals nothing", errors.New("dial tcp 10.0.0.1: secret-ish detail"), 500, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &Operation{Op: payment.Refund, Service: &recordingExecutor{err: tt.err}}
			ev := events.APIGatewayV2HTTPRequest{Body: `{"session_id":"s"}`, Headers: map[string]string{"tracking-key": "k"}}
			ev.RequestContext.HTTP.Method = "POST"
			resp := h.HTTP(context.Background(), ev)
			p := apigwtest.DecodeProblem(t, resp)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if got := resp.Headers["Retry-After"]; got != tt.retryAfter {
				t.Fatalf("Retry-After %q, want %q", got, tt.retryAfter)
			}
			if resp.Headers["Tracking-Key"] != "k" {
				t.Fatalf("Tracking-Key header missing on an error: %v", resp.Headers)
			}
			if strings.Contains(resp.Body, "secret-ish") {
				t.Fatalf("internal error text leaked: %s", resp.Body)
			}
			var oe *problem.Error
			if errors.As(tt.err, &oe) && oe.Ottu != nil && string(p.Ottu) != string(oe.Ottu) {
				t.Fatalf("ottu body %s, want %s", p.Ottu, oe.Ottu)
			}
		})
	}
}

func TestReplayedHeader(t *testing.T) {
	exec := okExecutor()
	exec.res.Replayed = true
	h := &Operation{Op: payment.Refund, Service: exec}
	ev := events.APIGatewayV2HTTPRequest{Body: `{"session_id":"s"}`, Headers: map[string]string{"tracking-key": "k"}}
	ev.RequestContext.HTTP.Method = "POST"
	resp := h.HTTP(context.Background(), ev)
	if resp.Headers["Idempotent-Replayed"] != "true" || resp.Body != ottuRefundBody {
		t.Fatalf("replay answered %v %s", resp.Headers, resp.Body)
	}
}

func TestUnrecordedOutcomeHeader(t *testing.T) {
	exec := okExecutor()
	exec.res.Unrecorded = true
	h := &Operation{Op: payment.Refund, Service: exec}
	ev := events.APIGatewayV2HTTPRequest{Body: `{"session_id":"s"}`, Headers: map[string]string{"tracking-key": "k"}}
	ev.RequestContext.HTTP.Method = "POST"
	resp := h.HTTP(context.Background(), ev)
	if resp.StatusCode != 200 || resp.Headers["Outcome-Recorded"] != "false" {
		t.Fatalf("an outcome the store could not record answered %d %v", resp.StatusCode, resp.Headers)
	}
}

func TestDirectInvocationErrorsNameTheWait(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		wantType string
		wantWait int
	}{
		{"a key in flight names a short wait", &problem.Error{Code: problem.CodeInProgress, Detail: "wait", RetryAfter: 2 * time.Second}, "OperationInProgress", 2},
		{"a key held after an unknown outcome names the seconds until it may be retried", &problem.Error{Code: problem.CodeOutcomePending, Detail: "held", RetryAfter: 299500 * time.Millisecond}, "OperationInProgress", 300},
		{"an unknown outcome names the lease", &problem.Error{Code: problem.CodeOutcomeUnknown, Detail: "?", RetryAfter: 300 * time.Second}, "OutcomeUnknown", 300},
		{"a rejection names no wait", &problem.Error{Code: problem.CodeOperationRejected, Detail: "no"}, "OperationRejected", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exec := okExecutor()
			exec.err = tt.err
			h := &Operation{Op: payment.Refund, Service: exec}
			_, err := h.Invoke(context.Background(), json.RawMessage(`{"session_id":"s","tracking_key":"k"}`))
			if err == nil || reflect.TypeOf(err).Elem().Name() != tt.wantType {
				t.Fatalf("error %T %v, want %s", err, err, tt.wantType)
			}
			var msg map[string]any
			if err := json.Unmarshal([]byte(err.Error()), &msg); err != nil {
				t.Fatal(err)
			}
			got, _ := msg["retry_after_seconds"].(float64)
			if int(got) != tt.wantWait {
				t.Fatalf("retry_after_seconds %v, want %d (%s)", msg["retry_after_seconds"], tt.wantWait, err.Error())
			}
		})
	}
}

func TestDirectInvocation(t *testing.T) {
	fixture, err := os.ReadFile("testdata/direct-refund.json")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		payload  string
		err      error
		wantType string
	}{
		{"a direct event from the fixture succeeds", string(fixture), nil, ""},
		{"a direct event without tracking_key is an InvalidRequest", `{"session_id":"s"}`, nil, "InvalidRequest"},
		{"a direct event with an unknown field is an InvalidRequest", `{"session_id":"s","tracking_key":"k","x":1}`, nil, "InvalidRequest"},
		{"a direct event that is not an object is an InvalidRequest", `"refund"`, nil, "InvalidRequest"},
		{"an Ottu rejection is an OperationRejected", string(fixture), &problem.Error{Code: problem.CodeOperationRejected, Detail: "no"}, "OperationRejected"},
		{"an unknown transaction is an OperationRejected", string(fixture), &problem.Error{Code: problem.CodeNotFound, Detail: "no"}, "OperationRejected"},
		{"a reused key is a TrackingKeyReused", string(fixture), &problem.Error{Code: problem.CodeTrackingKeyReused, Detail: "no"}, "TrackingKeyReused"},
		{"a key in flight is an OperationInProgress", string(fixture), &problem.Error{Code: problem.CodeInProgress, Detail: "wait"}, "OperationInProgress"},
		{"Ottu down is an OttuUnavailable", string(fixture), &problem.Error{Code: problem.CodeOttuUnavailable, Detail: "down"}, "OttuUnavailable"},
		{"a time-out after sending is an OutcomeUnknown", string(fixture), &problem.Error{Code: problem.CodeOutcomeUnknown, Detail: "?"}, "OutcomeUnknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exec := okExecutor()
			exec.err = tt.err
			h := &Operation{Op: payment.Refund, Service: exec}
			out, err := h.Invoke(context.Background(), json.RawMessage(tt.payload))
			if tt.wantType == "" {
				if err != nil {
					t.Fatal(err)
				}
				res := out.(*DirectResult)
				if res.TrackingKey != "exec-42-refund" || res.Operation != "refund" || res.Result != "success" || res.Amount == nil || *res.Amount != "2.500" {
					t.Fatalf("result %+v", res)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %s", tt.wantType)
			}
			// The Lambda runtime names the error after its Go type.
			if got := reflect.TypeOf(err).Elem().Name(); got != tt.wantType {
				t.Fatalf("error type %s, want %s", got, tt.wantType)
			}
			var msg struct{ Code, Detail string }
			if json.Unmarshal([]byte(err.Error()), &msg) != nil || msg.Code == "" || msg.Detail == "" {
				t.Fatalf("error message is not the JSON problem: %s", err.Error())
			}
		})
	}
}

// TestDirectResultHoldsNoOttuBody: what a refund workflow's task gets is
// ids, amounts and states: Step Functions keeps it 90 days, so Ottu's body
// (which can carry the customer's e-mail) is left out.
func TestDirectResultHoldsNoOttuBody(t *testing.T) {
	exec := okExecutor()
	exec.res.Body = json.RawMessage(`{"amount":"2.500","operation":"refund","reference_number":"R1","result":"success","txn":{"currency_code":"KWD","customer_email":"buyer@example.com","state":"refunded","extra":{"token":"t"}}}`)
	out, err := (&Operation{Op: payment.Refund, Service: exec}).Invoke(context.Background(), json.RawMessage(`{"session_id":"s","amount":"2.500","tracking_key":"exec-42-refund"}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(out)
	var got map[string]any
	_ = json.Unmarshal(b, &got)
	for _, want := range []string{"tracking_key", "operation", "result", "replayed", "reference_number", "amount", "currency_code", "state"} {
		if _, ok := got[want]; !ok {
			t.Errorf("the refund workflow reads %s, and it is missing: %s", want, b)
		}
	}
	for _, leak := range []string{`"ottu"`, "customer_email", "buyer@example.com", `"txn"`, `"token"`} {
		if strings.Contains(string(b), leak) {
			t.Errorf("the direct result holds %s: %s", leak, b)
		}
	}
}

func mustJSON(t *testing.T, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// nested is a JSON object nested depth levels deep: {"a":{"a":{}}} is 3.
func nested(depth int) string {
	return strings.Repeat(`{"a":`, depth-1) + `{}` + strings.Repeat(`}`, depth-1)
}

type oneStatus struct{ rec *operation.Record }

func (s oneStatus) Status(context.Context, string, bool) (*operation.Record, error) {
	return s.rec, nil
}

// TestStatusDirectIsAProjection: the queued-refund poll of the workflow
// reads ottu_inquiry.state; it gets that and the ids and amounts, never
// Ottu's bodies.
func TestStatusDirectIsAProjection(t *testing.T) {
	rec := &operation.Record{TrackingKey: "k", Operation: "refund", SessionID: "s", Amount: "2.500", Status: operation.StatusSucceeded,
		OttuBody: json.RawMessage(`{"result":"queued","txn":{"customer_email":"buyer@example.com"}}`),
		Inquiry:  json.RawMessage(`{"state":"refunded","amount":"2.500","tracking_key":"k","customer_email":"buyer@example.com","extra":{"x":1}}`)}
	out, err := (&OperationStatus{Service: oneStatus{rec}}).Invoke(context.Background(), json.RawMessage(`{"tracking_key":"k","refresh":true}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(out)
	if strings.Contains(string(b), "buyer@example.com") || strings.Contains(string(b), `"extra"`) || !strings.Contains(string(b), `"ottu_inquiry":{"amount":"2.500","state":"refunded","tracking_key":"k"}`) {
		t.Fatalf("direct status answer %s", b)
	}
	t.Run("a refresh that found no child stays null", func(t *testing.T) {
		rec.Inquiry = json.RawMessage("null")
		out, _ := (&OperationStatus{Service: oneStatus{rec}}).Invoke(context.Background(), json.RawMessage(`{"tracking_key":"k","refresh":true}`))
		if b, _ := json.Marshal(out); !strings.Contains(string(b), `"ottu_inquiry":null`) {
			t.Fatalf("%s", b)
		}
	})
}
