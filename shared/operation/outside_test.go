package operation

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/ottuops/ottu-lambda/shared/ottu"
	"github.com/ottuops/ottu-lambda/shared/platform/problem"
	"github.com/ottuops/ottu-lambda/shared/txn"
)

// TestRefundsMadeElsewhereCount: a refund notified by Ottu counts in its
// payment's total once per child, whoever made it; a refund of ours is
// not counted twice when its answer names its child, whichever of the
// answer and the notification comes first.
func TestRefundsMadeElsewhereCount(t *testing.T) {
	thresholds, err := ParseThresholds("KWD=50.000")
	if err != nil {
		t.Fatal(err)
	}
	notified := func(child, amount, currency string) ChildRefund {
		return ChildRefund{SessionID: "s", ChildReference: child, Amount: amount, Currency: currency}
	}
	type step struct {
		// Either a notification or a refund of ours through the direct route.
		notice   *ChildRefund
		req      Request
		child    string
		ottuErr  error
		wantCode problem.Code
	}
	tests := []struct {
		name      string
		steps     []step
		wantTotal string
	}{
		{name: "an outside refund counts, so a direct refund that fits the threshold alone but not with it is refused", steps: []step{
			{notice: new(notified("c-out", "10.000", "KWD"))},
			{req: refund("d-1", "s", "45.000", "KWD", RefundViaDirectRoute), wantCode: problem.CodeApprovalRequired},
			{req: refund("d-2", "s", "40.000", "KWD", RefundViaDirectRoute), child: "c-2"},
		}, wantTotal: "50"},
		{name: "a refund of ours and then its notification count once", steps: []step{
			{req: refund("d-1", "s", "30.000", "KWD", RefundViaDirectRoute), child: "c-1"},
			{notice: new(notified("c-1", "30.000", "KWD"))},
			{notice: new(notified("c-1", "30.000", "KWD"))},
		}, wantTotal: "30"},
		{name: "a notification that comes before our refund's answer counts once", steps: []step{
			{notice: new(notified("c-1", "30.000", "KWD"))},
			{req: refund("d-1", "s", "30.000", "KWD", RefundApproved), child: "c-1"},
		}, wantTotal: "30"},
		{name: "a refund whose outcome is unknown keeps its reservation, and its notification counts it again", steps: []step{
			{req: refund("d-1", "s", "20.000", "KWD", RefundViaDirectRoute), ottuErr: &ottu.Error{Kind: ottu.KindOutcomeUnknown, TimedOut: true}, wantCode: problem.CodeOutcomeUnknown},
			{notice: new(notified("c-1", "20.000", "KWD"))},
		}, wantTotal: "40"},
		{name: "a notification in another currency or none is counted all the same", steps: []step{
			{req: refund("d-1", "s", "5.000", "KWD", RefundViaDirectRoute), child: "c-1"},
			{notice: new(notified("c-usd", "7.00", "USD"))},
			{notice: new(notified("c-none", "1.000", ""))},
		}, wantTotal: "13"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			totals := &memTotals{}
			o := &refunder{}
			svc := &Service{Store: &claimAll{}, Ottu: o, Refunds: &RefundLimits{Totals: totals, Thresholds: thresholds}}
			for i, st := range tt.steps {
				if st.notice != nil {
					if _, err := CountChildRefund(ctx, totals, *st.notice); err != nil {
						t.Fatalf("step %d: counting %+v: %v", i+1, *st.notice, err)
					}
					continue
				}
				o.err, o.child = st.ottuErr, st.child
				if _, err := svc.Execute(ctx, st.req); problem.CodeOf(err) != st.wantCode {
					t.Fatalf("step %d (%s): error %v, want code %q", i+1, st.req.TrackingKey, err, st.wantCode)
				}
			}
			got, _ := totals.Total(ctx, TransactionOf("s"))
			if !got.Amount.Equal(decimal.RequireFromString(tt.wantTotal)) {
				t.Fatalf("session s's total is %s, want %s", got.Amount, tt.wantTotal)
			}
		})
	}
}

func TestCountChildRefundRefusesWhatNamesNothing(t *testing.T) {
	for _, c := range []struct {
		name string
		in   ChildRefund
	}{
		{name: "a notification without a session is not counted", in: ChildRefund{ChildReference: "c", Amount: "1"}},
		{name: "a notification without a child is not counted", in: ChildRefund{SessionID: "s", Amount: "1"}},
		{name: "a notification with a zero amount is not counted", in: ChildRefund{SessionID: "s", ChildReference: "c", Amount: "0"}},
		{name: "a notification with an amount that is no number is not counted", in: ChildRefund{SessionID: "s", ChildReference: "c", Amount: "1,5"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := CountChildRefund(context.Background(), &memTotals{}, c.in); !errors.Is(err, ErrNotCounted) {
				t.Fatalf("error %v, want ErrNotCounted", err)
			}
		})
	}
}

type notificationsOf map[string][]txn.Entry

func (n notificationsOf) History(_ context.Context, id string, _ int) ([]txn.Entry, error) {
	if e, ok := n[id]; ok {
		return e, nil
	}
	return nil, txn.ErrNotFound
}

func notification(body string) txn.Entry {
	return txn.Entry{Source: txn.SourceOperation, Body: json.RawMessage(body), Digest: txn.Digest([]byte(body))}
}

// TestCountLinked: when a session_id is bound to a reference_number, the
// refund notifications filed under it before count in its total.
func TestCountLinked(t *testing.T) {
	ref := "R-1"
	tests := []struct {
		name      string
		entries   []txn.Entry
		wantTotal string
	}{
		{name: "refunds notified before the binding count, each child once", entries: []txn.Entry{
			notification(`{"operation":"refund","amount":"1.000","reference_number":"R-1","result":"success","source":"pg","txn":{"reference_number":"c-1"}}`),
			notification(`{"operation":"refund","amount":"1.000","reference_number":"R-1","result":"success","source":"pg","txn":{"reference_number":"c-1"},"timestamp_utc":"again"}`),
			notification(`{"operation":"refund","amount":"1.500","reference_number":"R-1","result":"success","source":"input","txn":{"reference_number":"c-2"}}`),
		}, wantTotal: "2.5"},
		{name: "a capture or a void is not a refund", entries: []txn.Entry{
			notification(`{"operation":"capture","amount":"9.000","reference_number":"R-1","result":"success","txn":{"reference_number":"c-1"}}`),
			notification(`{"operation":"void","amount":"9.000","reference_number":"R-1","result":"success","txn":{"reference_number":"c-2"}}`),
		}, wantTotal: "0"},
		{name: "a notification whose operation is null counts, under its delivery when it names no child", entries: []txn.Entry{
			notification(`{"operation":null,"amount":"2.000","reference_number":"R-1","result":"success"}`),
		}, wantTotal: "2"},
		{name: "a notification signed for another payment is not counted", entries: []txn.Entry{
			notification(`{"operation":"refund","amount":"3.000","reference_number":"R-2","result":"success","txn":{"reference_number":"c-1"}}`),
		}, wantTotal: "0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			totals := &memTotals{}
			CountLinked(ctx, totals, notificationsOf{txn.RefKey(ref): tt.entries}, "s", ref, time.Second)
			got, _ := totals.Total(ctx, TransactionOf("s"))
			if !got.Amount.Equal(decimal.RequireFromString(tt.wantTotal)) {
				t.Fatalf("total %s, want %s", got.Amount, tt.wantTotal)
			}
		})
	}
}
