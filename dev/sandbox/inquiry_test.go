package sandbox

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/ottuops/ottu-lambda/shared/ottu"
)

func TestInquiryAnswersPerState(t *testing.T) {
	h := newHarness(t)
	tests := []struct {
		state  string
		status int
		detail string // for refusals; "%s" is the order number
		result string // for answers
	}{
		{"created", 400, "payment attempts for order %s", ""},
		{"pending", 200, "", "pending"},
		{"attempted", 200, "", "pending"},
		{"failed", 200, "", "failed"},
		{"expired", 200, "", "canceled"},
		{"authorized", 200, "", "success"},
		{"paid", 200, "", "success"},
		{"canceled", 400, "Operation is not allowed", ""},
		{"invalided", 400, "Operation is not allowed", ""},
		{"refunded", 400, "Operation is not allowed", ""},
		{"cod", 400, "Operation is not allowed", ""},
	}
	for _, tc := range tests {
		verdict := "answers at once"
		if tc.status != http.StatusOK {
			verdict = "is refused"
		}
		t.Run(fmt.Sprintf("inquiry of a %s transaction %s", tc.state, verdict), func(t *testing.T) {
			tr := h.create(TransactionSpec{OrderNo: "inq-" + tc.state, Amount: "1.100", CurrencyCode: "KWD", State: tc.state, PGCode: "ottu_pg"})
			r := h.inquiry(map[string]any{"order_no": tr.OrderNo})
			if tc.status != http.StatusOK {
				detail := tc.detail
				if strings.Contains(detail, "%s") {
					detail = fmt.Sprintf(detail, tr.OrderNo)
				}
				wantDetail(t, r, tc.status, detail)
				if r.str("result") != "failed" {
					t.Fatalf("result %q, want failed", r.str("result"))
				}
				return
			}
			wantStatus(t, r, http.StatusOK)
			if r.str("state") != tc.state || r.str("result") != tc.result || r.str("session_id") != tr.SessionID {
				t.Fatalf("body %s, want state %s result %s", r.raw, tc.state, tc.result)
			}
		})
	}
	t.Run("an unknown transaction has no payment attempts", func(t *testing.T) {
		wantDetail(t, h.inquiry(map[string]any{"session_id": "nope"}), http.StatusNotFound, "No payment attempts found for this Lookup")
	})
	t.Run("ids of two transactions find nothing", func(t *testing.T) {
		r := h.inquiry(map[string]any{"session_id": h.get(mustSession(t, h, "inq-paid")).SessionID, "order_no": "inq-pending"})
		wantDetail(t, r, http.StatusNotFound, "No payment attempts found for this Lookup")
	})
	t.Run("disclosure without any URL is refused", func(t *testing.T) {
		r := h.inquiry(map[string]any{"order_no": "inq-paid", "disclose_to_merchant": true})
		wantDetail(t, r, http.StatusBadRequest, "No disclosure url found for order inq-paid")
	})
	t.Run("an unknown order on v1 does not exist", func(t *testing.T) {
		r := h.do(http.MethodPost, "/b/pbl/v1/inquiry/nope", basic("inquirer", testPassword), "")
		wantDetail(t, r, http.StatusNotFound, "Order number does not exist")
	})
	t.Run("v1 inquiry by order number needs no body", func(t *testing.T) {
		r := h.do(http.MethodPost, "/b/pbl/v1/inquiry/inq-pending/", basic("inquirer", testPassword), "")
		wantStatus(t, r, http.StatusOK)
		if r.str("order_no") != "inq-pending" {
			t.Fatalf("body %s, want the inq-pending transaction", r.raw)
		}
	})
}

// mustSession finds the session id of an order number through inquiry's
// own lookup.
func mustSession(t *testing.T, h *harness, orderNo string) string {
	t.Helper()
	h.srv.mu.Lock()
	defer h.srv.mu.Unlock()
	tr := h.srv.byOrder[orderNo]
	if tr == nil {
		t.Fatalf("no order %s", orderNo)
	}
	return tr.sessionID
}

func TestInquiryPayloadIsSignedAndShapedLikeTheSeed(t *testing.T) {
	h := newHarness(t)
	tr := h.create(TransactionSpec{
		OrderNo: "UzMzA", Amount: "1.100", CurrencyCode: "KWD", State: "paid", PGCode: "ottu_pg",
		CustomerEmail: "test@test.com", CustomerFirstName: "Example-customer", CustomerLastName: "Example-customer", CustomerPhone: "123456789",
	})
	wantStatus(t, h.op(map[string]any{"operation": "refund", "session_id": tr.SessionID, "amount": "0.100"}, "inq-key"), http.StatusOK)
	r := h.inquiry(map[string]any{"session_id": tr.SessionID})
	wantStatus(t, r, http.StatusOK)

	t.Run("every field of the seed's example is present", func(t *testing.T) {
		var seed map[string]any
		readFixture(t, "seed_inquiry_response.json", &seed)
		// Fields about Ottu's own users and fees are not modelled.
		skip := []string{"amount_details", "customer_id", "gateway_response", "initiator"}
		for k := range seed {
			if _, ok := r.body[k]; !ok && !slices.Contains(skip, k) {
				t.Errorf("field %q missing from %s", k, r.raw)
			}
		}
		for _, k := range []string{"gateway_name", "timestamp_utc", "transactions"} {
			if _, ok := r.body[k]; !ok {
				t.Errorf("field %q missing", k)
			}
		}
	})
	t.Run("the signature verifies with the webhook key", func(t *testing.T) {
		f, err := ottu.ParseCallback(r.raw, "application/json")
		if err != nil {
			t.Fatal(err)
		}
		if scheme, err := ottu.Verify(f, testWebhookKey); err != nil || scheme != ottu.SchemeStandard {
			t.Fatalf("Verify = %q, %v; want the standard scheme", scheme, err)
		}
		if _, err := ottu.Verify(f, "another-key"); err == nil {
			t.Fatal("the signature verified with another key")
		}
		f["amount"] = "1.000"
		if _, err := ottu.Verify(f, testWebhookKey); err == nil {
			t.Fatal("the signature still verified after the amount changed")
		}
	})
	t.Run("amounts carry the currency's decimals and children are listed", func(t *testing.T) {
		if r.str("amount") != "1.100" || !strings.Contains(string(r.raw), `"remaining_amount":0.000`) {
			t.Fatalf("body %s, want amount 1.100 and remaining_amount 0.000", r.raw)
		}
		children, _ := r.body["transactions"].([]any)
		if len(children) != 1 {
			t.Fatalf("transactions %v, want the one refund", r.body["transactions"])
		}
		c, _ := children[0].(map[string]any)
		if c["operation"] != "refund" || c["amount"] != "0.100" || c["state"] != "refunded" || c["tracking_key"] != "inq-key" {
			t.Fatalf("child %v, want the 0.100 refund", c)
		}
	})
	t.Run("the customer and gateway are reported", func(t *testing.T) {
		if r.str("customer_email") != "test@test.com" || r.str("gateway_account") != "ottu_pg" || r.str("gateway_name") != "Ottu PG" {
			t.Fatalf("body %s", r.raw)
		}
	})
	t.Run("a pending transaction still owes its whole amount", func(t *testing.T) {
		p := h.txn("pending", "10.000", "KWD", "kpay")
		r := h.inquiry(map[string]any{"session_id": p.SessionID})
		if !strings.Contains(string(r.raw), `"remaining_amount":10.000`) {
			t.Fatalf("body %s, want remaining_amount 10.000", r.raw)
		}
	})
}
