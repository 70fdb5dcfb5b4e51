package sandbox

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestFaultValidation(t *testing.T) {
	tests := []struct {
		name  string
		fault Fault
		err   string // empty: accepted
		want  Fault  // defaults filled, when accepted
	}{
		{"a latency fault defaults to 2000 ms once", Fault{Kind: FaultLatency}, "", Fault{Kind: FaultLatency, Count: 1, LatencyMS: 2000}},
		{"an error_5xx fault defaults to 500", Fault{Kind: FaultError5xx, Operation: "refund"}, "", Fault{Kind: FaultError5xx, Count: 1, Operation: "refund", Status: 500}},
		{"a reorder fault defaults to two callbacks", Fault{Kind: FaultReorderCallbacks}, "", Fault{Kind: FaultReorderCallbacks, Count: 2}},
		{"a queue_refund fault defaults to success", Fault{Kind: FaultQueueRefund}, "", Fault{Kind: FaultQueueRefund, Count: 1, Settle: SettleSuccess}},
		{"a duplicate_callback fault defaults to two copies", Fault{Kind: FaultDuplicateCallback}, "", Fault{Kind: FaultDuplicateCallback, Count: 1, Copies: 2}},
		{"a duplicate_callback fault of 20 copies is accepted", Fault{Kind: FaultDuplicateCallback, Copies: 20}, "", Fault{Kind: FaultDuplicateCallback, Count: 1, Copies: 20}},
		{"a duplicate_callback fault of one copy is refused", Fault{Kind: FaultDuplicateCallback, Copies: 1}, "copies must be between 2", Fault{}},
		{"copies on another kind is refused", Fault{Kind: FaultLatency, Copies: 3}, "only to duplicate_callback", Fault{}},
		{"an inquiry filter is accepted", Fault{Kind: FaultDropAfterCommit, Operation: "inquiry"}, "", Fault{Kind: FaultDropAfterCommit, Count: 1, Operation: "inquiry"}},
		{"an unknown kind is refused", Fault{Kind: "chaos"}, `fault kind "chaos" is unknown`, Fault{}},
		{"a negative count is refused", Fault{Kind: FaultLatency, Count: -1}, "count must be 1 or more", Fault{}},
		{"a reorder of one callback is refused", Fault{Kind: FaultReorderCallbacks, Count: 1}, "at least 2", Fault{}},
		{"an unknown operation filter is refused", Fault{Kind: FaultError5xx, Operation: "pay"}, `operation "pay" is unknown`, Fault{}},
		{"an operation filter on a callback fault is refused", Fault{Kind: FaultDuplicateCallback, Operation: "refund"}, "cannot filter", Fault{}},
		{"a queue_refund fault for capture is refused", Fault{Kind: FaultQueueRefund, Operation: "capture"}, "cannot filter", Fault{}},
		{"a 4xx status is refused", Fault{Kind: FaultError5xx, Status: 404}, "between 500 and 599", Fault{}},
		{"a status on a latency fault is refused", Fault{Kind: FaultLatency, Status: 500}, "only to error_5xx", Fault{}},
		{"a negative latency is refused", Fault{Kind: FaultLatency, LatencyMS: -5}, "latency_ms must be between", Fault{}},
		{"latency on another kind is refused", Fault{Kind: FaultError5xx, LatencyMS: 5}, "only to latency", Fault{}},
		{"an unknown settlement is refused", Fault{Kind: FaultQueueRefund, Settle: "maybe"}, `settle must be`, Fault{}},
		{"a settlement on another kind is refused", Fault{Kind: FaultLatency, Settle: "success"}, "only to queue_refund", Fault{}},
		{"a held count from the caller is refused", Fault{Kind: FaultLatency, Held: 1}, "held is reported", Fault{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.fault.normalize()
			if tc.err == "" {
				if err != nil || got != tc.want {
					t.Fatalf("normalize = %+v, %v; want %+v", got, err, tc.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v, want ErrInvalid saying %q", err, tc.err)
			}
		})
	}
}

func TestError5xxFault(t *testing.T) {
	t.Run("the next count requests get a 500 and change nothing", func(t *testing.T) {
		h := newHarness(t)
		tr := h.txn("paid", "10.000", "KWD", "mpgs")
		if err := h.srv.AddFault(Fault{Kind: FaultError5xx, Count: 2}); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			r := h.op(map[string]any{"operation": "refund", "session_id": tr.SessionID, "amount": "1.000"}, "k5")
			wantDetail(t, r, http.StatusInternalServerError, "Server Error (500)")
		}
		if n := len(h.get(tr.SessionID).Children); n != 0 {
			t.Fatalf("%d children after 5xx answers", n)
		}
		wantStatus(t, h.op(map[string]any{"operation": "refund", "session_id": tr.SessionID, "amount": "1.000"}, "k5"), http.StatusOK)
	})
	t.Run("a chosen status and an operation filter are honoured", func(t *testing.T) {
		h := newHarness(t)
		tr := h.txn("paid", "10.000", "KWD", "mpgs")
		if err := h.srv.AddFault(Fault{Kind: FaultError5xx, Operation: "inquiry", Status: 503}); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, h.op(map[string]any{"operation": "refund", "session_id": tr.SessionID}, ""), http.StatusOK)
		if n := len(h.srv.Faults()); n != 1 {
			t.Fatalf("%d faults pending, want the inquiry one kept", n)
		}
		wantDetail(t, h.inquiry(map[string]any{"session_id": tr.SessionID}), http.StatusServiceUnavailable, "Server Error (503)")
		if n := len(h.srv.Faults()); n != 0 {
			t.Fatalf("%d faults pending, want none", n)
		}
	})
	t.Run("admin requests are not affected", func(t *testing.T) {
		h := newHarness(t)
		if err := h.srv.AddFault(Fault{Kind: FaultError5xx}); err != nil {
			t.Fatal(err)
		}
		r := h.do(http.MethodPost, "/sandbox/transactions", "", `{"amount":"1","currency_code":"KWD","state":"paid","pg_code":"mpgs"}`)
		wantStatus(t, r, http.StatusCreated)
		if n := len(h.srv.Faults()); n != 1 {
			t.Fatalf("%d faults pending, want 1", n)
		}
	})
	t.Run("requests refused before processing do not use up a fault", func(t *testing.T) {
		h := newHarness(t)
		if err := h.srv.AddFault(Fault{Kind: FaultError5xx}); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, h.do(http.MethodPost, "/b/pbl/v2/operation/", "", `{}`), http.StatusUnauthorized)
		wantStatus(t, h.op(map[string]any{"operation": "nope"}, ""), http.StatusBadRequest)
		if n := len(h.srv.Faults()); n != 1 {
			t.Fatalf("%d faults pending, want 1", n)
		}
	})
}

