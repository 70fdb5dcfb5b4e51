package ddb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/ottuops/ottu-lambda/dev/testkit"
	"github.com/ottuops/ottu-lambda/shared/txn"
)

// fixture is one store on its own table in the shared moto server.
type fixture struct {
	store *Store
	api   *testkit.CountingClient
}

func newFixture(tb testing.TB) fixture {
	tb.Helper()
	client := dynamodb.NewFromConfig(testkit.SharedMoto(tb).AWSConfig())
	table := testkit.UniqueName("txnstore")
	if err := testkit.CreateTable(context.Background(), client, "InquiriesTable", table); err != nil {
		tb.Fatalf("create table: %v", err)
	}
	api := testkit.NewCountingClient(client)
	return fixture{store: New(api, table), api: api}
}

// t0 is the tests' "now": real time, so Waiters' own clock agrees with it.
var t0 = time.Now().UTC().Truncate(time.Millisecond)

// entry is a disclosure of session in state at Ottu's time ts, received at
// received; its digest follows from all of them, like a real body's.
func entry(session, order, state string, ts, received time.Time) txn.Entry {
	body := fmt.Sprintf(`{"session_id":%q,"order_no":%q,"state":%q,"timestamp_utc":%q}`, session, order, state, ts.Format("2006-01-02 15:04:05"))
	return txn.Entry{
		SessionID: session, OrderNo: order, Source: txn.SourceDisclosure,
		ReceivedAt: received, OttuTimestamp: ts, State: state, Result: "pending",
		Body: json.RawMessage(body), Digest: txn.Digest([]byte(body)),
		ExpiresAt: received.Add(30 * 24 * time.Hour),
	}
}

func mustPut(t *testing.T, s *Store, e txn.Entry) bool {
	t.Helper()
	stored, err := s.Put(context.Background(), e)
	if err != nil {
		t.Fatalf("put %s: %v", e.State, err)
	}
	return stored
}

func states(entries []txn.Entry) []string {
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = e.State
	}
	return out
}

