package operation

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/ottuops/ottu-lambda/shared/ottu"
	"github.com/ottuops/ottu-lambda/shared/payment"
	"github.com/ottuops/ottu-lambda/shared/platform/problem"
)

// memTotals is RefundTotals in memory, with the adapter's rules.
type memTotals struct {
	mu  sync.Mutex
	txn map[string]*memTotal
}

type memTotal struct {
	currency string
	total    decimal.Decimal
	reserved map[string]decimal.Decimal
	notified map[string]bool
}

func (m *memTotals) get(txn string) *memTotal {
	if m.txn == nil {
		m.txn = map[string]*memTotal{}
	}
	if m.txn[txn] == nil {
		m.txn[txn] = &memTotal{reserved: map[string]decimal.Decimal{}, notified: map[string]bool{}}
	}
	return m.txn[txn]
}

func (m *memTotals) Reserve(_ context.Context, r Reservation) (RefundTotal, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t := m.get(r.Transaction)
	cur := RefundTotal{Currency: t.currency, Amount: t.total}
	switch _, ok := t.reserved[r.TrackingKey]; {
	case ok:
		return cur, nil
	case r.Currency != "" && t.currency != "" && t.currency != r.Currency:
		return cur, ErrCurrencyMismatch
	case r.Limit != nil && t.total.Add(r.Amount).GreaterThan(*r.Limit):
		return cur, ErrOverLimit
	}
	t.reserved[r.TrackingKey] = r.Amount
	t.notified[r.TrackingKey] = r.Notified
	t.total = t.total.Add(r.Amount)
	if t.currency == "" {
		t.currency = r.Currency
	}
	return RefundTotal{Currency: t.currency, Amount: t.total}, nil
}

func (m *memTotals) Release(_ context.Context, txn, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	t := m.get(txn)
	if a, ok := t.reserved[key]; ok {
		t.total = t.total.Sub(a)
		delete(t.reserved, key)
	}
	return nil
}

func (m *memTotals) Total(_ context.Context, txn string) (RefundTotal, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t := m.get(txn)
	return RefundTotal{Currency: t.currency, Amount: t.total}, nil
}

func (m *memTotals) Move(_ context.Context, txn, from, to string, _ decimal.Decimal) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	t := m.get(txn)
	a, ok := t.reserved[from]
	if !ok || from == to {
		return nil
	}
	if had, dup := t.reserved[to]; dup {
		// As the DynamoDB store: only the child's notification, of the
		// same amount, lets ours go.
		if t.notified[to] && had.Equal(a) {
			delete(t.reserved, from)
			t.total = t.total.Sub(a)
		}
		return nil
	}
	delete(t.reserved, from)
	t.reserved[to] = a
	return nil
}

// claimAll is a Tracking-Key store in which every claim wins; it keeps the
// last outcome of each key.
type claimAll struct {
	mu       sync.Mutex
	outcomes map[string]Outcome
}

func (s *claimAll) Claim(context.Context, Claim) (*Record, error) { return nil, nil }
func (s *claimAll) Complete(_ context.Context, o Outcome) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.outcomes == nil {
		s.outcomes = map[string]Outcome{}
	}
	s.outcomes[o.TrackingKey] = o
	return nil
}
func (s *claimAll) Get(context.Context, string) (*Record, error) { return nil, ErrRecordNotFound }
func (s *claimAll) Settle(context.Context, Settlement) error     { return nil }

// refunder is Ottu: it refunds what it is asked, or fails with err.
type refunder struct {
	err   error
	calls int
	// child, when set, is the child reference_number Ottu's answer names.
	child string
}

func (o *refunder) Operation(_ context.Context, req ottu.OperationRequest) (*ottu.OperationResponse, error) {
	o.calls++
	if o.err != nil {
		return nil, o.err
	}
	a := req.Amount.StringFixed(3)
	return &ottu.OperationResponse{StatusCode: 200, Operation: "refund", Result: "success", Amount: a,
		Raw: json.RawMessage(fmt.Sprintf(`{"operation":"refund","result":"success","amount":%q,"reference_number":%q}`, a, o.child))}, nil
}

func refund(key, session, amount, currency string, approval RefundApproval) Request {
	r := Request{Operation: payment.Refund, SessionID: session, TrackingKey: key, CurrencyCode: currency, Approval: approval}
	if amount != "" {
		d := decimal.RequireFromString(amount)
		r.Amount = &d
	}
	return r
}

