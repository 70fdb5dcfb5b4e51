package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/ottuops/ottu-lambda/shared/ottu"
	"github.com/ottuops/ottu-lambda/shared/platform/obs"
	"github.com/ottuops/ottu-lambda/shared/platform/problem"
	"github.com/ottuops/ottu-lambda/shared/txn"
)

// Operation notifications (reference "Operation notifications"): Ottu
// posts one to the same webhook URL when a capture, refund or void
// succeeded, whoever started it. They are told apart from payment
// callbacks by shape, verified by the same signature, stored once per
// delivery on the timeline of the payment they name, and resume the
// workflow waiting for that child transaction.
//
// Ottu signs few of their fields (typically amount, reference_number and
// result), so only those decide anything: the notification is filed by
// the signed reference_number (the parent payment's), and a waiting
// workflow is resumed only when the signed amount is the one it waits for
// and the signed result is success. The child's reference_number (unsigned)
// only says which waiter to look at.

// Kind says which of Ottu's two webhook bodies a delivery was.
type Kind string

// The kinds of delivery.
const (
	KindPayment   Kind = "payment"
	KindOperation Kind = "operation"
)

// IsOperationNotification tells an operation notification from a payment
// callback by shape: a payment callback carries its own session_id or
// state; a notification carries neither, and names an operation (the
// field may be null), the child transaction (txn) or, in Ottu's older
// shape, pymt_txn_pk.
func IsOperationNotification(f ottu.Fields) bool {
	for _, payment := range []string{"session_id", "state"} {
		if _, ok := f[payment]; ok {
			return false
		}
	}
	_, op := f["operation"]
	_, pk := f["pymt_txn_pk"]
	_, child := f["txn"].(ottu.Fields)
	return op || pk || child
}

// NotificationOutput is what a workflow waiting for an operation
// notification receives: the signed fields, and the hints for display.
type NotificationOutput struct {
	Notification bool `json:"notification"`
	// Result, Amount and ReferenceNumber are signed.
	Result          string `json:"result"`
	Amount          string `json:"amount"`
	ReferenceNumber string `json:"reference_number"`
	// The hints.
	Operation            string `json:"operation"`
	Source               string `json:"source"`
	ChildReferenceNumber string `json:"child_reference_number"`
	ChildState           string `json:"child_state"`
}

// receiveNotification stores a verified operation notification and
// resumes the workflow waiting for it.
func (s *Service) receiveNotification(ctx context.Context, f ottu.Fields, scheme ottu.Scheme, received time.Time) (*Result, error) {
	e, op, err := s.notificationEntry(f, received)
	if err != nil {
		return nil, err
	}
	sctx, cancel := context.WithTimeout(ctx, s.storeTimeout())
	stored, err := s.Store.Put(sctx, e)
	cancel()
	if err != nil {
		return nil, &problem.Error{Code: CodeCallbackNotStored, Err: err,
			Detail: "The operation notification could not be stored; nothing was kept. It is accepted when delivered again."}
	}
	res := &Result{Outcome: Accepted, Kind: KindOperation, Scheme: scheme, Entry: e, Operation: &op}
	if !stored {
		res.Outcome = Duplicate
	}
	// Counted once per child, so a duplicate delivery counts nothing more
	// (and counts what an earlier delivery failed to).
	s.countNotified(ctx, e, op)
	if child := op.ChildReferenceNumber; child != "" && len(child) <= maxIDBytes-16 {
		// Stored under the child too, before its waiters are listed: a
		// workflow that starts waiting after this finds it (Await).
		byChild := e
		byChild.SessionID = txn.ChildKey(child)
		sctx, cancel := context.WithTimeout(ctx, s.storeTimeout())
		if _, err := s.Store.Put(sctx, byChild); err != nil {
			obs.Logger(ctx).LogAttrs(ctx, slog.LevelWarn, "the notification could not be filed under its child; a workflow that starts waiting later falls back to inquiries", slog.String("error", err.Error()))
		}
		cancel()
		sctx, cancel = context.WithTimeout(ctx, s.storeTimeout())
		ws, werr := s.Store.Waiters(sctx, txn.ChildKey(child))
		cancel()
		out := notificationOutput(e, op)
		res.Output = out.Body // ids, amount and result: never the body itself
		s.resumeAll(ctx, out, []waiterList{{waiters: s.ofPayment(ctx, matching(ctx, ws, op), op), err: werr}}, res, nil)
	}
	if s.Nudge != nil && op.ReferenceNumber != "" {
		nctx, cancel := context.WithTimeout(ctx, s.storeTimeout())
		if err := s.Nudge.Nudge(nctx, op.ReferenceNumber, received); err != nil {
			obs.Logger(ctx).LogAttrs(ctx, slog.LevelWarn, "the reconciler could not be asked to look at the transaction", slog.String("error", err.Error()))
		}
		cancel()
	}
	return res, nil
}