func TestLatencyFaultProcessesAfterTheClientLeft(t *testing.T) {
	h := newHarness(t)
	tr := h.txn("paid", "10.000", "KWD", "mpgs")
	if err := h.srv.AddFault(Fault{Kind: FaultLatency, Operation: "refund", LatencyMS: 200}); err != nil {
		t.Fatal(err)
	}
	client := *h.ts.Client() // a copy: the shared client keeps no timeout
	client.Timeout = 20 * time.Millisecond
	req, _ := http.NewRequest(http.MethodPost, h.ts.URL+"/b/pbl/v2/operation/",
		strings.NewReader(`{"operation":"refund","session_id":"`+tr.SessionID+`","amount":"2.000"}`))
	req.Header.Set("Authorization", apiKey())
	req.Header.Set("Tracking-Key", "slow-1")
	if resp, err := client.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("the client got %d before the latency ended", resp.StatusCode)
	}
	eventually(t, "the delayed refund to be made", func() bool { return len(h.get(tr.SessionID).Children) == 1 })
	r := h.op(map[string]any{"operation": "refund", "session_id": tr.SessionID, "amount": "2.000"}, "slow-1")
	wantStatus(t, r, http.StatusOK)
	if n := len(h.get(tr.SessionID).Children); n != 1 {
		t.Fatalf("%d children after the retry, want 1", n)
	}
}