func TestPut(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	sec := time.Second

	cases := []struct {
		name string
		// deliveries are put in order; stored is what each Put must answer.
		deliveries []txn.Entry
		stored     []bool
		// lookup is the id Current and History are asked with.
		lookup      string
		wantCurrent string
		wantHistory []string
	}{
		{
			name:        "a first delivery is stored and becomes the current view",
			deliveries:  []txn.Entry{entry("put-s1", "put-o1", "attempted", t0, t0)},
			stored:      []bool{true},
			lookup:      "put-s1",
			wantCurrent: "attempted", wantHistory: []string{"attempted"},
		},
		{
			name: "the same delivery again is not stored a second time",
			deliveries: []txn.Entry{
				entry("put-s2", "put-o2", "paid", t0, t0),
				entry("put-s2", "put-o2", "paid", t0, t0.Add(sec)),
			},
			stored: []bool{true, false},
			lookup: "put-s2", wantCurrent: "paid", wantHistory: []string{"paid"},
		},
		{
			name: "an older delivery arriving late is kept in the history but does not replace the current view",
			deliveries: []txn.Entry{
				entry("put-s3", "put-o3", "paid", t0.Add(10*sec), t0),
				entry("put-s3", "put-o3", "attempted", t0, t0.Add(sec)),
			},
			stored: []bool{true, true},
			lookup: "put-s3", wantCurrent: "paid", wantHistory: []string{"attempted", "paid"},
		},
		{
			name: "a newer delivery replaces the current view",
			deliveries: []txn.Entry{
				entry("put-s4", "put-o4", "attempted", t0, t0),
				entry("put-s4", "put-o4", "paid", t0.Add(sec), t0.Add(sec)),
			},
			stored: []bool{true, true},
			lookup: "put-s4", wantCurrent: "paid", wantHistory: []string{"paid", "attempted"},
		},
		{
			name: "at the same Ottu time a final state wins over a pending one whatever the order",
			deliveries: []txn.Entry{
				entry("put-s5", "put-o5", "paid", t0, t0),
				entry("put-s5", "put-o5", "pending", t0, t0.Add(sec)),
			},
			stored: []bool{true, true},
			lookup: "put-s5", wantCurrent: "paid", wantHistory: []string{"pending", "paid"},
		},
		{
			name: "a transaction filed by session_id is found by its order_no",
			deliveries: []txn.Entry{
				entry("put-s6", "put-o6", "attempted", t0, t0),
				entry("put-s6", "put-o6", "paid", t0.Add(sec), t0.Add(sec)),
			},
			stored: []bool{true, true},
			lookup: "put-o6", wantCurrent: "paid", wantHistory: []string{"paid", "attempted"},
		},
		{
			name:       "an entry without a session_id is filed and found by its order_no",
			deliveries: []txn.Entry{entry("", "put-o7", "pending", t0, t0)},
			stored:     []bool{true},
			lookup:     "put-o7", wantCurrent: "pending", wantHistory: []string{"pending"},
		},
		{
			name: "the history lists entries newest first by the time they were received",
			deliveries: []txn.Entry{
				entry("put-s8", "", "pending", t0, t0.Add(2*sec)),
				entry("put-s8", "", "attempted", t0.Add(sec), t0),
				entry("put-s8", "", "paid", t0.Add(2*sec), t0.Add(sec)),
			},
			stored: []bool{true, true, true},
			lookup: "put-s8", wantCurrent: "paid", wantHistory: []string{"pending", "paid", "attempted"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for i, e := range tc.deliveries {
				if got := mustPut(t, f.store, e); got != tc.stored[i] {
					t.Fatalf("delivery %d (%s): stored %v, want %v", i, e.State, got, tc.stored[i])
				}
			}
			cur, err := f.store.Current(ctx, tc.lookup)
			if err != nil {
				t.Fatalf("current: %v", err)
			}
			if cur.State != tc.wantCurrent {
				t.Errorf("current state %q, want %q", cur.State, tc.wantCurrent)
			}
			hist, err := f.store.History(ctx, tc.lookup, 0)
			if err != nil {
				t.Fatalf("history: %v", err)
			}
			if got := states(hist); fmt.Sprint(got) != fmt.Sprint(tc.wantHistory) {
				t.Errorf("history %v, want %v", got, tc.wantHistory)
			}
		})
	}

	t.Run("an entry reads back as it was stored", func(t *testing.T) {
		e := entry("put-s9", "put-o9", "paid", t0, t0)
		mustPut(t, f.store, e)
		cur, err := f.store.Current(ctx, "put-s9")
		if err != nil {
			t.Fatal(err)
		}
		e.ExpiresAt = e.ExpiresAt.Truncate(time.Second).Add(time.Second) // stored in whole seconds, rounded up
		if e.ExpiresAt.Sub(cur.ExpiresAt) > time.Second || string(cur.Body) != string(e.Body) ||
			!cur.ReceivedAt.Equal(e.ReceivedAt) || !cur.OttuTimestamp.Equal(e.OttuTimestamp) ||
			cur.Digest != e.Digest || cur.Source != e.Source || cur.Result != e.Result || cur.OrderNo != e.OrderNo {
			t.Errorf("read back %+v\nwant       %+v", *cur, e)
		}
	})

	t.Run("the history keeps only the newest entries when asked for a limit", func(t *testing.T) {
		for i := range 4 {
			mustPut(t, f.store, entry("put-s10", "", fmt.Sprintf("state-%d", i), t0.Add(time.Duration(i)*sec), t0.Add(time.Duration(i)*sec)))
		}
		hist, err := f.store.History(ctx, "put-s10", 2)
		if err != nil {
			t.Fatal(err)
		}
		if got := states(hist); fmt.Sprint(got) != "[state-3 state-2]" {
			t.Errorf("history %v, want the two newest", got)
		}
	})

	t.Run("a newer entry without an order_no leaves none on the current view", func(t *testing.T) {
		mustPut(t, f.store, entry("put-s11", "put-o11", "attempted", t0, t0))
		mustPut(t, f.store, entry("put-s11", "", "paid", t0.Add(sec), t0.Add(sec)))
		cur, err := f.store.Current(ctx, "put-s11")
		if err != nil || cur.OrderNo != "" || cur.State != "paid" {
			t.Fatalf("current %+v, %v; want paid without order_no", cur, err)
		}
	})

	t.Run("a transaction with nothing stored is not found", func(t *testing.T) {
		if _, err := f.store.Current(ctx, "put-nothing"); !errors.Is(err, txn.ErrNotFound) {
			t.Errorf("current: %v, want ErrNotFound", err)
		}
		if _, err := f.store.History(ctx, "put-nothing", 10); !errors.Is(err, txn.ErrNotFound) {
			t.Errorf("history: %v, want ErrNotFound", err)
		}
	})

	t.Run("a first delivery costs one PutItem and one UpdateItem, a repeat the same", func(t *testing.T) {
		e := entry("put-s12", "put-o12", "paid", t0, t0)
		f.api.Reset()
		mustPut(t, f.store, e)
		if c := f.api.Counts(); c != (testkit.RequestCounts{PutItem: 1, UpdateItem: 1}) {
			t.Errorf("first delivery: %+v", c)
		}
		f.api.Reset()
		mustPut(t, f.store, e)
		if c := f.api.Counts(); c != (testkit.RequestCounts{PutItem: 1, UpdateItem: 1}) {
			t.Errorf("repeated delivery: %+v", c)
		}
	})
}

