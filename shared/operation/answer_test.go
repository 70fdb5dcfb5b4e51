package operation

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/ottuops/ottu-lambda/shared/ottu"
	"github.com/ottuops/ottu-lambda/shared/payment"
	"github.com/ottuops/ottu-lambda/shared/platform/problem"
)

// claimOnce is a store where every claim succeeds; it keeps the outcome.
type claimOnce struct{ outcome *Outcome }

func (s *claimOnce) Claim(context.Context, Claim) (*Record, error) { return nil, nil }
func (s *claimOnce) Complete(_ context.Context, o Outcome) error   { s.outcome = &o; return nil }
func (s *claimOnce) Get(context.Context, string) (*Record, error)  { return nil, ErrRecordNotFound }
func (s *claimOnce) Settle(context.Context, Settlement) error      { return nil }

// answers answers every operation with resp.
type answers struct{ resp *ottu.OperationResponse }

func (a answers) Operation(context.Context, ottu.OperationRequest) (*ottu.OperationResponse, error) {
	return a.resp, nil
}

// TestAnswerThatDisagrees: a v2 200 whose operation, amount or transaction
// differs from the request is an unknown outcome holding the key (Ottu may
// have done it, e.g. with the amount normalized), unless its timestamp_utc
// predates our claim: only then is it another operation's status,
// tracking_key_reused.
func TestAnswerThatDisagrees(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	at := func(t time.Time) string { return t.Format("2006-01-02 15:04:05") }
	tests := []struct {
		name     string
		resp     ottu.OperationResponse
		wantCode problem.Code
		status   Status
	}{
		{"the same amount written with fewer decimals is a success",
			ottu.OperationResponse{Operation: "refund", Amount: "2.50", TimestampUTC: at(now)}, "", StatusSucceeded},
		{"another amount answered now is an unknown outcome and the key stays held",
			ottu.OperationResponse{Operation: "refund", Amount: "2.000", TimestampUTC: at(now)}, problem.CodeOutcomeUnknown, StatusUnknown},
		{"another operation answered without a timestamp is an unknown outcome",
			ottu.OperationResponse{Operation: "void", Amount: "2.500"}, problem.CodeOutcomeUnknown, StatusUnknown},
		{"another transaction's order_no answered now is an unknown outcome",
			ottu.OperationResponse{Operation: "refund", Amount: "2.500", TimestampUTC: at(now), Txn: &ottu.ChildTxn{OrderNo: "ORDER-OTHER"}}, problem.CodeOutcomeUnknown, StatusUnknown},
		{"an answer a minute behind our clock is not yet taken for an old one",
			ottu.OperationResponse{Operation: "refund", Amount: "2.000", TimestampUTC: at(now.Add(-30 * time.Second))}, problem.CodeOutcomeUnknown, StatusUnknown},
		{"another amount done before our claim is tracking_key_reused and frees nothing new",
			ottu.OperationResponse{Operation: "refund", Amount: "2.000", TimestampUTC: at(now.Add(-time.Hour))}, problem.CodeTrackingKeyReused, StatusFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := &claimOnce{}
			resp := tt.resp
			resp.StatusCode, resp.Result = 200, "success"
			resp.Raw, _ = json.Marshal(resp)
			svc := &Service{Store: store, Ottu: answers{&resp}, Now: func() time.Time { return now }}
			amt := decimal.RequireFromString("2.500")
			_, err := svc.Execute(context.Background(), Request{Operation: payment.Refund, OrderNo: "ORDER-1", Amount: &amt, TrackingKey: "key-1"})
			if problem.CodeOf(err) != tt.wantCode {
				t.Fatalf("Execute = %v; want code %q", err, tt.wantCode)
			}
			if store.outcome == nil || store.outcome.Status != tt.status {
				t.Fatalf("recorded %+v; want status %s", store.outcome, tt.status)
			}
			if tt.status == StatusUnknown {
				if store.outcome.LeaseUntil.IsZero() {
					t.Error("the key was not held")
				}
				var pe *problem.Error
				if !errors.As(err, &pe) || !strings.Contains(pe.Detail, "money may already have moved") {
					t.Errorf("error %v does not say money may have moved", err)
				}
			}
		})
	}
}
