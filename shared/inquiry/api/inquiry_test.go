package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ottuops/ottu-lambda/dev/testkit/apigwtest"
	"github.com/ottuops/ottu-lambda/shared/inquiry"
	"github.com/ottuops/ottu-lambda/shared/platform/problem"
	"github.com/ottuops/ottu-lambda/shared/platform/tasktoken"
	"github.com/ottuops/ottu-lambda/shared/txn"
)

// recordingInquirer stands in for inquiry.Service: these tests are about
// translating events.
type recordingInquirer struct {
	got []inquiry.Request
	res *inquiry.Result
	err error
}

func (r *recordingInquirer) Inquire(_ context.Context, req inquiry.Request) (*inquiry.Result, error) {
	r.got = append(r.got, req)
	return r.res, r.err
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSpace(b)
}

// answered is an inquiry Ottu answered now with the fixture body.
func answered(t testing.TB) *inquiry.Result {
	return &inquiry.Result{Source: txn.SourceInquiry, Entry: txn.Entry{
		SessionID: "0aceca9c3e7ebb6b5c6bf54497241a1818c1272f", OrderNo: "ORDER-1001", Source: txn.SourceInquiry,
		ReceivedAt: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC), OttuTimestamp: time.Date(2026, 11, 22, 9, 59, 58, 0, time.UTC),
		State: "attempted", Result: "pending", Body: readFixture(t, "ottu-inquiry-attempted.json"), Digest: "d1",
	}}
}

// inquiryEvent is an API Gateway event of POST /inquiry with body.
func inquiryEvent(body string, query map[string]string) events.APIGatewayV2HTTPRequest {
	ev := events.APIGatewayV2HTTPRequest{RawPath: "/inquiry", Body: body, QueryStringParameters: query,
		Headers: map[string]string{"content-type": "application/json"}}
	ev.RequestContext.HTTP.Method = http.MethodPost
	ev.RequestContext.RequestID = "req-inquiry"
	return ev
}

func TestInquiryFromFixture(t *testing.T) {
	svc := &recordingInquirer{res: answered(t)}
	h := &Inquiry{Service: svc}
	out, err := h.Invoke(context.Background(), readFixture(t, "apigw-inquiry.json"))
	if err != nil {
		t.Fatal(err)
	}
	resp := out.(events.APIGatewayV2HTTPResponse)
	t.Run("the answer is Ottu's body unchanged, from a fresh inquiry", func(t *testing.T) {
		if resp.StatusCode != 200 || resp.Body != string(readFixture(t, "ottu-inquiry-attempted.json")) {
			t.Fatalf("%d %s", resp.StatusCode, resp.Body)
		}
		if resp.Headers["Inquiry-Source"] != "inquiry" || resp.Headers["X-Request-Id"] != "KLMaXmPLvHcESHA=" || resp.Headers["Result-Stored"] != "" {
			t.Fatalf("headers %v", resp.Headers)
		}
	})
	t.Run("the request names the transaction, asks for disclosure and knows the API's own URL", func(t *testing.T) {
		want := inquiry.Request{SessionID: "0aceca9c3e7ebb6b5c6bf54497241a1818c1272f", Disclose: true,
			APIBaseURL: "https://abc123.execute-api.eu-west-1.amazonaws.com/prod"}
		if !reflect.DeepEqual(svc.got[0], want) {
			t.Fatalf("request %+v\nwant    %+v", svc.got[0], want)
		}
	})
}