func TestPutRefusesWhatItCannotFile(t *testing.T) {
	f := newFixture(t)
	good := entry("bad-s", "bad-o", "paid", t0, t0)
	cases := []struct {
		name   string
		mutate func(*txn.Entry)
	}{
		{"an entry without session_id or order_no is refused", func(e *txn.Entry) { e.SessionID, e.OrderNo = "", "" }},
		{"an entry without a digest is refused", func(e *txn.Entry) { e.Digest = "" }},
		{"an entry without a body is refused", func(e *txn.Entry) { e.Body = nil }},
		{"an entry without a time received is refused", func(e *txn.Entry) { e.ReceivedAt = time.Time{} }},
		{"a session_id longer than a DynamoDB key can hold is refused", func(e *txn.Entry) { e.SessionID = string(make([]byte, 2000)) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := good
			tc.mutate(&e)
			f.api.Reset()
			if _, err := f.store.Put(context.Background(), e); !errors.Is(err, ErrInvalidInput) {
				t.Fatalf("Put: %v, want ErrInvalidInput", err)
			}
			if n := f.api.Counts().Total(); n != 0 {
				t.Errorf("%d requests sent for refused input", n)
			}
		})
	}
}

func waiter(session, order, token string) txn.Waiter {
	return txn.Waiter{SessionID: session, OrderNo: order, TaskToken: token, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
}

func TestWaiters(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ids := func(t *testing.T, id string) []string {
		t.Helper()
		ws, err := f.store.Waiters(ctx, id)
		if err != nil {
			t.Fatalf("waiters of %s: %v", id, err)
		}
		out := make([]string, 0, len(ws))
		for _, w := range ws {
			out = append(out, w.TaskToken)
		}
		return out
	}
	add := func(t *testing.T, w txn.Waiter) {
		t.Helper()
		if err := f.store.AddWaiter(ctx, w); err != nil {
			t.Fatalf("add waiter: %v", err)
		}
	}

	t.Run("a registered waiter is listed under its session_id", func(t *testing.T) {
		add(t, waiter("w-s1", "w-o1", "token-1"))
		if got := ids(t, "w-s1"); fmt.Sprint(got) != "[token-1]" {
			t.Errorf("waiters %v", got)
		}
	})
	t.Run("a waiter registered by order_no alone is listed under the order_no", func(t *testing.T) {
		add(t, waiter("", "w-o2", "token-2"))
		if got := ids(t, "w-o2"); fmt.Sprint(got) != "[token-2]" {
			t.Errorf("waiters %v", got)
		}
	})
	t.Run("registering the same token twice lists it once", func(t *testing.T) {
		add(t, waiter("w-s3", "", "token-3"))
		add(t, waiter("w-s3", "", "token-3"))
		if got := ids(t, "w-s3"); fmt.Sprint(got) != "[token-3]" {
			t.Errorf("waiters %v", got)
		}
	})
	t.Run("a claimed waiter is no longer listed, and a second claim is refused", func(t *testing.T) {
		w := waiter("w-s4", "", "token-4")
		add(t, w)
		if err := f.store.ClaimWaiter(ctx, w, t0); err != nil {
			t.Fatal(err)
		}
		if got := ids(t, "w-s4"); len(got) != 0 {
			t.Errorf("waiters %v after the claim", got)
		}
		if err := f.store.ClaimWaiter(ctx, w, t0); !errors.Is(err, txn.ErrClaimed) {
			t.Errorf("second claim: %v, want ErrClaimed", err)
		}
	})
	t.Run("a resumed waiter stays resumed and is never listed again", func(t *testing.T) {
		w := waiter("w-s5", "", "token-5")
		add(t, w)
		if err := f.store.ClaimWaiter(ctx, w, t0); err != nil {
			t.Fatal(err)
		}
		if err := f.store.FinishWaiter(ctx, w, txn.WaiterResumed, t0); err != nil {
			t.Fatal(err)
		}
		if err := f.store.ClaimWaiter(ctx, w, t0.Add(time.Hour)); !errors.Is(err, txn.ErrClaimed) {
			t.Errorf("claim after resume: %v, want ErrClaimed", err)
		}
		add(t, w) // a retried inquiry registering the token again
		if got := ids(t, "w-s5"); len(got) != 0 {
			t.Errorf("waiters %v", got)
		}
	})
	t.Run("a waiter put back to pending after a transient failure is listed and claimable again", func(t *testing.T) {
		w := waiter("w-s6", "", "token-6")
		add(t, w)
		if err := f.store.ClaimWaiter(ctx, w, t0); err != nil {
			t.Fatal(err)
		}
		if err := f.store.FinishWaiter(ctx, w, txn.WaiterPending, t0); err != nil {
			t.Fatal(err)
		}
		if got := ids(t, "w-s6"); fmt.Sprint(got) != "[token-6]" {
			t.Errorf("waiters %v", got)
		}
		if err := f.store.ClaimWaiter(ctx, w, t0); err != nil {
			t.Errorf("claim again: %v", err)
		}
	})
	t.Run("a claim whose resume crashed is claimable again once its lease is over", func(t *testing.T) {
		w := waiter("w-s7", "", "token-7")
		add(t, w)
		past := time.Now().Add(-2 * ClaimLease)
		if err := f.store.ClaimWaiter(ctx, w, past); err != nil {
			t.Fatal(err)
		}
		if got := ids(t, "w-s7"); fmt.Sprint(got) != "[token-7]" {
			t.Errorf("waiters %v, want the stale claim listed", got)
		}
		if err := f.store.ClaimWaiter(ctx, w, time.Now()); err != nil {
			t.Errorf("claim after the lease: %v", err)
		}
	})
	t.Run("an expired waiter is not listed", func(t *testing.T) {
		w := waiter("w-s8", "", "token-8")
		w.ExpiresAt = time.Now().Add(-time.Minute)
		add(t, w)
		if got := ids(t, "w-s8"); len(got) != 0 {
			t.Errorf("waiters %v", got)
		}
	})
	t.Run("finishing a waiter nobody claimed is refused", func(t *testing.T) {
		w := waiter("w-s9", "", "token-9")
		add(t, w)
		if err := f.store.FinishWaiter(ctx, w, txn.WaiterResumed, t0); !errors.Is(err, txn.ErrClaimed) {
			t.Errorf("finish: %v, want ErrClaimed", err)
		}
	})
	t.Run("claiming a waiter never registered is refused", func(t *testing.T) {
		if err := f.store.ClaimWaiter(ctx, waiter("w-s10", "", "token-10"), t0); !errors.Is(err, txn.ErrClaimed) {
			t.Errorf("claim: %v, want ErrClaimed", err)
		}
	})
	t.Run("a waiter without a token is refused", func(t *testing.T) {
		if err := f.store.AddWaiter(ctx, waiter("w-s11", "", "")); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("add: %v, want ErrInvalidInput", err)
		}
	})
}

