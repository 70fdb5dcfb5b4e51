package ddb

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/google/uuid"

	"github.com/ottuops/ottu-lambda/dev/testkit"
	"github.com/ottuops/ottu-lambda/shared/operation"
)

// fixture is one store on its own table in the shared moto server.
type fixture struct {
	store  *Store
	api    *testkit.CountingClient
	client *dynamodb.Client
	table  string
}

func newFixture(tb testing.TB) fixture {
	tb.Helper()
	client := dynamodb.NewFromConfig(testkit.SharedMoto(tb).AWSConfig())
	table := testkit.UniqueName("trackingkey")
	if err := testkit.CreateTable(context.Background(), client, "TrackingKeysTable", table); err != nil {
		tb.Fatalf("create table: %v", err)
	}
	api := testkit.NewCountingClient(client)
	return fixture{store: New(api, table), api: api, client: client, table: table}
}

// stored reads the record as it is, ignoring the TTL, or nil.
func (f fixture) stored(t *testing.T, key string) *operation.Record {
	t.Helper()
	rec, err := New(f.client, f.table).read(context.Background(), key)
	if errors.Is(err, operation.ErrRecordNotFound) {
		return nil
	}
	if err != nil {
		t.Fatalf("read %q: %v", key, err)
	}
	return rec
}

func readFixture(tb testing.TB, name string) json.RawMessage {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatalf("read fixture: %v", err)
	}
	return b
}

// t0 is the tests' "now": real time, so Get's own clock agrees with it.
var t0 = time.Now().UTC().Truncate(time.Millisecond)

const (
	fpRefund = "refund|sess-1|2.500|{}"
	fpOther  = "refund|sess-1|3.000|{}"
)

// claimAt is a refund claim at now with a 30 s lease and a day's TTL.
func claimAt(key string, now time.Time) operation.Claim {
	return operation.Claim{
		TrackingKey: key,
		Operation:   "refund",
		SessionID:   "sess-1",
		Amount:      "2.500",
		Fingerprint: fpRefund,
		LeaseID:     uuid.NewString(),
		Now:         now,
		LeaseUntil:  now.Add(30 * time.Second),
		ExpiresAt:   now.Add(24 * time.Hour),
	}
}

func mustClaim(t *testing.T, s *Store, c operation.Claim) {
	t.Helper()
	if existing, err := s.Claim(context.Background(), c); err != nil {
		t.Fatalf("setup claim at %s: %v (existing %+v)", c.Now, err, existing)
	}
}

func mustComplete(t *testing.T, s *Store, o operation.Outcome) {
	t.Helper()
	if err := s.Complete(context.Background(), o); err != nil {
		t.Fatalf("setup complete: %v", err)
	}
}

// claimThenComplete claims at now and records status with body, leaving
// the lease until leaseUntil (zero: ends at once).
func claimThenComplete(t *testing.T, s *Store, c operation.Claim, status operation.Status, ottuStatus int, body json.RawMessage, leaseUntil time.Time) {
	t.Helper()
	mustClaim(t, s, c)
	expiresAt := c.ExpiresAt // a known outcome keeps the claim's TTL here
	if status == operation.StatusUnknown {
		expiresAt = time.Time{}
	}
	mustComplete(t, s, operation.Outcome{
		TrackingKey: c.TrackingKey, LeaseID: c.LeaseID, Status: status,
		OttuStatus: ottuStatus, OttuBody: body, Now: c.Now.Add(time.Second), LeaseUntil: leaseUntil, ExpiresAt: expiresAt,
		ErrorCode: map[operation.Status]string{operation.StatusFailed: "operation_rejected", operation.StatusUnknown: "outcome_unknown"}[status],
	})
}

func TestClaim(t *testing.T) {
	success := readFixture(t, "refund_success.json")
	rejected := readFixture(t, "refund_rejected.json")

	type testCase struct {
		name string
		// before writes the record the claim under test meets.
		before func(t *testing.T, s *Store, key string)
		claim  func(key string) operation.Claim
		// wantConflict: the claim must fail with ErrClaimConflict.
		wantConflict bool
		check        func(t *testing.T, c operation.Claim, existing, stored *operation.Record)
	}
	cases := []testCase{
		{
			name:  "a new key is claimed as attempt 1",
			claim: func(key string) operation.Claim { return claimAt(key, t0) },
			check: func(t *testing.T, c operation.Claim, _, stored *operation.Record) {
				want := &operation.Record{
					TrackingKey: c.TrackingKey, Operation: "refund", SessionID: "sess-1", Amount: "2.500",
					Fingerprint: fpRefund, Status: operation.StatusInProgress, Attempts: 1, LeaseID: c.LeaseID,
					LeaseExpiresAt: c.LeaseUntil, CreatedAt: t0, UpdatedAt: t0, ExpiresAt: c.ExpiresAt.Truncate(time.Second),
				}
				if c.ExpiresAt.Truncate(time.Second) != c.ExpiresAt {
					want.ExpiresAt = want.ExpiresAt.Add(time.Second)
				}
				if !reflect.DeepEqual(stored, want) {
					t.Errorf("stored record\n got %+v\nwant %+v", stored, want)
				}
			},
		},
		{
			name: "a claim without a TTL stores a record that never expires",
			claim: func(key string) operation.Claim {
				c := claimAt(key, t0)
				c.ExpiresAt, c.ReclaimOnlyFailed = time.Time{}, true
				return c
			},
			check: func(t *testing.T, _ operation.Claim, _, stored *operation.Record) {
				if !stored.ExpiresAt.IsZero() {
					t.Errorf("stored TTL %s, want none", stored.ExpiresAt)
				}
			},
		},
		{
			name:   "without Ottu's replay a record left in progress is never claimed again, even long after its lease",
			before: func(t *testing.T, s *Store, key string) { mustClaim(t, s, v1Claim(key, t0)) },
			claim: func(key string) operation.Claim {
				return v1Claim(key, t0.Add(90*24*time.Hour))
			},
			wantConflict: true,
			check: func(t *testing.T, _ operation.Claim, existing, stored *operation.Record) {
				if existing.Status != operation.StatusInProgress || stored.Attempts != 1 {
					t.Errorf("existing %s, attempts %d: want the first attempt left alone", existing.Status, stored.Attempts)
				}
			},
		},
		{
			name: "without Ottu's replay an unknown outcome is never claimed again",
			before: func(t *testing.T, s *Store, key string) {
				claimThenComplete(t, s, v1Claim(key, t0), operation.StatusUnknown, 0, nil, t0.Add(time.Minute))
			},
			claim:        func(key string) operation.Claim { return v1Claim(key, t0.Add(24*time.Hour)) },
			wantConflict: true,
		},
		{
			name: "without Ottu's replay a request Ottu refused is claimed again, also with no TTL stored",
			before: func(t *testing.T, s *Store, key string) {
				claimThenComplete(t, s, v1Claim(key, t0), operation.StatusFailed, 400, rejected, time.Time{})
			},
			claim: func(key string) operation.Claim { return v1Claim(key, t0.Add(time.Minute)) },
			check: func(t *testing.T, _ operation.Claim, _, stored *operation.Record) {
				if stored.Status != operation.StatusInProgress || stored.Attempts != 2 {
					t.Errorf("stored %s after %d attempts, want in_progress after 2", stored.Status, stored.Attempts)
				}
			},
		},
		{
			name:         "the same request while the lease is live conflicts with the in-progress record",
			before:       func(t *testing.T, s *Store, key string) { mustClaim(t, s, claimAt(key, t0)) },
			claim:        func(key string) operation.Claim { return claimAt(key, t0.Add(10*time.Second)) },
			wantConflict: true,
			check: func(t *testing.T, c operation.Claim, existing, stored *operation.Record) {
				if existing.Status != operation.StatusInProgress || !existing.LeaseExpiresAt.Equal(t0.Add(30*time.Second)) {
					t.Errorf("existing = %s until %s, want in_progress until %s", existing.Status, existing.LeaseExpiresAt, t0.Add(30*time.Second))
				}
				if existing.LeaseID == c.LeaseID || stored.LeaseID != existing.LeaseID || stored.Attempts != 1 {
					t.Errorf("the first claim's lease must stay: existing %s, stored %s attempts %d", existing.LeaseID, stored.LeaseID, stored.Attempts)
				}
			},
		},
		{
			name:   "the same request after the lease ended is claimed as attempt 2 keeping created_at",
			before: func(t *testing.T, s *Store, key string) { mustClaim(t, s, claimAt(key, t0)) },
			claim:  func(key string) operation.Claim { return claimAt(key, t0.Add(31*time.Second)) },
			check: func(t *testing.T, c operation.Claim, _, stored *operation.Record) {
				if stored.Attempts != 2 || !stored.CreatedAt.Equal(t0) || !stored.UpdatedAt.Equal(c.Now) || stored.LeaseID != c.LeaseID {
					t.Errorf("stored attempts %d created %s updated %s lease %s; want 2, %s, %s, %s",
						stored.Attempts, stored.CreatedAt, stored.UpdatedAt, stored.LeaseID, t0, c.Now, c.LeaseID)
				}
			},
		},
		{
			name:   "a lease ends exactly at its LeaseUntil",
			before: func(t *testing.T, s *Store, key string) { mustClaim(t, s, claimAt(key, t0)) },
			claim:  func(key string) operation.Claim { return claimAt(key, t0.Add(30*time.Second)) },
			check: func(t *testing.T, c operation.Claim, _, stored *operation.Record) {
				if stored.LeaseID != c.LeaseID {
					t.Errorf("stored lease %s, want the new claim's %s", stored.LeaseID, c.LeaseID)
				}
			},
		},
		{
			name:   "a lease is still live one millisecond before its LeaseUntil",
			before: func(t *testing.T, s *Store, key string) { mustClaim(t, s, claimAt(key, t0)) },
			claim: func(key string) operation.Claim {
				return claimAt(key, t0.Add(30*time.Second-time.Millisecond))
			},
			wantConflict: true,
		},
		{
			name: "a succeeded key conflicts and returns the stored body byte for byte",
			before: func(t *testing.T, s *Store, key string) {
				claimThenComplete(t, s, claimAt(key, t0), operation.StatusSucceeded, 200, success, time.Time{})
			},
			claim:        func(key string) operation.Claim { return claimAt(key, t0.Add(time.Hour)) },
			wantConflict: true,
			check: func(t *testing.T, _ operation.Claim, existing, stored *operation.Record) {
				if existing.Status != operation.StatusSucceeded || existing.OttuStatus != 200 {
					t.Errorf("existing = %s %d, want succeeded 200", existing.Status, existing.OttuStatus)
				}
				if !bytes.Equal(existing.OttuBody, success) {
					t.Errorf("replayed body differs from the stored one:\n got %q\nwant %q", existing.OttuBody, success)
				}
				if stored.Attempts != 1 {
					t.Errorf("a replay must not count as an attempt: attempts %d", stored.Attempts)
				}
			},
		},
		{
			name: "a failed record is claimed again with the same fingerprint after its lease ended, keeping Ottu's last body",
			before: func(t *testing.T, s *Store, key string) {
				claimThenComplete(t, s, claimAt(key, t0), operation.StatusFailed, 400, rejected, time.Time{})
			},
			claim: func(key string) operation.Claim { return claimAt(key, t0.Add(time.Minute)) },
			check: func(t *testing.T, c operation.Claim, _, stored *operation.Record) {
				if stored.Status != operation.StatusInProgress || stored.Attempts != 2 || stored.LeaseID != c.LeaseID {
					t.Errorf("stored %s attempts %d lease %s; want in_progress, 2, %s", stored.Status, stored.Attempts, stored.LeaseID, c.LeaseID)
				}
				if !bytes.Equal(stored.OttuBody, rejected) || stored.OttuStatus != 400 || stored.ErrorCode != "operation_rejected" {
					t.Errorf("the last Ottu answer must stay until the new outcome: %d %q %q", stored.OttuStatus, stored.OttuBody, stored.ErrorCode)
				}
			},
		},
		{
			name: "a failed record is not claimable before its lease ended",
			before: func(t *testing.T, s *Store, key string) {
				claimThenComplete(t, s, claimAt(key, t0), operation.StatusFailed, 400, rejected, t0.Add(5*time.Minute))
			},
			claim:        func(key string) operation.Claim { return claimAt(key, t0.Add(time.Minute)) },
			wantConflict: true,
			check: func(t *testing.T, _ operation.Claim, existing, _ *operation.Record) {
				if existing.Status != operation.StatusFailed || !existing.LeaseExpiresAt.Equal(t0.Add(5*time.Minute)) {
					t.Errorf("existing = %s until %s", existing.Status, existing.LeaseExpiresAt)
				}
			},
		},
		{
			name: "an unknown outcome is claimed again with the same fingerprint after its lease ended",
			before: func(t *testing.T, s *Store, key string) {
				claimThenComplete(t, s, claimAt(key, t0), operation.StatusUnknown, 0, nil, t0.Add(5*time.Minute))
			},
			claim: func(key string) operation.Claim { return claimAt(key, t0.Add(5*time.Minute)) },
			check: func(t *testing.T, c operation.Claim, _, stored *operation.Record) {
				if stored.Attempts != 2 || stored.LeaseID != c.LeaseID {
					t.Errorf("stored attempts %d lease %s; want 2, %s", stored.Attempts, stored.LeaseID, c.LeaseID)
				}
			},
		},
		{
			name: "an unknown outcome is not claimable while Ottu may still be working",
			before: func(t *testing.T, s *Store, key string) {
				claimThenComplete(t, s, claimAt(key, t0), operation.StatusUnknown, 0, nil, t0.Add(5*time.Minute))
			},
			claim:        func(key string) operation.Claim { return claimAt(key, t0.Add(4*time.Minute)) },
			wantConflict: true,
		},
		{
			name: "a record past its TTL is claimed as new, whatever it held",
			before: func(t *testing.T, s *Store, key string) {
				old := claimAt(key, t0.Add(-48*time.Hour))
				old.Fingerprint = fpOther
				old.ExpiresAt = old.Now.Add(time.Hour)
				claimThenComplete(t, s, old, operation.StatusSucceeded, 200, success, time.Time{})
			},
			claim: func(key string) operation.Claim { return claimAt(key, t0) },
			check: func(t *testing.T, c operation.Claim, _, stored *operation.Record) {
				if stored.Attempts != 1 || !stored.CreatedAt.Equal(t0) || stored.Fingerprint != fpRefund || stored.Status != operation.StatusInProgress {
					t.Errorf("stored attempts %d created %s fingerprint %q status %s; want a new record", stored.Attempts, stored.CreatedAt, stored.Fingerprint, stored.Status)
				}
				if stored.OttuBody != nil || stored.OttuStatus != 0 || stored.ErrorCode != "" {
					t.Errorf("the expired record's Ottu answer must go: %d %q %q", stored.OttuStatus, stored.OttuBody, stored.ErrorCode)
				}
			},
		},
		{
			name: "the same claim sent twice (an SDK retry) is the caller's own lease, not a conflict",
			before: func(t *testing.T, s *Store, key string) {
				mustClaim(t, s, withLease(claimAt(key, t0), "lease-sent-twice"))
			},
			claim: func(key string) operation.Claim { return withLease(claimAt(key, t0), "lease-sent-twice") },
			check: func(t *testing.T, _ operation.Claim, _, stored *operation.Record) {
				if stored.Attempts != 1 {
					t.Errorf("attempts %d, want 1: the write landed once", stored.Attempts)
				}
			},
		},
	}
	// Another request under a used key conflicts in every state.
	others := []struct {
		state  string
		before func(t *testing.T, s *Store, key string)
	}{
		{"in progress", func(t *testing.T, s *Store, key string) { mustClaim(t, s, claimAt(key, t0)) }},
		{"in progress with its lease ended", func(t *testing.T, s *Store, key string) {
			mustClaim(t, s, claimAt(key, t0.Add(-time.Hour)))
		}},
		{"succeeded", func(t *testing.T, s *Store, key string) {
			claimThenComplete(t, s, claimAt(key, t0.Add(-time.Hour)), operation.StatusSucceeded, 200, success, time.Time{})
		}},
		{"failed", func(t *testing.T, s *Store, key string) {
			claimThenComplete(t, s, claimAt(key, t0.Add(-time.Hour)), operation.StatusFailed, 400, rejected, time.Time{})
		}},
		{"unknown", func(t *testing.T, s *Store, key string) {
			claimThenComplete(t, s, claimAt(key, t0.Add(-time.Hour)), operation.StatusUnknown, 0, nil, time.Time{})
		}},
	}
	for _, o := range others {
		cases = append(cases, testCase{
			name:   "a different request under a key " + o.state + " conflicts",
			before: o.before,
			claim: func(key string) operation.Claim {
				c := claimAt(key, t0.Add(time.Minute))
				c.Fingerprint, c.Amount = fpOther, "3.000"
				return c
			},
			wantConflict: true,
			check: func(t *testing.T, _ operation.Claim, existing, stored *operation.Record) {
				if existing.Fingerprint != fpRefund || stored.Fingerprint != fpRefund || stored.Amount != "2.500" {
					t.Errorf("the first request's record must stay: existing %q, stored %q %q", existing.Fingerprint, stored.Fingerprint, stored.Amount)
				}
			},
		})
	}

	f := newFixture(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			key := testkit.UniqueName("key")
			if tc.before != nil {
				tc.before(t, f.store, key)
			}
			c := tc.claim(key)
			existing, err := f.store.Claim(context.Background(), c)
			switch {
			case tc.wantConflict && !errors.Is(err, operation.ErrClaimConflict):
				t.Fatalf("Claim error = %v, want ErrClaimConflict", err)
			case tc.wantConflict && (existing == nil || existing.TrackingKey != key):
				t.Fatalf("Claim returned existing %+v, want the stored record", existing)
			case !tc.wantConflict && err != nil:
				t.Fatalf("Claim error = %v (existing %+v), want the lease", err, existing)
			case !tc.wantConflict && existing != nil:
				t.Fatalf("Claim won but returned a record: %+v", existing)
			}
			if tc.check != nil {
				tc.check(t, c, existing, f.stored(t, key))
			}
		})
	}
}

