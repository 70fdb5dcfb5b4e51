package reconcile_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/ottuops/ottu-lambda/shared/operation"
	"github.com/ottuops/ottu-lambda/shared/reconcile"
	"github.com/ottuops/ottu-lambda/shared/txn"
)

var now = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

// world is the reconciler's surroundings in memory.
type world struct {
	records   map[string]*operation.Record
	history   map[string][]txn.Entry
	taken     map[string]int
	lastTaken map[string]time.Time
	// ottu says what a refresh of a key finds: a status, "throttled" or
	// "error".
	ottu      map[string]string
	refreshes []string
	nudges    []string
	forgot    []string
}

func newWorld() *world {
	return &world{records: map[string]*operation.Record{}, history: map[string][]txn.Entry{}, taken: map[string]int{},
		lastTaken: map[string]time.Time{}, ottu: map[string]string{}}
}

func (w *world) add(key, session string, st operation.Status, age time.Duration) {
	w.records[key] = &operation.Record{TrackingKey: key, SessionID: session, Operation: "refund", Status: st,
		UpdatedAt: now.Add(-age), CreatedAt: now.Add(-age), LeaseExpiresAt: now.Add(-age).Add(5 * time.Minute)}
}

func (w *world) Keys(_ context.Context, st operation.Status, _ int) ([]string, error) {
	var out []string
	for k, r := range w.records {
		if r.Status == st {
			out = append(out, k)
		}
	}
	return out, nil
}

func (w *world) Status(_ context.Context, key string, refresh bool) (*operation.Record, error) {
	r := *w.records[key]
	if !refresh {
		return &r, nil
	}
	w.refreshes = append(w.refreshes, key)
	switch got := w.ottu[key]; got {
	case "throttled":
		r.InquiryThrottled = &operation.InquiryThrottle{Detail: "throttled", RetryAfter: time.Minute}
	case "error":
		return nil, errors.New("Ottu down")
	case "":
	default:
		r.Status = operation.Status(got)
		w.records[key].Status = r.Status
	}
	return &r, nil
}

func (w *world) History(_ context.Context, id string, _ int) ([]txn.Entry, error) {
	if h, ok := w.history[id]; ok {
		return h, nil
	}
	return nil, txn.ErrNotFound
}

func (w *world) Take(_ context.Context, id string, max int, interval time.Duration, at time.Time) (bool, error) {
	if w.taken[id] >= max || at.Sub(w.lastTaken[id]) < interval {
		return false, nil
	}
	w.taken[id]++
	w.lastTaken[id] = at
	return true, nil
}

func (w *world) GiveBack(_ context.Context, id string, _ time.Time) error {
	w.taken[id]--
	w.lastTaken[id] = time.Time{}
	return nil
}

func (w *world) Nudged(context.Context) ([]string, error)      { return w.nudges, nil }
func (w *world) Forget(_ context.Context, refs []string) error { w.forgot = refs; return nil }

func (w *world) service() *reconcile.Service {
	return &reconcile.Service{Records: w, Refresher: w, Transactions: w, Budget: w, Nudges: w, Now: func() time.Time { return now }}
}

func inquiryEntry(at time.Time, ref string) txn.Entry {
	return txn.Entry{Source: txn.SourceInquiry, ReceivedAt: at, Body: []byte(fmt.Sprintf(`{"reference_number":%q}`, ref))}
}

