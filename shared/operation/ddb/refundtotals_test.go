package ddb

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/shopspring/decimal"

	"github.com/ottuops/ottu-lambda/dev/testkit"
	"github.com/ottuops/ottu-lambda/shared/operation"
)

func newRefundTotals(t *testing.T) *RefundTotals {
	t.Helper()
	client := dynamodb.NewFromConfig(testkit.SharedMoto(t).AWSConfig())
	table := testkit.UniqueName("refund-totals")
	if err := testkit.CreateTable(context.Background(), client, "RefundTotalsTable", table); err != nil {
		t.Fatal(err)
	}
	return NewRefundTotals(client, table)
}

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func reservation(txn, key, amount, limit string) operation.Reservation {
	r := operation.Reservation{Transaction: txn, Currency: "KWD", TrackingKey: key, Amount: dec(amount)}
	if limit != "" {
		l := dec(limit)
		r.Limit = &l
	}
	return r
}

func TestRefundTotals(t *testing.T) {
	s := newRefundTotals(t)
	ctx := context.Background()
	mustTotal := func(t *testing.T, txn, want string) {
		t.Helper()
		got, err := s.Total(ctx, txn)
		if err != nil || !got.Amount.Equal(dec(want)) {
			t.Fatalf("total %+v, %v; want %s", got, err, want)
		}
	}

	t.Run("reservations add up exactly in decimal, and a retry with the same key adds nothing", func(t *testing.T) {
		for _, r := range []operation.Reservation{reservation("t-sum", "k1", "0.100", ""), reservation("t-sum", "k2", "0.200", ""), reservation("t-sum", "k2", "0.200", "")} {
			if _, err := s.Reserve(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		mustTotal(t, "t-sum", "0.3")
	})
	t.Run("a reservation that would take the total above the limit is refused with the total as it is", func(t *testing.T) {
		if _, err := s.Reserve(ctx, reservation("t-limit", "k1", "30.000", "50.000")); err != nil {
			t.Fatal(err)
		}
		got, err := s.Reserve(ctx, reservation("t-limit", "k2", "20.001", "50.000"))
		if !errors.Is(err, operation.ErrOverLimit) || !got.Amount.Equal(dec("30")) {
			t.Fatalf("got %+v, %v; want ErrOverLimit at 30", got, err)
		}
		if _, err := s.Reserve(ctx, reservation("t-limit", "k3", "20.000", "50.000")); err != nil {
			t.Fatalf("a reservation up to the limit exactly: %v", err)
		}
		mustTotal(t, "t-limit", "50")
	})
	t.Run("a single amount above the limit is refused without a write", func(t *testing.T) {
		if _, err := s.Reserve(ctx, reservation("t-big", "k1", "50.001", "50.000")); !errors.Is(err, operation.ErrOverLimit) {
			t.Fatalf("err = %v", err)
		}
		mustTotal(t, "t-big", "0")
	})
	t.Run("a release takes back exactly what its key reserved, once", func(t *testing.T) {
		for _, k := range []string{"k1", "k2"} {
			if _, err := s.Reserve(ctx, reservation("t-rel", k, "5.500", "")); err != nil {
				t.Fatal(err)
			}
		}
		for range 2 {
			if err := s.Release(ctx, "t-rel", "k1"); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Release(ctx, "t-rel", "never-reserved"); err != nil {
			t.Fatal(err)
		}
		mustTotal(t, "t-rel", "5.5")
	})
	t.Run("a reservation with no currency is counted and binds none", func(t *testing.T) {
		r := reservation("t-nocur", "k1", "1.000", "")
		r.Currency = ""
		if _, err := s.Reserve(ctx, r); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Reserve(ctx, reservation("t-nocur", "k2", "1.000", "")); err != nil || got.Currency != "KWD" {
			t.Fatalf("got %+v, %v", got, err)
		}
		mustTotal(t, "t-nocur", "2")
	})
	t.Run("a reservation in another currency than the transaction's is refused", func(t *testing.T) {
		if _, err := s.Reserve(ctx, reservation("t-cur", "k1", "1.000", "")); err != nil {
			t.Fatal(err)
		}
		r := reservation("t-cur", "k2", "1.000", "")
		r.Currency = "USD"
		if got, err := s.Reserve(ctx, r); !errors.Is(err, operation.ErrCurrencyMismatch) || got.Currency != "KWD" {
			t.Fatalf("got %+v, %v; want ErrCurrencyMismatch naming KWD", got, err)
		}
	})
	t.Run("of 20 reservations of 10.000 at once against a limit of 50.000 exactly 5 are made", func(t *testing.T) {
		var wg sync.WaitGroup
		var mu sync.Mutex
		made, refused := 0, 0
		for i := range 20 {
			wg.Go(func() {
				_, err := s.Reserve(ctx, reservation("t-race", fmt.Sprintf("k%d", i), "10.000", "50.000"))
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					made++
				case errors.Is(err, operation.ErrOverLimit):
					refused++
				default:
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if made != 5 || refused != 15 {
			t.Fatalf("%d made, %d refused; want 5 and 15", made, refused)
		}
		mustTotal(t, "t-race", "50")
	})
}

// TestRefundTotalsMove: a refund of ours is re-filed under its child's
// key, so that its notification does not count it again, whichever comes
// first; nothing is ever counted less than once.
func TestRefundTotalsMove(t *testing.T) {
	s := newRefundTotals(t)
	tests := []struct {
		name string
		// steps: "reserve KEY AMOUNT", "notify CHILD AMOUNT", "move KEY CHILD".
		steps     [][3]string
		wantTotal string
		wantKeys  []string
		gone      []string
	}{
		{name: "a move re-files the reservation under the child and keeps the total, and the notification then adds nothing",
			steps:     [][3]string{{"reserve", "tk-1", "2.000"}, {"move", "tk-1", "c-1"}, {"notify", "c-1", "2.000"}},
			wantTotal: "2", wantKeys: []string{operation.ChildKey("c-1")}, gone: []string{"tk-1"}},
		{name: "a move after the notification drops our reservation and the total counts the refund once",
			steps:     [][3]string{{"reserve", "tk-1", "2.000"}, {"notify", "c-1", "2.000"}, {"move", "tk-1", "c-1"}},
			wantTotal: "2", wantKeys: []string{operation.ChildKey("c-1")}, gone: []string{"tk-1"}},
		{name: "a move after a notification of another amount keeps both counted, too much and never too little",
			steps:     [][3]string{{"reserve", "tk-1", "2.000"}, {"notify", "c-1", "0.500"}, {"move", "tk-1", "c-1"}},
			wantTotal: "2.5", wantKeys: []string{operation.ChildKey("c-1"), "tk-1"}},
		{name: "a second refund Ottu answered with the same reference_number keeps its own reservation (a key a move made is no notification)",
			steps:     [][3]string{{"reserve", "tk-1", "2.000"}, {"move", "tk-1", "c-1"}, {"reserve", "tk-2", "2.000"}, {"move", "tk-2", "c-1"}},
			wantTotal: "4", wantKeys: []string{operation.ChildKey("c-1"), "tk-2"}, gone: []string{"tk-1"}},
		{name: "a move of a key that reserved nothing changes nothing",
			steps:     [][3]string{{"notify", "c-9", "1.500"}, {"move", "tk-none", "c-1"}},
			wantTotal: "1.5", wantKeys: []string{operation.ChildKey("c-9")}, gone: []string{operation.ChildKey("c-1")}},
		{name: "a move done twice changes nothing the second time",
			steps:     [][3]string{{"reserve", "tk-1", "3.000"}, {"move", "tk-1", "c-1"}, {"move", "tk-1", "c-1"}},
			wantTotal: "3", wantKeys: []string{operation.ChildKey("c-1")}, gone: []string{"tk-1"}},
	}
	for i, tt := range tests {
		for _, known := range []bool{false, true} {
			runMoveCase(t, s, fmt.Sprintf("t-move-%d-%v", i, known), tt.name, known, tt.steps, tt.wantTotal, tt.wantKeys, tt.gone)
		}
	}
}

// runMoveCase runs one case of TestRefundTotalsMove, with Move told the
// amount (its one-write path) or not (its read path): both must agree.
func runMoveCase(t *testing.T, s *RefundTotals, txn, name string, known bool, steps [][3]string, wantTotal string, wantKeys, gone []string) {
	ctx := context.Background()
	suffix := ", reading what was reserved"
	if known {
		suffix = ", told what was reserved"
	}
	t.Run(name+suffix, func(t *testing.T) {
		reserved := map[string]decimal.Decimal{}
		for _, st := range steps {
			moveAmount := decimal.Zero
			if known {
				moveAmount = reserved[st[1]]
			}
			if st[0] == "reserve" {
				reserved[st[1]] = dec(st[2])
			}
			var err error
			switch st[0] {
			case "reserve":
				_, err = s.Reserve(ctx, reservation(txn, st[1], st[2], ""))
			case "notify":
				_, err = s.Reserve(ctx, operation.Reservation{Transaction: txn, TrackingKey: operation.ChildKey(st[1]), Amount: dec(st[2]), Notified: true})
			case "move":
				err = s.Move(ctx, txn, st[1], operation.ChildKey(st[2]), moveAmount)
			}
			if err != nil {
				t.Fatalf("%v: %v", st, err)
			}
		}
		got, err := s.Total(ctx, txn)
		if err != nil || !got.Amount.Equal(dec(wantTotal)) {
			t.Fatalf("total %+v, %v; want %s", got, err, wantTotal)
		}
		item, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: totalKey(txn), ConsistentRead: new(true)})
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range wantKeys {
			if item.Item[reservationPrefix+k] == nil {
				t.Errorf("no reservation under %s: %v", k, item.Item)
			}
		}
		for _, k := range gone {
			if item.Item[reservationPrefix+k] != nil {
				t.Errorf("a reservation is left under %s", k)
			}
		}
	})
}
