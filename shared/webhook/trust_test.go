package webhook_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ottuops/ottu-lambda/shared/ottu"
	"github.com/ottuops/ottu-lambda/shared/platform/problem"
	"github.com/ottuops/ottu-lambda/shared/txn"
	"github.com/ottuops/ottu-lambda/shared/webhook"
	"github.com/ottuops/ottu-lambda/shared/webhook/api"
)

// withSession is a genuine callback re-posted with another session_id:
// session_id is not signed, so it still verifies.
func withSession(t *testing.T, body []byte, session string) []byte {
	t.Helper()
	f, err := ottu.ParseCallback(body, "application/json")
	if err != nil {
		t.Fatal(err)
	}
	f["session_id"] = session
	b, _ := json.Marshal(f)
	return b
}

// signed is a callback with fields, signed with the test key.
func signed(t *testing.T, fields map[string]any) []byte {
	t.Helper()
	f := ottu.Fields(fields)
	f["signature"] = ottu.Sign(f, testKey)
	b, _ := json.Marshal(f)
	return b
}

func TestCallbackFiling(t *testing.T) {
	paid := fixture(t, "paid.json")
	t.Run("a genuine callback re-posted with the session_id of another transaction is a conflict that changes nothing", func(t *testing.T) {
		h := newHarness()
		// The victim's session is bound by Ottu's own inquiry answer.
		h.store.bindings["victim-session"] = txn.Identity{OrderNo: "VICTIM-42", ReferenceNumber: "REF42"}
		h.store.add(txn.Waiter{SessionID: "victim-session", TaskToken: "tok-victim"})
		res, err := h.receive(withSession(t, paid, "victim-session"), "application/json")
		if err != nil || res.Outcome != webhook.Conflict {
			t.Fatalf("Receive = %+v, %v; want a conflict", res, err)
		}
		if n := h.res.calls("tok-victim"); n != 0 {
			t.Errorf("the victim's workflow was resumed %d times", n)
		}
		if _, moved := h.store.current["victim-session"]; moved {
			t.Error("the victim's current view moved")
		}
		if e := h.store.entries[res.Entry.Digest]; e.Conflict == "" || !strings.Contains(e.Conflict, "VICTIM-42") {
			t.Errorf("stored entry %+v is not flagged as a conflict naming the bound identity", e)
		}
		if !strings.Contains(h.logs.String(), `"conflict"`) {
			t.Errorf("the conflict is not logged:\n%s", h.logs)
		}
	})
	t.Run("the first verified callback binds an unbound session_id; a later one signed for another order is a conflict", func(t *testing.T) {
		h := newHarness()
		if res, err := h.receive(paid, "application/json"); err != nil || res.Outcome != webhook.Accepted {
			t.Fatalf("first: %+v, %v", res, err)
		}
		other := signed(t, map[string]any{"amount": "1.000", "currency_code": "KWD", "order_no": "ORD-OTHER", "reference_number": "REF-OTHER",
			"result": "success", "state": "paid", "session_id": "cb-session-7"})
		res, err := h.receive(other, "application/json")
		if err != nil || res.Outcome != webhook.Conflict {
			t.Fatalf("second: %+v, %v; want a conflict", res, err)
		}
		if cur := h.store.current["cb-session-7"]; cur.OrderNo != "ORD-7" {
			t.Errorf("current view names %q", cur.OrderNo)
		}
	})
	t.Run("a callback signed for no order_no or reference_number binds nothing, and is a conflict under a bound session_id", func(t *testing.T) {
		h := newHarness()
		bare := signed(t, map[string]any{"amount": "1.000", "currency_code": "KWD", "result": "success", "state": "paid", "session_id": "cb-session-7"})
		if res, err := h.receive(bare, "application/json"); err != nil || res.Outcome != webhook.Accepted || len(h.store.bindings) != 0 {
			t.Fatalf("unbound: %+v, %v, bindings %v", res, err, h.store.bindings)
		}
		if _, err := h.receive(paid, "application/json"); err != nil {
			t.Fatal(err)
		}
		bare2 := signed(t, map[string]any{"amount": "1.000", "currency_code": "KWD", "result": "success", "state": "refunded", "session_id": "cb-session-7"})
		if res, err := h.receive(bare2, "application/json"); err != nil || res.Outcome != webhook.Conflict {
			t.Fatalf("bound: %+v, %v; want a conflict", res, err)
		}
	})
	t.Run("a later callback for the same signed identity is filed normally", func(t *testing.T) {
		h := newHarness()
		for _, name := range []string{"attempted.json", "paid.json"} {
			if res, err := h.receive(fixture(t, name), "application/json"); err != nil || res.Outcome != webhook.Accepted {
				t.Fatalf("%s: %+v, %v", name, res, err)
			}
		}
	})
}

