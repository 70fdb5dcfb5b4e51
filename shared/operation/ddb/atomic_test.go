package ddb

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/ottuops/ottu-lambda/dev/testkit"
	"github.com/ottuops/ottu-lambda/shared/operation"
)

// TestConcurrentClaimsThroughMotoProxy races many claims of one request
// on each of several keys against moto as every test and the local stack
// reach it: through testenv's motoproxy, with no serialising wrapper in the
// store. moto's server alone lets two overlapping conditional writes both
// win on several keys in ten; DynamoDB, and moto behind the proxy, let
// exactly one claim per key take the lease, so Ottu is called once.
func TestConcurrentClaimsThroughMotoProxy(t *testing.T) {
	const (
		keys     = 10
		claimers = 25
	)
	success := readFixture(t, "refund_success.json")
	cases := []struct {
		name string
		// before writes the record each key holds before the race.
		before func(t *testing.T, s *Store, key string)
		// now is when the racing claims are made.
		now          time.Time
		wantAttempts int
	}{
		{
			name:         "exactly one of 25 claims wins each new key",
			now:          t0,
			wantAttempts: 1,
		},
		{
			name:         "exactly one of 25 claims wins each key whose lease ended, as attempt 2",
			before:       func(t *testing.T, s *Store, key string) { mustClaim(t, s, claimAt(key, t0)) },
			now:          t0.Add(31 * time.Second),
			wantAttempts: 2,
		},
		{
			name: "exactly one of 25 claims wins each key past its TTL, which takes two writes per claim",
			before: func(t *testing.T, s *Store, key string) {
				old := claimAt(key, t0.Add(-48*time.Hour))
				old.Fingerprint = fpOther
				old.ExpiresAt = old.Now.Add(time.Hour)
				claimThenComplete(t, s, old, operation.StatusSucceeded, 200, success, time.Time{})
			},
			now:          t0,
			wantAttempts: 1,
		},
	}
	f := newFixture(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			type result struct {
				leaseID  string
				existing *operation.Record
				err      error
			}
			var (
				names   [keys]string
				results [keys][claimers]result
				wg      sync.WaitGroup
			)
			for k := range names {
				names[k] = testkit.UniqueName("atomic")
				if tc.before != nil {
					tc.before(t, f.store, names[k])
				}
			}
			// Generous: a bound on a hang, not on speed.
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			start := make(chan struct{})
			for k := range keys {
				for i := range claimers {
					wg.Go(func() {
						c := claimAt(names[k], tc.now)
						<-start
						existing, err := f.store.Claim(ctx, c)
						results[k][i] = result{leaseID: c.LeaseID, existing: existing, err: err}
					})
				}
			}
			close(start)
			wg.Wait()

			for k, key := range names {
				var winners []string
				for _, r := range results[k] {
					switch {
					case r.err == nil:
						winners = append(winners, r.leaseID)
					case !errors.Is(r.err, operation.ErrClaimConflict):
						t.Errorf("key %s: a claim failed instead of winning or conflicting: %v", key, r.err)
					}
				}
				if len(winners) != 1 {
					t.Errorf("key %s: %d of %d claims won, want exactly 1", key, len(winners), claimers)
					continue
				}
				for _, r := range results[k] {
					if r.err != nil && (r.existing == nil || r.existing.LeaseID != winners[0]) {
						t.Errorf("key %s: a losing claim saw %+v, want the winner's lease %s", key, r.existing, winners[0])
					}
				}
				rec := f.stored(t, key)
				if rec == nil || rec.LeaseID != winners[0] || rec.Attempts != tc.wantAttempts || rec.Status != operation.StatusInProgress {
					t.Errorf("key %s: stored %+v; want in_progress under the winner's lease %s, attempts %d", key, rec, winners[0], tc.wantAttempts)
				}
			}
		})
	}
}
