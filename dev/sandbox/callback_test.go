package sandbox

import (
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ottuops/ottu-lambda/shared/ottu"
)

// receiver is a merchant endpoint that records callbacks; answer decides
// each reply by call number (1-based): a status, or 0 to hang until the
// sandbox gives up.
type receiver struct {
	ts      *httptest.Server
	mu      sync.Mutex
	bodies  [][]byte
	calls   int
	answer  func(call int) int
	release chan struct{}
}

func newReceiver(t *testing.T, answer func(call int) int) *receiver {
	t.Helper()
	rc := &receiver{answer: answer, release: make(chan struct{})}
	rc.ts = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.calls++
		call := rc.calls
		rc.mu.Unlock()
		status := rc.answer(call)
		if status == 0 {
			select {
			case <-r.Context().Done():
			case <-rc.release:
			}
			return
		}
		rc.mu.Lock()
		rc.bodies = append(rc.bodies, body)
		rc.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(func() {
		close(rc.release)
		rc.ts.Close()
	})
	return rc
}

func (rc *receiver) received() [][]byte {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.bodies)
}

func (rc *receiver) callCount() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.calls
}

func always(status int) func(int) int { return func(int) int { return status } }

// settled waits until the transaction's callbacks are no longer pending.
func settled(t *testing.T, h *harness, sessionID string, want int) []Callback {
	t.Helper()
	var cbs []Callback
	eventually(t, "callbacks to finish", func() bool {
		cbs = h.get(sessionID).Callbacks
		if len(cbs) != want {
			return false
		}
		for _, cb := range cbs {
			if cb.Outcome == OutcomePending {
				return false
			}
		}
		return true
	})
	return cbs
}

func TestDisclosureCallbacks(t *testing.T) {
	tests := []struct {
		name     string
		answer   func(int) int
		outcome  string
		attempts int
		codes    []int
	}{
		{"a 200 answer delivers the callback", always(200), OutcomeDelivered, 1, []int{200}},
		{"a 201 answer delivers the callback", always(201), OutcomeDelivered, 1, []int{201}},
		{"a 500 answer fails the callback without a retry", always(500), OutcomeFailed, 1, []int{500}},
		{"a 204 answer is not what Ottu accepts", always(204), OutcomeFailed, 1, []int{204}},
		{"time-outs are retried until an answer", func(call int) int {
			if call <= 2 {
				return 0
			}
			return 200
		}, OutcomeDelivered, 3, []int{200}},
		{"a time-out then a 400 fails", func(call int) int {
			if call == 1 {
				return 0
			}
			return 400
		}, OutcomeFailed, 2, []int{400}},
		{"a receiver that never answers times out after every retry", always(0), OutcomeTimedOut, 3, []int{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			rc := newReceiver(t, tc.answer)
			tr := h.txn("paid", "10.000", "KWD", "mpgs")
			r := h.inquiry(map[string]any{"session_id": tr.SessionID, "disclose_to_merchant": true, "disclosure_url": rc.ts.URL + "/hook"})
			wantStatus(t, r, http.StatusOK)
			cbs := settled(t, h, tr.SessionID, 1)
			cb := cbs[0]
			if cb.Outcome != tc.outcome || cb.Attempts != tc.attempts || !slices.Equal(cb.StatusCodes, tc.codes) {
				t.Fatalf("callback %+v, want outcome %s after %d attempts with codes %v", cb, tc.outcome, tc.attempts, tc.codes)
			}
			if rc.callCount() != tc.attempts {
				t.Fatalf("the receiver saw %d calls, want %d", rc.callCount(), tc.attempts)
			}
			if cb.FirstSentAt == nil || cb.URL != rc.ts.URL+"/hook" {
				t.Fatalf("callback %+v, want first_sent_at and the URL", cb)
			}
			if tc.outcome != OutcomeDelivered && cb.Error == "" {
				t.Fatal("an undelivered callback does not say why")
			}
			if got := rc.received(); len(got) > 0 && string(got[0]) != string(r.raw) {
				t.Fatalf("callback body %s differs from the inquiry answer %s", got[0], r.raw)
			}
		})
	}
}