func TestRefundThreshold(t *testing.T) {
	thresholds, err := ParseThresholds("KWD=50.000,USD=150.00")
	if err != nil {
		t.Fatal(err)
	}
	type step struct {
		req      Request
		ottuErr  error
		wantCode problem.Code
	}
	tests := []struct {
		name      string
		unchecked bool
		steps     []step
		wantCalls int
		wantTotal string
	}{
		{name: "split direct refunds are refused once their total would pass the threshold", steps: []step{
			{req: refund("d-1", "s", "30.000", "KWD", RefundViaDirectRoute)},
			{req: refund("d-2", "s", "20.000", "KWD", RefundViaDirectRoute)},
			{req: refund("d-3", "s", "0.001", "KWD", RefundViaDirectRoute), wantCode: problem.CodeApprovalRequired},
		}, wantCalls: 2, wantTotal: "50"},
		{name: "a direct refund above the threshold on its own is refused before Ottu is called", steps: []step{
			{req: refund("d-1", "s", "50.001", "KWD", RefundViaDirectRoute), wantCode: problem.CodeApprovalRequired},
		}, wantCalls: 0, wantTotal: "0"},
		{name: "a direct refund with no currency, a currency with no threshold, no amount or no session_id needs an approval", steps: []step{
			{req: refund("d-1", "s", "1.000", "", RefundViaDirectRoute), wantCode: problem.CodeApprovalRequired},
			{req: refund("d-2", "s", "1", "JPY", RefundViaDirectRoute), wantCode: problem.CodeApprovalRequired},
			{req: refund("d-3", "s", "", "KWD", RefundViaDirectRoute), wantCode: problem.CodeApprovalRequired},
			{req: Request{Operation: payment.Refund, OrderNo: "o-1", TrackingKey: "d-4", CurrencyCode: "KWD", Amount: ptr(decimal.RequireFromString("1"))}, wantCode: problem.CodeApprovalRequired},
		}, wantCalls: 0, wantTotal: "0"},
		{name: "the same amount compares per currency: 100 is under USD's threshold and above KWD's", steps: []step{
			{req: refund("d-1", "s-usd", "100.00", "USD", RefundViaDirectRoute)},
			{req: refund("d-2", "s", "100.000", "KWD", RefundViaDirectRoute), wantCode: problem.CodeApprovalRequired},
		}, wantCalls: 1, wantTotal: "0"},
		{name: "approved workflow refunds and direct refunds count in one total", steps: []step{
			{req: refund("w-1", "s", "45.000", "KWD", RefundApproved)},
			{req: refund("d-1", "s", "10.000", "KWD", RefundViaDirectRoute), wantCode: problem.CodeApprovalRequired},
			{req: refund("w-2", "s", "10.000", "KWD", RefundWithinThreshold), wantCode: problem.CodeApprovalRequired},
			{req: refund("d-2", "s", "5.000", "KWD", RefundViaDirectRoute)},
		}, wantCalls: 2, wantTotal: "50"},
		{name: "with the direct route unchecked its refunds are counted and never refused, but an unapproved workflow is still checked", unchecked: true, steps: []step{
			{req: refund("d-1", "s", "60.000", "", RefundViaDirectRoute)},
			{req: refund("w-1", "s", "1.000", "KWD", RefundWithinThreshold), wantCode: problem.CodeApprovalRequired},
		}, wantCalls: 1, wantTotal: "60"},
		{name: "a refund Ottu rejects is released, and one whose outcome is unknown keeps its reservation", steps: []step{
			{req: refund("d-1", "s", "40.000", "KWD", RefundViaDirectRoute), ottuErr: &ottu.Error{Kind: ottu.KindRejected, StatusCode: 400, Detail: "no balance"}, wantCode: problem.CodeOperationRejected},
			{req: refund("d-2", "s", "40.000", "KWD", RefundViaDirectRoute), ottuErr: &ottu.Error{Kind: ottu.KindOutcomeUnknown, TimedOut: true}, wantCode: problem.CodeOutcomeUnknown},
			{req: refund("d-3", "s", "40.000", "KWD", RefundViaDirectRoute), wantCode: problem.CodeApprovalRequired},
		}, wantCalls: 2, wantTotal: "40"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			totals := &memTotals{}
			store := &claimAll{}
			o := &refunder{}
			svc := &Service{Store: store, Ottu: o, Refunds: &RefundLimits{Totals: totals, Thresholds: thresholds, DirectRouteUnchecked: tt.unchecked}}
			for i, st := range tt.steps {
				o.err = st.ottuErr
				_, err := svc.Execute(context.Background(), st.req)
				if problem.CodeOf(err) != st.wantCode {
					t.Fatalf("step %d (%s): error %v, want code %q", i+1, st.req.TrackingKey, err, st.wantCode)
				}
				if st.wantCode == problem.CodeApprovalRequired {
					if !strings.Contains(err.Error(), "POST /refund-workflows") {
						t.Fatalf("step %d: %v, want a 403 naming POST /refund-workflows", i+1, err)
					}
					if out := store.outcomes[st.req.TrackingKey]; out.Status != StatusFailed {
						t.Fatalf("step %d: the refused key is recorded %q, want failed (free for a later try)", i+1, out.Status)
					}
				}
			}
			if o.calls != tt.wantCalls {
				t.Fatalf("Ottu was called %d times, want %d", o.calls, tt.wantCalls)
			}
			got, _ := totals.Total(context.Background(), TransactionOf("s"))
			if !got.Amount.Equal(decimal.RequireFromString(tt.wantTotal)) {
				t.Fatalf("session s's total is %s, want %s", got.Amount, tt.wantTotal)
			}
		})
	}
}

func TestParseThresholds(t *testing.T) {
	tests := []struct {
		name, in, want string
		wantErr        bool
	}{
		{name: "codes with decimals are read exactly", in: "KWD=500.000, USD=1500.00", want: "KWD=500.000,USD=1500.00"},
		{name: "nothing is no thresholds", in: "", want: ""},
		{name: "a lower-case code is refused", in: "kwd=5", wantErr: true},
		{name: "a negative threshold is refused", in: "KWD=-1", wantErr: true},
		{name: "a code given twice is refused", in: "KWD=1,KWD=2", wantErr: true},
		{name: "a pair without = is refused", in: "KWD", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseThresholds(tt.in)
			if (err != nil) != tt.wantErr || (err == nil && got.String() != tt.want) {
				t.Fatalf("ParseThresholds(%q) = %v, %v; want %q (error %v)", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }
