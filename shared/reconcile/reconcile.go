// Package reconcile settles Tracking-Key records whose outcome is not
// known — unknown, or in_progress past their lease — without a person: on
// a schedule, read-only, by the same refresh GET /operations/{key}
// ?refresh=true performs (operation.Service.Status), within Ottu's
// inquiry throttle.
//
// What it never does: send an operation (it only reads); spend a
// transaction's last inquiry Ottu allows (a person may need it); spend
// more than its own budget of inquiries per transaction, or more than one
// per Ottu's interval; or ask more often per run than Ottu's overall rate.
// What it cannot settle stays unknown and is counted as left for a person.
//
// It knows nothing of AWS: records, budgets and nudges come through the
// small interfaces below (shared/reconcile/ddb).
package reconcile

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/ottuops/ottu-lambda/shared/inquiry"
	"github.com/ottuops/ottu-lambda/shared/operation"
	"github.com/ottuops/ottu-lambda/shared/txn"
)

// Records finds the Tracking-Keys of the records in a status, oldest
// change first, at most limit.
type Records interface {
	Keys(ctx context.Context, status operation.Status, limit int) ([]string, error)
}

// Refresher reads a record, and refreshes it read-only from Ottu
// (operation.Service.Status).
type Refresher interface {
	Status(ctx context.Context, key string, refresh bool) (*operation.Record, error)
}

// Transactions is what is stored of a payment (txn.Store): the inquiries
// already made of it, and its reference_number.
type Transactions interface {
	History(ctx context.Context, id string, limit int) ([]txn.Entry, error)
}

// Budget keeps the reconciler's inquiries per transaction.
//
// Take claims one inquiry of txnID in one conditional write: only while
// fewer than max were taken and none in the last interval; false (and no
// error) otherwise. GiveBack returns a claim Ottu's throttle turned away
// (nothing was asked), with the time Ottu named to wait.
type Budget interface {
	Take(ctx context.Context, txnID string, max int, interval time.Duration, now time.Time) (bool, error)
	GiveBack(ctx context.Context, txnID string, notBefore time.Time) error
}

// Nudges are the payments an operation notification named (by
// reference_number) since the last run.
type Nudges interface {
	Nudged(ctx context.Context) ([]string, error)
	Forget(ctx context.Context, refs []string) error
}

// Approvals counts the refund workflows waiting for a person's approval,
// and when the oldest was asked for (zero when none waits).
type Approvals interface {
	Waiting(ctx context.Context) (count int, oldest time.Time, err error)
}

// Defaults for the zero values of Service.
const (
	// DefaultPerTransaction: one inquiry per transaction by the
	// reconciler; Ottu allows three, and the last is always left.
	DefaultPerTransaction = 1
	// DefaultPerRun bounds the inquiries of one run, well under Ottu's 30
	// a minute overall.
	DefaultPerRun = 5
	// DefaultScan bounds the records looked at per status and run.
	DefaultScan = 200
	// DefaultTimeout bounds each call.
	DefaultTimeout = 5 * time.Second
)

// Age buckets of the open records (the metric's AgeBucket dimension).
var AgeBuckets = []struct {
	Name  string
	Under time.Duration
}{
	{"under_10m", 10 * time.Minute},
	{"10m_to_1h", time.Hour},
	{"1h_to_24h", 24 * time.Hour},
	{"over_24h", 0},
}

// BucketOf names the age bucket of age.
func BucketOf(age time.Duration) string {
	for _, b := range AgeBuckets {
		if b.Under == 0 || age < b.Under {
			return b.Name
		}
	}
	return AgeBuckets[len(AgeBuckets)-1].Name
}

// Service is one reconciler. Records, Refresher, Transactions and Budget
// are required; Nudges is optional.
type Service struct {
	Records      Records
	Refresher    Refresher
	Transactions Transactions
	Budget       Budget
	Nudges       Nudges
	// Approvals, when set, is counted on each run (the alarm on approvals
	// waiting long).
	Approvals Approvals
	// PerTransaction is the reconciler's inquiries per transaction; it is
	// capped so that one of Ottu's three is always left.
	PerTransaction int
	// PerRun bounds the inquiries of one run.
	PerRun int
	// Scan bounds the records looked at per status and run.
	Scan    int
	Timeout time.Duration
	Now     func() time.Time
	Logger  func(context.Context) *slog.Logger
}

// Outcome of one open record in a run.
type Outcome string

// The outcomes.
const (
	// Settled: the refresh settled the record (succeeded or failed).
	Settled Outcome = "settled"
	// Pending: Ottu shows it still under way (a queued refund) or throttled
	// the inquiry: looked at again on a later run.
	Pending Outcome = "pending"
	// Deferred: not looked at in this run (the run's budget, or the
	// transaction's interval).
	Deferred Outcome = "deferred"
	// LeftForPerson: the reconciler will not inquire again (its budget, or
	// only the last inquiry is left) or Ottu's answer settles nothing.
	LeftForPerson Outcome = "left_for_person"
	// Failed: a call failed; looked at again on a later run.
	Failed Outcome = "failed"
)

