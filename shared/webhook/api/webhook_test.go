package api

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ottuops/ottu-lambda/dev/testkit"
	"github.com/ottuops/ottu-lambda/dev/testkit/apigwtest"
	"github.com/ottuops/ottu-lambda/shared/ottu"
	"github.com/ottuops/ottu-lambda/shared/platform/obs"
	"github.com/ottuops/ottu-lambda/shared/txn"
	"github.com/ottuops/ottu-lambda/shared/webhook"
)

// webhookKey signed the callbacks of testdata/apigw-webhook*.json.
const webhookKey = "test-webhook-key-5d1e"

// staticKey is a webhook secret that never changes, or cannot be read.
type staticKey struct {
	key string
	err error
}

func (k staticKey) WebhookKey(context.Context, bool) (string, error) { return k.key, k.err }

// digestStore keeps digests only: enough for accepted and duplicate.
type digestStore struct {
	mu   sync.Mutex
	seen map[string]bool
}

func (d *digestStore) Put(_ context.Context, e txn.Entry) (bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.seen == nil {
		d.seen = map[string]bool{}
	}
	if d.seen[e.Digest] {
		return false, nil
	}
	d.seen[e.Digest] = true
	return true, nil
}

func (d *digestStore) Waiters(context.Context, string) ([]txn.Waiter, error) { return nil, nil }

func (d *digestStore) Bind(_ context.Context, _ string, id txn.Identity, _ bool) (txn.Identity, error) {
	return id, nil
}

func (d *digestStore) FirstReceived(context.Context, txn.Entry) (time.Time, error) {
	return time.Time{}, nil
}
func (d *digestStore) ClaimWaiter(context.Context, txn.Waiter, time.Time) error {
	return txn.ErrClaimed
}

func (d *digestStore) FinishWaiter(context.Context, txn.Waiter, txn.WaiterStatus, time.Time) error {
	return nil
}

type noResumer struct{}

func (noResumer) SendTaskSuccess(context.Context, string, []byte) error {
	return errors.New("no workflow waits in these tests")
}

func (noResumer) SendTaskFailure(context.Context, string, string, string) error {
	return errors.New("no workflow waits in these tests")
}

func newWebhook(key staticKey, out *testkit.Buffer) *Webhook {
	return &Webhook{
		Service: &webhook.Service{Keys: key, Store: &digestStore{}, Resumer: noResumer{}},
		Logger:  obs.NewLogger(out, slog.LevelInfo, "webhook"),
		Metrics: obs.NewMetrics(out, "OttuOperations", map[string]string{"Function": "webhook"}),
	}
}

// logLines splits out into the JSON log lines and the EMF lines.
func logLines(t *testing.T, out string) (logs, emf []map[string]any) {
	t.Helper()
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("a line that is not JSON: %s", line)
		}
		if _, ok := m["_aws"]; ok {
			emf = append(emf, m)
		} else {
			logs = append(logs, m)
		}
	}
	return logs, emf
}

