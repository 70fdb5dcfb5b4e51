package sandbox

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
)

func TestInternalOperationsFollowTheStateTable(t *testing.T) {
	h := newHarness(t)
	// Ottu's table, written out here rather than read from the code.
	allowed := map[string][]string{
		"cancel": {"created", "pending", "attempted", "cod"},
		"expire": {"created", "pending", "attempted"},
		"delete": States,
	}
	after := map[string]string{"cancel": StateCanceled, "expire": StateExpired}
	for _, op := range []string{"cancel", "expire", "delete"} {
		for _, state := range States {
			ok := slices.Contains(allowed[op], state)
			verdict := "is rejected"
			if ok {
				verdict = "is done"
			}
			t.Run(fmt.Sprintf("%s of a %s transaction %s", op, state, verdict), func(t *testing.T) {
				tr := h.txn(state, "10.000", "KWD", "kpay")
				r := h.op(map[string]any{"operation": op, "session_id": tr.SessionID}, "")
				if !ok {
					wantStatus(t, r, http.StatusBadRequest)
					prefix := fmt.Sprintf("Operation %s is not allowed for a transaction in state %s", op, state)
					if !strings.HasPrefix(r.str("detail"), prefix) || r.str("result") != "failed" {
						t.Fatalf("body %s, want detail starting %q and result failed", r.raw, prefix)
					}
					if got := h.get(tr.SessionID).State; got != state {
						t.Fatalf("state changed to %s on a rejection", got)
					}
					return
				}
				wantStatus(t, r, http.StatusOK)
				if r.str("message") != "Operation done successfully" || r.str("result") != "success" {
					t.Fatalf("body %s, want Ottu's internal success", r.raw)
				}
				if want, changes := after[op]; changes {
					if got := h.get(tr.SessionID).State; got != want {
						t.Fatalf("state %s, want %s", got, want)
					}
				}
			})
		}
	}
}

func TestExternalOperationsFollowTheStateTable(t *testing.T) {
	h := newHarness(t)
	allowed := map[string][]string{
		"capture": {"authorized"},
		"void":    {"authorized"},
		"refund":  {"paid"},
	}
	childState := map[string]string{"capture": ChildPaid, "void": ChildVoided, "refund": ChildRefunded}
	for _, op := range []string{"capture", "void", "refund"} {
		for _, state := range States {
			ok := slices.Contains(allowed[op], state)
			verdict := "is rejected"
			if ok {
				verdict = "makes a child"
			}
			t.Run(fmt.Sprintf("%s of a %s transaction %s", op, state, verdict), func(t *testing.T) {
				tr := h.txn(state, "10.000", "KWD", "ottu_pg")
				r := h.op(map[string]any{"operation": op, "session_id": tr.SessionID}, "")
				after := h.get(tr.SessionID)
				if !ok {
					wantStatus(t, r, http.StatusBadRequest)
					if r.str("result") != "failed" || r.str("detail") == "" {
						t.Fatalf("body %s, want a failed result with a detail", r.raw)
					}
					if len(after.Children) != 0 {
						t.Fatalf("a rejection made children: %+v", after.Children)
					}
					return
				}
				wantStatus(t, r, http.StatusOK)
				if len(after.Children) != 1 || after.Children[0].State != childState[op] {
					t.Fatalf("children %+v, want one in state %s", after.Children, childState[op])
				}
				if after.State != state || after.Amount != "10.000" {
					t.Fatalf("parent became %s %s; an external operation must not change it", after.State, after.Amount)
				}
				if r.txnField("state") != childState[op] || r.txnField("amount") != "10.000" {
					t.Fatalf("txn in answer %v, want state %s amount 10.000", r.body["txn"], childState[op])
				}
			})
		}
	}
}