func TestDropAfterCommitFault(t *testing.T) {
	h := newHarness(t)
	tr := h.txn("paid", "10.000", "KWD", "mpgs")
	if err := h.srv.AddFault(Fault{Kind: FaultDropAfterCommit}); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, h.ts.URL+"/b/pbl/v2/operation/",
		strings.NewReader(`{"operation":"refund","session_id":"`+tr.SessionID+`","amount":"4.000"}`))
	req.Header.Set("Authorization", apiKey())
	req.Header.Set("Tracking-Key", "dropped-1")
	if resp, err := h.ts.Client().Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("the client got %d, want the connection dropped", resp.StatusCode)
	}
	if c := h.get(tr.SessionID).Children; len(c) != 1 || c[0].Amount != "4.000" {
		t.Fatalf("children %+v, want the refund committed", c)
	}
	r := h.op(map[string]any{"operation": "refund", "session_id": tr.SessionID, "amount": "4.000"}, "dropped-1")
	wantStatus(t, r, http.StatusOK)
	if r.str("result") != "success" || r.str("amount") != "4.000" {
		t.Fatalf("retry %s, want the committed refund", r.raw)
	}
	if n := len(h.get(tr.SessionID).Children); n != 1 {
		t.Fatalf("%d children after the retry, want exactly 1", n)
	}
	// The line is written as the handler returns, which may follow the
	// client seeing the closed connection.
	eventually(t, "the dropped request to be marked in the log", func() bool {
		return strings.Contains(h.logs.String(), `"dropped":true`)
	})
}

func TestQueueRefundFault(t *testing.T) {
	t.Run("a queued refund answers queued, holds the balance and settles by admin call", func(t *testing.T) {
		h := newHarness(t)
		tr := h.txn("paid", "10.000", "KWD", "mpgs")
		if err := h.srv.AddFault(Fault{Kind: FaultQueueRefund}); err != nil {
			t.Fatal(err)
		}
		r := h.op(map[string]any{"operation": "refund", "session_id": tr.SessionID, "amount": "6.000"}, "q-1")
		wantStatus(t, r, http.StatusOK)
		if r.str("result") != "queued" || r.body["success"] != true || r.txnField("state") != ChildRefundQueued {
			t.Fatalf("body %s, want a queued refund", r.raw)
		}
		over := h.op(map[string]any{"operation": "refund", "session_id": tr.SessionID, "amount": "5.000"}, "")
		wantDetail(t, over, http.StatusBadRequest, "Refund amount 5.000 exceeds the refundable balance 4.000")

		replay := h.op(map[string]any{"operation": "refund", "session_id": tr.SessionID}, "q-1")
		if replay.str("result") != "queued" {
			t.Fatalf("replay before settling %s, want queued", replay.raw)
		}
		s := h.do(http.MethodPost, "/sandbox/transactions/"+tr.SessionID+"/settle", "", `{"tracking_key":"q-1","result":"success"}`)
		wantStatus(t, s, http.StatusOK)
		replay = h.op(map[string]any{"operation": "refund", "session_id": tr.SessionID}, "q-1")
		if replay.str("result") != "success" || replay.txnField("state") != ChildRefunded || replay.str("amount") != "6.000" {
			t.Fatalf("replay after settling %s, want the refund settled", replay.raw)
		}
	})
	t.Run("a rejected queued refund frees the balance", func(t *testing.T) {
		h := newHarness(t)
		tr := h.txn("paid", "10.000", "KWD", "mpgs")
		if err := h.srv.AddFault(Fault{Kind: FaultQueueRefund, Settle: SettleRejected, SettleAfterMS: 1}); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, h.op(map[string]any{"operation": "refund", "session_id": tr.SessionID}, "q-2"), http.StatusOK)
		eventually(t, "the queued refund to settle", func() bool {
			c := h.get(tr.SessionID).Children
			return len(c) == 1 && c[0].State == ChildRefundRejected
		})
		replay := h.op(map[string]any{"operation": "refund", "session_id": tr.SessionID}, "q-2")
		if replay.str("result") != "rejected" || replay.body["success"] != false {
			t.Fatalf("replay %s, want rejected and success false", replay.raw)
		}
		r := h.op(map[string]any{"operation": "refund", "session_id": tr.SessionID}, "")
		wantStatus(t, r, http.StatusOK)
		if r.str("amount") != "10.000" || r.str("result") != "success" {
			t.Fatalf("body %s, want the whole 10.000 refundable again", r.raw)
		}
	})
	t.Run("a queued refund settles on its own after the configured delay", func(t *testing.T) {
		h := newHarness(t, func(c *Config) { c.QueueSettleDelay = time.Millisecond })
		tr := h.txn("paid", "10.000", "KWD", "mpgs")
		if err := h.srv.AddFault(Fault{Kind: FaultQueueRefund}); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, h.op(map[string]any{"operation": "refund", "session_id": tr.SessionID, "amount": "1.000"}, ""), http.StatusOK)
		eventually(t, "the queued refund to settle", func() bool {
			got := h.get(tr.SessionID)
			return got.RefundedAmount == "1.000" && got.QueuedRefundAmount == "0.000"
		})
	})
	t.Run("a rejected refund does not use up the fault", func(t *testing.T) {
		h := newHarness(t)
		tr := h.txn("paid", "10.000", "KWD", "mpgs")
		if err := h.srv.AddFault(Fault{Kind: FaultQueueRefund}); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, h.op(map[string]any{"operation": "refund", "session_id": tr.SessionID, "amount": "11.000"}, ""), http.StatusBadRequest)
		r := h.op(map[string]any{"operation": "refund", "session_id": tr.SessionID, "amount": "1.000"}, "")
		if r.str("result") != "queued" {
			t.Fatalf("body %s, want the fault to queue this refund", r.raw)
		}
	})
}