// v1Claim is a claim on an Ottu API without Tracking-Key replay: no TTL
// until an outcome is known, and only a refused request may be re-claimed.
func v1Claim(key string, now time.Time) operation.Claim {
	c := claimAt(key, now)
	c.ExpiresAt, c.ReclaimOnlyFailed = time.Time{}, true
	return c
}

func withLease(c operation.Claim, lease string) operation.Claim {
	c.LeaseID = lease
	return c
}

func TestClaimRejectsInvalidInput(t *testing.T) {
	cases := []struct {
		name   string
		change func(c *operation.Claim)
	}{
		{"an empty tracking key is refused", func(c *operation.Claim) { c.TrackingKey = "" }},
		{"an empty fingerprint is refused", func(c *operation.Claim) { c.Fingerprint = "" }},
		{"an empty lease id is refused", func(c *operation.Claim) { c.LeaseID = "" }},
		{"a claim without Now is refused", func(c *operation.Claim) { c.Now = time.Time{} }},
		{"a lease that ends before it starts is refused", func(c *operation.Claim) { c.LeaseUntil = c.Now }},
		{"a TTL shorter than the lease is refused", func(c *operation.Claim) { c.ExpiresAt = c.LeaseUntil.Add(-time.Second) }},
	}
	f := newFixture(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := claimAt(testkit.UniqueName("key"), t0)
			tc.change(&c)
			f.api.Reset()
			existing, err := f.store.Claim(context.Background(), c)
			if !errors.Is(err, ErrInvalidInput) || existing != nil {
				t.Fatalf("Claim = %+v, %v; want ErrInvalidInput", existing, err)
			}
			if n := f.api.Counts().Total(); n != 0 {
				t.Errorf("%d requests sent for a refused claim, want 0", n)
			}
		})
	}
}