func TestGatewaysSupportOnlyTheirOperations(t *testing.T) {
	h := newHarness(t)
	// Seed 000's table.
	supported := map[string][]string{
		"capture": {"mpgs", "tabby", "ottu_pg"},
		"refund":  {"benefit", "fss", "kpay", "mpgs", "myfatoorah", "ngenius", "payuindia", "qpay", "tabby", "ottu_pg"},
		"void":    {"mpgs", "ottu_pg"},
	}
	stateFor := map[string]string{"capture": "authorized", "void": "authorized", "refund": "paid"}
	for _, op := range []string{"capture", "refund", "void"} {
		for _, pg := range PGCodes() {
			ok := slices.Contains(supported[op], pg)
			verdict := "is refused"
			if ok {
				verdict = "is supported"
			}
			t.Run(fmt.Sprintf("%s on %s %s", op, pg, verdict), func(t *testing.T) {
				tr := h.txn(stateFor[op], "5.000", "KWD", pg)
				r := h.op(map[string]any{"operation": op, "session_id": tr.SessionID}, "")
				if ok {
					wantStatus(t, r, http.StatusOK)
					if r.str("pg_code") != pg {
						t.Fatalf("pg_code %q, want %q", r.str("pg_code"), pg)
					}
					return
				}
				wantDetail(t, r, http.StatusBadRequest, fmt.Sprintf("Payment gateway %s does not support the %s operation", pg, op))
			})
		}
	}
	for _, pg := range PGCodes() {
		t.Run(fmt.Sprintf("cancel on %s works like on every gateway", pg), func(t *testing.T) {
			tr := h.txn("pending", "5.000", "KWD", pg)
			wantStatus(t, h.op(map[string]any{"operation": "cancel", "session_id": tr.SessionID}, ""), http.StatusOK)
		})
	}
}

// step is one operation in a sequence and what it must answer.
type step struct {
	op, amount string
	status     int
	want       string // child amount on success, detail on failure
}

func runSteps(t *testing.T, h *harness, sessionID string, steps []step) {
	t.Helper()
	for i, s := range steps {
		body := map[string]any{"operation": s.op, "session_id": sessionID}
		if s.amount != "" {
			body["amount"] = s.amount
		}
		r := h.op(body, "")
		if r.status != s.status {
			t.Fatalf("step %d (%s %s): status %d, want %d; body %s", i+1, s.op, s.amount, r.status, s.status, r.raw)
		}
		got := r.str("amount")
		if s.status != http.StatusOK {
			got = r.str("detail")
		}
		if got != s.want {
			t.Fatalf("step %d (%s %s): got %q, want %q", i+1, s.op, s.amount, got, s.want)
		}
	}
}

