package webhook

import (
	"context"
	"log/slog"

	"github.com/ottuops/ottu-lambda/shared/operation"
	"github.com/ottuops/ottu-lambda/shared/platform/obs"
	"github.com/ottuops/ottu-lambda/shared/txn"
)

// Refunds made anywhere count (issue 13): every signed refund notification
// enters the refunded total of its payment (operation.CountChildRefund),
// the total the approval threshold uses. A notification names its payment
// only by its signed reference_number; the session_id the total is kept
// under is the one an inquiry or a callback bound to that reference_number
// (Links.SessionsOf). A notification that comes before any such binding is
// counted when the binding is made (operation.CountLinked).

// Links finds a payment's session_ids by its signed reference_number, and
// the notifications filed under it.
type Links interface {
	SessionsOf(ctx context.Context, ref string) ([]string, error)
	History(ctx context.Context, id string, limit int) ([]txn.Entry, error)
}

// countNotified counts a stored refund notification for every session_id
// bound to its payment; with none yet, it waits for the binding.
func (s *Service) countNotified(ctx context.Context, e txn.Entry, op txn.Operation) {
	if s.Totals == nil || s.Links == nil || !op.CountsAsRefund() || op.ReferenceNumber == "" {
		return
	}
	log := obs.Logger(ctx)
	sctx, cancel := context.WithTimeout(ctx, s.storeTimeout())
	sessions, err := s.Links.SessionsOf(sctx, op.ReferenceNumber)
	cancel()
	if err != nil {
		log.LogAttrs(ctx, slog.LevelWarn, "the refund notification's payment could not be looked up; it is counted when an inquiry or callback binds its reference_number", slog.String("error", err.Error()))
		return
	}
	if len(sessions) == 0 {
		log.LogAttrs(ctx, slog.LevelInfo, "no session_id is bound to the refund notification's reference_number yet; it is counted when an inquiry or callback binds one",
			slog.String("reference_number", op.ReferenceNumber))
		return
	}
	for _, session := range sessions {
		operation.CountRefund(ctx, s.Totals, session, e, op, s.storeTimeout())
	}
}
