package inquiry

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ottuops/ottu-lambda/shared/platform/problem"
	"github.com/ottuops/ottu-lambda/shared/txn"
)

// ResultStore is the part of txn.Store the stored results are read
// through.
type ResultStore interface {
	Current(ctx context.Context, id string) (*txn.Entry, error)
	History(ctx context.Context, id string, limit int) ([]txn.Entry, error)
}

// Results reads what is stored of a transaction: GET
// /transactions/{id}/inquiry. It never calls Ottu.
type Results struct {
	Store        ResultStore
	StoreTimeout time.Duration
	Now          func() time.Time
	// Observe is told each read's outcome ("found" or the problem code).
	Observe func(ctx context.Context, outcome string, d time.Duration)
}

// Stored is a transaction's current view and, when asked for, its history
// newest first.
type Stored struct {
	Current txn.Entry
	History []txn.Entry
}

// Read answers the current view of the transaction whose session_id or
// order_no is id, with its history when withHistory.
func (r *Results) Read(ctx context.Context, id string, withHistory bool) (st *Stored, err error) {
	start := r.now()
	defer func() {
		if r.Observe == nil {
			return
		}
		outcome := "found"
		if err != nil {
			outcome = string(problem.CodeOf(err))
		}
		r.Observe(ctx, outcome, r.now().Sub(start))
	}()
	if id == "" {
		return nil, problem.Invalid(problem.CodeInvalidRequest, "id", "Name the transaction by its session_id or order_no: GET /transactions/{id}/inquiry.")
	}
	if err := checkID("id", id); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, r.storeTimeout())
	defer cancel()
	cur, err := r.Store.Current(ctx, id)
	if err != nil {
		return nil, readError(id, err)
	}
	st = &Stored{Current: *cur}
	if withHistory {
		h, err := r.Store.History(ctx, id, HistoryLimit)
		if err != nil && !errors.Is(err, txn.ErrNotFound) {
			return nil, readError(id, err)
		}
		st.History = h
	}
	return st, nil
}

func readError(id string, err error) *problem.Error {
	if errors.Is(err, txn.ErrNotFound) {
		return &problem.Error{Code: problem.CodeNotFound, Err: err,
			Detail: fmt.Sprintf("Nothing is stored for transaction %q: no inquiry of it went through this stack and Ottu has posted no disclosure of it (or they are older than the retention period). POST /inquiry to ask Ottu.", id)}
	}
	return &problem.Error{Code: problem.CodeStoreUnavailable, RetryAfter: time.Second, Err: err,
		Detail: "The store of inquiry results could not be read in time; nothing was changed. Ask again in a moment."}
}

func (r *Results) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Results) storeTimeout() time.Duration {
	if r.StoreTimeout > 0 {
		return r.StoreTimeout
	}
	return DefaultStoreTimeout
}