func TestDuplicateCallbackFault(t *testing.T) {
	h := newHarness(t)
	rc := newReceiver(t, always(200))
	tr := h.txn("paid", "10.000", "KWD", "mpgs")
	if err := h.srv.AddFault(Fault{Kind: FaultDuplicateCallback}); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, h.inquiry(map[string]any{"session_id": tr.SessionID, "disclose_to_merchant": true, "disclosure_url": rc.ts.URL}), http.StatusOK)
	cbs := settled(t, h, tr.SessionID, 2)
	got := rc.received()
	if len(got) != 2 || string(got[0]) != string(got[1]) {
		t.Fatalf("received %d callbacks, want the same one twice", len(got))
	}
	for _, cb := range cbs {
		if cb.Outcome != OutcomeDelivered {
			t.Fatalf("callback %+v, want delivered", cb)
		}
	}
	wantStatus(t, h.inquiry(map[string]any{"session_id": tr.SessionID, "disclose_to_merchant": true, "disclosure_url": rc.ts.URL}), http.StatusOK)
	settled(t, h, tr.SessionID, 3)

	t.Run("copies delivers the callback that many times", func(t *testing.T) {
		rc := newReceiver(t, always(200))
		tr := h.txn("paid", "10.000", "KWD", "mpgs")
		if err := h.srv.AddFault(Fault{Kind: FaultDuplicateCallback, Copies: 5}); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, h.inquiry(map[string]any{"session_id": tr.SessionID, "disclose_to_merchant": true, "disclosure_url": rc.ts.URL}), http.StatusOK)
		settled(t, h, tr.SessionID, 5)
		if got := rc.received(); len(got) != 5 || string(got[0]) != string(got[4]) {
			t.Fatalf("received %d callbacks, want the same one 5 times", len(got))
		}
	})
}

