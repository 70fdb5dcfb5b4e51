package ottu_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/ottuops/ottu-lambda/dev/sandbox"
	"github.com/ottuops/ottu-lambda/shared/ottu"
	"github.com/ottuops/ottu-lambda/shared/payment"
)

// Credentials the in-process sandbox accepts.
const (
	sandboxAPIKey   = "k"
	sandboxUser     = "refunder"
	sandboxPassword = "p"
)

// ottuSandbox is the real sandbox package served over HTTP in-process,
// driven through its admin API the way the contract documents it.
type ottuSandbox struct {
	URL string
}

func startSandbox(tb testing.TB) *ottuSandbox {
	tb.Helper()
	srv := sandbox.New(sandbox.Config{
		APIKey:     sandboxAPIKey,
		WebhookKey: "w",
		Users: map[string]sandbox.User{
			sandboxUser: {Password: sandboxPassword, Permissions: []string{"payment.refund"}},
		},
		Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)),
	})
	ts := httptest.NewServer(srv.Handler())
	tb.Cleanup(func() {
		srv.Close() // ends sleeping latency faults first
		ts.Close()
	})
	return &ottuSandbox{URL: ts.URL}
}

// admin sends one admin API request and decodes the answer into out.
func (s *ottuSandbox) admin(tb testing.TB, method, path string, body any, wantStatus int, out any) {
	tb.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			tb.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("sandbox admin %s %s: %v", method, path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != wantStatus {
		tb.Fatalf("sandbox admin %s %s: HTTP %d, want %d: %s", method, path, resp.StatusCode, wantStatus, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			tb.Fatalf("sandbox admin %s %s: %v: %s", method, path, err, raw)
		}
	}
}

// create makes a transaction and returns its session_id.
func (s *ottuSandbox) create(tb testing.TB, spec map[string]string) string {
	tb.Helper()
	var txn struct {
		SessionID string `json:"session_id"`
	}
	s.admin(tb, http.MethodPost, "/sandbox/transactions", spec, http.StatusCreated, &txn)
	if txn.SessionID == "" {
		tb.Fatalf("the sandbox made no session_id")
	}
	return txn.SessionID
}

func (s *ottuSandbox) paid(tb testing.TB, amount string) string {
	return s.create(tb, map[string]string{"amount": amount, "currency_code": "KWD", "state": "paid", "pg_code": "mpgs"})
}

func (s *ottuSandbox) fault(tb testing.TB, f map[string]any) {
	tb.Helper()
	s.admin(tb, http.MethodPost, "/sandbox/faults", f, http.StatusCreated, nil)
}

type sandboxChild struct {
	Operation   string `json:"operation"`
	Amount      string `json:"amount"`
	State       string `json:"state"`
	TrackingKey string `json:"tracking_key"`
}

func (s *ottuSandbox) children(tb testing.TB, sessionID string) []sandboxChild {
	tb.Helper()
	var txn struct {
		Children []sandboxChild `json:"children"`
	}
	s.admin(tb, http.MethodGet, "/sandbox/transactions/"+sessionID, nil, http.StatusOK, &txn)
	return txn.Children
}

func (s *ottuSandbox) client(tb testing.TB, cfg ottu.Config) *ottu.Client {
	tb.Helper()
	cfg.BaseURL = s.URL
	if cfg.Credentials == nil {
		cfg.Credentials = ottu.StaticCredentials{APIKey: sandboxAPIKey}
	}
	return newClient(tb, cfg)
}

func TestSandboxOperations(t *testing.T) {
	refunder := ottu.StaticCredentials{Username: sandboxUser, Password: sandboxPassword}
	tests := []struct {
		name      string
		cfg       ottu.Config
		txn       map[string]string // default: 10.000 KWD paid on mpgs
		fault     map[string]any
		req       func(sessionID string) ottu.OperationRequest
		timeout   time.Duration // default 10s
		wantKind  ottu.Kind
		wantSent  bool
		wantState string // the one child's state on success
		wantKids  int
	}{
		{name: "a partial refund succeeds and leaves one refunded child",
			req: func(sid string) ottu.OperationRequest {
				return ottu.OperationRequest{Operation: payment.Refund, SessionID: sid, Amount: dec("2.500"), TrackingKey: "partial-1"}
			},
			wantState: "refunded", wantKids: 1},
		{name: "a refund by a Basic user holding payment.refund succeeds", cfg: ottu.Config{Credentials: refunder},
			req: func(sid string) ottu.OperationRequest {
				return ottu.OperationRequest{Operation: payment.Refund, SessionID: sid, Amount: dec("1"), TrackingKey: "basic-1"}
			},
			wantState: "refunded", wantKids: 1},
		{name: "a refund past the balance is rejected with Ottu's reason",
			req: func(sid string) ottu.OperationRequest {
				return ottu.OperationRequest{Operation: payment.Refund, SessionID: sid, Amount: dec("10.001"), TrackingKey: "over-1"}
			},
			wantKind: ottu.KindRejected, wantSent: true},
		{name: "a refund of an unknown session is not found",
			req: func(string) ottu.OperationRequest {
				return ottu.OperationRequest{Operation: payment.Refund, SessionID: "no-such-session", TrackingKey: "nf-1"}
			},
			wantKind: ottu.KindNotFound, wantSent: true},
		{name: "a Basic user without payment.void is refused the void", cfg: ottu.Config{Credentials: refunder},
			txn: map[string]string{"amount": "5.000", "currency_code": "KWD", "state": "authorized", "pg_code": "mpgs"},
			req: func(sid string) ottu.OperationRequest {
				return ottu.OperationRequest{Operation: payment.Void, SessionID: sid, TrackingKey: "void-1"}
			},
			wantKind: ottu.KindAuth, wantSent: true},
		{name: "a wrong API key is refused", cfg: ottu.Config{Credentials: ottu.StaticCredentials{APIKey: "not-the-key"}},
			req: func(sid string) ottu.OperationRequest {
				return ottu.OperationRequest{Operation: payment.Refund, SessionID: sid, TrackingKey: "key-1"}
			},
			wantKind: ottu.KindAuth, wantSent: true},
		{name: "an Ottu 5xx is unavailable and changes nothing", fault: map[string]any{"kind": "error_5xx", "count": 1},
			req: func(sid string) ottu.OperationRequest {
				return ottu.OperationRequest{Operation: payment.Refund, SessionID: sid, Amount: dec("1"), TrackingKey: "5xx-1"}
			},
			wantKind: ottu.KindUnavailable, wantSent: true},
		{name: "latency beyond the caller's deadline leaves the outcome unknown",
			cfg:   ottu.Config{DeadlineMargin: 200 * time.Millisecond},
			fault: map[string]any{"kind": "latency", "count": 1, "latency_ms": 5000}, timeout: 500 * time.Millisecond,
			req: func(sid string) ottu.OperationRequest {
				return ottu.OperationRequest{Operation: payment.Refund, SessionID: sid, Amount: dec("1"), TrackingKey: "slow-1"}
			},
			wantKind: ottu.KindOutcomeUnknown, wantSent: true},
		{name: "a queued refund is accepted with result queued", fault: map[string]any{"kind": "queue_refund", "count": 1},
			req: func(sid string) ottu.OperationRequest {
				return ottu.OperationRequest{Operation: payment.Refund, SessionID: sid, Amount: dec("3"), TrackingKey: "queued-1"}
			},
			wantState: "refund_queued", wantKids: 1},
		{name: "a cancel of a pending transaction succeeds without a child",
			txn: map[string]string{"amount": "5.000", "currency_code": "KWD", "state": "pending", "pg_code": "mpgs"},
			req: func(sid string) ottu.OperationRequest {
				return ottu.OperationRequest{Operation: payment.Cancel, SessionID: sid, TrackingKey: "cancel-1"}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sb := startSandbox(t)
			spec := tt.txn
			if spec == nil {
				spec = map[string]string{"amount": "10.000", "currency_code": "KWD", "state": "paid", "pg_code": "mpgs"}
			}
			sid := sb.create(t, spec)
			if tt.fault != nil {
				sb.fault(t, tt.fault)
			}
			timeout := tt.timeout
			if timeout == 0 {
				timeout = 10 * time.Second
			}
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			req := tt.req(sid)
			resp, err := sb.client(t, tt.cfg).Operation(ctx, req)
			if tt.wantKind != 0 {
				e := asError(t, err)
				if e.Kind != tt.wantKind || e.Sent != tt.wantSent {
					t.Fatalf("got kind %v sent %v, want %v %v: %v", e.Kind, e.Sent, tt.wantKind, tt.wantSent, err)
				}
				if e.Detail == "" {
					t.Errorf("no detail a person can act on: %v", err)
				}
				if ctx.Err() != nil {
					t.Errorf("the call returned after the caller's deadline")
				}
				if tt.wantKind != ottu.KindOutcomeUnknown && tt.wantKind != ottu.KindNotFound {
					if kids := sb.children(t, sid); len(kids) != 0 {
						t.Errorf("a failed call left children: %+v", kids)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			kids := sb.children(t, sid)
			if len(kids) != tt.wantKids {
				t.Fatalf("%d children, want %d: %+v", len(kids), tt.wantKids, kids)
			}
			if tt.wantKids == 0 {
				if resp.Result != ottu.ResultSuccess {
					t.Errorf("result %q", resp.Result)
				}
				return
			}
			want := sandboxChild{Operation: string(req.Operation), Amount: resp.Amount, State: tt.wantState, TrackingKey: req.TrackingKey}
			if kids[0] != want {
				t.Errorf("child %+v, want %+v", kids[0], want)
			}
			if resp.Txn == nil || resp.Txn.State != tt.wantState {
				t.Errorf("response txn %+v, want state %s", resp.Txn, tt.wantState)
			}
			if got, err := decimal.NewFromString(resp.Amount); err != nil || !req.Amount.Equal(got) {
				t.Errorf("response amount %s, want %s", resp.Amount, req.Amount)
			}
		})
	}
}

func TestSandboxRejectionCarriesDetail(t *testing.T) {
	sb := startSandbox(t)
	sid := sb.paid(t, "10.000")
	_, err := sb.client(t, ottu.Config{}).Operation(context.Background(),
		ottu.OperationRequest{Operation: payment.Refund, SessionID: sid, Amount: dec("10.001"), TrackingKey: "over-2"})
	e := asError(t, err)
	if e.Kind != ottu.KindRejected || e.StatusCode != http.StatusBadRequest || e.Body == nil {
		t.Fatalf("got %+v", e)
	}
	if want := "Refund amount 10.001 exceeds the refundable balance 10.000"; e.Detail != want {
		t.Errorf("Detail %q, want %q", e.Detail, want)
	}
}

func TestSandboxRetryAfterDroppedAnswer(t *testing.T) {
	sb := startSandbox(t)
	sid := sb.paid(t, "10.000")
	sb.fault(t, map[string]any{"kind": "drop_after_commit", "count": 1})
	c := sb.client(t, ottu.Config{})
	req := ottu.OperationRequest{Operation: payment.Refund, SessionID: sid, Amount: dec("4.000"), TrackingKey: "dropped-1"}

	_, err := c.Operation(context.Background(), req)
	if e := asError(t, err); e.Kind != ottu.KindOutcomeUnknown || !e.Sent {
		t.Fatalf("first try: got %+v", e)
	}
	resp, err := c.Operation(context.Background(), req)
	if err != nil {
		t.Fatalf("retry with the same Tracking-Key: %v", err)
	}
	if resp.Result != ottu.ResultSuccess || resp.Amount != "4.000" {
		t.Errorf("retry answered %s for %s", resp.Result, resp.Amount)
	}
	kids := sb.children(t, sid)
	if len(kids) != 1 || kids[0].TrackingKey != "dropped-1" || kids[0].Amount != "4.000" {
		t.Fatalf("want exactly one 4.000 refund, got %+v", kids)
	}
}

func TestSandboxV1RefundByOrderNo(t *testing.T) {
	sb := startSandbox(t)
	sid := sb.create(t, map[string]string{"order_no": "ORD-v1-1", "amount": "10.000", "currency_code": "KWD", "state": "paid", "pg_code": "mpgs"})
	c := sb.client(t, ottu.Config{APIVersion: 1, Credentials: ottu.StaticCredentials{Username: sandboxUser, Password: sandboxPassword}})
	resp, err := c.Operation(context.Background(), ottu.OperationRequest{Operation: payment.Refund, OrderNo: "ORD-v1-1", Amount: dec("1.250"), TrackingKey: "v1-1"})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Result != ottu.ResultSuccess || resp.Amount != "1.250" {
		t.Errorf("got %s %s", resp.Result, resp.Amount)
	}
	if kids := sb.children(t, sid); len(kids) != 1 || kids[0].Amount != "1.250" || kids[0].State != "refunded" {
		t.Errorf("children %+v", kids)
	}

	t.Run("an unknown order number is not found", func(t *testing.T) {
		_, err := c.Operation(context.Background(), ottu.OperationRequest{Operation: payment.Refund, OrderNo: "ORD-missing", TrackingKey: "v1-2"})
		if !errors.Is(err, ottu.ErrNotFound) {
			t.Fatalf("got %v", err)
		}
	})
}
