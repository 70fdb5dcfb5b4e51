package ottu_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/ottuops/ottu-lambda/shared/ottu"
	"github.com/ottuops/ottu-lambda/shared/payment"
)

const testAPIKey = "sk_test_SECRET_api_key_0001"

// fixture reads a file from testdata or fails the test.
func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("read fixture: %v", err)
	}
	return b
}

func dec(s string) *decimal.Decimal {
	d := decimal.RequireFromString(s)
	return &d
}

// received is one request as the fake Ottu saw it.
type received struct {
	Method, URI string
	Header      http.Header
	Body        []byte
}

// fakeOttu is an httptest server that records every request and answers
// through handle (n counts requests from 1).
type fakeOttu struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []received
}

func newFakeOttu(t *testing.T, handle func(w http.ResponseWriter, r *http.Request, n int)) *fakeOttu {
	t.Helper()
	return newFakeOttuWithConnState(t, nil, handle)
}

// newFakeOttuWithConnState also installs connState before the server starts.
func newFakeOttuWithConnState(t *testing.T, connState func(net.Conn, http.ConnState), handle func(w http.ResponseWriter, r *http.Request, n int)) *fakeOttu {
	t.Helper()
	f := &fakeOttu{}
	f.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.reqs = append(f.reqs, received{Method: r.Method, URI: r.RequestURI, Header: r.Header.Clone(), Body: body})
		n := len(f.reqs)
		f.mu.Unlock()
		handle(w, r, n)
	}))
	f.Config.ConnState = connState
	f.Start()
	t.Cleanup(f.Close)
	return f
}

func (f *fakeOttu) requests() []received {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]received(nil), f.reqs...)
}

// answer replies with a status, content type and body.
func answer(status int, contentType string, body []byte) func(http.ResponseWriter, *http.Request, int) {
	return func(w http.ResponseWriter, _ *http.Request, _ int) {
		if contentType != "" {
			w.Header().Set("Content-Type", contentType)
		}
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}
}