func TestRequestCounts(t *testing.T) {
	success := readFixture(t, "refund_success.json")
	cases := []struct {
		name   string
		before func(t *testing.T, s *Store, key string)
		run    func(t *testing.T, s *Store, key string)
		want   testkit.RequestCounts
	}{
		{
			name: "claim and complete of a new key take two writes and no read",
			run: func(t *testing.T, s *Store, key string) {
				claimThenComplete(t, s, claimAt(key, t0), operation.StatusSucceeded, 200, success, time.Time{})
			},
			want: testkit.RequestCounts{UpdateItem: 2},
		},
		{
			name: "a replay of a succeeded key takes one failed write",
			before: func(t *testing.T, s *Store, key string) {
				claimThenComplete(t, s, claimAt(key, t0), operation.StatusSucceeded, 200, success, time.Time{})
			},
			run:  claimExpectingConflict,
			want: testkit.RequestCounts{UpdateItem: 1},
		},
		{
			name:   "a conflict on an in-progress key takes one write",
			before: func(t *testing.T, s *Store, key string) { mustClaim(t, s, claimAt(key, t0)) },
			run:    claimExpectingConflict,
			want:   testkit.RequestCounts{UpdateItem: 1},
		},
		{
			name: "a record past its TTL but not yet swept takes a second write",
			before: func(t *testing.T, s *Store, key string) {
				old := claimAt(key, t0.Add(-48*time.Hour))
				old.ExpiresAt = old.Now.Add(time.Hour)
				mustClaim(t, s, old)
			},
			run:  func(t *testing.T, s *Store, key string) { mustClaim(t, s, claimAt(key, t0)) },
			want: testkit.RequestCounts{UpdateItem: 2},
		},
	}
	f := newFixture(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			key := testkit.UniqueName("key")
			if tc.before != nil {
				tc.before(t, f.store, key)
			}
			f.api.Reset()
			tc.run(t, f.store, key)
			if got := f.api.Counts(); got != tc.want {
				t.Errorf("requests = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func claimExpectingConflict(t *testing.T, s *Store, key string) {
	t.Helper()
	existing, err := s.Claim(context.Background(), claimAt(key, t0.Add(time.Second)))
	if !errors.Is(err, operation.ErrClaimConflict) || existing == nil {
		t.Fatalf("Claim = %+v, %v; want a conflict with the stored record", existing, err)
	}
}

func TestComplete(t *testing.T) {
	success := readFixture(t, "refund_success.json")
	rejected := readFixture(t, "refund_rejected.json")
	cases := []struct {
		name string
		// run acts on key and checks the result itself.
		run func(t *testing.T, f fixture, key string)
	}{
		{
			name: "a stale lease id is refused and the newer claim's record is left untouched",
			run: func(t *testing.T, f fixture, key string) {
				first := claimAt(key, t0)
				mustClaim(t, f.store, first)
				mustClaim(t, f.store, claimAt(key, t0.Add(31*time.Second)))
				before := f.stored(t, key)
				err := f.store.Complete(context.Background(), operation.Outcome{
					TrackingKey: key, LeaseID: first.LeaseID, Status: operation.StatusSucceeded,
					OttuStatus: 200, OttuBody: success, Now: t0.Add(40 * time.Second),
				})
				if !errors.Is(err, operation.ErrLeaseLost) {
					t.Fatalf("Complete error = %v, want ErrLeaseLost", err)
				}
				if after := f.stored(t, key); !reflect.DeepEqual(after, before) {
					t.Errorf("the newer claim's record changed:\nbefore %+v\n after %+v", before, after)
				}
			},
		},
		{
			name: "an outcome for a key never claimed is refused and creates nothing",
			run: func(t *testing.T, f fixture, key string) {
				err := f.store.Complete(context.Background(), operation.Outcome{
					TrackingKey: key, LeaseID: "no-such-lease", Status: operation.StatusFailed, Now: t0,
				})
				if !errors.Is(err, operation.ErrLeaseLost) {
					t.Fatalf("Complete error = %v, want ErrLeaseLost", err)
				}
				if rec := f.stored(t, key); rec != nil {
					t.Errorf("a refused outcome created a record: %+v", rec)
				}
			},
		},
		{
			name: "an outcome after the lease ran out is recorded when nobody took the key over",
			run: func(t *testing.T, f fixture, key string) {
				c := claimAt(key, t0)
				mustClaim(t, f.store, c)
				mustComplete(t, f.store, operation.Outcome{
					TrackingKey: key, LeaseID: c.LeaseID, Status: operation.StatusSucceeded,
					OttuStatus: 200, OttuBody: success, Now: t0.Add(10 * time.Minute),
				})
				rec := f.stored(t, key)
				if rec.Status != operation.StatusSucceeded || !bytes.Equal(rec.OttuBody, success) || !rec.UpdatedAt.Equal(t0.Add(10*time.Minute)) {
					t.Errorf("stored %s %q updated %s", rec.Status, rec.OttuBody, rec.UpdatedAt)
				}
			},
		},
		{
			name: "an outcome moves the TTL to retention after the outcome",
			run: func(t *testing.T, f fixture, key string) {
				c := claimAt(key, t0)
				mustClaim(t, f.store, c)
				want := t0.Add(30 * 24 * time.Hour).Truncate(time.Second)
				mustComplete(t, f.store, operation.Outcome{TrackingKey: key, LeaseID: c.LeaseID, Status: operation.StatusSucceeded,
					OttuStatus: 200, OttuBody: success, Now: t0.Add(time.Second), ExpiresAt: want})
				if rec := f.stored(t, key); !rec.ExpiresAt.Equal(want) {
					t.Errorf("TTL %s, want %s", rec.ExpiresAt, want)
				}
			},
		},
		{
			name: "an unknown outcome removes the TTL, so the key never frees itself silently",
			run: func(t *testing.T, f fixture, key string) {
				claimThenComplete(t, f.store, claimAt(key, t0), operation.StatusUnknown, 0, nil, t0.Add(time.Minute))
				if rec := f.stored(t, key); !rec.ExpiresAt.IsZero() {
					t.Errorf("TTL %s, want none", rec.ExpiresAt)
				}
				if _, err := f.store.Get(context.Background(), key); err != nil {
					t.Errorf("a record without TTL must stay readable: %v", err)
				}
			},
		},
		{
			name: "a zero LeaseUntil ends the lease at Now",
			run: func(t *testing.T, f fixture, key string) {
				c := claimAt(key, t0)
				claimThenComplete(t, f.store, c, operation.StatusFailed, 400, rejected, time.Time{})
				if rec := f.stored(t, key); !rec.LeaseExpiresAt.Equal(t0.Add(time.Second)) {
					t.Errorf("lease ends %s, want the outcome's Now %s", rec.LeaseExpiresAt, t0.Add(time.Second))
				}
				mustClaim(t, f.store, claimAt(key, t0.Add(time.Second)))
			},
		},
		{
			name: "an outcome without an Ottu answer keeps the last one",
			run: func(t *testing.T, f fixture, key string) {
				claimThenComplete(t, f.store, claimAt(key, t0), operation.StatusFailed, 400, rejected, time.Time{})
				claimThenComplete(t, f.store, claimAt(key, t0.Add(time.Minute)), operation.StatusUnknown, 0, nil, time.Time{})
				rec := f.stored(t, key)
				if rec.Status != operation.StatusUnknown || rec.ErrorCode != "outcome_unknown" || rec.OttuStatus != 400 || !bytes.Equal(rec.OttuBody, rejected) {
					t.Errorf("stored %s %q %d %q", rec.Status, rec.ErrorCode, rec.OttuStatus, rec.OttuBody)
				}
			},
		},
		{
			name: "a success replaces the last failure's answer and clears its error code",
			run: func(t *testing.T, f fixture, key string) {
				claimThenComplete(t, f.store, claimAt(key, t0), operation.StatusFailed, 400, rejected, time.Time{})
				claimThenComplete(t, f.store, claimAt(key, t0.Add(time.Minute)), operation.StatusSucceeded, 200, success, time.Time{})
				rec := f.stored(t, key)
				if rec.Status != operation.StatusSucceeded || rec.ErrorCode != "" || rec.OttuStatus != 200 || !bytes.Equal(rec.OttuBody, success) || rec.Attempts != 2 {
					t.Errorf("stored %s %q %d attempts %d", rec.Status, rec.ErrorCode, rec.OttuStatus, rec.Attempts)
				}
			},
		},
		{
			name: "an answer with a status and no body removes the older body",
			run: func(t *testing.T, f fixture, key string) {
				claimThenComplete(t, f.store, claimAt(key, t0), operation.StatusFailed, 400, rejected, time.Time{})
				claimThenComplete(t, f.store, claimAt(key, t0.Add(time.Minute)), operation.StatusFailed, 503, nil, time.Time{})
				if rec := f.stored(t, key); rec.OttuStatus != 503 || rec.OttuBody != nil {
					t.Errorf("stored %d %q, want 503 and no body", rec.OttuStatus, rec.OttuBody)
				}
			},
		},
	}
	f := newFixture(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, f, testkit.UniqueName("key"))
		})
	}
}