// Report is what one run did.
type Report struct {
	// Open counts the open records by AgeBucket; Oldest is the age of the
	// oldest one (zero when none).
	Open   map[string]int
	Oldest time.Duration
	// Outcomes counts the records by outcome.
	Outcomes map[Outcome]int
	// Inquiries is how many inquiries the run spent.
	Inquiries int
	// ApprovalsWaiting and OldestApproval: refund workflows waiting for a
	// person's approval, and how long the oldest has waited.
	ApprovalsWaiting int
	OldestApproval   time.Duration
	// Records lists what became of each record (for the log).
	Records []RecordOutcome
}

// RecordOutcome is one record's outcome in a run.
type RecordOutcome struct {
	TrackingKey string
	Status      operation.Status
	Age         time.Duration
	Outcome     Outcome
	Why         string
}

// candidate is an open record with what decides its turn.
type candidate struct {
	rec    *operation.Record
	txnID  string
	nudged bool
}

// Run looks at every open record (up to Scan per status) and settles what
// it can within the budgets. Nudged transactions go first.
func (s *Service) Run(ctx context.Context) (*Report, error) {
	now := s.now()
	rep := &Report{Open: map[string]int{}, Outcomes: map[Outcome]int{}}
	cands, err := s.open(ctx, now)
	if err != nil {
		return nil, err
	}
	nudged := s.nudged(ctx)
	refs := map[string]string{} // txnID -> its reference_number, when known
	histories := map[string][]txn.Entry{}
	for i := range cands {
		c := &cands[i]
		age := now.Sub(c.rec.UpdatedAt)
		rep.Open[BucketOf(age)]++
		rep.Oldest = max(rep.Oldest, age)
		if _, ok := histories[c.txnID]; !ok {
			h, herr := s.history(ctx, c.txnID)
			if herr != nil {
				s.log(ctx).LogAttrs(ctx, slog.LevelWarn, "the transaction's stored inquiries could not be read", slog.String("error", herr.Error()))
			}
			histories[c.txnID] = h
			if r := txn.PaymentReference(h); r != "" {
				refs[c.txnID] = r
			}
		}
		c.nudged = refs[c.txnID] != "" && slices.Contains(nudged, refs[c.txnID])
	}
	// Nudged first, then the oldest.
	slices.SortStableFunc(cands, func(a, b candidate) int {
		switch {
		case a.nudged && !b.nudged:
			return -1
		case b.nudged && !a.nudged:
			return 1
		}
		return a.rec.UpdatedAt.Compare(b.rec.UpdatedAt)
	})
	settledTxn := map[string]bool{}
	for _, c := range cands {
		o := s.settle(ctx, c, histories[c.txnID], now, rep, settledTxn)
		o.Age = now.Sub(c.rec.UpdatedAt)
		rep.Outcomes[o.Outcome]++
		rep.Records = append(rep.Records, o)
	}
	if s.Approvals != nil {
		cctx, cancel := context.WithTimeout(ctx, s.timeout())
		n, oldest, err := s.Approvals.Waiting(cctx)
		cancel()
		if err != nil {
			s.log(ctx).LogAttrs(ctx, slog.LevelWarn, "the waiting approvals could not be counted", slog.String("error", err.Error()))
		} else if n > 0 {
			rep.ApprovalsWaiting, rep.OldestApproval = n, max(0, now.Sub(oldest))
		}
	}
	if s.Nudges != nil && len(nudged) > 0 {
		cctx, cancel := context.WithTimeout(ctx, s.timeout())
		if err := s.Nudges.Forget(cctx, nudged); err != nil {
			s.log(ctx).LogAttrs(ctx, slog.LevelWarn, "the nudges could not be cleared; the next run looks first again", slog.String("error", err.Error()))
		}
		cancel()
	}
	return rep, nil
}

// open lists the unknown records and the in_progress ones past their lease.
func (s *Service) open(ctx context.Context, now time.Time) ([]candidate, error) {
	var out []candidate
	for _, st := range []operation.Status{operation.StatusUnknown, operation.StatusInProgress} {
		cctx, cancel := context.WithTimeout(ctx, s.timeout())
		keys, err := s.Records.Keys(cctx, st, s.scan())
		cancel()
		if err != nil {
			return nil, fmt.Errorf("list the %s records: %w", st, err)
		}
		for _, k := range keys {
			cctx, cancel := context.WithTimeout(ctx, s.timeout())
			rec, err := s.Refresher.Status(cctx, k, false)
			cancel()
			if err != nil {
				s.log(ctx).LogAttrs(ctx, slog.LevelWarn, "an open record could not be read", slog.String("tracking_key", k), slog.String("error", err.Error()))
				continue
			}
			switch {
			case rec.Status == operation.StatusUnknown:
			case rec.Status == operation.StatusInProgress && !rec.LeaseExpiresAt.After(now):
			default:
				continue // settled meanwhile, or a request is still running
			}
			id := rec.SessionID
			if id == "" {
				id = rec.OrderNo
			}
			out = append(out, candidate{rec: rec, txnID: id})
		}
	}
	return out, nil
}

