package sandbox

import "testing"

func TestDemoTransactionsAreAccepted(t *testing.T) {
	h := newHarness(t)
	seen := map[string]bool{}
	for _, spec := range DemoTransactions() {
		t.Run(spec.SessionID+" is created as specified", func(t *testing.T) {
			tr := h.create(spec)
			if tr.State != spec.State || tr.SessionID != spec.SessionID {
				t.Fatalf("created %+v", tr)
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
