package api

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ottuops/ottu-lambda/shared/reconcile"
)

type fakeRunner struct {
	rep *reconcile.Report
	err error
}

func (f fakeRunner) Run(context.Context) (*reconcile.Report, error) { return f.rep, f.err }

func TestInvoke(t *testing.T) {
	t.Run("a run reports every age bucket, zeros included, and its outcomes", func(t *testing.T) {
		var out bytes.Buffer
		rep := &reconcile.Report{Open: map[string]int{"over_24h": 2}, Oldest: 50 * time.Hour,
			Outcomes: map[reconcile.Outcome]int{reconcile.Settled: 1, reconcile.LeftForPerson: 1},
			Records:  []reconcile.RecordOutcome{{TrackingKey: "k1", Outcome: reconcile.LeftForPerson, Why: "budget spent"}}}
		h := &Reconcile{Runner: fakeRunner{rep: rep}, Out: &out, Namespace: "OttuOperations", Function: "reconcile"}
		sum, err := h.Invoke(context.Background(), nil)
		if err != nil || sum.Open["over_24h"] != 2 || sum.OldestSeconds != 180000 || sum.Outcomes["left_for_person"] != 1 {
			t.Fatalf("Invoke = %+v, %v", sum, err)
		}
		text := out.String()
		for _, b := range reconcile.AgeBuckets {
			if !strings.Contains(text, `"AgeBucket":"`+b.Name+`"`) {
				t.Errorf("no OpenRecords line for bucket %s", b.Name)
			}
		}
		for _, want := range []string{`"OldestOpenRecordAge":180000000`, `"ReconcileSettled":1`, `"ReconcileLeftForPerson":1`} {
			if !strings.Contains(text, want) {
				t.Errorf("the EMF lines lack %s:\n%s", want, text)
			}
		}
	})
	t.Run("a failed run is an error and a ReconcileRunFailed count", func(t *testing.T) {
		var out bytes.Buffer
		h := &Reconcile{Runner: fakeRunner{err: errors.New("moto down")}, Out: &out, Namespace: "OttuOperations", Function: "reconcile"}
		if _, err := h.Invoke(context.Background(), nil); err == nil {
			t.Fatal("no error")
		}
		if !strings.Contains(out.String(), `"ReconcileRunFailed":1`) {
			t.Errorf("no failure count: %s", out.String())
		}
	})
}
