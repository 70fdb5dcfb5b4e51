package ddb

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/ottuops/ottu-lambda/shared/txn"
)

// notification is an operation notification of the payment ref, filed as
// the webhook files it.
func notification(ref, childRef string, received time.Time) txn.Entry {
	body := fmt.Sprintf(`{"operation":"refund","amount":"1.000","reference_number":%q,"result":"success","source":"pg","txn":{"reference_number":%q,"state":"refunded"}}`, ref, childRef)
	return txn.Entry{SessionID: txn.RefKey(ref), Source: txn.SourceOperation, ReceivedAt: received, Result: "success",
		Body: json.RawMessage(body), Digest: txn.Digest([]byte(body))}
}

func TestOperationNotificationsJoinTheTimeline(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	paid := entry("sess-n1", "", "paid", t0, t0)
	paid.Body = json.RawMessage(`{"session_id":"sess-n1","state":"paid","reference_number":"REF-N1"}`)
	paid.Digest = txn.Digest(paid.Body)
	mustPut(t, f.store, paid)
	if !mustPut(t, f.store, notification("REF-N1", "CHILD-1", t0.Add(time.Second))) {
		t.Fatal("the notification was not stored")
	}
	if mustPut(t, f.store, notification("REF-N1", "CHILD-1", t0.Add(2*time.Second))) {
		t.Error("a repeated delivery of the notification was stored again")
	}
	mustPut(t, f.store, notification("REF-OTHER", "CHILD-2", t0.Add(time.Second)))

	t.Run("the transaction's history shows the notifications of its reference_number", func(t *testing.T) {
		h, err := f.store.History(ctx, "sess-n1", 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(h) != 2 || h[0].Source != txn.SourceOperation || h[1].State != "paid" {
			t.Fatalf("history = %+v, want the notification then the paid disclosure", h)
		}
	})
	t.Run("a notification never becomes the current view", func(t *testing.T) {
		cur, err := f.store.Current(ctx, "sess-n1")
		if err != nil || cur.State != "paid" {
			t.Fatalf("current = %+v, %v; want the paid disclosure", cur, err)
		}
		if _, err := f.store.Current(ctx, txn.RefKey("REF-N1")); err == nil {
			t.Error("the notification partition has a current view")
		}
	})
}