func TestRun(t *testing.T) {
	cases := []struct {
		name  string
		setup func(w *world)
		want  map[string]reconcile.Outcome
		// wantRefreshes is how many refreshes (inquiries) the run makes.
		wantRefreshes int
	}{
		{name: "an unknown record Ottu shows done is settled",
			setup: func(w *world) { w.add("k1", "s1", operation.StatusUnknown, 15*time.Minute); w.ottu["k1"] = "succeeded" },
			want:  map[string]reconcile.Outcome{"k1": reconcile.Settled}, wantRefreshes: 1},
		{name: "an in_progress record past its lease is settled",
			setup: func(w *world) {
				w.add("k1", "s1", operation.StatusInProgress, 15*time.Minute)
				w.ottu["k1"] = "failed"
			},
			want: map[string]reconcile.Outcome{"k1": reconcile.Settled}, wantRefreshes: 1},
		{name: "an in_progress record within its lease is not touched",
			setup: func(w *world) { w.add("k1", "s1", operation.StatusInProgress, time.Minute) },
			want:  map[string]reconcile.Outcome{}, wantRefreshes: 0},
		{name: "a transaction with two inquiries used keeps its last for a person",
			setup: func(w *world) {
				w.add("k1", "s1", operation.StatusUnknown, 3*time.Hour)
				w.history["s1"] = []txn.Entry{inquiryEntry(now.Add(-2*time.Hour), "R1"), inquiryEntry(now.Add(-time.Hour), "R1")}
			},
			want: map[string]reconcile.Outcome{"k1": reconcile.LeftForPerson}, wantRefreshes: 0},
		{name: "a transaction inquired under 30 minutes ago waits",
			setup: func(w *world) {
				w.add("k1", "s1", operation.StatusUnknown, time.Hour)
				w.history["s1"] = []txn.Entry{inquiryEntry(now.Add(-10*time.Minute), "R1")}
			},
			want: map[string]reconcile.Outcome{"k1": reconcile.Deferred}, wantRefreshes: 0},
		{name: "a record the reconciler already inquired about is left for a person",
			setup: func(w *world) {
				w.add("k1", "s1", operation.StatusUnknown, 2*time.Hour)
				w.taken["s1"] = 1
			},
			want: map[string]reconcile.Outcome{"k1": reconcile.LeftForPerson}, wantRefreshes: 0},
		{name: "a throttled inquiry gives its budget back and stays pending",
			setup: func(w *world) { w.add("k1", "s1", operation.StatusUnknown, 15*time.Minute); w.ottu["k1"] = "throttled" },
			want:  map[string]reconcile.Outcome{"k1": reconcile.Pending}, wantRefreshes: 1},
		{name: "two records of one transaction cost one inquiry per run",
			setup: func(w *world) {
				w.add("k1", "s1", operation.StatusUnknown, 20*time.Minute)
				w.add("k2", "s1", operation.StatusUnknown, 15*time.Minute)
				w.ottu["k1"] = "succeeded"
			},
			want: map[string]reconcile.Outcome{"k1": reconcile.Settled, "k2": reconcile.Deferred}, wantRefreshes: 1},
		{name: "a run asks Ottu at most PerRun times, oldest records first",
			setup: func(w *world) {
				for i := range 7 {
					w.add(fmt.Sprintf("k%d", i), fmt.Sprintf("s%d", i), operation.StatusUnknown, time.Duration(20+i)*time.Minute)
				}
			},
			want: map[string]reconcile.Outcome{"k0": reconcile.Deferred, "k1": reconcile.Deferred, "k2": reconcile.Pending, "k3": reconcile.Pending,
				"k4": reconcile.Pending, "k5": reconcile.Pending, "k6": reconcile.Pending}, wantRefreshes: 5},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld()
			tc.setup(w)
			rep, err := w.service().Run(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]reconcile.Outcome{}
			for _, r := range rep.Records {
				got[r.TrackingKey] = r.Outcome
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("outcomes %v, want %v", got, tc.want)
			}
			if len(w.refreshes) != tc.wantRefreshes {
				t.Errorf("%d refreshes (%v), want %d", len(w.refreshes), w.refreshes, tc.wantRefreshes)
			}
		})
	}
}

func TestRunNeverSpendsWhatItGaveBackTwice(t *testing.T) {
	w := newWorld()
	w.add("k1", "s1", operation.StatusUnknown, 15*time.Minute)
	w.ottu["k1"] = "throttled"
	if _, err := w.service().Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if w.taken["s1"] != 0 {
		t.Errorf("a throttled inquiry left %d taken, want 0", w.taken["s1"])
	}
}

func TestNudgedTransactionsGoFirst(t *testing.T) {
	w := newWorld()
	for i := range 6 {
		w.add(fmt.Sprintf("k%d", i), fmt.Sprintf("s%d", i), operation.StatusUnknown, time.Duration(60-i)*time.Minute)
	}
	// s5 is the newest, so the last in age order; a notification named it.
	w.history["s5"] = []txn.Entry{{Source: txn.SourceDisclosure, ReceivedAt: now.Add(-time.Hour), Body: []byte(`{"reference_number":"R5"}`)}}
	w.nudges = []string{"R5"}
	svc := w.service()
	svc.PerRun = 1
	if _, err := svc.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(w.refreshes) != 1 || w.refreshes[0] != "k5" {
		t.Errorf("refreshed %v, want the nudged transaction's record first", w.refreshes)
	}
	if fmt.Sprint(w.forgot) != "[R5]" {
		t.Errorf("forgot %v, want the nudge cleared", w.forgot)
	}
}

func TestReportCountsOpenRecordsByAge(t *testing.T) {
	w := newWorld()
	w.add("k1", "s1", operation.StatusUnknown, 5*time.Minute)
	w.add("k2", "s2", operation.StatusUnknown, 2*time.Hour)
	w.add("k3", "s3", operation.StatusUnknown, 3*24*time.Hour)
	rep, err := w.service().Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"under_10m": 1, "1h_to_24h": 1, "over_24h": 1}
	if fmt.Sprint(rep.Open) != fmt.Sprint(want) || rep.Oldest != 3*24*time.Hour {
		t.Errorf("open %v oldest %s, want %v and 72h", rep.Open, rep.Oldest, want)
	}
}

type approvals struct {
	n      int
	oldest time.Time
}

func (a approvals) Waiting(context.Context) (int, time.Time, error) { return a.n, a.oldest, nil }

func TestReportCountsApprovalsWaiting(t *testing.T) {
	w := newWorld()
	svc := w.service()
	svc.Approvals = approvals{n: 2, oldest: now.Add(-3 * time.Hour)}
	rep, err := svc.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rep.ApprovalsWaiting != 2 || rep.OldestApproval != 3*time.Hour {
		t.Errorf("approvals %d, oldest %s; want 2 and 3h", rep.ApprovalsWaiting, rep.OldestApproval)
	}
}