func TestBalancesLimitPartialOperations(t *testing.T) {
	tests := []struct {
		name  string
		state string
		steps []step
	}{
		{
			name:  "three partial refunds of a paid 10.000 KWD stop at the balance",
			state: "paid",
			steps: []step{
				{"refund", "4.000", 200, "4.000"},
				{"refund", "4", 200, "4.000"},
				{"refund", "4.000", 400, "Refund amount 4.000 exceeds the refundable balance 2.000"},
				{"refund", "", 200, "2.000"},
				{"refund", "0.001", 400, "The transaction has been fully refunded (10.000 KWD); nothing is left to refund"},
			},
		},
		{
			name:  "partial captures then refunds are limited to what was captured",
			state: "authorized",
			steps: []step{
				{"refund", "1.000", 400, "Refund is not allowed for an authorized transaction with nothing captured; capture it first, or void it"},
				{"capture", "3.000", 200, "3.000"},
				{"capture", "2.5", 200, "2.500"},
				{"capture", "4.501", 400, "Capture amount 4.501 exceeds the capturable balance 4.500"},
				{"refund", "5.501", 400, "Refund amount 5.501 exceeds the refundable balance 5.500"},
				{"refund", "5.500", 200, "5.500"},
				{"refund", "", 400, "The transaction has been fully refunded (5.500 KWD); nothing is left to refund"},
				{"capture", "", 200, "4.500"},
				{"capture", "1", 400, "The transaction has been fully captured (10.000 KWD); nothing is left to capture"},
				{"refund", "", 200, "4.500"},
			},
		},
		{
			name:  "a void before any capture takes the whole amount and ends the authorization",
			state: "authorized",
			steps: []step{
				{"void", "3.000", 200, "10.000"},
				{"void", "", 400, "The transaction has already been voided"},
				{"capture", "1.000", 400, "The authorization has been voided; nothing can be captured"},
				{"refund", "1.000", 400, "Refund is not allowed for an authorized transaction with nothing captured; capture it first, or void it"},
			},
		},
		{
			name:  "a void after a capture is rejected",
			state: "authorized",
			steps: []step{
				{"capture", "1.000", 200, "1.000"},
				{"void", "", 400, "Void is not allowed after a capture; refund the captured amount instead"},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			tr := h.txn(tc.state, "10.000", "KWD", "mpgs")
			runSteps(t, h, tr.SessionID, tc.steps)
		})
	}
	t.Run("a refund with more decimals than USD has is rejected and 2-decimal amounts are formatted", func(t *testing.T) {
		h := newHarness(t)
		tr := h.txn("paid", "19", "USD", "mpgs")
		runSteps(t, h, tr.SessionID, []step{
			{"refund", "1.005", 400, "Amount 1.005 has more decimal places than USD allows (2)"},
			{"refund", "1.5", 200, "1.50"},
			{"refund", "", 200, "17.50"},
		})
	})
	t.Run("a JPY refund has no decimals", func(t *testing.T) {
		h := newHarness(t)
		tr := h.txn("paid", "1000", "JPY", "mpgs")
		runSteps(t, h, tr.SessionID, []step{
			{"refund", "0.5", 400, "Amount 0.5 has more decimal places than JPY allows (0)"},
			{"refund", "300", 200, "300"},
		})
	})
}

func TestForeignCurrencyPaymentsRefuseExternalOperations(t *testing.T) {
	h := newHarness(t)
	for _, op := range []string{"capture", "refund", "void"} {
		t.Run(op+" of a payment made in another currency is rejected", func(t *testing.T) {
			state := "authorized"
			if op == "refund" {
				state = "paid"
			}
			tr := h.create(TransactionSpec{Amount: "10.000", CurrencyCode: "KWD", PaidCurrencyCode: "USD", State: state, PGCode: "mpgs"})
			r := h.op(map[string]any{"operation": op, "session_id": tr.SessionID}, "")
			wantDetail(t, r, http.StatusBadRequest, "Operations are not working for foreign currencies: the customer paid in USD and the transaction is in KWD")
			if n := len(h.get(tr.SessionID).Children); n != 0 {
				t.Fatalf("%d children after a rejection", n)
			}
		})
	}
	t.Run("cancel of a pending foreign-currency payment still works", func(t *testing.T) {
		tr := h.create(TransactionSpec{Amount: "10.000", CurrencyCode: "KWD", PaidCurrencyCode: "USD", State: "pending", PGCode: "mpgs"})
		wantStatus(t, h.op(map[string]any{"operation": "cancel", "session_id": tr.SessionID}, ""), http.StatusOK)
	})
}

func TestDeleteIsSoftForMoneyAndHardOtherwise(t *testing.T) {
	tests := []struct {
		state string
		soft  bool
	}{
		{"paid", true}, {"authorized", true}, {"cod", true},
		{"created", false}, {"pending", false}, {"failed", false}, {"canceled", false}, {"refunded", false},
	}
	h := newHarness(t)
	for _, tc := range tests {
		kind := "hard"
		if tc.soft {
			kind = "soft"
		}
		t.Run(fmt.Sprintf("deleting a %s transaction is a %s delete", tc.state, kind), func(t *testing.T) {
			tr := h.create(TransactionSpec{OrderNo: "del-" + tc.state, Amount: "3.000", CurrencyCode: "KWD", State: tc.state, PGCode: "mpgs"})
			wantStatus(t, h.op(map[string]any{"operation": "delete", "order_no": tr.OrderNo}, ""), http.StatusOK)

			wantDetail(t, h.op(map[string]any{"operation": "delete", "session_id": tr.SessionID}, ""), http.StatusNotFound, "Not found.")
			wantDetail(t, h.op(map[string]any{"operation": "refund", "order_no": tr.OrderNo}, ""), http.StatusNotFound, "Not found.")
			wantDetail(t, h.inquiry(map[string]any{"session_id": tr.SessionID}), http.StatusNotFound, "No payment attempts found for this Lookup")

			admin := h.do(http.MethodGet, "/sandbox/transactions/"+tr.SessionID, "", "")
			if tc.soft {
				wantStatus(t, admin, http.StatusOK)
				if admin.str("deleted") != "soft" || admin.str("state") != tc.state {
					t.Fatalf("admin view %s, want deleted soft and state kept", admin.raw)
				}
				return
			}
			wantStatus(t, admin, http.StatusNotFound)
		})
	}
}

