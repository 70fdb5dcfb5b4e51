package sandbox

import (
	"net/http"
	"testing"
	"time"
)

func TestDemoTransactionsAreAccepted(t *testing.T) {
	h := newHarness(t)
	seen := map[string]bool{}
	for _, spec := range DemoTransactions() {
		t.Run(spec.SessionID+" is created as specified", func(t *testing.T) {
			tr := h.create(spec)
			if tr.State != spec.State || tr.SessionID != spec.SessionID {
				t.Fatalf("created %+v", tr)
			}
			if age := time.Since(tr.CreatedAt); age < DemoAgeMinutes*time.Minute {
				t.Fatalf("created %s ago, want at least %d minutes so inquiry answers at once", age, DemoAgeMinutes)
			}
			seen[spec.State] = true
		})
	}
	for _, state := range []string{StatePaid, StateAuthorized, StatePending, StateAttempted, StateCreated} {
		if !seen[state] {
			t.Errorf("no demo transaction in state %s", state)
		}
	}
}

func TestDemoTransactionsAnswerAnInquiryAtOnce(t *testing.T) {
	h, _ := throttled(t)
	for _, spec := range DemoTransactions() {
		if spec.State == StateCreated {
			continue // inquiry refuses a payment with no attempt, throttle or not
		}
		t.Run(spec.SessionID+" is answered under Ottu's throttle", func(t *testing.T) {
			h.create(spec)
			wantStatus(t, h.inquiry(map[string]any{"session_id": spec.SessionID}), http.StatusOK)
		})
	}
}