func TestInquiryAnswers(t *testing.T) {
	stored := answered(t)
	stored.Source = txn.SourceStored
	stored.FreshAfter = time.Date(2026, 11, 22, 10, 30, 0, 0, time.UTC)
	stored.Reason = "Ottu answers one inquiry per transaction every 30 minutes."
	final := answered(t)
	final.Source = txn.SourceStored
	final.Reason = "Ottu answers at most 3 inquiries per transaction."
	unstored := answered(t)
	unstored.Unstored = true

	t.Run("a stored answer is the stored view with source stored and fresh_after", func(t *testing.T) {
		resp := (&Inquiry{Service: &recordingInquirer{res: stored}}).HTTP(context.Background(), inquiryEvent(`{"order_no":"ORDER-1001"}`, nil))
		var v map[string]any
		if err := json.Unmarshal([]byte(resp.Body), &v); err != nil || resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, resp.Body)
		}
		if v["source"] != "stored" || v["stored_source"] != "inquiry" || v["fresh_after"] != "2026-11-22T10:30:00.000Z" ||
			v["received_at"] != "2026-11-22T10:00:00.000Z" || v["ottu_timestamp"] != "2026-11-22T09:59:58.000Z" || v["state"] != "attempted" || v["detail"] == "" {
			t.Fatalf("view %s", resp.Body)
		}
		if ottu, _ := v["ottu"].(map[string]any); ottu["order_no"] != "ORDER-1001" {
			t.Fatalf("ottu %v, want Ottu's stored body", v["ottu"])
		}
		if resp.Headers["Inquiry-Source"] != "stored" {
			t.Fatalf("headers %v", resp.Headers)
		}
	})
	t.Run("a stored answer with no time for a fresh one has fresh_after null", func(t *testing.T) {
		resp := (&Inquiry{Service: &recordingInquirer{res: final}}).HTTP(context.Background(), inquiryEvent(`{"order_no":"ORDER-1001"}`, nil))
		if !strings.Contains(resp.Body, `"fresh_after":null`) {
			t.Fatalf("view %s", resp.Body)
		}
	})
	t.Run("an answer that could not be stored says so in Result-Stored", func(t *testing.T) {
		resp := (&Inquiry{Service: &recordingInquirer{res: unstored}}).HTTP(context.Background(), inquiryEvent(`{"order_no":"ORDER-1001"}`, nil))
		if resp.StatusCode != 200 || resp.Headers["Result-Stored"] != "false" {
			t.Fatalf("%d %v", resp.StatusCode, resp.Headers)
		}
	})
	t.Run("fresh=true in the query asks Ottu anyway", func(t *testing.T) {
		svc := &recordingInquirer{res: answered(t)}
		(&Inquiry{Service: svc}).HTTP(context.Background(), inquiryEvent(`{"order_no":"ORDER-1001"}`, map[string]string{"fresh": "true"}))
		if !svc.got[0].Fresh {
			t.Fatalf("request %+v", svc.got[0])
		}
	})
	t.Run("a throttled inquiry is a 429 with Retry-After", func(t *testing.T) {
		svc := &recordingInquirer{err: &problem.Error{Code: inquiry.CodeThrottled, Detail: "Throttled; ask again later.", RetryAfter: 1200 * time.Second}}
		resp := (&Inquiry{Service: svc}).HTTP(context.Background(), inquiryEvent(`{"order_no":"ORDER-1001"}`, map[string]string{"fresh": "true"}))
		if p := apigwtest.DecodeProblem(t, resp); p.Code != inquiry.CodeThrottled || resp.StatusCode != 429 || resp.Headers["Retry-After"] != "1200" {
			t.Fatalf("%d %v %+v", resp.StatusCode, resp.Headers, p)
		}
	})
}

func TestInquiryRefusesBadRequests(t *testing.T) {
	tests := []struct {
		name   string
		ev     func() events.APIGatewayV2HTTPRequest
		status int
		code   problem.Code
	}{
		{"an empty body is a 400 invalid_request", func() events.APIGatewayV2HTTPRequest { return inquiryEvent("", nil) }, 400, problem.CodeInvalidRequest},
		{"a body that is not an object is a 400 invalid_request", func() events.APIGatewayV2HTTPRequest { return inquiryEvent(`["s"]`, nil) }, 400, problem.CodeInvalidRequest},
		{"a body naming no transaction is a 400 invalid_request", func() events.APIGatewayV2HTTPRequest { return inquiryEvent(`{"disclose_to_merchant":true}`, nil) }, 400, problem.CodeInvalidRequest},
		{"a task_token over HTTP is a 400 unknown_field", func() events.APIGatewayV2HTTPRequest {
			return inquiryEvent(`{"session_id":"s","task_token":"t"}`, nil)
		}, 400, problem.CodeUnknownField},
		{"fresh in the body is a 400 unknown_field (it is a query parameter)", func() events.APIGatewayV2HTTPRequest {
			return inquiryEvent(`{"session_id":"s","fresh":true}`, nil)
		}, 400, problem.CodeUnknownField},
		{"disclose_to_merchant as a string is a 400 invalid_request", func() events.APIGatewayV2HTTPRequest {
			return inquiryEvent(`{"session_id":"s","disclose_to_merchant":"true"}`, nil)
		}, 400, problem.CodeInvalidRequest},
		{"a session_id that is a number is a 400 invalid_request", func() events.APIGatewayV2HTTPRequest { return inquiryEvent(`{"session_id":5}`, nil) }, 400, problem.CodeInvalidRequest},
		{"a member twice is a 400 invalid_request", func() events.APIGatewayV2HTTPRequest {
			return inquiryEvent(`{"session_id":"a","session_id":"b"}`, nil)
		}, 400, problem.CodeInvalidRequest},
		{"fresh=maybe is a 400 invalid_request", func() events.APIGatewayV2HTTPRequest {
			return inquiryEvent(`{"session_id":"s"}`, map[string]string{"fresh": "maybe"})
		}, 400, problem.CodeInvalidRequest},
		{"a text/plain body is a 415", func() events.APIGatewayV2HTTPRequest {
			ev := inquiryEvent(`{"session_id":"s"}`, nil)
			ev.Headers["content-type"] = "text/plain"
			return ev
		}, 415, problem.CodeUnsupportedMediaType},
		{"a body over 64 KiB is a 413", func() events.APIGatewayV2HTTPRequest {
			return inquiryEvent(`{"session_id":"`+strings.Repeat("s", 65<<10)+`"}`, nil)
		}, 413, problem.CodeBodyTooLarge},
		{"a GET is a 405 naming POST", func() events.APIGatewayV2HTTPRequest {
			ev := inquiryEvent(`{"session_id":"s"}`, nil)
			ev.RequestContext.HTTP.Method = http.MethodGet
			return ev
		}, 405, problem.CodeMethodNotAllowed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			svc := &recordingInquirer{res: answered(t)}
			resp := (&Inquiry{Service: svc}).HTTP(context.Background(), tc.ev())
			if p := apigwtest.DecodeProblem(t, resp); resp.StatusCode != tc.status || p.Code != tc.code {
				t.Fatalf("%d %+v", resp.StatusCode, p)
			}
			if len(svc.got) != 0 {
				t.Fatal("the service was called")
			}
			if tc.status == 405 && resp.Headers["Allow"] != "POST" {
				t.Fatalf("Allow %q", resp.Headers["Allow"])
			}
		})
	}
}