func newClient(t testing.TB, cfg ottu.Config) *ottu.Client {
	t.Helper()
	if cfg.Credentials == nil {
		cfg.Credentials = ottu.StaticCredentials{APIKey: testAPIKey}
	}
	c, err := ottu.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

func asError(t *testing.T, err error) *ottu.Error {
	t.Helper()
	var e *ottu.Error
	if !errors.As(err, &e) {
		t.Fatalf("want *ottu.Error, got %T: %v", err, err)
	}
	return e
}

func refundReq() ottu.OperationRequest {
	return ottu.OperationRequest{Operation: payment.Refund, SessionID: "s1", Amount: dec("2.000"), TrackingKey: "tk-1"}
}

func TestOperationClassifiesOttuAnswers(t *testing.T) {
	tests := []struct {
		name        string
		status      int
		contentType string
		body        []byte
		header      map[string]string
		wantKind    ottu.Kind // 0: success
		wantResult  string
		wantDetail  string
		wantFields  map[string][]string
		wantRetry   time.Duration
		wantBody    bool // the error carries Ottu's body
		wantReqs    int
	}{
		{name: "a refund Ottu accepted returns its body unchanged", status: 200, body: fixture(t, "refund_success.json"), wantResult: "success"},
		{name: "a capture Ottu accepted is a success", status: 200, body: fixture(t, "capture_success.json"), wantResult: "success"},
		{name: "a void Ottu accepted is a success", status: 200, body: fixture(t, "void_success.json"), wantResult: "success"},
		{name: "an internal operation's message answer is a success", status: 200, body: fixture(t, "internal_success.json"), wantResult: "success"},
		{name: "a queued refund is a success whose result says queued", status: 200, body: fixture(t, "refund_queued.json"), wantResult: "queued"},
		{name: "a 201 with JSON is a success", status: 201, body: fixture(t, "refund_success.json"), wantResult: "success"},
		{name: "a 200 whose result is failed is rejected with Ottu's detail", status: 200, body: fixture(t, "refund_failed_200.json"),
			wantKind: ottu.KindRejected, wantDetail: "The payment gateway declined the refund.", wantBody: true},
		{name: "a 200 whose result is rejected is rejected", status: 200, body: fixture(t, "refund_rejected_200.json"),
			wantKind: ottu.KindRejected, wantDetail: `result "rejected"`, wantBody: true},
		{name: "a 200 whose failed result says the lookup found nothing is not found", status: 200, body: fixture(t, "error_not_found_v2.json"),
			wantKind: ottu.KindNotFound, wantDetail: "No payment attempts found for this Lookup", wantBody: true},
		{name: "a 200 that is not JSON is unavailable", status: 200, contentType: "text/plain", body: []byte("OK"),
			wantKind: ottu.KindUnavailable, wantDetail: "not a JSON object (text/plain)"},
		{name: "a 200 with an empty body is unavailable", status: 200, body: nil,
			wantKind: ottu.KindUnavailable, wantDetail: "not a JSON object"},
		{name: "a 400 with a detail is rejected with that detail", status: 400, body: fixture(t, "error_detail_failed.json"),
			wantKind: ottu.KindRejected, wantDetail: "Operation is not allowed", wantBody: true},
		{name: "a 400 with a message is rejected with that message", status: 400, body: fixture(t, "error_message.json"),
			wantKind: ottu.KindRejected, wantDetail: "Refund amount is greater than the remaining amount.", wantBody: true},
		{name: "a 400 with DRF field lists is rejected with its field errors", status: 400, body: fixture(t, "error_field_lists.json"),
			wantKind: ottu.KindRejected, wantBody: true, wantFields: map[string][]string{
				"amount":    {"Ensure that there are no more than 3 decimal places."},
				"operation": {`"refunds" is not a valid choice.`},
			}},
		{name: "a 400 with string field values is rejected with its field errors", status: 400, body: fixture(t, "error_field_strings.json"),
			wantKind: ottu.KindRejected, wantBody: true, wantFields: map[string][]string{"amount": {"A valid number is required."}}},
		{name: "a 400 with non_field_errors is rejected with them as detail", status: 400, body: fixture(t, "error_non_field.json"),
			wantKind: ottu.KindRejected, wantDetail: "Either order_no or session_id is required.", wantBody: true},
		{name: "a 400 with a bare list of messages is rejected with them as detail", status: 400, body: fixture(t, "error_toplevel_list.json"),
			wantKind: ottu.KindRejected, wantDetail: "The operation is not supported by the payment gateway.", wantBody: true},
		{name: "a 400 saying no payment attempts were found is not found", status: 400, body: fixture(t, "error_not_found_v2.json"),
			wantKind: ottu.KindNotFound, wantDetail: "No payment attempts found for this Lookup", wantBody: true},
		{name: "a 400 saying the order number does not exist is not found", status: 400, body: fixture(t, "error_not_found_v1.json"),
			wantKind: ottu.KindNotFound, wantDetail: "Order number does not exist", wantBody: true},
		{name: "a 404 is not found", status: 404, body: fixture(t, "error_404.json"),
			wantKind: ottu.KindNotFound, wantDetail: "Not found.", wantBody: true},
		{name: "a 404 HTML page is unavailable, not a missing transaction", status: 404, contentType: "text/html", body: []byte("<h1>Not Found</h1>"),
			wantKind: ottu.KindUnavailable, wantDetail: "check the base URL"},
		{name: "a 401 on both tries is an auth failure", status: 401, body: fixture(t, "error_401.json"),
			wantKind: ottu.KindAuth, wantDetail: "HTTP 401", wantBody: true, wantReqs: 2},
		{name: "a 403 is an auth failure", status: 403, body: fixture(t, "error_403.json"),
			wantKind: ottu.KindAuth, wantDetail: "permission", wantBody: true},
		{name: "a 405 is rejected", status: 405, body: fixture(t, "error_405.json"),
			wantKind: ottu.KindRejected, wantDetail: `Method "GET" not allowed.`, wantBody: true},
		{name: "a 408 is an unknown outcome, not a rejection", status: 408, body: []byte(`{"detail":"Request Timeout"}`),
			wantKind: ottu.KindUnavailable, wantDetail: "not one of Ottu's documented error answers", wantBody: true},
		{name: "a 409 is an unknown outcome, not a rejection", status: 409, body: []byte(`{"detail":"Conflict."}`),
			wantKind: ottu.KindUnavailable, wantDetail: "HTTP 409", wantBody: true},
		{name: "a 425 is an unknown outcome, not a rejection", status: 425, body: []byte(`{"detail":"Too Early"}`),
			wantKind: ottu.KindUnavailable, wantDetail: "HTTP 425", wantBody: true},
		{name: "a 422 is an unknown outcome, since Ottu documents no 422", status: 422, body: []byte(`{"detail":"Operations are not working for foreign currencies."}`),
			wantKind: ottu.KindUnavailable, wantDetail: "HTTP 422", wantBody: true},
		{name: "a 400 whose JSON is not an Ottu error body is an unknown outcome", status: 400, body: []byte(`{"errorCode": 17, "trace": {"id": 1}}`),
			wantKind: ottu.KindUnavailable, wantDetail: "not one of Ottu's documented error answers", wantBody: true},
		{name: "a 400 with an empty object is an unknown outcome", status: 400, body: []byte(`{}`),
			wantKind: ottu.KindUnavailable, wantDetail: "HTTP 400", wantBody: true},
		{name: "a 429 is unavailable and carries Retry-After", status: 429, body: fixture(t, "error_429.json"), header: map[string]string{"Retry-After": "30"},
			wantKind: ottu.KindUnavailable, wantDetail: "throttling", wantRetry: 30 * time.Second, wantBody: true},
		{name: "a 500 is unavailable", status: 500, body: fixture(t, "error_500.json"),
			wantKind: ottu.KindUnavailable, wantDetail: "HTTP 500", wantBody: true},
		{name: "a 503 is unavailable and carries Retry-After", status: 503, body: []byte(`{"detail":"maintenance"}`), header: map[string]string{"Retry-After": "120"},
			wantKind: ottu.KindUnavailable, wantDetail: "maintenance", wantRetry: 120 * time.Second, wantBody: true},
		{name: "an HTML 502 page is unavailable", status: 502, contentType: "text/html", body: fixture(t, "bad_gateway.html"),
			wantKind: ottu.KindUnavailable, wantDetail: "HTTP 502"},
		{name: "a redirect is unavailable and not followed", status: 302, header: map[string]string{"Location": "/elsewhere"},
			wantKind: ottu.KindUnavailable, wantDetail: "redirect"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ct := tt.contentType
			if ct == "" && tt.body != nil {
				ct = "application/json"
			}
			f := newFakeOttu(t, func(w http.ResponseWriter, r *http.Request, n int) {
				for k, v := range tt.header {
					w.Header().Set(k, v)
				}
				answer(tt.status, ct, tt.body)(w, r, n)
			})
			c := newClient(t, ottu.Config{BaseURL: f.URL})
			resp, err := c.Operation(context.Background(), refundReq())
			wantReqs := tt.wantReqs
			if wantReqs == 0 {
				wantReqs = 1
			}
			if got := len(f.requests()); got != wantReqs {
				t.Errorf("Ottu got %d requests, want %d", got, wantReqs)
			}
			if tt.wantKind == 0 {
				if err != nil {
					t.Fatalf("want success, got %v", err)
				}
				if !bytes.Equal(resp.Raw, tt.body) {
					t.Errorf("Raw is not Ottu's body byte for byte:\n%s", resp.Raw)
				}
				if resp.StatusCode != tt.status || resp.Result != tt.wantResult {
					t.Errorf("got status %d result %q, want %d %q", resp.StatusCode, resp.Result, tt.status, tt.wantResult)
				}
				return
			}
			if resp != nil {
				t.Errorf("want no response with an error, got %+v", resp)
			}
			e := asError(t, err)
			if e.Kind != tt.wantKind {
				t.Fatalf("kind %v, want %v (%v)", e.Kind, tt.wantKind, err)
			}
			// Only a throttled request is known to have been turned away unprocessed.
			if wantSent := tt.status != 429; e.StatusCode != tt.status || e.Sent != wantSent {
				t.Errorf("StatusCode %d Sent %v, want %d %v", e.StatusCode, e.Sent, tt.status, wantSent)
			}
			if !strings.Contains(e.Detail, tt.wantDetail) {
				t.Errorf("Detail %q does not contain %q", e.Detail, tt.wantDetail)
			}
			if tt.wantFields != nil && !reflect.DeepEqual(e.FieldErrors, tt.wantFields) {
				t.Errorf("FieldErrors %v, want %v", e.FieldErrors, tt.wantFields)
			}
			if tt.wantFields == nil && e.FieldErrors != nil {
				t.Errorf("FieldErrors %v, want none", e.FieldErrors)
			}
			if e.RetryAfter != tt.wantRetry {
				t.Errorf("RetryAfter %v, want %v", e.RetryAfter, tt.wantRetry)
			}
			if tt.wantBody != (e.Body != nil) || (tt.wantBody && !bytes.Equal(e.Body, tt.body)) {
				t.Errorf("Body %q, want Ottu's body: %v", e.Body, tt.wantBody)
			}
			if e.Detail == "" && len(e.FieldErrors) == 0 {
				t.Errorf("the error has no sentence a person can act on: %v", err)
			}
		})
	}
}