func TestCompleteRejectsInvalidInput(t *testing.T) {
	cases := []struct {
		name   string
		change func(o *operation.Outcome)
	}{
		{"an empty tracking key is refused", func(o *operation.Outcome) { o.TrackingKey = "" }},
		{"an empty lease id is refused", func(o *operation.Outcome) { o.LeaseID = "" }},
		{"an outcome without Now is refused", func(o *operation.Outcome) { o.Now = time.Time{} }},
		{"in_progress is not an outcome", func(o *operation.Outcome) { o.Status = operation.StatusInProgress }},
		{"an unnamed status is refused", func(o *operation.Outcome) { o.Status = "done" }},
		{"a body that is not JSON is refused", func(o *operation.Outcome) { o.OttuBody = json.RawMessage("<html>bad gateway</html>") }},
		{"a body that is not UTF-8 is refused", func(o *operation.Outcome) { o.OttuBody = json.RawMessage("\"\xff\xfe\"") }},
	}
	f := newFixture(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			key := testkit.UniqueName("key")
			c := claimAt(key, t0)
			mustClaim(t, f.store, c)
			o := operation.Outcome{TrackingKey: key, LeaseID: c.LeaseID, Status: operation.StatusSucceeded, OttuStatus: 200, OttuBody: json.RawMessage(`{}`), Now: t0}
			tc.change(&o)
			f.api.Reset()
			if err := f.store.Complete(context.Background(), o); !errors.Is(err, ErrInvalidInput) {
				t.Fatalf("Complete error = %v, want ErrInvalidInput", err)
			}
			if n := f.api.Counts().Total(); n != 0 {
				t.Errorf("%d requests sent for a refused outcome, want 0", n)
			}
			if rec := f.stored(t, key); rec.Status != operation.StatusInProgress {
				t.Errorf("stored status %s, want in_progress untouched", rec.Status)
			}
		})
	}
}