func TestInquiryDirect(t *testing.T) {
	t.Run("the sample event carries the transaction, the disclosure and the task token", func(t *testing.T) {
		res := answered(t)
		res.Waiting = true
		svc := &recordingInquirer{res: res}
		out, err := (&Inquiry{Service: svc}).Invoke(context.Background(), readFixture(t, "direct-inquiry.json"))
		if err != nil {
			t.Fatal(err)
		}
		want := inquiry.Request{OrderNo: "ORDER-1001", Disclose: true, TaskToken: "AQCEAAAAKgAAAAMAAAAAAAAAAfake+token=="}
		if !reflect.DeepEqual(svc.got[0], want) {
			t.Fatalf("request %+v", svc.got[0])
		}
		v := out.(*InquiryView)
		if v.Source != txn.SourceInquiry || !v.Waiting || v.ResultStored != nil || *v.State != "attempted" || v.FreshAfter != nil {
			t.Fatalf("view %+v", v)
		}
	})
	t.Run("the answer a workflow gets holds ids, amounts and states, never Ottu's body or the customer", func(t *testing.T) {
		res := answered(t)
		res.Entry.Body = json.RawMessage(`{"amount":"5.000","currency_code":"KWD","customer_email":"buyer@example.com","customer_phone":"+96550000000","order_no":"ORDER-1001","signature":"abc123","state":"attempted","token":{"token":"card-token-9"}}`)
		out, err := (&Inquiry{Service: &recordingInquirer{res: res}}).Direct(context.Background(), json.RawMessage(`{"session_id":"s"}`))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(out)
		for _, leak := range []string{`"ottu"`, "customer", "buyer@example.com", "signature", "card-token-9"} {
			if strings.Contains(string(b), leak) {
				t.Errorf("the direct answer holds %s: %s", leak, b)
			}
		}
		if out.Amount == nil || *out.Amount != "5.000" || out.CurrencyCode == nil || *out.CurrencyCode != "KWD" || *out.OrderNo != "ORDER-1001" {
			t.Errorf("the direct answer lost the ids or the amount: %s", b)
		}
	})
	t.Run("an answer that could not be stored says result_stored false", func(t *testing.T) {
		res := answered(t)
		res.Unstored = true
		out, err := (&Inquiry{Service: &recordingInquirer{res: res}}).Direct(context.Background(), json.RawMessage(`{"session_id":"s"}`))
		if err != nil || out.ResultStored == nil || *out.ResultStored {
			t.Fatalf("%+v %v", out, err)
		}
	})
	t.Run("a task token of 2,048 characters, Step Functions' limit, is accepted and one longer is an InvalidRequest", func(t *testing.T) {
		for n, wantErr := range map[int]bool{tasktoken.MaxLength: false, tasktoken.MaxLength + 1: true} {
			svc := &recordingInquirer{res: answered(t)}
			ev, _ := json.Marshal(map[string]string{"session_id": "s", "task_token": strings.Repeat("A", n)})
			_, err := (&Inquiry{Service: svc}).Direct(context.Background(), ev)
			if (err != nil) != wantErr {
				t.Fatalf("a token of %d characters: error %v, want error %v", n, err, wantErr)
			}
		}
	})
	tests := []struct {
		name     string
		event    string
		err      error
		wantType string
	}{
		{"a malformed event is an InvalidRequest", `{"session_id":"s","amount":"1"}`, nil, "InvalidRequest"},
		{"a task token that is not a string is an InvalidRequest", `{"session_id":"s","task_token":5}`, nil, "InvalidRequest"},
		{"Ottu's throttle is an OttuUnavailable naming the wait", `{"session_id":"s"}`,
			&problem.Error{Code: inquiry.CodeThrottled, Detail: "Throttled.", RetryAfter: 90 * time.Second}, "OttuUnavailable"},
		{"a state inquiry does not answer is an OperationRejected", `{"session_id":"s"}`,
			&problem.Error{Code: inquiry.CodeNotAllowed, Detail: "Not allowed."}, "OperationRejected"},
		{"an unknown transaction is an OperationRejected", `{"session_id":"s"}`,
			&problem.Error{Code: problem.CodeNotFound, Detail: "No such."}, "OperationRejected"},
		{"no disclosure URL is an InvalidRequest", `{"session_id":"s","disclose_to_merchant":true}`,
			&problem.Error{Code: inquiry.CodeDisclosureURLMissing, Detail: "No URL."}, "InvalidRequest"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := (&Inquiry{Service: &recordingInquirer{err: tc.err, res: answered(t)}}).Direct(context.Background(), json.RawMessage(tc.event))
			if err == nil {
				t.Fatal("no error")
			}
			if got := reflect.TypeOf(err).Elem().Name(); got != tc.wantType {
				t.Fatalf("error type %s, want %s: %v", got, tc.wantType, err)
			}
			if tc.wantType == "OttuUnavailable" && !strings.Contains(err.Error(), `"retry_after_seconds":90`) {
				t.Fatalf("message %s, want retry_after_seconds 90", err)
			}
		})
	}
}