func TestOperationDecodesOttuResponse(t *testing.T) {
	f := newFakeOttu(t, answer(200, "application/json", fixture(t, "refund_success.json")))
	resp, err := newClient(t, ottu.Config{BaseURL: f.URL}).Operation(context.Background(), refundReq())
	if err != nil {
		t.Fatal(err)
	}
	want := ottu.ChildTxn{Amount: "2.000", CurrencyCode: "KWD", SessionID: "0aceca9c3e7ebb6b5c6bf54497241a1818c1272f", State: "refunded"}
	if resp.Txn == nil || *resp.Txn != want {
		t.Errorf("txn %+v, want %+v", resp.Txn, want)
	}
	if resp.Operation != "refund" || resp.Amount != "2.000" || !resp.Success || resp.TimestampUTC != "2023-07-24 09:59:49" || resp.ReferenceNumber != "hotfix4RKKRQ" {
		t.Errorf("decoded %+v", resp)
	}
}

func TestInquiry(t *testing.T) {
	t.Run("an inquiry answer is decoded and kept byte for byte", func(t *testing.T) {
		body := fixture(t, "inquiry_attempted.json")
		f := newFakeOttu(t, answer(200, "application/json", body))
		resp, err := newClient(t, ottu.Config{BaseURL: f.URL}).Inquiry(context.Background(), ottu.InquiryRequest{SessionID: "f92131d3"})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(resp.Raw, body) || resp.StatusCode != 200 {
			t.Errorf("Raw/StatusCode not kept: %d", resp.StatusCode)
		}
		if resp.State != "attempted" || resp.Result != "canceled" || resp.Amount != "1.100" || resp.OrderNo != "UzMzA" || resp.CurrencyCode != "KWD" {
			t.Errorf("decoded %+v", resp)
		}
	})
	t.Run("a failed payment is a successful inquiry", func(t *testing.T) {
		f := newFakeOttu(t, answer(200, "application/json", []byte(`{"session_id":"s1","state":"failed","result":"failed"}`)))
		resp, err := newClient(t, ottu.Config{BaseURL: f.URL}).Inquiry(context.Background(), ottu.InquiryRequest{SessionID: "s1"})
		if err != nil || resp.Result != "failed" {
			t.Fatalf("got %+v, %v", resp, err)
		}
	})
	t.Run("an unknown lookup is not found", func(t *testing.T) {
		f := newFakeOttu(t, answer(400, "application/json", fixture(t, "error_not_found_v2.json")))
		_, err := newClient(t, ottu.Config{BaseURL: f.URL}).Inquiry(context.Background(), ottu.InquiryRequest{OrderNo: "nope"})
		if !errors.Is(err, ottu.ErrNotFound) {
			t.Fatalf("want not found, got %v", err)
		}
	})
	t.Run("an inquiry asks the provider for the inquiry permission", func(t *testing.T) {
		f := newFakeOttu(t, answer(200, "application/json", fixture(t, "inquiry_attempted.json")))
		p := &rotatingProvider{keys: []string{testAPIKey}}
		_, err := newClient(t, ottu.Config{BaseURL: f.URL, Credentials: p}).Inquiry(context.Background(), ottu.InquiryRequest{SessionID: "s1"})
		if err != nil {
			t.Fatal(err)
		}
		if got := p.permissions(); !reflect.DeepEqual(got, []string{"payment.inquiry"}) {
			t.Errorf("permissions asked %v", got)
		}
	})
}

