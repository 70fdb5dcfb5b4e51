package sandbox

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/ottuops/ottu-lambda/shared/ottu"
)

// notified starts a sandbox whose operation notifications go to a receiver.
func notified(t *testing.T) (*harness, *receiver) {
	t.Helper()
	rc := newReceiver(t, always(http.StatusOK))
	h := newHarness(t, func(c *Config) { c.OperationWebhookURL = rc.ts.URL })
	return h, rc
}

// notifications waits for want notifications and decodes them, verifying
// each signature.
func notifications(t *testing.T, rc *receiver, want int) []ottu.Fields {
	t.Helper()
	eventually(t, "the operation notifications", func() bool { return len(rc.received()) >= want })
	time.Sleep(20 * time.Millisecond) // one more would show now
	bodies := rc.received()
	if len(bodies) != want {
		t.Fatalf("%d notifications, want %d", len(bodies), want)
	}
	out := make([]ottu.Fields, 0, want)
	for _, b := range bodies {
		f, err := ottu.ParseCallback(b, "application/json")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ottu.Verify(f, testWebhookKey); err != nil {
			t.Fatalf("notification %s does not verify: %v", b, err)
		}
		out = append(out, f)
	}
	return out
}

func childOf(f ottu.Fields) ottu.Fields { c, _ := f["txn"].(ottu.Fields); return c }

func TestOperationNotifications(t *testing.T) {
	t.Run("a successful refund through the API is notified, signed, naming the parent and the child", func(t *testing.T) {
		h, rc := notified(t)
		tr := h.create(TransactionSpec{Amount: "10.000", CurrencyCode: "KWD", State: "paid", PGCode: "mpgs", OrderNo: "ord-n1"})
		r := h.op(map[string]any{"operation": "refund", "session_id": tr.SessionID, "amount": "2.000"}, "n-1")
		wantStatus(t, r, http.StatusOK)
		n := notifications(t, rc, 1)[0]
		if n["operation"] != "refund" || n["amount"] != "2.000" || n["reference_number"] != tr.ReferenceNumber ||
			n["result"] != "success" || n["source"] != "input" || n["success"] != true {
			t.Errorf("notification %v", n)
		}
		if c := childOf(n); c["reference_number"] != r.str("reference_number") || c["state"] != ChildRefunded || c["order_no"] != "ord-n1" {
			t.Errorf("child %v, want the refund's child %s", c, r.str("reference_number"))
		}
		if _, hasSession := n["session_id"]; hasSession {
			t.Error("a notification carries a session_id, so the webhook would read it as a payment callback")
		}
	})
	t.Run("capture and void are notified too", func(t *testing.T) {
		h, rc := notified(t)
		a := h.txn("authorized", "10.000", "KWD", "mpgs")
		b := h.txn("authorized", "10.000", "KWD", "mpgs")
		wantStatus(t, h.op(map[string]any{"operation": "capture", "session_id": a.SessionID, "amount": "4.000"}, ""), http.StatusOK)
		eventually(t, "the capture's notification", func() bool { return len(rc.received()) == 1 })
		wantStatus(t, h.op(map[string]any{"operation": "void", "session_id": b.SessionID}, ""), http.StatusOK)
		n := notifications(t, rc, 2)
		if n[0]["operation"] != "capture" || childOf(n[0])["state"] != ChildPaid || n[1]["operation"] != "void" || childOf(n[1])["state"] != ChildVoided {
			t.Errorf("notifications %v", n)
		}
	})
	t.Run("a failed operation is not notified", func(t *testing.T) {
		h, rc := notified(t)
		tr := h.txn("paid", "10.000", "KWD", "mpgs")
		wantStatus(t, h.op(map[string]any{"operation": "refund", "session_id": tr.SessionID, "amount": "11.000"}, ""), http.StatusBadRequest)
		time.Sleep(50 * time.Millisecond)
		if n := rc.callCount(); n != 0 {
			t.Errorf("%d notifications for a refused refund", n)
		}
	})
	t.Run("a queued refund is notified when it settles as done, never when rejected", func(t *testing.T) {
		h, rc := notified(t)
		tr := h.txn("paid", "10.000", "KWD", "mpgs")
		for _, settle := range []string{SettleRejected, SettleSuccess} {
			if err := h.srv.AddFault(Fault{Kind: FaultQueueRefund, Settle: settle, SettleAfterMS: 1}); err != nil {
				t.Fatal(err)
			}
			r := h.op(map[string]any{"operation": "refund", "session_id": tr.SessionID, "amount": "1.000"}, "")
			if r.str("result") != "queued" {
				t.Fatalf("%s, want queued", r.raw)
			}
			eventually(t, "the queued refund to settle", func() bool {
				c := h.get(tr.SessionID).Children
				return c[len(c)-1].State != ChildRefundQueued
			})
		}
		n := notifications(t, rc, 1)
		if childOf(n[0])["state"] != ChildRefunded || n[0]["amount"] != "1.000" {
			t.Errorf("notification %v, want the settled refund", n[0])
		}
	})
	t.Run("a drop_notification fault eats the next notification only", func(t *testing.T) {
		h, rc := notified(t)
		tr := h.txn("paid", "10.000", "KWD", "mpgs")
		if err := h.srv.AddFault(Fault{Kind: FaultDropNotification, Operation: "refund"}); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			wantStatus(t, h.op(map[string]any{"operation": "refund", "session_id": tr.SessionID, "amount": "1.000"}, ""), http.StatusOK)
		}
		notifications(t, rc, 1)
	})
	t.Run("a duplicate_callback fault delivers a notification twice", func(t *testing.T) {
		h, rc := notified(t)
		tr := h.txn("paid", "10.000", "KWD", "mpgs")
		if err := h.srv.AddFault(Fault{Kind: FaultDuplicateCallback}); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, h.op(map[string]any{"operation": "refund", "session_id": tr.SessionID, "amount": "1.000"}, ""), http.StatusOK)
		n := notifications(t, rc, 2)
		a, _ := json.Marshal(n[0])
		b, _ := json.Marshal(n[1])
		if string(a) != string(b) {
			t.Errorf("the copies differ: %s / %s", a, b)
		}
	})
}