func TestInquiryLogsNoTokenOrURLSecret(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	svc := &recordingInquirer{err: errors.New("boom")}
	h := &Inquiry{Service: svc, Logger: log}
	h.HTTP(context.Background(), inquiryEvent(`{"session_id":"s","disclose_to_merchant":true,"disclosure_url":"https://shop.example.com/hook?key=url-secret-1"}`, nil))
	_, _ = h.Direct(context.Background(), json.RawMessage(`{"session_id":"s","disclose_to_merchant":true,"task_token":"token-secret-2"}`))
	for _, secret := range []string{"url-secret-1", "token-secret-2"} {
		if strings.Contains(logs.String(), secret) {
			t.Fatalf("the log holds %q: %s", secret, logs.String())
		}
	}
	if !strings.Contains(logs.String(), `"status":500`) {
		t.Fatalf("no failure line: %s", logs.String())
	}
}

// FuzzParseInquiryBody: whatever the body, the parser answers a request
// naming a transaction or a 400 problem, and never panics.
func FuzzParseInquiryBody(f *testing.F) {
	for _, seed := range []string{
		`{"session_id":"s"}`,
		`{"order_no":"o","disclose_to_merchant":true,"disclosure_url":"https://x.example/h"}`,
		`{"session_id":"s","task_token":"t","fresh":false,"disclose_to_merchant":true}`,
		`{"session_id":"a","session_id":"b"}`,
		`{"session_id":null,"order_no":"o","disclose_to_merchant":null}`,
		`{"disclose_to_merchant":"yes"}`,
		`[]`, `""`, ``, `{`, `{"a":{"b":[1,{"c":2}]}}`,
	} {
		f.Add([]byte(seed), true)
		f.Add([]byte(seed), false)
	}
	f.Fuzz(func(t *testing.T, body []byte, direct bool) {
		fields := inquiryHTTPFields
		if direct {
			fields = inquiryDirectFields
		}
		req, err := parseInquiryBody(body, fields)
		if err != nil {
			var p *problem.Error
			if !errors.As(err, &p) || Codes.StatusOf(p.Code) != http.StatusBadRequest || p.Detail == "" {
				t.Fatalf("error %v is not a 400 problem", err)
			}
			return
		}
		if req.SessionID == "" && req.OrderNo == "" {
			t.Fatalf("request %+v names no transaction", req)
		}
		if !direct && (req.TaskToken != "" || req.Fresh) {
			t.Fatalf("an HTTP body set %+v", req)
		}
		if len(req.TaskToken) > tasktoken.MaxLength {
			t.Fatalf("task token of %d bytes accepted", len(req.TaskToken))
		}
	})
}

// TestStoredSignatureIsNeverAnswered: an entry stored before signatures
// were stripped is still answered without one.
func TestStoredSignatureIsNeverAnswered(t *testing.T) {
	e := answered(t).Entry
	e.Body = json.RawMessage(`{"order_no":"ORDER-1001","signature":"8c46168730120f2c","state":"attempted"}`)
	b, _ := json.Marshal(viewOfEntry(e))
	if strings.Contains(string(b), "signature") || !strings.Contains(string(b), `"ottu":{"order_no":"ORDER-1001","state":"attempted"}`) {
		t.Fatalf("view %s", b)
	}
}
