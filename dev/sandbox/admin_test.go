package sandbox

import (
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// invalidTransaction is one case of testdata/invalid_transactions.json.
type invalidTransaction struct {
	Name           string          `json:"name"`
	Body           json.RawMessage `json:"body"`
	Status         int             `json:"status"`
	DetailContains string          `json:"detail_contains"`
}

func TestCreateTransactionRefusesBadSpecs(t *testing.T) {
	var cases []invalidTransaction
	readFixture(t, "invalid_transactions.json", &cases)
	h := newHarness(t)
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			r := h.do(http.MethodPost, "/sandbox/transactions", "", string(tc.Body))
			wantStatus(t, r, tc.Status)
			if !strings.Contains(r.str("detail"), tc.DetailContains) {
				t.Fatalf("detail %q, want it to say %q", r.str("detail"), tc.DetailContains)
			}
		})
	}
}

func TestCreateTransaction(t *testing.T) {
	h := newHarness(t)
	t.Run("a session id of 40 hex characters is made when absent", func(t *testing.T) {
		r := h.do(http.MethodPost, "/sandbox/transactions", "", `{"amount":10,"currency_code":"kwd","state":"paid","pg_code":"MPGS"}`)
		wantStatus(t, r, http.StatusCreated)
		if !regexp.MustCompile(`^[0-9a-f]{40}$`).MatchString(r.str("session_id")) {
			t.Fatalf("session_id %q, want 40 hex characters", r.str("session_id"))
		}
		if r.str("amount") != "10.000" || r.str("currency_code") != "KWD" || r.str("pg_code") != "mpgs" || r.str("paid_currency_code") != "KWD" {
			t.Fatalf("body %s, want normalised amount, currency and gateway", r.raw)
		}
		if r.str("reference_number") == "" {
			t.Fatal("no reference number was made")
		}
		if c, _ := r.body["children"].([]any); c == nil {
			t.Fatalf("body %s, want an empty children list", r.raw)
		}
	})
	t.Run("a duplicate session id conflicts", func(t *testing.T) {
		body := `{"session_id":"dup-s","amount":"1","currency_code":"KWD","state":"paid","pg_code":"mpgs"}`
		wantStatus(t, h.do(http.MethodPost, "/sandbox/transactions", "", body), http.StatusCreated)
		r := h.do(http.MethodPost, "/sandbox/transactions", "", body)
		wantStatus(t, r, http.StatusConflict)
		if !strings.Contains(r.str("detail"), `session_id "dup-s" already exists`) {
			t.Fatalf("detail %q", r.str("detail"))
		}
	})
	t.Run("a duplicate order number conflicts", func(t *testing.T) {
		_, err := h.srv.CreateTransaction(TransactionSpec{OrderNo: "dup-o", Amount: "1", CurrencyCode: "KWD", State: "paid", PGCode: "mpgs"})
		if err != nil {
			t.Fatal(err)
		}
		_, err = h.srv.CreateTransaction(TransactionSpec{OrderNo: "dup-o", Amount: "1", CurrencyCode: "KWD", State: "paid", PGCode: "mpgs"})
		if !errors.Is(err, ErrConflict) {
			t.Fatalf("error %v, want ErrConflict", err)
		}
	})
	t.Run("a soft-deleted order number stays taken", func(t *testing.T) {
		tr := h.create(TransactionSpec{OrderNo: "soft-o", Amount: "1", CurrencyCode: "KWD", State: "paid", PGCode: "mpgs"})
		wantStatus(t, h.op(map[string]any{"operation": "delete", "session_id": tr.SessionID}, ""), http.StatusOK)
		_, err := h.srv.CreateTransaction(TransactionSpec{OrderNo: "soft-o", Amount: "1", CurrencyCode: "KWD", State: "paid", PGCode: "mpgs"})
		if !errors.Is(err, ErrConflict) {
			t.Fatalf("error %v, want ErrConflict", err)
		}
	})
	t.Run("a hard-deleted order number is free again", func(t *testing.T) {
		tr := h.create(TransactionSpec{OrderNo: "hard-o", Amount: "1", CurrencyCode: "KWD", State: "pending", PGCode: "mpgs"})
		wantStatus(t, h.op(map[string]any{"operation": "delete", "session_id": tr.SessionID}, ""), http.StatusOK)
		h.create(TransactionSpec{OrderNo: "hard-o", Amount: "1", CurrencyCode: "KWD", State: "pending", PGCode: "mpgs"})
	})
	t.Run("an unknown transaction is not found", func(t *testing.T) {
		r := h.do(http.MethodGet, "/sandbox/transactions/nope", "", "")
		wantStatus(t, r, http.StatusNotFound)
		if !strings.Contains(r.str("detail"), `"nope"`) {
			t.Fatalf("detail %q does not name the id", r.str("detail"))
		}
	})
	t.Run("a session id with escaped characters is read back", func(t *testing.T) {
		tr := h.create(TransactionSpec{SessionID: "id%with?odd#chars", Amount: "1", CurrencyCode: "KWD", State: "paid", PGCode: "mpgs"})
		r := h.do(http.MethodGet, "/sandbox/transactions/id%25with%3Fodd%23chars", "", "")
		wantStatus(t, r, http.StatusOK)
		if r.str("session_id") != tr.SessionID {
			t.Fatalf("session_id %q, want %q", r.str("session_id"), tr.SessionID)
		}
	})
	t.Run("the wrong method is not allowed", func(t *testing.T) {
		wantStatus(t, h.do(http.MethodGet, "/sandbox/transactions", "", ""), http.StatusMethodNotAllowed)
		wantStatus(t, h.do(http.MethodDelete, "/sandbox/transactions/x", "", ""), http.StatusMethodNotAllowed)
		wantStatus(t, h.do(http.MethodGet, "/sandbox/transactions/x/settle", "", ""), http.StatusMethodNotAllowed)
	})
	t.Run("an unknown admin path is not found", func(t *testing.T) {
		wantDetail(t, h.do(http.MethodGet, "/sandbox/nothing", "", ""), http.StatusNotFound, "Not found.")
	})
}