func TestGet(t *testing.T) {
	cases := []struct {
		name     string
		before   func(t *testing.T, s *Store, key string)
		key      func(key string) string
		wantErr  error
		wantBody json.RawMessage
	}{
		{
			name:    "an unknown key is not found",
			wantErr: operation.ErrRecordNotFound,
		},
		{
			name: "a record past its TTL not yet swept is not found",
			before: func(t *testing.T, s *Store, key string) {
				c := claimAt(key, t0.Add(-48*time.Hour))
				c.ExpiresAt = c.Now.Add(time.Hour)
				mustClaim(t, s, c)
			},
			wantErr: operation.ErrRecordNotFound,
		},
		{
			name:    "an empty key is refused",
			key:     func(string) string { return "" },
			wantErr: ErrInvalidInput,
		},
		{
			name: "a live record is found",
			before: func(t *testing.T, s *Store, key string) {
				claimThenComplete(t, s, claimAt(key, t0), operation.StatusSucceeded, 200, readFixture(t, "refund_success.json"), time.Time{})
			},
			wantBody: readFixture(t, "refund_success.json"),
		},
	}
	f := newFixture(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			key := testkit.UniqueName("key")
			if tc.before != nil {
				tc.before(t, f.store, key)
			}
			if tc.key != nil {
				key = tc.key(key)
			}
			rec, err := f.store.Get(context.Background(), key)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) || rec != nil {
					t.Fatalf("Get = %+v, %v; want %v", rec, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Get error = %v", err)
			}
			if rec.TrackingKey != key || !bytes.Equal(rec.OttuBody, tc.wantBody) {
				t.Errorf("Get = %s %q", rec.TrackingKey, rec.OttuBody)
			}
		})
	}
}