func TestRequestPathsAndBodies(t *testing.T) {
	tests := []struct {
		name     string
		version  int
		basePath string
		op       *ottu.OperationRequest
		inquiry  *ottu.InquiryRequest
		wantURI  string
		wantBody string
	}{
		{name: "a refund sends operation, session, amount text and extra", op: &ottu.OperationRequest{
			Operation: payment.Refund, SessionID: "s1", Amount: dec("2.500"), Extra: json.RawMessage(` {"ifg": true} `)},
			wantURI: "/b/pbl/v2/operation/", wantBody: `{"operation":"refund","session_id":"s1","amount":"2.500","extra":{"ifg":true}}`},
		{name: "a capture without amount leaves the amount to Ottu", op: &ottu.OperationRequest{Operation: payment.Capture, OrderNo: "o1"},
			wantURI: "/b/pbl/v2/operation/", wantBody: `{"operation":"capture","order_no":"o1"}`},
		{name: "a void by order number sends only the order number", op: &ottu.OperationRequest{Operation: payment.Void, OrderNo: "o1"},
			wantURI: "/b/pbl/v2/operation/", wantBody: `{"operation":"void","order_no":"o1"}`},
		{name: "a cancel with both ids sends both", op: &ottu.OperationRequest{Operation: payment.Cancel, SessionID: "s1", OrderNo: "o1"},
			wantURI: "/b/pbl/v2/operation/", wantBody: `{"operation":"cancel","session_id":"s1","order_no":"o1"}`},
		{name: "a null extra is not sent", op: &ottu.OperationRequest{Operation: payment.Refund, SessionID: "s1", Extra: json.RawMessage("null")},
			wantURI: "/b/pbl/v2/operation/", wantBody: `{"operation":"refund","session_id":"s1"}`},
		{name: "a base URL with a path prefix and trailing slash keeps the prefix", basePath: "/ottu/", op: &ottu.OperationRequest{Operation: payment.Delete, SessionID: "s1"},
			wantURI: "/ottu/b/pbl/v2/operation/", wantBody: `{"operation":"delete","session_id":"s1"}`},
		{name: "an inquiry with disclosure sends the flag and the URL", inquiry: &ottu.InquiryRequest{
			SessionID: "s1", DiscloseToMerchant: true, DisclosureURL: "https://m.example/webhooks/ottu"},
			wantURI: "/b/pbl/v2/inquiry/", wantBody: `{"session_id":"s1","disclose_to_merchant":true,"disclosure_url":"https://m.example/webhooks/ottu"}`},
		{name: "a plain inquiry by order number", inquiry: &ottu.InquiryRequest{OrderNo: "o1"},
			wantURI: "/b/pbl/v2/inquiry/", wantBody: `{"order_no":"o1"}`},
		{name: "a v1 refund puts the escaped order number in the path", version: 1, op: &ottu.OperationRequest{
			Operation: payment.Refund, SessionID: "ignored", OrderNo: "A/1 b", Amount: dec("1")},
			wantURI: "/b/pbl/v1/operation/A%2F1%20b", wantBody: `{"operation":"refund","amount":"1"}`},
		{name: "a v1 inquiry puts the order number in the path", version: 1, inquiry: &ottu.InquiryRequest{OrderNo: "o1"},
			wantURI: "/b/pbl/v1/inquiry/o1", wantBody: `{}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeOttu(t, answer(200, "application/json", []byte(`{"result":"success"}`)))
			c := newClient(t, ottu.Config{BaseURL: f.URL + tt.basePath, APIVersion: tt.version,
				Credentials: ottu.StaticCredentials{Username: "u", Password: "p"}})
			var err error
			if tt.op != nil {
				_, err = c.Operation(context.Background(), *tt.op)
			} else {
				_, err = c.Inquiry(context.Background(), *tt.inquiry)
			}
			if err != nil {
				t.Fatal(err)
			}
			reqs := f.requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests", len(reqs))
			}
			if reqs[0].Method != http.MethodPost || reqs[0].URI != tt.wantURI {
				t.Errorf("%s %s, want POST %s", reqs[0].Method, reqs[0].URI, tt.wantURI)
			}
			if string(reqs[0].Body) != tt.wantBody {
				t.Errorf("body %s\nwant %s", reqs[0].Body, tt.wantBody)
			}
		})
	}
}

func TestHeaders(t *testing.T) {
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("refunder:pw"))
	for _, op := range payment.Operations {
		name := fmt.Sprintf("%s sends no Tracking-Key", op)
		if op.External() {
			name = fmt.Sprintf("%s sends the Tracking-Key", op)
		}
		t.Run(name, func(t *testing.T) {
			f := newFakeOttu(t, answer(200, "application/json", []byte(`{"result":"success"}`)))
			c := newClient(t, ottu.Config{BaseURL: f.URL, UserAgent: "merchant-app/1"})
			_, err := c.Operation(context.Background(), ottu.OperationRequest{Operation: op, SessionID: "s1", TrackingKey: "key-123"})
			if err != nil {
				t.Fatal(err)
			}
			h := f.requests()[0].Header
			want := ""
			if op.External() {
				want = "key-123"
			}
			if got := h.Get("Tracking-Key"); got != want {
				t.Errorf("Tracking-Key %q, want %q", got, want)
			}
			if _, present := h["Tracking-Key"]; present != op.External() {
				t.Errorf("Tracking-Key header present = %v", present)
			}
			if h.Get("Content-Type") != "application/json" || h.Get("Accept") != "application/json" || h.Get("User-Agent") != "merchant-app/1" {
				t.Errorf("headers %v", h)
			}
		})
	}

	authTests := []struct {
		name     string
		creds    ottu.Credentials
		version  int
		wantAuth string
		wantKind ottu.Kind
	}{
		{name: "an API key is sent as Api-Key", creds: ottu.Credentials{APIKey: testAPIKey}, wantAuth: "Api-Key " + testAPIKey},
		{name: "a user is sent as Basic", creds: ottu.Credentials{Username: "refunder", Password: "pw"}, wantAuth: basic},
		{name: "a user is preferred over an API key", creds: ottu.Credentials{APIKey: testAPIKey, Username: "refunder", Password: "pw"}, wantAuth: basic},
		{name: "v1 sends Basic", version: 1, creds: ottu.Credentials{Username: "refunder", Password: "pw"}, wantAuth: basic},
		{name: "v1 with only an API key is an auth failure and sends nothing", version: 1, creds: ottu.Credentials{APIKey: testAPIKey}, wantKind: ottu.KindAuth},
	}
	for _, tt := range authTests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeOttu(t, answer(200, "application/json", []byte(`{"result":"success"}`)))
			c := newClient(t, ottu.Config{BaseURL: f.URL, APIVersion: tt.version, Credentials: ottu.StaticCredentials(tt.creds)})
			_, err := c.Operation(context.Background(), ottu.OperationRequest{Operation: payment.Refund, OrderNo: "o1"})
			if tt.wantKind != 0 {
				if ottu.KindOf(err) != tt.wantKind || len(f.requests()) != 0 {
					t.Fatalf("want %v and nothing sent, got %v after %d requests", tt.wantKind, err, len(f.requests()))
				}
				if e := asError(t, err); e.Sent || !strings.Contains(e.Detail, "Basic") {
					t.Errorf("error %+v", e)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := f.requests()[0].Header.Get("Authorization"); got != tt.wantAuth {
				t.Errorf("Authorization %q, want %q", got, tt.wantAuth)
			}
		})
	}
}

func TestInvalidRequestsAreNotSent(t *testing.T) {
	tests := []struct {
		name    string
		version int
		op      *ottu.OperationRequest
		inquiry *ottu.InquiryRequest
		want    string
	}{
		{name: "an unknown operation is refused", op: &ottu.OperationRequest{Operation: "refunds", SessionID: "s1"}, want: "unknown operation"},
		{name: "an operation without session_id or order_no is refused", op: &ottu.OperationRequest{Operation: payment.Refund}, want: "session_id or order_no"},
		{name: "a zero amount is refused", op: &ottu.OperationRequest{Operation: payment.Refund, SessionID: "s1", Amount: dec("0")}, want: "greater than zero"},
		{name: "a negative amount is refused", op: &ottu.OperationRequest{Operation: payment.Capture, SessionID: "s1", Amount: dec("-1.5")}, want: "greater than zero"},
		{name: "an amount with four decimals is refused", op: &ottu.OperationRequest{Operation: payment.Refund, SessionID: "s1", Amount: dec("1.0005")}, want: "3 after"},
		{name: "an amount with fourteen integer digits is refused", op: &ottu.OperationRequest{Operation: payment.Refund, SessionID: "s1", Amount: dec("12345678901234")}, want: "13 digits"},
		{name: "an amount on a void is refused", op: &ottu.OperationRequest{Operation: payment.Void, SessionID: "s1", Amount: dec("1")}, want: "only to capture and refund"},
		{name: "an amount on a cancel is refused", op: &ottu.OperationRequest{Operation: payment.Cancel, SessionID: "s1", Amount: dec("1")}, want: "only to capture and refund"},
		{name: "extra that is a list is refused", op: &ottu.OperationRequest{Operation: payment.Refund, SessionID: "s1", Extra: json.RawMessage(`[1]`)}, want: "JSON object"},
		{name: "extra that is not JSON is refused", op: &ottu.OperationRequest{Operation: payment.Refund, SessionID: "s1", Extra: json.RawMessage(`{"a":`)}, want: "JSON object"},
		{name: "a Tracking-Key over 255 characters is refused", op: &ottu.OperationRequest{Operation: payment.Refund, SessionID: "s1", TrackingKey: strings.Repeat("k", 256)}, want: "at most 255"},
		{name: "a Tracking-Key with a space is refused", op: &ottu.OperationRequest{Operation: payment.Refund, SessionID: "s1", TrackingKey: "a b"}, want: "visible ASCII"},
		{name: "a Tracking-Key with a non-ASCII letter is refused", op: &ottu.OperationRequest{Operation: payment.Refund, SessionID: "s1", TrackingKey: "clé"}, want: "visible ASCII"},
		{name: "a Tracking-Key with a newline is refused", op: &ottu.OperationRequest{Operation: payment.Refund, SessionID: "s1", TrackingKey: "a\nInjected: x"}, want: "visible ASCII"},
		{name: "a v1 operation without order_no is refused", version: 1, op: &ottu.OperationRequest{Operation: payment.Refund, SessionID: "s1"}, want: "order_no is required"},
		{name: "an inquiry without ids is refused", inquiry: &ottu.InquiryRequest{DiscloseToMerchant: true}, want: "session_id or order_no"},
		{name: "an inquiry with a relative disclosure URL is refused", inquiry: &ottu.InquiryRequest{SessionID: "s1", DisclosureURL: "/webhooks"}, want: "absolute http"},
		{name: "an inquiry with an ftp disclosure URL is refused", inquiry: &ottu.InquiryRequest{SessionID: "s1", DisclosureURL: "ftp://x.example/"}, want: "absolute http"},
		{name: "a v1 inquiry without order_no is refused", version: 1, inquiry: &ottu.InquiryRequest{SessionID: "s1"}, want: "order_no is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeOttu(t, answer(200, "application/json", []byte(`{"result":"success"}`)))
			p := &rotatingProvider{keys: []string{testAPIKey}}
			c := newClient(t, ottu.Config{BaseURL: f.URL, APIVersion: tt.version, Credentials: p})
			var err error
			if tt.op != nil {
				_, err = c.Operation(context.Background(), *tt.op)
			} else {
				_, err = c.Inquiry(context.Background(), *tt.inquiry)
			}
			e := asError(t, err)
			if e.Kind != ottu.KindInvalid || e.Sent || e.StatusCode != 0 {
				t.Fatalf("want an unsent invalid error, got %+v", e)
			}
			if !strings.Contains(e.Detail, tt.want) {
				t.Errorf("Detail %q does not contain %q", e.Detail, tt.want)
			}
			if n := len(f.requests()); n != 0 || len(p.permissions()) != 0 {
				t.Errorf("%d requests sent and %d credential lookups for an invalid request", n, len(p.permissions()))
			}
		})
	}
}

func TestNewValidatesConfig(t *testing.T) {
	creds := ottu.StaticCredentials{APIKey: testAPIKey}
	tests := []struct {
		name string
		cfg  ottu.Config
		want string // "" means New succeeds
	}{
		{name: "an https base URL is accepted", cfg: ottu.Config{BaseURL: "https://merchant.ottu.net", Credentials: creds}},
		{name: "no base URL is accepted (the secret may carry it)", cfg: ottu.Config{Credentials: creds}},
		{name: "API version 1 is accepted", cfg: ottu.Config{BaseURL: "https://m.ottu.net/", APIVersion: 1, Credentials: creds}},
		{name: "a missing credentials provider is refused", cfg: ottu.Config{BaseURL: "https://m.ottu.net"}, want: "Credentials is required"},
		{name: "an ftp base URL is refused", cfg: ottu.Config{BaseURL: "ftp://m.ottu.net", Credentials: creds}, want: "not http or https"},
		{name: "a base URL without host is refused", cfg: ottu.Config{BaseURL: "https://", Credentials: creds}, want: "no host"},
		{name: "a base URL without scheme is refused", cfg: ottu.Config{BaseURL: "merchant.ottu.net", Credentials: creds}, want: "not http or https"},
		{name: "a base URL carrying a password is refused", cfg: ottu.Config{BaseURL: "https://u:pw@m.ottu.net", Credentials: creds}, want: "must not carry a user"},
		{name: "a base URL with a query is refused", cfg: ottu.Config{BaseURL: "https://m.ottu.net/?x=1", Credentials: creds}, want: "query"},
		{name: "API version 3 is refused", cfg: ottu.Config{BaseURL: "https://m.ottu.net", APIVersion: 3, Credentials: creds}, want: "APIVersion is 3"},
		{name: "a negative deadline margin is refused", cfg: ottu.Config{DeadlineMargin: -time.Second, Credentials: creds}, want: "must not be negative"},
		{name: "a negative response limit is refused", cfg: ottu.Config{MaxResponseBytes: -1, Credentials: creds}, want: "must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ottu.New(tt.cfg)
			if tt.want == "" {
				if err != nil || c == nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "pw") {
				t.Errorf("the error repeats the password: %v", err)
			}
		})
	}
}

// rotatingProvider hands out keys[0] until asked to refresh, then the next
// key; it records what it was asked.
type rotatingProvider struct {
	mu      sync.Mutex
	keys    []string
	idx     int
	baseURL string
	err     error
	calls   []providerCall
}

type providerCall struct {
	Permission string
	Refresh    bool
}

func (p *rotatingProvider) Credentials(_ context.Context, permission string, refresh bool) (ottu.Credentials, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = append(p.calls, providerCall{permission, refresh})
	if p.err != nil {
		return ottu.Credentials{}, p.err
	}
	if refresh && p.idx < len(p.keys)-1 {
		p.idx++
	}
	return ottu.Credentials{APIKey: p.keys[p.idx], BaseURL: p.baseURL}, nil
}

func (p *rotatingProvider) permissions() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, c := range p.calls {
		out = append(out, c.Permission)
	}
	return out
}

func TestCredentials(t *testing.T) {
	t.Run("a 401 fetches the credentials again and the resend succeeds", func(t *testing.T) {
		f := newFakeOttu(t, func(w http.ResponseWriter, r *http.Request, n int) {
			if r.Header.Get("Authorization") != "Api-Key rotated-key" {
				answer(401, "application/json", fixture(t, "error_401.json"))(w, r, n)
				return
			}
			answer(200, "application/json", fixture(t, "refund_success.json"))(w, r, n)
		})
		p := &rotatingProvider{keys: []string{"stale-key", "rotated-key"}}
		resp, err := newClient(t, ottu.Config{BaseURL: f.URL, Credentials: p}).Operation(context.Background(), refundReq())
		if err != nil {
			t.Fatal(err)
		}
		if resp.Result != "success" {
			t.Errorf("result %q", resp.Result)
		}
		want := []providerCall{{"payment.refund", false}, {"payment.refund", true}}
		if !reflect.DeepEqual(p.calls, want) {
			t.Errorf("provider calls %v, want %v", p.calls, want)
		}
		reqs := f.requests()
		if len(reqs) != 2 {
			t.Fatalf("%d requests, want 2", len(reqs))
		}
		if !bytes.Equal(reqs[0].Body, reqs[1].Body) || reqs[0].Header.Get("Tracking-Key") != "tk-1" || reqs[1].Header.Get("Tracking-Key") != "tk-1" {
			t.Errorf("the resend differs from the first request: %q / %q", reqs[0].Body, reqs[1].Body)
		}
	})
	t.Run("a second 401 is an auth failure after exactly one refresh", func(t *testing.T) {
		f := newFakeOttu(t, answer(401, "application/json", fixture(t, "error_401.json")))
		p := &rotatingProvider{keys: []string{"stale-key", "still-wrong"}}
		_, err := newClient(t, ottu.Config{BaseURL: f.URL, Credentials: p}).Operation(context.Background(), refundReq())
		if !errors.Is(err, ottu.ErrAuth) || len(f.requests()) != 2 || len(p.calls) != 2 {
			t.Fatalf("got %v after %d requests and %d provider calls", err, len(f.requests()), len(p.calls))
		}
	})
	t.Run("a 403 is an auth failure without a refresh", func(t *testing.T) {
		f := newFakeOttu(t, answer(403, "application/json", fixture(t, "error_403.json")))
		p := &rotatingProvider{keys: []string{"k"}}
		_, err := newClient(t, ottu.Config{BaseURL: f.URL, Credentials: p}).Operation(context.Background(), refundReq())
		if !errors.Is(err, ottu.ErrAuth) || len(f.requests()) != 1 || len(p.calls) != 1 {
			t.Fatalf("got %v after %d requests and %d provider calls", err, len(f.requests()), len(p.calls))
		}
	})
	t.Run("a secret store failure is unavailable and nothing is sent", func(t *testing.T) {
		f := newFakeOttu(t, answer(200, "application/json", []byte(`{}`)))
		cause := errors.New("secrets manager: throttled")
		p := &rotatingProvider{err: cause}
		_, err := newClient(t, ottu.Config{BaseURL: f.URL, Credentials: p}).Operation(context.Background(), refundReq())
		e := asError(t, err)
		if e.Kind != ottu.KindUnavailable || e.Sent || !errors.Is(err, cause) || len(f.requests()) != 0 {
			t.Fatalf("got %+v after %d requests", e, len(f.requests()))
		}
		if !strings.Contains(e.Detail, "payment.refund") {
			t.Errorf("Detail %q does not name the permission", e.Detail)
		}
	})
	t.Run("a misconfigured secret is an auth failure and nothing is sent", func(t *testing.T) {
		f := newFakeOttu(t, answer(200, "application/json", []byte(`{}`)))
		cause := invalidSecret{}
		p := &rotatingProvider{err: cause}
		_, err := newClient(t, ottu.Config{BaseURL: f.URL, Credentials: p}).Operation(context.Background(), refundReq())
		e := asError(t, err)
		if e.Kind != ottu.KindAuth || e.Sent || len(f.requests()) != 0 {
			t.Fatalf("got %+v after %d requests", e, len(f.requests()))
		}
	})
	t.Run("incomplete credentials are an auth failure and nothing is sent", func(t *testing.T) {
		f := newFakeOttu(t, answer(200, "application/json", []byte(`{}`)))
		c := newClient(t, ottu.Config{BaseURL: f.URL, Credentials: ottu.StaticCredentials{Username: "only-user"}})
		_, err := c.Operation(context.Background(), refundReq())
		if ottu.KindOf(err) != ottu.KindAuth || len(f.requests()) != 0 {
			t.Fatalf("got %v after %d requests", err, len(f.requests()))
		}
	})
	t.Run("the base_url in the credentials overrides the configured host", func(t *testing.T) {
		wrong := newFakeOttu(t, answer(500, "application/json", []byte(`{}`)))
		right := newFakeOttu(t, answer(200, "application/json", fixture(t, "refund_success.json")))
		p := &rotatingProvider{keys: []string{"k"}, baseURL: right.URL + "/"}
		_, err := newClient(t, ottu.Config{BaseURL: wrong.URL, Credentials: p}).Operation(context.Background(), refundReq())
		if err != nil || len(right.requests()) != 1 || len(wrong.requests()) != 0 {
			t.Fatalf("got %v; right host %d requests, configured host %d", err, len(right.requests()), len(wrong.requests()))
		}
	})
	t.Run("an unusable base_url in the credentials is an auth failure", func(t *testing.T) {
		p := &rotatingProvider{keys: []string{"k"}, baseURL: "merchant.ottu.net"}
		_, err := newClient(t, ottu.Config{BaseURL: "https://m.example", Credentials: p}).Operation(context.Background(), refundReq())
		if e := asError(t, err); e.Kind != ottu.KindAuth || e.Sent || !strings.Contains(e.Detail, "base_url") {
			t.Fatalf("got %+v", e)
		}
	})
	t.Run("no host anywhere is an auth failure naming base_url", func(t *testing.T) {
		_, err := newClient(t, ottu.Config{}).Operation(context.Background(), refundReq())
		if e := asError(t, err); e.Kind != ottu.KindAuth || !strings.Contains(e.Detail, "base_url") {
			t.Fatalf("got %+v", e)
		}
	})
}

// blockingOttu answers nothing until the request's context ends or the test
// finishes.
func blockingOttu(t *testing.T) *fakeOttu {
	release := make(chan struct{})
	f := newFakeOttu(t, func(_ http.ResponseWriter, r *http.Request, _ int) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	t.Cleanup(func() { close(release) }) // runs before f.Close
	return f
}

func TestDeadlines(t *testing.T) {
	t.Run("a silent Ottu leaves the outcome unknown before the caller's deadline", func(t *testing.T) {
		f := blockingOttu(t)
		c := newClient(t, ottu.Config{BaseURL: f.URL, DeadlineMargin: 700 * time.Millisecond})
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := c.Operation(ctx, refundReq())
		if ctx.Err() != nil {
			t.Errorf("the call returned after the caller's deadline: no margin was kept")
		}
		e := asError(t, err)
		if e.Kind != ottu.KindOutcomeUnknown || !e.Sent || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("got %+v", e)
		}
		if len(f.requests()) != 1 {
			t.Errorf("%d requests", len(f.requests()))
		}
	})
	t.Run("no time left after the margin sends nothing", func(t *testing.T) {
		f := blockingOttu(t)
		p := &rotatingProvider{keys: []string{"k"}}
		c := newClient(t, ottu.Config{BaseURL: f.URL, Credentials: p, DeadlineMargin: time.Hour})
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_, err := c.Operation(ctx, refundReq())
		if e := asError(t, err); e.Kind != ottu.KindUnavailable || e.Sent {
			t.Fatalf("got %+v", e)
		}
		if len(f.requests()) != 0 || len(p.calls) != 0 {
			t.Errorf("%d requests, %d provider calls", len(f.requests()), len(p.calls))
		}
	})
	t.Run("an already cancelled context sends nothing", func(t *testing.T) {
		f := blockingOttu(t)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := newClient(t, ottu.Config{BaseURL: f.URL}).Operation(ctx, refundReq())
		if e := asError(t, err); e.Kind != ottu.KindUnavailable || e.Sent || !errors.Is(err, context.Canceled) {
			t.Fatalf("got %+v", e)
		}
		if len(f.requests()) != 0 {
			t.Errorf("%d requests", len(f.requests()))
		}
	})
	t.Run("without a context deadline Timeout bounds the call", func(t *testing.T) {
		f := blockingOttu(t)
		c := newClient(t, ottu.Config{BaseURL: f.URL, Timeout: 100 * time.Millisecond})
		_, err := c.Inquiry(context.Background(), ottu.InquiryRequest{SessionID: "s1"})
		if e := asError(t, err); e.Kind != ottu.KindOutcomeUnknown || !e.Sent {
			t.Fatalf("got %+v", e)
		}
	})
	t.Run("a provider still loading when time runs out is unavailable, not auth", func(t *testing.T) {
		c := newClient(t, ottu.Config{BaseURL: "http://127.0.0.1:1", Timeout: 50 * time.Millisecond, Credentials: slowProvider{}})
		_, err := c.Operation(context.Background(), refundReq())
		if e := asError(t, err); e.Kind != ottu.KindUnavailable || e.Sent {
			t.Fatalf("got %+v", e)
		}
	})
}

// slowProvider blocks until its context ends.
type slowProvider struct{}

func (slowProvider) Credentials(ctx context.Context, _ string, _ bool) (ottu.Credentials, error) {
	<-ctx.Done()
	return ottu.Credentials{}, ctx.Err()
}

// hijack takes over the connection after reading the whole request, so the
// client has certainly written it, then lets fail act on the raw connection.
func hijack(fail func(net.Conn)) func(http.ResponseWriter, *http.Request, int) {
	return func(w http.ResponseWriter, _ *http.Request, _ int) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			panic(err)
		}
		fail(conn)
	}
}

func TestTransportFailures(t *testing.T) {
	closedAddr := func(t *testing.T) string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		_ = l.Close()
		return "http://" + addr
	}
	tests := []struct {
		name       string
		handle     func(http.ResponseWriter, *http.Request, int)
		closedPort bool
		wantKind   ottu.Kind
		wantSent   bool
		wantStatus int
	}{
		{name: "a refused connection is unavailable and nothing was sent", closedPort: true, wantKind: ottu.KindUnavailable},
		{name: "a connection closed after the request was written leaves the outcome unknown",
			handle: hijack(func(c net.Conn) { _ = c.Close() }), wantKind: ottu.KindOutcomeUnknown, wantSent: true},
		{name: "a connection reset after the request was written leaves the outcome unknown",
			handle: hijack(func(c net.Conn) {
				_ = c.(*net.TCPConn).SetLinger(0)
				_ = c.Close()
			}), wantKind: ottu.KindOutcomeUnknown, wantSent: true},
		{name: "a body cut short is unavailable after sending",
			handle: hijack(func(c net.Conn) {
				_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"result\":")
				_ = c.Close()
			}), wantKind: ottu.KindUnavailable, wantSent: true, wantStatus: 200},
		{name: "a garbled answer after the request was written leaves the outcome unknown",
			handle: hijack(func(c net.Conn) {
				_, _ = io.WriteString(c, "NOT HTTP AT ALL\r\n\r\n")
				_ = c.Close()
			}), wantKind: ottu.KindOutcomeUnknown, wantSent: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := ""
			if tt.closedPort {
				base = closedAddr(t)
			} else {
				base = newFakeOttu(t, tt.handle).URL
			}
			_, err := newClient(t, ottu.Config{BaseURL: base}).Operation(context.Background(), refundReq())
			e := asError(t, err)
			if e.Kind != tt.wantKind || e.Sent != tt.wantSent || e.StatusCode != tt.wantStatus {
				t.Fatalf("got kind %v sent %v status %d, want %v %v %d (%v)", e.Kind, e.Sent, e.StatusCode, tt.wantKind, tt.wantSent, tt.wantStatus, err)
			}
			if e.Err == nil {
				t.Errorf("the transport error is not kept for errors.Is/As")
			}
		})
	}
}

func TestConnectionsAreReused(t *testing.T) {
	big := []byte(`{"result":"success","pad":"` + strings.Repeat("x", 4096) + `"}`)
	tests := []struct {
		name    string
		limit   int64
		answers func(n int) (status int, contentType string, body []byte)
	}{
		{name: "successes and error answers all go over one kept-alive connection", answers: func(n int) (int, string, []byte) {
			switch n % 3 {
			case 0:
				return 400, "application/json", fixture(t, "error_field_lists.json")
			case 1:
				return 200, "application/json", fixture(t, "refund_success.json")
			}
			return 503, "text/html", fixture(t, "bad_gateway.html")
		}},
		{name: "answers over the size limit are drained so the connection is kept", limit: 512, answers: func(int) (int, string, []byte) {
			return 200, "application/json", big
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var newConns atomic.Int32
			countNew := func(_ net.Conn, s http.ConnState) {
				if s == http.StateNew {
					newConns.Add(1)
				}
			}
			f := newFakeOttuWithConnState(t, countNew, func(w http.ResponseWriter, r *http.Request, n int) {
				status, ct, body := tt.answers(n)
				answer(status, ct, body)(w, r, n)
			})
			// No HTTPClient: the shared default client is what is tested.
			c := newClient(t, ottu.Config{BaseURL: f.URL, MaxResponseBytes: tt.limit})
			var reused atomic.Int32
			ctx := withGotConn(context.Background(), &reused)
			for range 9 {
				_, _ = c.Operation(ctx, refundReq())
			}
			if got := len(f.requests()); got != 9 {
				t.Fatalf("%d requests", got)
			}
			if got := newConns.Load(); got != 1 {
				t.Errorf("%d connections opened for 9 calls, want 1 reused", got)
			}
			if got := reused.Load(); got != 8 {
				t.Errorf("%d calls reused a connection, want 8", got)
			}
		})
	}
}

// withGotConn counts, through httptrace, the calls that reused a connection.
func withGotConn(ctx context.Context, reused *atomic.Int32) context.Context {
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) {
		if info.Reused {
			reused.Add(1)
		}
	}})
}

func TestResponseSizeLimit(t *testing.T) {
	const limit = 512
	body := func(size int) []byte {
		head := `{"result":"success","pad":"`
		return []byte(head + strings.Repeat("x", size-len(head)-2) + `"}`)
	}
	tests := []struct {
		name     string
		size     int
		wantKind ottu.Kind
	}{
		{name: "a body at the limit is read", size: limit},
		{name: "a body one byte over the limit is unreadable", size: limit + 1, wantKind: ottu.KindUnavailable},
		{name: "a body far over the limit is unreadable", size: 64 * limit, wantKind: ottu.KindUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := body(tt.size)
			if len(b) != tt.size {
				t.Fatalf("fixture is %d bytes", len(b))
			}
			f := newFakeOttu(t, answer(200, "application/json", b))
			resp, err := newClient(t, ottu.Config{BaseURL: f.URL, MaxResponseBytes: limit}).Operation(context.Background(), refundReq())
			if tt.wantKind == 0 {
				if err != nil || len(resp.Raw) != tt.size {
					t.Fatalf("got %v", err)
				}
				return
			}
			e := asError(t, err)
			if e.Kind != tt.wantKind || !e.Sent || e.StatusCode != 200 || !strings.Contains(e.Detail, "larger than 512 bytes") {
				t.Fatalf("got %+v", e)
			}
		})
	}
}

func TestSecretsNeverLeak(t *testing.T) {
	const password = "pw-SECRET-0002"
	basic := base64.StdEncoding.EncodeToString([]byte("refunder:" + password))
	secrets := []string{testAPIKey, password, basic}
	keyCreds := ottu.StaticCredentials{APIKey: testAPIKey}
	userCreds := ottu.StaticCredentials{Username: "refunder", Password: password}

	ok := newFakeOttu(t, answer(200, "application/json", []byte(`{"result":"success"}`)))
	down := newFakeOttu(t, answer(500, "text/html", []byte("<h1>down</h1>")))
	unauthorized := newFakeOttu(t, answer(401, "application/json", fixture(t, "error_401.json")))
	forbidden := newFakeOttu(t, answer(403, "application/json", fixture(t, "error_403.json")))
	reset := newFakeOttu(t, hijack(func(c net.Conn) { _ = c.Close() }))

	var errs []error
	for _, creds := range []ottu.StaticCredentials{keyCreds, userCreds} {
		for _, base := range []string{down.URL, unauthorized.URL, forbidden.URL, reset.URL, "http://127.0.0.1:1"} {
			c := newClient(t, ottu.Config{BaseURL: base, Credentials: creds})
			_, err := c.Operation(context.Background(), refundReq())
			errs = append(errs, err)
			_, err = c.Inquiry(context.Background(), ottu.InquiryRequest{SessionID: "s1"})
			errs = append(errs, err)
		}
		c := newClient(t, ottu.Config{BaseURL: ok.URL, Credentials: creds})
		_, err := c.Operation(context.Background(), ottu.OperationRequest{Operation: payment.Void, SessionID: "s1", Amount: dec("1")})
		errs = append(errs, err)
	}
	v1 := newClient(t, ottu.Config{BaseURL: ok.URL, APIVersion: 1, Credentials: keyCreds})
	_, err := v1.Operation(context.Background(), ottu.OperationRequest{Operation: payment.Refund, OrderNo: "o1"})
	errs = append(errs, err)
	badBase := newClient(t, ottu.Config{Credentials: ottu.StaticCredentials{APIKey: testAPIKey, BaseURL: "https://refunder:" + password + "@m.example"}})
	_, err = badBase.Operation(context.Background(), refundReq())
	errs = append(errs, err)

	var texts []string
	for i, err := range errs {
		if err == nil {
			t.Fatalf("case %d: want an error", i)
		}
		texts = append(texts, fmt.Sprintf("%s|%v|%+v|%#v", err.Error(), err, err, err))
	}
	cfg := ottu.Config{BaseURL: ok.URL, Credentials: keyCreds}
	userCfg := ottu.Config{BaseURL: ok.URL, Credentials: userCreds}
	for _, v := range []any{cfg, &cfg, userCfg, newClient(t, cfg), newClient(t, userCfg),
		keyCreds, userCreds, ottu.Credentials(keyCreds), ottu.Credentials(userCreds), &userCreds} {
		texts = append(texts, fmt.Sprintf("%v|%+v|%#v|%s", v, v, v, v))
	}
	for _, text := range texts {
		for _, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("a secret leaked into %q", text)
			}
		}
	}
	// The redaction must not hide what helps a person: the user name stays.
	if !strings.Contains(fmt.Sprint(userCfg), "StaticCredentials") || !strings.Contains(fmt.Sprint(userCreds), "refunder") {
		t.Errorf("redaction hid too much: %v / %v", userCfg, userCreds)
	}
}

// invalidSecret is a provider error saying the secret itself is wrong.
type invalidSecret struct{}

func (invalidSecret) Error() string {
	return "secret ottu-api has neither api_key nor username and password"
}
func (invalidSecret) InvalidCredentials() bool { return true }