func TestTransactionLookup(t *testing.T) {
	h := newHarness(t)
	a := h.create(TransactionSpec{OrderNo: "order-a", Amount: "5.000", CurrencyCode: "KWD", State: "paid", PGCode: "mpgs"})
	b := h.create(TransactionSpec{OrderNo: "order-b", Amount: "5.000", CurrencyCode: "KWD", State: "paid", PGCode: "mpgs"})
	tests := []struct {
		name   string
		body   map[string]any
		status int
		detail string
	}{
		{"an order number alone finds the transaction", map[string]any{"order_no": a.OrderNo}, 200, ""},
		{"a session id alone finds the transaction", map[string]any{"session_id": a.SessionID}, 200, ""},
		{"both ids of the same transaction find it", map[string]any{"session_id": a.SessionID, "order_no": a.OrderNo}, 200, ""},
		{"ids of two different transactions find nothing", map[string]any{"session_id": a.SessionID, "order_no": b.OrderNo}, 404, "Not found."},
		{"an unknown session id finds nothing", map[string]any{"session_id": "no-such-session"}, 404, "Not found."},
		{"a known session id with an unknown order number finds nothing", map[string]any{"session_id": a.SessionID, "order_no": "nope"}, 404, "Not found."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := map[string]any{"operation": "refund", "amount": "0.001"}
			for k, v := range tc.body {
				body[k] = v
			}
			r := h.op(body, "")
			if tc.status == http.StatusOK {
				wantStatus(t, r, http.StatusOK)
				return
			}
			wantDetail(t, r, tc.status, tc.detail)
			if r.str("result") != "failed" {
				t.Fatalf("result %q, want failed", r.str("result"))
			}
		})
	}
	t.Run("an unknown order number on v1 does not exist", func(t *testing.T) {
		r := h.do(http.MethodPost, "/b/pbl/v1/operation/missing-order", basic("admin", testPassword), `{"operation":"refund"}`)
		wantDetail(t, r, http.StatusNotFound, "Order number does not exist")
	})
	t.Run("a v1 refund by order number in the path works with Basic", func(t *testing.T) {
		r := h.do(http.MethodPost, "/b/pbl/v1/operation/"+b.OrderNo+"/", basic("refunder", testPassword), `{"operation":"refund","amount":"1.250"}`)
		wantStatus(t, r, http.StatusOK)
		if r.str("amount") != "1.250" || r.txnField("state") != ChildRefunded {
			t.Fatalf("body %s, want a 1.250 refund", r.raw)
		}
	})
}

func TestAmountIsIgnoredWhereItDoesNotCount(t *testing.T) {
	h := newHarness(t)
	tests := []struct {
		name, op, state, amount string
		childAmount             string
	}{
		{"a negative amount on cancel is ignored", "cancel", "pending", "-5", ""},
		{"an amount on expire is ignored", "expire", "attempted", "1.000", ""},
		{"an amount on void is ignored and the whole amount is voided", "void", "authorized", "1.000", "10.000"},
		{"a zero amount on delete is ignored", "delete", "failed", "0", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := h.txn(tc.state, "10.000", "KWD", "mpgs")
			r := h.op(map[string]any{"operation": tc.op, "session_id": tr.SessionID, "amount": tc.amount}, "")
			wantStatus(t, r, http.StatusOK)
			if tc.childAmount != "" && r.str("amount") != tc.childAmount {
				t.Fatalf("amount %q, want %q", r.str("amount"), tc.childAmount)
			}
		})
	}
}