// settle decides whether to spend an inquiry on c, and spends it.
func (s *Service) settle(ctx context.Context, c candidate, history []txn.Entry, now time.Time, rep *Report, settledTxn map[string]bool) RecordOutcome {
	o := RecordOutcome{TrackingKey: c.rec.TrackingKey, Status: c.rec.Status}
	if c.txnID == "" {
		o.Outcome, o.Why = LeftForPerson, "the record names no transaction"
		return o
	}
	if settledTxn[c.txnID] {
		// One inquiry of this transaction in this run already answered:
		// its other records are refreshed on the next run (a refresh
		// always inquires).
		o.Outcome, o.Why = Deferred, "the transaction was inquired in this run"
		return o
	}
	known, last := inquiriesOf(history)
	if known >= inquiry.PerTransaction-1 {
		o.Outcome, o.Why = LeftForPerson, fmt.Sprintf("%d of Ottu's %d inquiries of the transaction are used; the last is left for a person", known, inquiry.PerTransaction)
		return o
	}
	if !last.IsZero() && now.Sub(last) < inquiry.Interval {
		o.Outcome, o.Why = Deferred, "the transaction was inquired less than 30 minutes ago"
		return o
	}
	if rep.Inquiries >= s.perRun() {
		o.Outcome, o.Why = Deferred, "this run's inquiries are spent"
		return o
	}
	per := min(s.perTransaction(), inquiry.PerTransaction-1-known)
	cctx, cancel := context.WithTimeout(ctx, s.timeout())
	ok, err := s.Budget.Take(cctx, c.txnID, per, inquiry.Interval, now)
	cancel()
	switch {
	case err != nil:
		o.Outcome, o.Why = Failed, "the budget could not be read: "+err.Error()
		return o
	case !ok:
		o.Outcome, o.Why = LeftForPerson, "the reconciler's inquiries of this transaction are spent, or its last was under 30 minutes ago"
		return o
	}
	rep.Inquiries++
	settledTxn[c.txnID] = true
	cctx, cancel = context.WithTimeout(ctx, s.timeout())
	rec, err := s.Refresher.Status(cctx, c.rec.TrackingKey, true)
	cancel()
	switch {
	case err != nil:
		// The inquiry is spent (Ottu may have counted it): a later run
		// finds the budget used and leaves the record for a person.
		o.Outcome, o.Why = Failed, err.Error()
		return o
	case rec.InquiryThrottled != nil:
		// Nothing was asked: the claim goes back, with Ottu's wait.
		rep.Inquiries--
		next := now.Add(rec.InquiryThrottled.RetryAfter)
		bctx, cancel := context.WithTimeout(ctx, s.timeout())
		if err := s.Budget.GiveBack(bctx, c.txnID, next); err != nil {
			s.log(ctx).LogAttrs(ctx, slog.LevelWarn, "a throttled inquiry could not be given back to the budget", slog.String("error", err.Error()))
		}
		cancel()
		o.Outcome, o.Why = Pending, rec.InquiryThrottled.Detail
	case rec.Status != c.rec.Status:
		o.Status, o.Outcome, o.Why = rec.Status, Settled, "Ottu's inquiry shows the operation "+string(rec.Status)
	default:
		o.Outcome, o.Why = Pending, "Ottu's inquiry settles nothing yet"
	}
	return o
}

// inquiriesOf counts the inquiries Ottu answered for the transaction (as
// stored), and the last one's time.
func inquiriesOf(history []txn.Entry) (n int, last time.Time) {
	for _, e := range history {
		if e.Source == txn.SourceInquiry {
			n++
			if e.ReceivedAt.After(last) {
				last = e.ReceivedAt
			}
		}
	}
	return n, last
}

func (s *Service) history(ctx context.Context, id string) ([]txn.Entry, error) {
	cctx, cancel := context.WithTimeout(ctx, s.timeout())
	defer cancel()
	h, err := s.Transactions.History(cctx, id, 0)
	if errors.Is(err, txn.ErrNotFound) {
		return nil, nil
	}
	return h, err
}

func (s *Service) nudged(ctx context.Context) []string {
	if s.Nudges == nil {
		return nil
	}
	cctx, cancel := context.WithTimeout(ctx, s.timeout())
	defer cancel()
	refs, err := s.Nudges.Nudged(cctx)
	if err != nil {
		s.log(ctx).LogAttrs(ctx, slog.LevelWarn, "the nudges could not be read; the oldest records go first", slog.String("error", err.Error()))
	}
	return refs
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Service) log(ctx context.Context) *slog.Logger {
	if s.Logger != nil {
		return s.Logger(ctx)
	}
	return slog.Default()
}

func (s *Service) timeout() time.Duration { return positiveOr(s.Timeout, DefaultTimeout) }
func (s *Service) scan() int              { return positiveOr(s.Scan, DefaultScan) }
func (s *Service) perRun() int            { return positiveOr(s.PerRun, DefaultPerRun) }
func (s *Service) perTransaction() int    { return positiveOr(s.PerTransaction, DefaultPerTransaction) }

func positiveOr[T int | time.Duration](v, def T) T {
	if v > 0 {
		return v
	}
	return def
}