func TestReorderCallbacksFault(t *testing.T) {
	h := newHarness(t)
	rc := newReceiver(t, always(200))
	if err := h.srv.AddFault(Fault{Kind: FaultReorderCallbacks, Count: 3}); err != nil {
		t.Fatal(err)
	}
	var order []string
	for i := range 3 {
		tr := h.txn("pending", "1.000", "KWD", "kpay")
		order = append(order, tr.SessionID)
		wantStatus(t, h.inquiry(map[string]any{"session_id": tr.SessionID, "disclose_to_merchant": true, "disclosure_url": rc.ts.URL}), http.StatusOK)
		if i < 2 {
			if f := h.srv.Faults(); len(f) != 1 || f[0].Held != i+1 {
				t.Fatalf("faults %+v, want the reorder fault holding %d", f, i+1)
			}
			if rc.callCount() != 0 {
				t.Fatal("a held callback was delivered early")
			}
		}
	}
	eventually(t, "the held callbacks to arrive", func() bool { return len(rc.received()) == 3 })
	for i, body := range rc.received() {
		var p map[string]any
		if err := json.Unmarshal(body, &p); err != nil {
			t.Fatal(err)
		}
		if want := order[2-i]; p["session_id"] != want {
			t.Fatalf("callback %d is for %v, want %s (newest first)", i+1, p["session_id"], want)
		}
	}
	if n := len(h.srv.Faults()); n != 0 {
		t.Fatalf("%d faults left, want none", n)
	}
}

func TestClearingFaultsReleasesHeldCallbacks(t *testing.T) {
	h := newHarness(t)
	rc := newReceiver(t, always(200))
	if err := h.srv.AddFault(Fault{Kind: FaultReorderCallbacks, Count: 5}); err != nil {
		t.Fatal(err)
	}
	tr := h.txn("pending", "1.000", "KWD", "kpay")
	wantStatus(t, h.inquiry(map[string]any{"session_id": tr.SessionID, "disclose_to_merchant": true, "disclosure_url": rc.ts.URL}), http.StatusOK)
	r := h.do(http.MethodDelete, "/sandbox/faults", "", "")
	wantStatus(t, r, http.StatusOK)
	if r.body["cleared"] != float64(1) {
		t.Fatalf("body %s, want one fault cleared", r.raw)
	}
	settled(t, h, tr.SessionID, 1)
}

func TestFaultsAdminAPI(t *testing.T) {
	h := newHarness(t)
	r := h.do(http.MethodPost, "/sandbox/faults", "", `{"kind":"latency","count":2,"operation":"refund","latency_ms":5}`)
	wantStatus(t, r, http.StatusCreated)
	if r.str("kind") != "latency" || r.body["count"] != float64(2) {
		t.Fatalf("body %s, want the fault back", r.raw)
	}
	tests := []struct {
		name, body, detail string
	}{
		{"an unknown kind is refused", `{"kind":"boom"}`, "fault kind \"boom\" is unknown"},
		{"an unknown field is refused", `{"kind":"latency","delay":5}`, `Unknown field "delay"`},
		{"a count given as text is refused", `{"kind":"latency","count":"2"}`, "count must be a JSON number"},
		{"an empty body is refused", ``, "The body is empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := h.do(http.MethodPost, "/sandbox/faults", "", tc.body)
			wantStatus(t, r, http.StatusBadRequest)
			if !strings.Contains(r.str("detail"), tc.detail) {
				t.Fatalf("detail %q, want it to say %q", r.str("detail"), tc.detail)
			}
		})
	}
	list := h.do(http.MethodGet, "/sandbox/faults", "", "")
	wantStatus(t, list, http.StatusOK)
	faults, _ := list.body["faults"].([]any)
	if len(faults) != 1 {
		t.Fatalf("listing %s, want one fault", list.raw)
	}
	wantStatus(t, h.do(http.MethodPut, "/sandbox/faults", "", ""), http.StatusMethodNotAllowed)
	wantStatus(t, h.do(http.MethodDelete, "/sandbox/faults", "", ""), http.StatusOK)
	if n := len(h.srv.Faults()); n != 0 {
		t.Fatalf("%d faults after clearing", n)
	}
}