func TestExternalAnswerHasTheSeedsShape(t *testing.T) {
	var seeds []map[string]any
	readFixture(t, "seed_operation_responses.json", &seeds)
	h := newHarness(t)
	for _, seed := range seeds {
		op := seed["operation"].(string)
		t.Run(op+" answers with every field of the seed's example", func(t *testing.T) {
			state := map[string]string{"capture": "authorized", "void": "authorized", "refund": "paid"}[op]
			tr := h.txn(state, "19.00", "SAR", "mpgs")
			r := h.op(map[string]any{"operation": op, "session_id": tr.SessionID, "extra": map[string]any{"note": "x"}}, "")
			wantStatus(t, r, http.StatusOK)
			if got, want := keys(r.body), keys(seed); !slices.Equal(got, want) {
				t.Fatalf("keys %v, want the seed's %v", got, want)
			}
			txn, _ := r.body["txn"].(map[string]any)
			if got, want := keys(txn), keys(seed["txn"].(map[string]any)); !slices.Equal(got, want) {
				t.Fatalf("txn keys %v, want the seed's %v", got, want)
			}
			if r.str("result") != "success" || r.body["success"] != true || r.body["is_sandbox"] != true || r.str("source") != "input" {
				t.Fatalf("body %s, want a successful sandbox answer", r.raw)
			}
			if len(r.str("timestamp_utc")) != len("2023-07-24 09:47:07") || strings.Contains(r.str("timestamp_utc"), "T") {
				t.Fatalf("timestamp_utc %q, want YYYY-MM-DD HH:MM:SS", r.str("timestamp_utc"))
			}
			if r.txnField("currency_code") != "SAR" || len(r.txnField("session_id")) != 40 {
				t.Fatalf("txn %v, want SAR and a 40-character child session id", txn)
			}
			if extra, _ := txn["extra"].(map[string]any); extra["note"] != "x" {
				t.Fatalf("txn.extra %v, want the request's extra", txn["extra"])
			}
		})
	}
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func TestTrackingKeyReplaysTheOriginalOperation(t *testing.T) {
	t.Run("the same key with another amount, operation and transaction answers the original", func(t *testing.T) {
		h := newHarness(t)
		tr := h.txn("paid", "10.000", "KWD", "mpgs")
		other := h.txn("authorized", "10.000", "KWD", "mpgs")
		first := h.op(map[string]any{"operation": "refund", "session_id": tr.SessionID, "amount": "2.000"}, "key-1")
		wantStatus(t, first, http.StatusOK)
		again := h.op(map[string]any{"operation": "capture", "session_id": other.SessionID, "amount": "7.000"}, "key-1")
		wantStatus(t, again, http.StatusOK)
		if again.str("operation") != "refund" || again.str("amount") != "2.000" || again.txnField("session_id") != first.txnField("session_id") {
			t.Fatalf("replay %s, want the original refund %s", again.raw, first.raw)
		}
		if n := len(h.get(tr.SessionID).Children) + len(h.get(other.SessionID).Children); n != 1 {
			t.Fatalf("%d children in all, want 1", n)
		}
		eventually(t, "the replay to be marked in the request log", func() bool {
			return strings.Contains(h.logs.String(), `"replayed":true`)
		})
	})
	t.Run("a replay answers even for an unknown transaction", func(t *testing.T) {
		h := newHarness(t)
		tr := h.txn("paid", "10.000", "KWD", "mpgs")
		wantStatus(t, h.op(map[string]any{"operation": "refund", "session_id": tr.SessionID}, "key-2"), http.StatusOK)
		r := h.op(map[string]any{"operation": "refund", "session_id": "unknown"}, "key-2")
		wantStatus(t, r, http.StatusOK)
		if r.str("amount") != "10.000" {
			t.Fatalf("amount %q, want the original 10.000", r.str("amount"))
		}
	})
	t.Run("a failed attempt stores nothing so the same key works later", func(t *testing.T) {
		h := newHarness(t)
		tr := h.txn("paid", "10.000", "KWD", "mpgs")
		wantStatus(t, h.op(map[string]any{"operation": "refund", "session_id": tr.SessionID, "amount": "11.000"}, "key-3"), http.StatusBadRequest)
		r := h.op(map[string]any{"operation": "refund", "session_id": tr.SessionID, "amount": "3.000"}, "key-3")
		wantStatus(t, r, http.StatusOK)
		if r.str("amount") != "3.000" {
			t.Fatalf("amount %q, want a new 3.000 refund", r.str("amount"))
		}
		if c := h.get(tr.SessionID).Children; len(c) != 1 || c[0].TrackingKey != "key-3" {
			t.Fatalf("children %+v, want one holding key-3", c)
		}
	})
	t.Run("a key sent with cancel is ignored and stays free", func(t *testing.T) {
		h := newHarness(t)
		pending := h.txn("pending", "10.000", "KWD", "mpgs")
		paid := h.txn("paid", "10.000", "KWD", "mpgs")
		wantStatus(t, h.op(map[string]any{"operation": "cancel", "session_id": pending.SessionID}, "key-4"), http.StatusOK)
		r := h.op(map[string]any{"operation": "refund", "session_id": paid.SessionID, "amount": "1.000"}, "key-4")
		wantStatus(t, r, http.StatusOK)
		if r.str("operation") != "refund" {
			t.Fatalf("operation %q, want a fresh refund", r.str("operation"))
		}
	})
	t.Run("without a key every request is a new operation", func(t *testing.T) {
		h := newHarness(t)
		tr := h.txn("paid", "10.000", "KWD", "mpgs")
		for range 2 {
			wantStatus(t, h.op(map[string]any{"operation": "refund", "session_id": tr.SessionID, "amount": "1.000"}, ""), http.StatusOK)
		}
		if n := len(h.get(tr.SessionID).Children); n != 2 {
			t.Fatalf("%d children, want 2", n)
		}
	})
}

func TestFiftyConcurrentRefundsWithOneKeyMakeOneChild(t *testing.T) {
	h := newHarness(t)
	tr := h.txn("paid", "100.000", "KWD", "mpgs")
	const n = 50
	var wg sync.WaitGroup
	results := make([]response, n)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			results[i] = h.op(map[string]any{"operation": "refund", "session_id": tr.SessionID, "amount": "5.000"}, "same-key")
		})
	}
	close(start)
	wg.Wait()
	child := results[0].txnField("session_id")
	for i, r := range results {
		if r.status != http.StatusOK || r.txnField("session_id") != child || r.str("amount") != "5.000" {
			t.Fatalf("request %d answered %d %s, want the one child %s", i, r.status, r.raw, child)
		}
	}
	got := h.get(tr.SessionID)
	if len(got.Children) != 1 || got.RefundedAmount != "5.000" {
		t.Fatalf("children %+v refunded %s, want exactly one 5.000 refund", got.Children, got.RefundedAmount)
	}
}

func TestConcurrentRefundsNeverExceedTheBalance(t *testing.T) {
	h := newHarness(t)
	tr := h.txn("paid", "10.000", "KWD", "mpgs")
	const n = 25
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	for i := range n {
		wg.Go(func() {
			r := h.op(map[string]any{"operation": "refund", "session_id": tr.SessionID, "amount": "1.000"}, fmt.Sprintf("k-%d", i))
			mu.Lock()
			statuses[r.status]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if statuses[http.StatusOK] != 10 || statuses[http.StatusBadRequest] != n-10 {
		t.Fatalf("statuses %v, want 10 accepted and %d rejected", statuses, n-10)
	}
	if got := h.get(tr.SessionID).RefundedAmount; got != "10.000" {
		t.Fatalf("refunded %s, want 10.000", got)
	}
}