func TestResumingNeedsAFreshCallback(t *testing.T) {
	paid := fixture(t, "paid.json")
	t0 := time.Date(2026, 11, 22, 10, 0, 6, 0, time.UTC)
	t.Run("an exact replay of an old callback does not resume a workflow that started waiting after it", func(t *testing.T) {
		h := newHarness()
		now := t0
		h.svc.Now = func() time.Time { return now }
		if _, err := h.receive(paid, "application/json"); err != nil {
			t.Fatal(err)
		}
		h.store.add(txn.Waiter{SessionID: "cb-session-7", OrderNo: "ORD-7", TaskToken: "tok-new", CreatedAt: t0.Add(time.Minute)})
		now = t0.Add(2 * time.Minute)
		res, err := h.receive(paid, "application/json")
		if err != nil || res.Outcome != webhook.Duplicate || h.res.calls("tok-new") != 0 {
			t.Fatalf("replay: %+v, %v; %d resumes of the newer waiter", res, err, h.res.calls("tok-new"))
		}
	})
	t.Run("a callback naming another order_no does not resume a workflow waiting for its own", func(t *testing.T) {
		h := newHarness()
		h.store.add(txn.Waiter{SessionID: "cb-session-7", OrderNo: "ORD-ELSE", TaskToken: "tok-else"})
		if _, err := h.receive(paid, "application/json"); err != nil || h.res.calls("tok-else") != 0 {
			t.Fatalf("%v; %d resumes", err, h.res.calls("tok-else"))
		}
	})
}

func TestAmbiguousCallbackIsRefused(t *testing.T) {
	h := newHarness()
	body := signed(t, map[string]any{"amount": "10.000", "currency_code": "KWD", "customer_last_name": "Xorder_noVICTIM-42reference_numberZ",
		"order_no": "ATTACKER-1", "reference_number": "REF2", "result": "success", "state": "paid", "session_id": "s-attacker"})
	res, err := h.receive(body, "application/json")
	if problem.CodeOf(err) != webhook.CodeAmbiguousSignature || api.Codes.StatusOf(webhook.CodeAmbiguousSignature) != 400 || webhook.OutcomeOf(err) != webhook.Ambiguous {
		t.Fatalf("Receive = %+v, %v; want 400 ambiguous_signature", res, err)
	}
	if n := h.store.count(); n != 0 || len(h.store.bindings) != 0 {
		t.Errorf("%d entries and %d bindings stored", n, len(h.store.bindings))
	}
}

func TestNothingToSteal(t *testing.T) {
	h := newHarness()
	h.store.add(txn.Waiter{SessionID: "cb-session-7", TaskToken: "tok-a"})
	res, err := h.receive(fixture(t, "paid.json"), "application/json")
	if err != nil {
		t.Fatal(err)
	}
	stored := h.store.entries[res.Entry.Digest]
	if bytes.Contains(stored.Body, []byte("signature")) {
		t.Errorf("the stored body keeps the signature: %s", stored.Body)
	}
	out := h.res.sent["tok-a"][0]
	var got map[string]any
	if err := json.Unmarshal(out, &got); err != nil || got["order_no"] != "ORD-7" || got["reference_number"] != "REF7" || got["amount"] != "10.000" || got["state"] != "paid" {
		t.Fatalf("task output %s", out)
	}
	for _, leak := range []string{"signature", "customer", "buyer@example.com", "Buyer", "transactions"} {
		if bytes.Contains(out, []byte(leak)) {
			t.Errorf("task output holds %q: %s", leak, out)
		}
	}
}

func TestOutputStepFunctionsRefuses(t *testing.T) {
	h := newHarness()
	h.store.add(txn.Waiter{SessionID: "cb-session-7", TaskToken: "tok-big"})
	h.res.errs["tok-big"] = fmt.Errorf("%w (InvalidOutput)", webhook.ErrOutputRefused)
	for i, want := range []webhook.Outcome{webhook.Accepted, webhook.Duplicate} {
		res, err := h.receive(fixture(t, "paid.json"), "application/json")
		if err != nil || res.Outcome != want {
			t.Fatalf("delivery %d: %+v, %v", i+1, res, err)
		}
	}
	if h.res.failed["tok-big"] != webhook.ErrorCallbackTooLarge {
		t.Errorf("the task was not failed with %s: %v", webhook.ErrorCallbackTooLarge, h.res.failed)
	}
	if s := h.store.status("tok-big"); s != txn.WaiterResumed {
		t.Errorf("waiter %s; want it ended, not left pending for every later delivery", s)
	}
}

// TestCallbacksCannotReachNotificationWaiters: the keys operation
// notifications and the workflows waiting for them are filed under are
// this stack's own (child#, ref#, pymt#); a genuine signed callback
// re-posted with one as its unsigned session_id must neither be filed
// there nor resume a queued refund's workflow.
func TestCallbacksCannotReachNotificationWaiters(t *testing.T) {
	paid := fixture(t, "paid.json")
	for _, key := range []string{"child#CHILDREF0001", "ref#REF-1", "pymt#P-1"} {
		t.Run("a callback re-posted under "+key+" is refused and stores nothing", func(t *testing.T) {
			h := newHarness()
			h.store.add(txn.Waiter{SessionID: key, TaskToken: "tok-queued", Amount: "10.000", Payment: "sess-q"})
			_, err := h.receive(withSession(t, paid, key), "application/json")
			if problem.CodeOf(err) != webhook.CodeInvalidCallback || h.store.count() != 0 || h.res.calls("tok-queued") != 0 {
				t.Fatalf("error %v, %d stored, %d resumes", err, h.store.count(), h.res.calls("tok-queued"))
			}
		})
	}
	t.Run("a payment callback never resumes a workflow waiting for an operation notification", func(t *testing.T) {
		h := newHarness()
		h.store.add(txn.Waiter{SessionID: "cb-session-7", TaskToken: "tok-queued", Amount: "10.000"})
		if _, err := h.receive(paid, "application/json"); err != nil || h.res.calls("tok-queued") != 0 {
			t.Fatalf("%v; %d resumes", err, h.res.calls("tok-queued"))
		}
	})
}