// TestConcurrentClaimsThroughMotoProxy races 20 deliveries claiming the
// same waiters, as Ottu's repeated deliveries of one callback may: exactly
// one claim per waiter wins, so the workflow is resumed once.
func TestConcurrentClaimsThroughMotoProxy(t *testing.T) {
	const (
		waiters  = 5
		claimers = 20
	)
	f := newFixture(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var (
		ws      [waiters]txn.Waiter
		results [waiters][claimers]error
		wg      sync.WaitGroup
	)
	for i := range ws {
		ws[i] = waiter(testkit.UniqueName("race-s"), "", testkit.UniqueName("race-token"))
		if err := f.store.AddWaiter(ctx, ws[i]); err != nil {
			t.Fatal(err)
		}
	}
	start := make(chan struct{})
	for i := range waiters {
		for j := range claimers {
			wg.Go(func() {
				<-start
				results[i][j] = f.store.ClaimWaiter(ctx, ws[i], time.Now())
			})
		}
	}
	close(start)
	wg.Wait()
	for i, w := range ws {
		t.Run(fmt.Sprintf("exactly one of %d concurrent claims wins waiter %d", claimers, i), func(t *testing.T) {
			wins := 0
			for _, err := range results[i] {
				switch {
				case err == nil:
					wins++
				case !errors.Is(err, txn.ErrClaimed):
					t.Errorf("a claim failed instead of winning or losing: %v", err)
				}
			}
			if wins != 1 {
				t.Errorf("%d claims won, want 1", wins)
			}
			if err := f.store.FinishWaiter(ctx, w, txn.WaiterResumed, time.Now()); err != nil {
				t.Errorf("the winner could not finish: %v", err)
			}
		})
	}
}
