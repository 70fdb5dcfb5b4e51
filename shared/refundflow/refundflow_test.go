package refundflow

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/ottuops/ottu-lambda/shared/operation"
	"github.com/ottuops/ottu-lambda/shared/platform/problem"
)

var settings = map[string]string{
	"approval_thresholds": "KWD=50.000,USD=150.00", "approval_timeout_seconds": "900", "queued_poll_seconds": "2",
	"queued_poll_rounds": "10", "queued_notification_seconds": "10", "retry_wait_seconds": "2", "max_wait_rounds": "10",
}

func TestPrepare(t *testing.T) {
	tests := []struct {
		name        string
		workflowID  string
		input       string
		settings    map[string]string
		wantKey     string
		wantRefund  map[string]string
		wantApprove bool
		wantCode    problem.Code
		wantField   string
	}{
		{name: "a refund under the threshold needs no approval, is keyed by its refund_id and is checked again when reserved", workflowID: "R-1",
			input: `{"session_id":"s-1","amount":"2.500","currency_code":"KWD","refund_id":"R-1"}`, wantKey: "refund-workflow-R-1",
			wantRefund: map[string]string{"session_id": "s-1", "amount": "2.500", "currency_code": "KWD", "tracking_key": "refund-workflow-R-1", "approval": "not_required"}},
		{name: "a refund exactly at the threshold needs no approval", workflowID: "R-2",
			input: `{"session_id":"s-1","amount":"50","currency_code":"KWD","refund_id":"R-2"}`, wantKey: "refund-workflow-R-2",
			wantRefund: map[string]string{"session_id": "s-1", "amount": "50", "currency_code": "KWD", "tracking_key": "refund-workflow-R-2", "approval": "not_required"}},
		{name: "a refund a thousandth above the threshold needs an approval, compared in decimal, and is refunded as approved", workflowID: "R-3",
			input: `{"session_id":"s-1","amount":"50.001","currency_code":"KWD","refund_id":"R-3"}`, wantKey: "refund-workflow-R-3", wantApprove: true,
			wantRefund: map[string]string{"session_id": "s-1", "amount": "50.001", "currency_code": "KWD", "tracking_key": "refund-workflow-R-3", "approval": "approved"}},
		{name: "a refund that takes the payment's refunded total above the threshold needs an approval", workflowID: "R-11",
			input: `{"session_id":"s-45","amount":"5.001","currency_code":"KWD","refund_id":"R-11"}`, wantKey: "refund-workflow-R-11", wantApprove: true,
			wantRefund: map[string]string{"session_id": "s-45", "amount": "5.001", "currency_code": "KWD", "tracking_key": "refund-workflow-R-11", "approval": "approved"}},
		{name: "a refund that keeps the payment's refunded total at the threshold needs none", workflowID: "R-12",
			input: `{"session_id":"s-45","amount":"5","currency_code":"KWD","refund_id":"R-12"}`, wantKey: "refund-workflow-R-12",
			wantRefund: map[string]string{"session_id": "s-45", "amount": "5", "currency_code": "KWD", "tracking_key": "refund-workflow-R-12", "approval": "not_required"}},
		{name: "the same amount compares per currency: 100 USD needs no approval", workflowID: "R-13",
			input: `{"session_id":"s-1","amount":"100","currency_code":"USD","refund_id":"R-13"}`, wantKey: "refund-workflow-R-13",
			wantRefund: map[string]string{"session_id": "s-1", "amount": "100", "currency_code": "USD", "tracking_key": "refund-workflow-R-13", "approval": "not_required"}},
		{name: "a currency with no threshold always needs an approval", workflowID: "R-14",
			input: `{"session_id":"s-1","amount":"1","currency_code":"JPY","refund_id":"R-14"}`, wantKey: "refund-workflow-R-14", wantApprove: true,
			wantRefund: map[string]string{"session_id": "s-1", "amount": "1", "currency_code": "JPY", "tracking_key": "refund-workflow-R-14", "approval": "approved"}},
		{name: "a refund without currency_code needs an approval", workflowID: "R-15",
			input: `{"session_id":"s-1","amount":"1","refund_id":"R-15"}`, wantKey: "refund-workflow-R-15", wantApprove: true,
			wantRefund: map[string]string{"session_id": "s-1", "amount": "1", "tracking_key": "refund-workflow-R-15", "approval": "approved"}},
		{name: "a refund named by order_no only needs an approval, since totals are kept per session_id", workflowID: "R-16",
			input: `{"order_no":"o-1","amount":"1","currency_code":"KWD","refund_id":"R-16"}`, wantKey: "refund-workflow-R-16", wantApprove: true,
			wantRefund: map[string]string{"order_no": "o-1", "amount": "1", "currency_code": "KWD", "tracking_key": "refund-workflow-R-16", "approval": "approved"}},
		{name: "a refund whose payment's total cannot be read needs an approval", workflowID: "R-17",
			input: `{"session_id":"s-unreadable","amount":"1","currency_code":"KWD","refund_id":"R-17"}`, wantKey: "refund-workflow-R-17", wantApprove: true,
			wantRefund: map[string]string{"session_id": "s-unreadable", "amount": "1", "currency_code": "KWD", "tracking_key": "refund-workflow-R-17", "approval": "approved"}},
		{name: "a refund without an amount needs an approval, since Ottu refunds everything left", workflowID: "R-4",
			input: `{"order_no":"o-1","refund_id":"R-4"}`, wantKey: "refund-workflow-R-4", wantApprove: true,
			wantRefund: map[string]string{"order_no": "o-1", "tracking_key": "refund-workflow-R-4", "approval": "approved"}},
		{name: "without a refund_id the key comes from the execution", workflowID: "8b1c-exec",
			input: `{"session_id":"s-1","amount":1.5}`, wantKey: "refund-workflow-8b1c-exec",
			wantRefund: map[string]string{"session_id": "s-1", "amount": "1.5", "tracking_key": "refund-workflow-8b1c-exec", "approval": "approved"}, wantApprove: true},
		{name: "an input naming no payment is an invalid request", workflowID: "R-5", input: `{"amount":"1.000"}`,
			wantCode: problem.CodeInvalidRequest, wantField: "session_id"},
		{name: "an amount with four decimals is an invalid amount", workflowID: "R-6", input: `{"session_id":"s-1","amount":"1.0001"}`,
			wantCode: problem.CodeInvalidAmount},
		{name: "an amount of null is an invalid amount, never a full refund by accident", workflowID: "R-7", input: `{"session_id":"s-1","amount":null}`,
			wantCode: problem.CodeInvalidAmount},
		{name: "an unknown member is refused", workflowID: "R-8", input: `{"session_id":"s-1","currency":"KWD"}`,
			wantCode: problem.CodeUnknownField},
		{name: "a refund_id that cannot name an execution is refused", workflowID: "R-9", input: `{"session_id":"s-1","refund_id":"a b"}`,
			wantCode: problem.CodeInvalidRequest, wantField: "refund_id"},
		{name: "a setting that is not a number is refused, naming it", workflowID: "R-10", input: `{"session_id":"s-1"}`,
			settings: map[string]string{"approval_thresholds": "KWD=50", "approval_timeout_seconds": "soon", "queued_poll_seconds": "2",
				"queued_poll_rounds": "1", "queued_notification_seconds": "1", "retry_wait_seconds": "2", "max_wait_rounds": "1"},
			wantCode: problem.CodeInvalidRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.settings
			if s == nil {
				s = settings
			}
			p, err := Prepare(context.Background(), PrepareEvent{WorkflowID: tc.workflowID, Input: json.RawMessage(tc.input), Settings: s}, refunded)
			if tc.wantCode != "" {
				var pe *problem.Error
				if problem.CodeOf(err) != tc.wantCode {
					t.Fatalf("err = %v, want %s", err, tc.wantCode)
				}
				if tc.wantField != "" && (!asProblem(err, &pe) || len(pe.Fields) == 0 || pe.Fields[0].Field != tc.wantField) {
					t.Fatalf("err = %+v, want it to point at %s", err, tc.wantField)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.TrackingKey != tc.wantKey || p.StatusRequest.TrackingKey != tc.wantKey || !p.StatusRequest.Refresh {
				t.Errorf("keys %s / %+v, want %s", p.TrackingKey, p.StatusRequest, tc.wantKey)
			}
			if len(p.Refund) != len(tc.wantRefund) {
				t.Errorf("refund event %v, want %v", p.Refund, tc.wantRefund)
			}
			for k, v := range tc.wantRefund {
				if p.Refund[k] != v {
					t.Errorf("refund event %v, want %v", p.Refund, tc.wantRefund)
				}
			}
			if p.Approval.Required != tc.wantApprove || p.Approval.Why == "" || string(p.Approval.Decision) != "null" {
				t.Errorf("approval %+v, want required=%v with a reason", p.Approval, tc.wantApprove)
			}
			// Every path the definition reads is present in the JSON.
			b, _ := json.Marshal(p)
			for _, member := range []string{`"refund_id":`, `"request":{"session_id":`, `"decision":null`, `"rounds":{"waits":0,"polls":0}`, `"max_wait_rounds":10`} {
				if !strings.Contains(string(b), member) {
					t.Errorf("prepared workflow %s lacks %s", b, member)
				}
			}
		})
	}
}

// refunded is the payments' refunded totals: 45.000 KWD on s-45, and
// s-unreadable's cannot be read.
func refunded(_ context.Context, txn string) (operation.RefundTotal, error) {
	switch txn {
	case operation.TransactionOf("s-45"):
		return operation.RefundTotal{Currency: "KWD", Amount: decimal.RequireFromString("45.000")}, nil
	case operation.TransactionOf("s-unreadable"):
		return operation.RefundTotal{}, errors.New("throttled")
	}
	return operation.RefundTotal{Amount: decimal.Zero}, nil
}

func asProblem(err error, target **problem.Error) bool {
	return errors.As(err, target)
}

func TestSameRefund(t *testing.T) {
	parse := func(s string) Request {
		r, err := ParseRequest([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	base := parse(`{"session_id":"s","amount":"2.500","refund_id":"R"}`)
	tests := []struct {
		name, other string
		same        bool
	}{
		{"the same amount written otherwise is the same refund", `{"session_id":"s","amount":2.5,"refund_id":"R","reason":"other words"}`, true},
		{"another amount is another refund", `{"session_id":"s","amount":"2.501","refund_id":"R"}`, false},
		{"no amount is another refund", `{"session_id":"s","refund_id":"R"}`, false},
		{"another payment is another refund", `{"order_no":"s","amount":"2.500","refund_id":"R"}`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := base.Same(parse(tc.other)); got != tc.same {
				t.Errorf("Same = %v, want %v", got, tc.same)
			}
		})
	}
}

func TestExecutionARN(t *testing.T) {
	got := ExecutionARN("arn:aws:states:me-south-1:123456789012:stateMachine:ottu-refund-workflow", "R-1")
	if want := "arn:aws:states:me-south-1:123456789012:execution:ottu-refund-workflow:R-1"; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}