func TestRoundTrip(t *testing.T) {
	cases := []struct {
		name      string
		amount    string
		sessionID string
		orderNo   string
		body      json.RawMessage
	}{
		{name: "an amount with trailing zeros keeps them", amount: "2.500", sessionID: "sess-1", body: json.RawMessage(`{"amount":"2.500"}`)},
		{name: "the largest amount Ottu allows is kept as text", amount: "9999999999999.999", orderNo: "order-7", body: json.RawMessage(`{}`)},
		{name: "no amount is stored as none", sessionID: "sess-1", orderNo: "order-7", body: json.RawMessage(`{"result":"success"}`)},
		{name: "a body with unicode, escapes and numbers like 1.10 is kept byte for byte", amount: "1.10", sessionID: "sess-ü", body: readFixture(t, "refund_success.json")},
		{name: "a pretty-printed body keeps its layout", amount: "0.001", sessionID: "s", body: readFixture(t, "refund_rejected.json")},
	}
	f := newFixture(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := claimAt(testkit.UniqueName("key"), t0)
			c.Amount, c.SessionID, c.OrderNo = tc.amount, tc.sessionID, tc.orderNo
			claimThenComplete(t, f.store, c, operation.StatusSucceeded, 200, tc.body, time.Time{})
			rec, err := f.store.Get(context.Background(), c.TrackingKey)
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			if rec.Amount != tc.amount || rec.SessionID != tc.sessionID || rec.OrderNo != tc.orderNo {
				t.Errorf("stored amount %q session %q order %q; want %q %q %q", rec.Amount, rec.SessionID, rec.OrderNo, tc.amount, tc.sessionID, tc.orderNo)
			}
			if !bytes.Equal(rec.OttuBody, tc.body) {
				t.Errorf("body changed:\n got %q\nwant %q", rec.OttuBody, tc.body)
			}
			if item, err := f.client.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: &f.table, Key: itemKey(c.TrackingKey)}); err != nil {
				t.Fatalf("GetItem: %v", err)
			} else if _, has := item.Item[attrAmount]; has != (tc.amount != "") {
				t.Errorf("amount attribute present = %v, want %v", has, tc.amount != "")
			}
		})
	}
}