func TestSettleQueuedRefunds(t *testing.T) {
	h := newHarness(t)
	queue := func(t *testing.T, sessionID, key string) response {
		t.Helper()
		if err := h.srv.AddFault(Fault{Kind: FaultQueueRefund}); err != nil {
			t.Fatal(err)
		}
		r := h.op(map[string]any{"operation": "refund", "session_id": sessionID, "amount": "1.000"}, key)
		if r.str("result") != "queued" {
			t.Fatalf("body %s, want queued", r.raw)
		}
		return r
	}
	settle := func(sessionID, body string) response {
		return h.do(http.MethodPost, "/sandbox/transactions/"+sessionID+"/settle", "", body)
	}

	t.Run("the only queued refund is settled without naming it", func(t *testing.T) {
		tr := h.txn("paid", "10.000", "KWD", "mpgs")
		queue(t, tr.SessionID, "")
		r := settle(tr.SessionID, `{"result":"rejected"}`)
		wantStatus(t, r, http.StatusOK)
		if r.str("state") != ChildRefundRejected || r.str("result") != "rejected" {
			t.Fatalf("body %s, want the refund rejected", r.raw)
		}
	})
	t.Run("a refund is named by its child session id", func(t *testing.T) {
		tr := h.txn("paid", "10.000", "KWD", "mpgs")
		child := queue(t, tr.SessionID, "").txnField("session_id")
		queue(t, tr.SessionID, "")
		r := settle(tr.SessionID, `{"child_session_id":"`+child+`","result":"success"}`)
		wantStatus(t, r, http.StatusOK)
		if r.str("session_id") != child || r.str("state") != ChildRefunded {
			t.Fatalf("body %s, want child %s refunded", r.raw, child)
		}
	})
	tests := []struct {
		name, body string
		status     int
		detail     string
	}{
		{"an unknown result is refused", `{"result":"maybe"}`, 400, `result must be "success" or "rejected"`},
		{"two queued refunds need a name", `{"result":"success"}`, 400, "has 2 queued refunds"},
		{"an unknown tracking key is not found", `{"tracking_key":"nope","result":"success"}`, 404, "no child with that tracking_key"},
		{"a settled refund cannot be settled again", `{"tracking_key":"done","result":"success"}`, 409, "not a queued refund"},
	}
	tr := h.txn("paid", "10.000", "KWD", "mpgs")
	queue(t, tr.SessionID, "")
	queue(t, tr.SessionID, "")
	wantStatus(t, h.op(map[string]any{"operation": "refund", "session_id": tr.SessionID, "amount": "1.000"}, "done"), http.StatusOK)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := settle(tr.SessionID, tc.body)
			wantStatus(t, r, tc.status)
			if !strings.Contains(r.str("detail"), tc.detail) {
				t.Fatalf("detail %q, want it to say %q", r.str("detail"), tc.detail)
			}
		})
	}
	t.Run("a transaction without queued refunds has nothing to settle", func(t *testing.T) {
		other := h.txn("paid", "10.000", "KWD", "mpgs")
		r := settle(other.SessionID, `{"result":"success"}`)
		wantStatus(t, r, http.StatusNotFound)
	})
	t.Run("an unknown transaction is not found", func(t *testing.T) {
		wantStatus(t, settle("nope", `{"result":"success"}`), http.StatusNotFound)
	})
}
