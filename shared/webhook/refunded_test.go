package webhook_test

import (
	"context"
	"sync"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/ottuops/ottu-lambda/shared/operation"
	"github.com/ottuops/ottu-lambda/shared/ottu"
)

// SessionsOf lists the sessions bound to ref, as the table's links do.
func (m *memStore) SessionsOf(_ context.Context, ref string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for s, id := range m.bindings {
		if id.ReferenceNumber == ref {
			out = append(out, s)
		}
	}
	return out, nil
}

// totals is operation.RefundTotals in memory: one reservation per key.
type totals struct {
	mu       sync.Mutex
	reserved map[string]map[string]decimal.Decimal
}

func (m *totals) Reserve(_ context.Context, r operation.Reservation) (operation.RefundTotal, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.reserved == nil {
		m.reserved = map[string]map[string]decimal.Decimal{}
	}
	if m.reserved[r.Transaction] == nil {
		m.reserved[r.Transaction] = map[string]decimal.Decimal{}
	}
	if _, ok := m.reserved[r.Transaction][r.TrackingKey]; !ok {
		m.reserved[r.Transaction][r.TrackingKey] = r.Amount
	}
	return operation.RefundTotal{}, nil
}
func (m *totals) Release(context.Context, string, string) error                       { return nil }
func (m *totals) Move(context.Context, string, string, string, decimal.Decimal) error { return nil }
func (m *totals) Total(_ context.Context, transaction string) (operation.RefundTotal, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	sum := decimal.Zero
	for _, a := range m.reserved[transaction] {
		sum = sum.Add(a)
	}
	return operation.RefundTotal{Amount: sum}, nil
}

// TestRefundNotificationsCount: a signed refund notification counts in the
// refunded total of the session_id bound to its payment's reference_number,
// whether the binding comes before or after it, and once however often it
// is delivered.
func TestRefundNotificationsCount(t *testing.T) {
	// A paid callback for session s-1 signed for the notification's payment.
	bound := signedNotification(t, "paid.json", func(f ottu.Fields) {
		f["session_id"], f["reference_number"], f["order_no"] = "s-1", "PARENTREF0001", "ORD-1"
	})
	other := signedNotification(t, "paid.json", func(f ottu.Fields) { f["session_id"] = "s-1" }) // REF7
	refund := fixture(t, "operation-refund.json")                                                // 2.000, child CHILDREF0001
	capture := signedNotification(t, "operation-refund.json", func(f ottu.Fields) { f["operation"] = "capture" })
	second := signedNotification(t, "operation-refund.json", func(f ottu.Fields) {
		f["amount"], f["timestamp_utc"] = "1.500", "2026-11-22 10:00:09"
		f["txn"].(ottu.Fields)["reference_number"] = "CHILDREF0002"
	})
	tests := []struct {
		name       string
		deliveries [][]byte
		want       string
	}{
		{name: "a refund notified after a callback bound its payment counts in that session's total", deliveries: [][]byte{bound, refund}, want: "2"},
		{name: "a refund notified before its payment was bound counts when a callback binds it", deliveries: [][]byte{refund, bound}, want: "2"},
		{name: "a refund notification delivered twice counts once", deliveries: [][]byte{bound, refund, refund, bound}, want: "2"},
		{name: "two refunds of one payment both count", deliveries: [][]byte{refund, bound, second}, want: "3.5"},
		{name: "a capture notification counts nothing", deliveries: [][]byte{bound, capture}, want: "0"},
		{name: "a refund of another payment counts nothing in this session's total", deliveries: [][]byte{other, refund}, want: "0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness()
			tot := &totals{}
			h.svc.Totals, h.svc.Links = tot, h.store
			for i, body := range tt.deliveries {
				if _, err := h.receive(body, "application/json"); err != nil {
					t.Fatalf("delivery %d: %v", i+1, err)
				}
			}
			got, _ := tot.Total(context.Background(), operation.TransactionOf("s-1"))
			if !got.Amount.Equal(decimal.RequireFromString(tt.want)) {
				t.Fatalf("s-1's refunded total is %s, want %s (logs: %s)", got.Amount, tt.want, h.logs)
			}
		})
	}
}