func TestExternalOperations(t *testing.T) {
	cases := []struct {
		name, body    string
		status        int
		wantSource    string
		wantInitiator bool
		wantRefunded  string
	}{
		{"a dashboard refund moves money and is notified with its initiator", `{"operation":"refund","amount":"1.000","source":"input"}`,
			http.StatusCreated, "input", true, "1.000"},
		{"a gateway-dashboard refund is notified with source pg and no initiator", `{"operation":"refund","amount":"1.500","source":"pg"}`,
			http.StatusCreated, "pg", false, "1.500"},
		{"an unknown source is refused", `{"operation":"refund","amount":"1.000","source":"teller"}`, http.StatusBadRequest, "", false, "0.000"},
		{"an internal operation is refused", `{"operation":"cancel","source":"input"}`, http.StatusBadRequest, "", false, "0.000"},
		{"a refund over the balance is refused as Ottu would", `{"operation":"refund","amount":"11.000","source":"input"}`, http.StatusConflict, "", false, "0.000"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h, rc := notified(t)
			tr := h.txn("paid", "10.000", "KWD", "mpgs")
			r := h.do(http.MethodPost, "/sandbox/transactions/"+tr.SessionID+"/external-operations", "", tc.body)
			wantStatus(t, r, tc.status)
			if got := h.get(tr.SessionID).RefundedAmount; got != tc.wantRefunded {
				t.Errorf("refunded %s, want %s", got, tc.wantRefunded)
			}
			if tc.wantSource == "" {
				time.Sleep(30 * time.Millisecond)
				if rc.callCount() != 0 {
					t.Error("a refused external operation was notified")
				}
				return
			}
			n := notifications(t, rc, 1)[0]
			init, _ := n["initiator"].(ottu.Fields)
			if n["source"] != tc.wantSource || (len(init) > 0) != tc.wantInitiator {
				t.Errorf("notification %v", n)
			}
		})
	}
}
