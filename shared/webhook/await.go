package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/ottuops/ottu-lambda/shared/platform/obs"
	"github.com/ottuops/ottu-lambda/shared/platform/problem"
	"github.com/ottuops/ottu-lambda/shared/txn"
)

// AwaitRequest is a workflow task waiting (.waitForTaskToken) for the
// operation notification of one child transaction: the refund workflow's
// queued refund. ChildReferenceNumber is the child's reference from Ottu's
// answer to our operation; Amount is what it refunded.
type AwaitRequest struct {
	TaskToken            string `json:"task_token"`
	ChildReferenceNumber string `json:"child_reference_number"`
	Amount               string `json:"amount"`
	// SessionID or OrderNo name the payment: a notification whose signed
	// reference_number is another payment's (when this one's is known)
	// does not resume the task.
	SessionID string `json:"session_id,omitempty"`
	OrderNo   string `json:"order_no,omitempty"`
	// TimeoutSeconds is the task's own time-out: the waiter expires an
	// hour after it.
	TimeoutSeconds int `json:"timeout_seconds"`
}

// WaitStore is the part of txn.Store that Await uses besides Store.
type WaitStore interface {
	History(ctx context.Context, id string, limit int) ([]txn.Entry, error)
	AddWaiter(ctx context.Context, w txn.Waiter) error
}

// AwaitResult says whether the notification had already arrived (the
// task was resumed at once) or the task now waits for it.
type AwaitResult struct {
	Waiting bool `json:"waiting"`
	Resumed bool `json:"resumed"`
}

// Await registers the waiter, then looks for a notification of the child
// that arrived before it: each side writes before it reads (the webhook
// stores the notification under the child too, then lists its waiters),
// so one of the two always sees the other, and the claim resumes the task
// once.
func (s *Service) Await(ctx context.Context, req AwaitRequest) (*AwaitResult, error) {
	if err := req.validate(); err != nil {
		return nil, err
	}
	if s.Waits == nil {
		return nil, errors.New("webhook: Service.Waits is not set")
	}
	now := s.now()
	w := txn.Waiter{
		SessionID: txn.ChildKey(req.ChildReferenceNumber),
		TaskToken: req.TaskToken,
		Amount:    req.Amount,
		Payment:   firstOf(req.SessionID, req.OrderNo),
		CreatedAt: now,
		ExpiresAt: now.Add(time.Duration(req.TimeoutSeconds)*time.Second + time.Hour),
	}
	sctx, cancel := context.WithTimeout(ctx, s.storeTimeout())
	err := s.Waits.AddWaiter(sctx, w)
	cancel()
	if err != nil {
		return nil, &problem.Error{Code: CodeCallbackNotStored, Err: err,
			Detail: "The wait for the operation notification could not be registered; the workflow follows the refund by inquiry instead."}
	}
	sctx, cancel = context.WithTimeout(ctx, s.storeTimeout())
	seen, err := s.Waits.History(sctx, txn.ChildKey(req.ChildReferenceNumber), 0)
	cancel()
	if err != nil && !errors.Is(err, txn.ErrNotFound) {
		// The waiter is registered: a later delivery still resumes it.
		obs.Logger(ctx).LogAttrs(ctx, slog.LevelWarn, "notifications that arrived before the wait could not be read", slog.String("error", err.Error()))
		return &AwaitResult{Waiting: true}, nil
	}
	for _, e := range seen {
		op, ok := txn.OperationOf(e.Body)
		if !ok || len(s.ofPayment(ctx, matching(ctx, []txn.Waiter{w}, op), op)) == 0 {
			continue
		}
		out := notificationOutput(e, op)
		res := &Result{Output: out.Body}
		s.resume(ctx, obs.Logger(ctx), out, w, res)
		return &AwaitResult{Resumed: res.Resumed > 0, Waiting: res.Resumed == 0}, nil
	}
	return &AwaitResult{Waiting: true}, nil
}

// ofPayment keeps the waiters whose payment's reference_number, when the
// stack knows it, is the notification's signed one: the unsigned child
// reference chose them, the signature must bind them.
func (s *Service) ofPayment(ctx context.Context, ws []txn.Waiter, op txn.Operation) []txn.Waiter {
	if s.Waits == nil {
		return ws
	}
	var out []txn.Waiter
	for _, w := range ws {
		if w.Payment == "" || len(w.Payment) > maxIDBytes {
			out = append(out, w)
			continue
		}
		sctx, cancel := context.WithTimeout(ctx, s.storeTimeout())
		h, err := s.Waits.History(sctx, w.Payment, 0)
		cancel()
		ref := txn.PaymentReference(h)
		switch {
		case err != nil && !errors.Is(err, txn.ErrNotFound):
			// Not known now: the workflow falls back to inquiries rather
			// than trust an unbound notification.
			obs.Logger(ctx).LogAttrs(ctx, slog.LevelWarn, "the waiting workflow's payment could not be read; it is not resumed by this notification", slog.String("error", err.Error()))
		case ref != "" && ref != op.ReferenceNumber:
			obs.Logger(ctx).LogAttrs(ctx, slog.LevelWarn, "an operation notification names a waiting workflow's child but its signed reference_number is another payment's; the workflow is not resumed")
		default:
			out = append(out, w)
		}
	}
	return out
}

func firstOf(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func (r AwaitRequest) validate() error {
	var bad []string
	if strings.TrimSpace(r.TaskToken) == "" {
		bad = append(bad, "task_token is required")
	}
	if c := strings.TrimSpace(r.ChildReferenceNumber); c == "" || len(c) > maxIDBytes-16 {
		bad = append(bad, "child_reference_number is required (the reference_number of Ottu's answer to the refund)")
	}
	if d, err := decimal.NewFromString(r.Amount); err != nil || !d.IsPositive() {
		bad = append(bad, fmt.Sprintf("amount must be a positive decimal string, got %q", r.Amount))
	}
	if r.TimeoutSeconds <= 0 {
		bad = append(bad, "timeout_seconds must be above zero")
	}
	if len(bad) > 0 {
		return problem.Invalid(problem.CodeInvalidRequest, "await_operation_notification", strings.Join(bad, "; ")+".")
	}
	return nil
}

// notificationOutput is the entry a waiting task is resumed with: the
// notification's signed fields and hints (NotificationOutput).
func notificationOutput(e txn.Entry, op txn.Operation) txn.Entry {
	out, _ := json.Marshal(NotificationOutput{
		Notification: true, Result: op.Result, Amount: op.Amount, ReferenceNumber: op.ReferenceNumber,
		Operation: op.Operation, Source: op.Source, ChildReferenceNumber: op.ChildReferenceNumber, ChildState: op.ChildState,
	})
	e.Body = out
	return e
}
