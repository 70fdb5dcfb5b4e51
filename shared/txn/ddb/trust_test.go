package ddb

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/ottuops/ottu-lambda/shared/txn"
)

func TestBind(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	first := txn.Identity{OrderNo: "ORD-1", ReferenceNumber: "REF1"}
	other := txn.Identity{OrderNo: "ORD-2", ReferenceNumber: "REF2"}
	t.Run("the first binding of a session_id holds against later ones", func(t *testing.T) {
		for i, id := range []txn.Identity{first, other} {
			f.api.Reset()
			got, err := f.store.Bind(ctx, "s-bind", id, false)
			if err != nil || got != first {
				t.Fatalf("bind %d: %+v, %v; want %+v", i+1, got, err, first)
			}
			// The first binding also links the reference_number to the
			// session_id (SessionsOf); a refusal returns the binding.
			if c, want := f.api.Counts(), int64(2-i); c.PutItem != want || c.GetItem != 0 {
				t.Errorf("bind %d cost %+v; want %d PutItem", i+1, c, want)
			}
		}
	})
	t.Run("a zero identity only reads the binding", func(t *testing.T) {
		if got, err := f.store.Bind(ctx, "s-unbound", txn.Identity{}, false); err != nil || !got.IsZero() {
			t.Fatalf("%+v, %v", got, err)
		}
		if got, err := f.store.Bind(ctx, "s-unbound", first, false); err != nil || got != first {
			t.Fatalf("the zero identity bound the session: %+v, %v", got, err)
		}
	})
	t.Run("Ottu's own answer binds over a binding made by a callback", func(t *testing.T) {
		if got, err := f.store.Bind(ctx, "s-bind", other, true); err != nil || got != other {
			t.Fatalf("%+v, %v", got, err)
		}
		if got, err := f.store.Bind(ctx, "s-bind", first, false); err != nil || got != other {
			t.Fatalf("after: %+v, %v", got, err)
		}
	})
}

// TestSessionsOf: a binding links its signed reference_number to the
// session_id, so that an operation notification (signed for the
// reference_number only) finds the session_id its refunded total is kept
// under.
func TestSessionsOf(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	binds := []struct {
		session       string
		id            txn.Identity
		authoritative bool
	}{
		{"s-a", txn.Identity{OrderNo: "O-A", ReferenceNumber: "R-A"}, false},
		{"s-b", txn.Identity{OrderNo: "O-B", ReferenceNumber: "R-B"}, true},
		{"s-a", txn.Identity{OrderNo: "O-X", ReferenceNumber: "R-X"}, false}, // refused: s-a is bound to R-A
		{"s-o", txn.Identity{OrderNo: "O-O"}, false},                         // no reference_number: no link
		{"s-o", txn.Identity{OrderNo: "O-O", ReferenceNumber: "R-O"}, false}, // the same payment, now with its reference
		{"s-o", txn.Identity{OrderNo: "O-Z", ReferenceNumber: "R-Z"}, false}, // another payment: refused, no link
	}
	for _, b := range binds {
		if _, err := f.store.Bind(ctx, b.session, b.id, b.authoritative); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name, ref string
		want      []string
	}{
		{name: "a callback's first binding links its reference_number", ref: "R-A", want: []string{"s-a"}},
		{name: "Ottu's own answer links its reference_number", ref: "R-B", want: []string{"s-b"}},
		{name: "a refused binding links nothing", ref: "R-X", want: nil},
		{name: "a session bound before its reference was known is linked by the first callback that signs one", ref: "R-O", want: []string{"s-o"}},
		{name: "another payment's callback under that session links nothing", ref: "R-Z", want: nil},
		{name: "a reference_number nothing bound has no session", ref: "R-none", want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := f.store.SessionsOf(ctx, tt.ref)
			if err != nil || fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("SessionsOf(%s) = %v, %v; want %v", tt.ref, got, err, tt.want)
			}
		})
	}
	t.Run("the link is not part of the payment's timeline", func(t *testing.T) {
		if h, err := f.store.History(ctx, txn.RefKey("R-A"), 0); !errors.Is(err, txn.ErrNotFound) {
			t.Fatalf("History(ref#R-A) = %v, %v; want nothing", h, err)
		}
	})
}

func TestConflictChangesNothing(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	genuine := entry("s-c", "ORD-C", "pending", t0, t0)
	mustPut(t, f.store, genuine)
	forged := entry("s-c", "ORD-X", "paid", t0.Add(time.Minute), t0.Add(time.Minute))
	forged.Conflict = "session_id s-c is bound to ORD-C"
	if !mustPut(t, f.store, forged) {
		t.Fatal("the conflicting entry was not stored")
	}
	cur, err := f.store.Current(ctx, "s-c")
	if err != nil || cur.OrderNo != "ORD-C" || cur.State != "pending" {
		t.Fatalf("current %+v, %v; want the genuine pending view", cur, err)
	}
	h, err := f.store.History(ctx, "s-c", 0)
	if err != nil || len(h) != 2 || h[0].Conflict == "" || h[1].Conflict != "" {
		t.Fatalf("history %+v, %v; want the conflict flagged first", h, err)
	}
	t.Run("first received is when the delivery was first stored", func(t *testing.T) {
		again := forged
		again.ReceivedAt = t0.Add(time.Hour)
		got, err := f.store.FirstReceived(ctx, again)
		if err != nil || !got.Equal(forged.ReceivedAt) {
			t.Fatalf("%s, %v; want %s", got, err, forged.ReceivedAt)
		}
		if _, err := f.store.FirstReceived(ctx, entry("s-c", "ORD-C", "never", t0, t0)); !errors.Is(err, txn.ErrNotFound) {
			t.Fatalf("an unknown delivery: %v", err)
		}
	})
}

// TestSessionHintCannotPoisonAnOrderLookup: a genuine callback re-posted
// with session_id set to another transaction's order_no is filed under that
// id, but a lookup by that order_no still answers the transaction whose
// signed order_no it is.
func TestSessionHintCannotPoisonAnOrderLookup(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	mustPut(t, f.store, entry("victim-session", "VICTIM-42", "paid", t0, t0))
	mustPut(t, f.store, entry("VICTIM-42", "ORD-ATTACKER", "attempted", t0.Add(time.Minute), t0.Add(time.Minute)))
	var cur *txn.Entry
	var err error
	for range 50 { // the by_order index is eventually consistent
		if cur, err = f.store.Current(ctx, "VICTIM-42"); err == nil && cur.OrderNo == "VICTIM-42" {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil || cur.OrderNo != "VICTIM-42" || cur.State != "paid" {
		t.Fatalf("Current(VICTIM-42) = %+v, %v; want the victim's paid view", cur, err)
	}
	h, err := f.store.History(ctx, "VICTIM-42", 0)
	if err != nil || len(h) != 1 || h[0].OrderNo != "VICTIM-42" {
		t.Fatalf("History(VICTIM-42) = %+v, %v; want the victim's history only", h, err)
	}
	t.Run("a lookup by the real session_id is unchanged", func(t *testing.T) {
		cur, err := f.store.Current(ctx, "victim-session")
		if err != nil || cur.OrderNo != "VICTIM-42" {
			t.Fatalf("%+v, %v", cur, err)
		}
	})
}