// matching keeps the waiters the notification's signed fields fit: a
// success for the amount each waits for.
func matching(ctx context.Context, ws []txn.Waiter, op txn.Operation) []txn.Waiter {
	if op.Result != ottu.ResultSuccess {
		return nil
	}
	got, err := decimal.NewFromString(op.Amount)
	var out []txn.Waiter
	for _, w := range ws {
		if w.Amount != "" {
			want, werr := decimal.NewFromString(w.Amount)
			if err != nil || werr != nil || !want.Equal(got) {
				obs.Logger(ctx).LogAttrs(ctx, slog.LevelWarn, "an operation notification names a waiting workflow's child transaction but its signed amount differs; the workflow is not resumed",
					slog.String("signed_amount", op.Amount), slog.String("expected_amount", w.Amount))
				continue
			}
		}
		out = append(out, w)
	}
	return out
}

// notificationEntry builds the history entry of a verified notification:
// filed under the signed reference_number (txn.RefKey), its body Ottu's
// fields without the signature.
func (s *Service) notificationEntry(f ottu.Fields, received time.Time) (txn.Entry, txn.Operation, error) {
	ref := strings.TrimSpace(textOf(f["reference_number"]))
	key := ""
	switch {
	case ref != "":
		key = txn.RefKey(ref)
	case textOf(f["pymt_txn_pk"]) != "":
		key = txn.LegacyKey(textOf(f["pymt_txn_pk"]))
	default:
		return txn.Entry{}, txn.Operation{}, malformed("The operation notification names no payment: it has neither reference_number nor pymt_txn_pk.")
	}
	if len(key) > maxIDBytes {
		return txn.Entry{}, txn.Operation{}, malformed(fmt.Sprintf("The operation notification's reference_number is longer than %d bytes.", maxIDBytes-8))
	}
	kept := make(ottu.Fields, len(f))
	for k, v := range f {
		if k != "signature" {
			kept[k] = v
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(kept); err != nil {
		return txn.Entry{}, txn.Operation{}, malformed("The operation notification could not be encoded as JSON.")
	}
	body := json.RawMessage(bytes.TrimRight(buf.Bytes(), "\n"))
	if len(body) > maxStoredBytes {
		return txn.Entry{}, txn.Operation{}, tooLarge()
	}
	op, _ := txn.OperationOf(body)
	e := txn.Entry{
		SessionID:  key,
		Source:     txn.SourceOperation,
		ReceivedAt: received,
		Result:     textOf(f["result"]),
		Body:       body,
		// Two deliveries of one notification are one entry; two refunds
		// of the same amount are distinct (their timestamps and children
		// differ, and so do their bodies).
		Digest: txn.Digest(body),
	}
	if ts, err := time.Parse(ottuTimeLayout, strings.TrimSpace(textOf(f["timestamp_utc"]))); err == nil {
		e.OttuTimestamp = ts.UTC()
	}
	if s.Retention > 0 {
		e.ExpiresAt = received.Add(s.Retention)
	}
	return e, op, nil
}