func TestWebhookHTTP(t *testing.T) {
	jsonEvent := apigwtest.LoadEvent(t, "apigw-webhook.json")
	formEvent := apigwtest.LoadEvent(t, "apigw-webhook-form.json")
	with := func(ev events.APIGatewayV2HTTPRequest, change func(*events.APIGatewayV2HTTPRequest)) events.APIGatewayV2HTTPRequest {
		ev.Headers = map[string]string{"content-type": ev.Headers["content-type"]}
		change(&ev)
		return ev
	}
	tampered := with(jsonEvent, func(ev *events.APIGatewayV2HTTPRequest) {
		ev.Body = strings.Replace(ev.Body, `"state": "paid"`, `"state": "refunded"`, 1)
	})
	cases := []struct {
		name    string
		key     staticKey
		ev      events.APIGatewayV2HTTPRequest
		status  int
		code    string
		outcome string
	}{
		{name: "a signed JSON callback answers 200 accepted", ev: jsonEvent, status: 200, outcome: "accepted"},
		{name: "a signed form callback sent base64-encoded answers 200 accepted", ev: formEvent, status: 200, outcome: "accepted"},
		{name: "a signed form callback sent as text answers 200 accepted", ev: with(formEvent, func(ev *events.APIGatewayV2HTTPRequest) {
			b, _ := base64.StdEncoding.DecodeString(ev.Body)
			ev.Body, ev.IsBase64Encoded = string(b), false
		}), status: 200, outcome: "accepted"},
		{name: "a tampered callback answers 401 invalid_signature", ev: tampered, status: 401, code: "invalid_signature", outcome: "rejected_signature"},
		{name: "a body over 256 KiB answers 413", ev: with(jsonEvent, func(ev *events.APIGatewayV2HTTPRequest) {
			ev.Body = strings.Repeat(" ", webhook.MaxBodyBytes+1)
		}), status: 413, code: "body_too_large", outcome: "too_large"},
		{name: "a base64 body over 256 KiB answers 413 before it is decoded", ev: with(jsonEvent, func(ev *events.APIGatewayV2HTTPRequest) {
			ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString(make([]byte, webhook.MaxBodyBytes+1)), true
		}), status: 413, code: "body_too_large", outcome: "too_large"},
		{name: "a body marked base64 that is not answers 400 invalid_callback", ev: with(jsonEvent, func(ev *events.APIGatewayV2HTTPRequest) {
			ev.Body, ev.IsBase64Encoded = "not base64!", true
		}), status: 400, code: "invalid_callback", outcome: "malformed"},
		{name: "a body that is not a callback answers 400 invalid_callback", ev: with(jsonEvent, func(ev *events.APIGatewayV2HTTPRequest) {
			ev.Body = "hello"
		}), status: 400, code: "invalid_callback", outcome: "malformed"},
		{name: "a GET that reaches the function answers 405 naming POST", ev: with(jsonEvent, func(ev *events.APIGatewayV2HTTPRequest) {
			ev.RequestContext.HTTP.Method = "GET"
		}), status: 405, code: "method_not_allowed", outcome: "malformed"},
		{name: "a webhook secret that cannot be read answers 503, not 401", key: staticKey{err: errors.New("AccessDeniedException")},
			ev: jsonEvent, status: 503, code: "webhook_key_unavailable", outcome: "key_unavailable"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := &testkit.Buffer{}
			key := tc.key
			if key == (staticKey{}) {
				key = staticKey{key: webhookKey}
			}
			resp, err := newWebhook(key, out).HTTP(context.Background(), tc.ev)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, resp.Body)
			}
			if resp.Headers["X-Request-Id"] == "" {
				t.Errorf("no X-Request-Id")
			}
			var body map[string]any
			if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
				t.Fatalf("body %q", resp.Body)
			}
			if tc.code != "" && (body["code"] != tc.code || resp.Headers["Content-Type"] != "application/problem+json") {
				t.Errorf("answer %v %s, want code %s", resp.Headers, resp.Body, tc.code)
			}
			if tc.code == "" && body["status"] != tc.outcome {
				t.Errorf("answer %s, want status %s", resp.Body, tc.outcome)
			}
			logs, emf := logLines(t, out.String())
			if len(logs) != 1 || logs[0]["outcome"] != tc.outcome || logs[0]["request_id"] != resp.Headers["X-Request-Id"] || logs[0]["function"] != "webhook" {
				t.Errorf("log lines %v, want one with outcome %s and the request id", logs, tc.outcome)
			}
			if len(emf) != 1 || emf[0]["Callback_"+tc.outcome] != 1.0 || emf[0]["CallbackDuration"] == nil {
				t.Errorf("EMF lines %v, want one counting Callback_%s", emf, tc.outcome)
			}
			if strings.Contains(out.String()+resp.Body, webhookKey) {
				t.Errorf("the webhook key leaked")
			}
		})
	}
	t.Run("an ambiguous callback answers 400 ambiguous_signature and is logged as an attack", func(t *testing.T) {
		f := ottu.Fields{"amount": "1.000", "currency_code": "KWD", "customer_last_name": "Xorder_noVICTIM-42reference_numberZ",
			"order_no": "A-1", "reference_number": "R-1", "result": "success", "state": "paid", "session_id": "s-a"}
		f["signature"] = ottu.Sign(f, webhookKey)
		b, _ := json.Marshal(f)
		ev := with(jsonEvent, func(ev *events.APIGatewayV2HTTPRequest) { ev.Body = string(b) })
		out := &testkit.Buffer{}
		resp, _ := newWebhook(staticKey{key: webhookKey}, out).HTTP(context.Background(), ev)
		logs, _ := logLines(t, out.String())
		if resp.StatusCode != 400 || !strings.Contains(resp.Body, `"code":"ambiguous_signature"`) {
			t.Fatalf("%d %s", resp.StatusCode, resp.Body)
		}
		if len(logs) != 1 || logs[0]["level"] != "ERROR" || logs[0]["attack"] != true || logs[0]["outcome"] != "ambiguous_signature" {
			t.Errorf("log lines %v", logs)
		}
	})
	t.Run("the same callback delivered again answers 200 duplicate", func(t *testing.T) {
		h := newWebhook(staticKey{key: webhookKey}, &testkit.Buffer{})
		for i, want := range []string{`{"status":"accepted"}`, `{"status":"duplicate"}`} {
			resp, _ := h.HTTP(context.Background(), jsonEvent)
			if resp.StatusCode != 200 || resp.Body != want {
				t.Fatalf("delivery %d: %d %s", i+1, resp.StatusCode, resp.Body)
			}
		}
	})
}

// FuzzWebhookBody: whatever body, encoding and Content-Type arrive, the
// webhook answers 200, 400, 401 or 413 — never a 5xx, never a panic — and
// nothing unsigned is accepted.
func FuzzWebhookBody(f *testing.F) {
	for _, name := range []string{"apigw-webhook.json", "apigw-webhook-form.json"} {
		ev := apigwtest.LoadEvent(f, name)
		f.Add(ev.Body, ev.IsBase64Encoded, ev.Headers["content-type"])
	}
	f.Add(`{"session_id":"s","signature":"00"}`, false, "application/json")
	f.Add("session_id=s&signature=00&amount=1", false, "application/x-www-form-urlencoded")
	f.Add(`{"a":[{"b":{}}],"signature":{"x":1}}`, false, "")
	f.Add("%zz=%", false, "application/x-www-form-urlencoded; charset=utf-8")
	f.Add("AAAA", true, "text/plain")
	f.Fuzz(func(t *testing.T, body string, isBase64 bool, contentType string) {
		h := newWebhook(staticKey{key: webhookKey}, &testkit.Buffer{})
		ev := events.APIGatewayV2HTTPRequest{Body: body, IsBase64Encoded: isBase64, Headers: map[string]string{"content-type": contentType}}
		ev.RequestContext.HTTP.Method = "POST"
		resp, err := h.HTTP(context.Background(), ev)
		if err != nil {
			t.Fatal(err)
		}
		switch resp.StatusCode {
		case 200:
			if !bytes.Contains([]byte(body), []byte("signature")) && !isBase64 {
				t.Fatalf("accepted a body without a signature: %q", body)
			}
		case 400, 401, 413:
		default:
			t.Fatalf("status %d for %q: %s", resp.StatusCode, body, resp.Body)
		}
	})
}