func TestDisclosedPayloadVerifies(t *testing.T) {
	h := newHarness(t)
	rc := newReceiver(t, always(200))
	tr := h.create(TransactionSpec{OrderNo: "hook-1", Amount: "86.000", CurrencyCode: "KWD", State: "authorized", PGCode: "mpgs",
		CustomerFirstName: "example-customer", WebhookURL: rc.ts.URL})
	t.Run("the URL stored at creation is used when the request has none", func(t *testing.T) {
		wantStatus(t, h.inquiry(map[string]any{"order_no": "hook-1", "disclose_to_merchant": "True"}), http.StatusOK)
		settled(t, h, tr.SessionID, 1)
		got := rc.received()
		if len(got) != 1 {
			t.Fatalf("%d callbacks received, want 1", len(got))
		}
		f, err := ottu.ParseCallback(got[0], "application/json")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ottu.Verify(f, testWebhookKey); err != nil {
			t.Fatalf("the delivered callback does not verify: %v", err)
		}
		if f["session_id"] != tr.SessionID || f["state"] != "authorized" {
			t.Fatalf("payload %v, want the authorized transaction", f)
		}
	})
	t.Run("without disclose_to_merchant nothing is sent", func(t *testing.T) {
		wantStatus(t, h.inquiry(map[string]any{"order_no": "hook-1", "disclosure_url": rc.ts.URL}), http.StatusOK)
		if n := len(h.get(tr.SessionID).Callbacks); n != 1 {
			t.Fatalf("%d callbacks recorded, want still 1", n)
		}
	})
}

func TestCallbackToAClosedPortFails(t *testing.T) {
	h := newHarness(t)
	gone := httptest.NewServer(http.NotFoundHandler())
	url := gone.URL
	gone.Close()
	tr := h.txn("pending", "1.000", "KWD", "kpay")
	wantStatus(t, h.inquiry(map[string]any{"session_id": tr.SessionID, "disclose_to_merchant": true, "disclosure_url": url}), http.StatusOK)
	cb := settled(t, h, tr.SessionID, 1)[0]
	if cb.Outcome != OutcomeFailed || cb.Attempts != 1 || cb.Error == "" {
		t.Fatalf("callback %+v, want one failed attempt with a reason", cb)
	}
}

func TestCallbackURLCredentialsAreRedacted(t *testing.T) {
	h := newHarness(t)
	rc := newReceiver(t, always(200))
	tr := h.txn("pending", "1.000", "KWD", "kpay")
	target := "http://hookuser:hook-secret-77@" + rc.ts.Listener.Addr().String() + "/x"
	wantStatus(t, h.inquiry(map[string]any{"session_id": tr.SessionID, "disclose_to_merchant": true, "disclosure_url": target}), http.StatusOK)
	cb := settled(t, h, tr.SessionID, 1)[0]
	if cb.Outcome != OutcomeDelivered {
		t.Fatalf("callback %+v, want delivered", cb)
	}
	for where, text := range map[string]string{"the record": cb.URL, "the log": h.logs.String()} {
		if strings.Contains(text, "hook-secret-77") {
			t.Fatalf("%s holds the URL's password: %s", where, text)
		}
	}
	if !strings.Contains(cb.URL, "hookuser") {
		t.Fatalf("record URL %q lost the user name; only the password should go", cb.URL)
	}
}

func TestCloseStopsCallbackRetries(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.CallbackRetryDelay = time.Hour })
	rc := newReceiver(t, always(0))
	tr := h.txn("pending", "1.000", "KWD", "kpay")
	wantStatus(t, h.inquiry(map[string]any{"session_id": tr.SessionID, "disclose_to_merchant": true, "disclosure_url": rc.ts.URL}), http.StatusOK)
	eventually(t, "the first attempt to time out", func() bool {
		cb := h.get(tr.SessionID).Callbacks
		return len(cb) == 1 && cb[0].Attempts == 1 && rc.callCount() == 1
	})
	h.srv.Close() // returns although a retry is an hour away
	cb := h.get(tr.SessionID).Callbacks[0]
	if cb.Outcome != OutcomeFailed || cb.Attempts != 1 {
		t.Fatalf("callback %+v, want it failed by the shutdown after one attempt", cb)
	}
	r := h.inquiry(map[string]any{"session_id": tr.SessionID})
	wantDetail(t, r, http.StatusServiceUnavailable, "The sandbox is shutting down.")
}