func TestSettle(t *testing.T) {
	success := readFixture(t, "refund_success.json")
	rejected := readFixture(t, "refund_rejected.json")
	later := readFixture(t, "inquiry_later.json")
	cases := []struct {
		name    string
		before  func(t *testing.T, s *Store, key string)
		status  operation.Status
		wantErr error
		// want checks the stored record after a refresh that applied.
		want func(t *testing.T, rec *operation.Record)
	}{
		{
			name:    "an unknown key is not found",
			status:  operation.StatusSucceeded,
			wantErr: operation.ErrRecordNotFound,
		},
		{
			name: "a key in progress under a live lease is refused",
			before: func(t *testing.T, s *Store, key string) {
				mustClaim(t, s, claimAt(key, t0.Add(time.Hour-10*time.Second)))
			},
			status:  operation.StatusSucceeded,
			wantErr: operation.ErrLeaseLost,
		},
		{
			name:   "a key left in progress by a crash is refreshed once its lease ended",
			before: func(t *testing.T, s *Store, key string) { mustClaim(t, s, claimAt(key, t0.Add(-time.Hour))) },
			status: operation.StatusSucceeded,
			want: func(t *testing.T, rec *operation.Record) {
				if rec.Status != operation.StatusSucceeded || !bytes.Equal(rec.OttuBody, later) {
					t.Errorf("stored %s %q", rec.Status, rec.OttuBody)
				}
			},
		},
		{
			name: "a succeeded record gets Ottu's newer body",
			before: func(t *testing.T, s *Store, key string) {
				claimThenComplete(t, s, claimAt(key, t0), operation.StatusSucceeded, 200, success, time.Time{})
			},
			status: operation.StatusSucceeded,
			want: func(t *testing.T, rec *operation.Record) {
				if rec.Status != operation.StatusSucceeded || rec.OttuStatus != 201 || !bytes.Equal(rec.OttuBody, later) || !rec.UpdatedAt.Equal(t0.Add(time.Hour)) {
					t.Errorf("stored %s %d %q updated %s", rec.Status, rec.OttuStatus, rec.OttuBody, rec.UpdatedAt)
				}
				if rec.Attempts != 1 {
					t.Errorf("a refresh is not an attempt: attempts %d", rec.Attempts)
				}
			},
		},
		{
			name: "an unknown outcome is refreshed even while its lease keeps others off",
			before: func(t *testing.T, s *Store, key string) {
				claimThenComplete(t, s, claimAt(key, t0), operation.StatusUnknown, 0, nil, t0.Add(2*time.Hour))
			},
			status: operation.StatusSucceeded,
			want: func(t *testing.T, rec *operation.Record) {
				if rec.Status != operation.StatusSucceeded || rec.ErrorCode != "" {
					t.Errorf("stored %s %q, want succeeded without an error code", rec.Status, rec.ErrorCode)
				}
			},
		},
		{
			name: "a failed record refreshed as failed keeps its error code",
			before: func(t *testing.T, s *Store, key string) {
				claimThenComplete(t, s, claimAt(key, t0), operation.StatusFailed, 400, rejected, time.Time{})
			},
			status: operation.StatusFailed,
			want: func(t *testing.T, rec *operation.Record) {
				if rec.Status != operation.StatusFailed || rec.ErrorCode != "operation_rejected" || !bytes.Equal(rec.OttuBody, later) {
					t.Errorf("stored %s %q %q", rec.Status, rec.ErrorCode, rec.OttuBody)
				}
			},
		},
		{
			name: "a record past its TTL is not found",
			before: func(t *testing.T, s *Store, key string) {
				c := claimAt(key, t0.Add(-48*time.Hour))
				c.ExpiresAt = c.Now.Add(time.Hour)
				claimThenComplete(t, s, c, operation.StatusSucceeded, 200, success, time.Time{})
			},
			status:  operation.StatusSucceeded,
			wantErr: operation.ErrRecordNotFound,
		},
		{
			name: "in_progress is not a status a refresh may store",
			before: func(t *testing.T, s *Store, key string) {
				claimThenComplete(t, s, claimAt(key, t0), operation.StatusSucceeded, 200, success, time.Time{})
			},
			status:  operation.StatusInProgress,
			wantErr: ErrInvalidInput,
		},
	}
	f := newFixture(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			key := testkit.UniqueName("key")
			if tc.before != nil {
				tc.before(t, f.store, key)
			}
			before := f.stored(t, key)
			err := f.store.Settle(context.Background(), operation.Settlement{TrackingKey: key, Status: tc.status,
				OttuStatus: 201, OttuBody: later, Now: t0.Add(time.Hour), ExpiresAt: t0.Add(48 * time.Hour)})
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Settle error = %v, want %v", err, tc.wantErr)
				}
				if after := f.stored(t, key); !reflect.DeepEqual(after, before) {
					t.Errorf("a refused settlement changed the record:\nbefore %+v\n after %+v", before, after)
				}
				return
			}
			if err != nil {
				t.Fatalf("Settle error = %v", err)
			}
			// The TTL is whole seconds, rounded up.
			if rec, want := f.stored(t, key), t0.Add(48*time.Hour); rec.ExpiresAt.Before(want) || rec.ExpiresAt.Sub(want) >= time.Second {
				t.Errorf("the TTL is %s, want it moved to %s", rec.ExpiresAt, want)
			}
			tc.want(t, f.stored(t, key))
		})
	}
}

func BenchmarkClaimComplete(b *testing.B) {
	f := newFixture(b)
	body := readFixture(b, "refund_success.json")
	ctx := context.Background()
	f.api.Reset()
	n := 0
	for b.Loop() {
		n++
		c := claimAt(fmt.Sprintf("bench-%d", n), time.Now())
		if _, err := f.store.Claim(ctx, c); err != nil {
			b.Fatalf("claim: %v", err)
		}
		if err := f.store.Complete(ctx, operation.Outcome{
			TrackingKey: c.TrackingKey, LeaseID: c.LeaseID, Status: operation.StatusSucceeded,
			OttuStatus: 200, OttuBody: body, Now: c.Now,
		}); err != nil {
			b.Fatalf("complete: %v", err)
		}
	}
	counts := f.api.Counts()
	b.ReportMetric(float64(counts.Total())/float64(n), "requests/op")
	b.ReportMetric(float64(counts.GetItem)/float64(n), "reads/op")
}
