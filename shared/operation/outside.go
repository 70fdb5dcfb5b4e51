package operation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/ottuops/ottu-lambda/shared/platform/obs"
	"github.com/ottuops/ottu-lambda/shared/txn"
)

// ChildRefund is a refund Ottu's signed operation notification reports:
// the payment's session_id (found through the notification's signed
// reference_number), the child transaction's reference_number, the
// signed amount and the currency (unsigned, "" when absent).
type ChildRefund struct {
	SessionID      string
	ChildReference string
	Amount         string
	Currency       string
}

// ErrNotCounted marks a notification that names nothing to count.
var ErrNotCounted = errors.New("the refund notification names no session, child or amount above zero")

// CountChildRefund counts a refund made by anyone (this stack, Ottu's
// dashboard, the gateway's) in its payment's refunded total, under
// ChildKey(child): once per child, however often it is notified, and not
// again for a refund of ours whose reservation was moved there (Move).
// The currency is never checked here: a refund in another currency, or
// in none, is counted all the same (too much, never too little); the
// returned total says the total's currency, for the caller to log a
// difference.
func CountChildRefund(ctx context.Context, totals RefundTotals, c ChildRefund) (RefundTotal, error) {
	amt, err := decimal.NewFromString(strings.TrimSpace(c.Amount))
	if c.SessionID == "" || strings.TrimSpace(c.ChildReference) == "" || err != nil || !amt.IsPositive() {
		return RefundTotal{}, ErrNotCounted
	}
	total, err := totals.Reserve(ctx, Reservation{Transaction: TransactionOf(c.SessionID), TrackingKey: ChildKey(strings.TrimSpace(c.ChildReference)), Amount: amt, Notified: true})
	if err != nil {
		return total, fmt.Errorf("count the refund of child %s: %w", c.ChildReference, err)
	}
	return total, nil
}

// CountRefund counts one refund notification in session's total; a
// failure is logged (a later delivery, inquiry or callback counts it).
func CountRefund(ctx context.Context, totals RefundTotals, session string, e txn.Entry, op txn.Operation, timeout time.Duration) {
	if !op.CountsAsRefund() {
		return
	}
	log := obs.Logger(ctx)
	cctx, cancel := context.WithTimeout(ctx, timeout)
	total, err := CountChildRefund(cctx, totals, ChildRefund{
		SessionID: session, ChildReference: txn.ChildOrDigest(e, op), Amount: op.Amount, Currency: op.CurrencyCode,
	})
	cancel()
	switch {
	case err != nil:
		log.LogAttrs(ctx, slog.LevelWarn, "a refund notification could not be counted in its payment's refunded total", slog.String("session_id", session), slog.String("error", err.Error()))
	case total.Currency != "" && op.CurrencyCode != total.Currency:
		log.LogAttrs(ctx, slog.LevelWarn, "a refund notification's currency differs from (or is absent from) its payment's refunded total; counted all the same",
			slog.String("session_id", session), slog.String("total_currency", total.Currency), slog.String("notified_currency", op.CurrencyCode))
	}
}

// CountLinked counts, in session's total, the refund notifications filed
// under ref before session was bound to it. Counting is once per child,
// so counting them again on every binding changes nothing.
func CountLinked(ctx context.Context, totals RefundTotals, links interface {
	History(ctx context.Context, id string, limit int) ([]txn.Entry, error)
}, session, ref string, timeout time.Duration) {
	if totals == nil || links == nil || session == "" || ref == "" {
		return
	}
	hctx, cancel := context.WithTimeout(ctx, timeout)
	entries, err := links.History(hctx, txn.RefKey(ref), 0)
	cancel()
	if err != nil {
		if !errors.Is(err, txn.ErrNotFound) {
			obs.Logger(ctx).LogAttrs(ctx, slog.LevelWarn, "the payment's refund notifications could not be read to count them", slog.String("error", err.Error()))
		}
		return
	}
	for _, e := range entries {
		if e.Source != txn.SourceOperation {
			continue
		}
		if op, ok := txn.OperationOf(e.Body); ok && op.ReferenceNumber == ref {
			CountRefund(ctx, totals, session, e, op, timeout)
		}
	}
}
