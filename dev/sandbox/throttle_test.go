package sandbox

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ottuops/ottu-lambda/dev/testkit"
)

// throttled starts a sandbox with Ottu's inquiry throttle on and a clock
// the test moves.
func throttled(t *testing.T) (*harness, *testkit.Clock) {
	t.Helper()
	clock := testkit.NewClock(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	h := newHarness(t, func(c *Config) {
		c.InquiryLimits = InquiryLimits{}
		c.Now = clock.Now
	})
	return h, clock
}

// wantThrottled fails unless r is Ottu's 429 with retryAfter ("" for none).
func wantThrottled(t *testing.T, r response, retryAfter string) {
	t.Helper()
	wantStatus(t, r, http.StatusTooManyRequests)
	if !strings.HasPrefix(r.str("detail"), "Request was throttled.") {
		t.Fatalf("detail %q, want Django REST framework's throttle message", r.str("detail"))
	}
	if got := r.header.Get("Retry-After"); got != retryAfter {
		t.Fatalf("Retry-After %q, want %q", got, retryAfter)
	}
}

func TestInquiryThrottlePerTransaction(t *testing.T) {
	h, clock := throttled(t)
	inquire := func(sessionID string) response {
		return h.inquiry(map[string]any{"session_id": sessionID})
	}

	t.Run("a transaction made now is not inquired in its first 10 minutes", func(t *testing.T) {
		tr := h.txn(StateAttempted, "5.000", "KWD", "kpay")
		r := inquire(tr.SessionID)
		wantThrottled(t, r, "600")
		if r.str("detail") != "Request was throttled. Expected available in 600 seconds." {
			t.Fatalf("detail %q", r.str("detail"))
		}
		clock.Advance(9*time.Minute + 59*time.Second)
		wantThrottled(t, inquire(tr.SessionID), "1")
		clock.Advance(time.Second)
		wantStatus(t, inquire(tr.SessionID), http.StatusOK)
	})

	t.Run("age_minutes makes a transaction inquiry answers at once", func(t *testing.T) {
		r := h.do(http.MethodPost, "/sandbox/transactions", "", `{"amount":"5.000","currency_code":"KWD","state":"pending","pg_code":"kpay","age_minutes":15}`)
		wantStatus(t, r, http.StatusCreated)
		if r.str("created_at") != clock.Now().Add(-15*time.Minute).Format(time.RFC3339) {
			t.Fatalf("created_at %q, want 15 minutes before %s", r.str("created_at"), clock.Now())
		}
		wantStatus(t, inquire(r.str("session_id")), http.StatusOK)
	})

	t.Run("after an inquiry the next waits 30 minutes, and a fourth is never answered", func(t *testing.T) {
		tr := h.create(TransactionSpec{Amount: "5.000", CurrencyCode: "KWD", State: StatePending, PGCode: "kpay", AgeMinutes: 15})
		wantStatus(t, inquire(tr.SessionID), http.StatusOK)
		clock.Advance(10 * time.Minute)
		wantThrottled(t, inquire(tr.SessionID), "1200")
		clock.Advance(20 * time.Minute)
		wantStatus(t, inquire(tr.SessionID), http.StatusOK)
		clock.Advance(30 * time.Minute)
		wantStatus(t, inquire(tr.SessionID), http.StatusOK)
		clock.Advance(24 * time.Hour)
		r := inquire(tr.SessionID)
		wantThrottled(t, r, "")
		if !strings.Contains(r.str("detail"), "at most 3 times") {
			t.Fatalf("detail %q, want it to name the limit of 3", r.str("detail"))
		}
		if n := len(h.get(tr.SessionID).InquiredAt); n != 3 {
			t.Fatalf("inquired_at lists %d inquiries, want the 3 answered", n)
		}
	})

	t.Run("a throttled disclosure is not sent", func(t *testing.T) {
		tr := h.txn(StateAttempted, "5.000", "KWD", "kpay")
		wantThrottled(t, h.inquiry(map[string]any{"session_id": tr.SessionID, "disclose_to_merchant": true, "disclosure_url": "http://127.0.0.1:1/hook"}), "600")
		if cb := h.get(tr.SessionID).Callbacks; len(cb) != 0 {
			t.Fatalf("callbacks %+v, want none", cb)
		}
	})

	t.Run("refusals for the state do not use up an inquiry", func(t *testing.T) {
		tr := h.create(TransactionSpec{Amount: "5.000", CurrencyCode: "KWD", State: StateCanceled, PGCode: "kpay", AgeMinutes: 15})
		for range 4 {
			wantDetail(t, inquire(tr.SessionID), http.StatusBadRequest, "Operation is not allowed")
		}
		if n := len(h.get(tr.SessionID).InquiredAt); n != 0 {
			t.Fatalf("%d inquiries counted, want none", n)
		}
	})

	t.Run("an unknown transaction is not found rather than throttled", func(t *testing.T) {
		wantDetail(t, inquire("no-such-session"), http.StatusNotFound, "No payment attempts found for this Lookup")
	})
}

func TestInquiryThrottleOverall(t *testing.T) {
	h, clock := throttled(t)
	var ids []string
	for i := range DefaultInquiryPerMinute + 1 {
		tr := h.create(TransactionSpec{SessionID: fmt.Sprintf("rate-%d", i), Amount: "1.000", CurrencyCode: "KWD", State: StatePending, PGCode: "kpay", AgeMinutes: 15})
		ids = append(ids, tr.SessionID)
	}
	t.Run("30 inquiries a minute are answered, the 31st is throttled until the first leaves the minute", func(t *testing.T) {
		for i := range DefaultInquiryPerMinute {
			wantStatus(t, h.inquiry(map[string]any{"session_id": ids[i]}), http.StatusOK)
			clock.Advance(time.Second)
		}
		wantThrottled(t, h.inquiry(map[string]any{"session_id": ids[DefaultInquiryPerMinute]}), "30")
		clock.Advance(30 * time.Second)
		wantStatus(t, h.inquiry(map[string]any{"session_id": ids[DefaultInquiryPerMinute]}), http.StatusOK)
	})
	t.Run("requests refused for other reasons count toward the minute", func(t *testing.T) {
		clock.Advance(time.Minute)
		for range DefaultInquiryPerMinute {
			wantStatus(t, h.inquiry(map[string]any{"session_id": "no-such-session"}), http.StatusNotFound)
		}
		wantThrottled(t, h.inquiry(map[string]any{"session_id": "no-such-session"}), "60")
	})
}

func TestInquiryThrottleCanBeLifted(t *testing.T) {
	h := newHarness(t) // the harness lifts it
	tr := h.txn(StatePending, "5.000", "KWD", "kpay")
	for range 5 {
		wantStatus(t, h.inquiry(map[string]any{"session_id": tr.SessionID}), http.StatusOK)
	}
}
