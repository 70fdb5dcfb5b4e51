package operation

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/ottuops/ottu-lambda/shared/amount"
	"github.com/ottuops/ottu-lambda/shared/platform/problem"
)

// The refunded total of a transaction (issue 12): the approval threshold
// applies to everything refunded on one transaction through this stack —
// the refund workflow and the direct route alike — not to one refund, so
// that ten refunds just under the threshold need an approval like one
// above it. The total is kept per session_id, atomically, in a store
// (shared/operation/ddb implements it on DynamoDB), with one reservation
// per Tracking-Key:
//
//   - a refund reserves its amount before it is sent to Ottu (a retry with
//     the same key reserves nothing more);
//   - only Ottu's recognisable refusal (nothing was done) releases it;
//   - a success, or an unknown outcome, keeps it: money may have moved.
//
// Refunds made outside this stack (Ottu's dashboard, the gateway's) are
// counted from Ottu's signed operation notifications, under the key
// ChildKey(child reference_number). So that a refund of ours is not
// counted twice (once under its Tracking-Key, once by its notification),
// a success whose answer names its child moves its reservation to
// ChildKey (Move); an unknown outcome keeps its Tracking-Key reservation,
// and its notification then counts it a second time: too much, never too
// little.

// RefundTotals keeps the refunded total per transaction.
type RefundTotals interface {
	// Reserve adds r.Amount to the transaction's total under r.TrackingKey,
	// once per key: a key reserved before changes nothing and answers the
	// total as it is. With r.Limit set, only while the total stays within
	// it (ErrOverLimit otherwise); with r.Currency set, only when the
	// transaction's total is in that currency or has none yet
	// (ErrCurrencyMismatch otherwise). It returns the total after the
	// reservation (or as it is, with an error).
	Reserve(ctx context.Context, r Reservation) (RefundTotal, error)
	// Release takes back a reservation whose refund Ottu recognisably
	// refused; releasing one that is not there does nothing.
	Release(ctx context.Context, transaction, trackingKey string) error
	// Total reads a transaction's total: zero, with no currency, when
	// nothing was reserved.
	Total(ctx context.Context, transaction string) (RefundTotal, error)
	// Move re-files the reservation under from as to, atomically, leaving
	// the total as it is. When to is reserved already, from is dropped only
	// if an operation notification reserved to (Notified) with the same
	// amount: that is this refund, counted first by its notification.
	// Otherwise both stay counted (too much, never too little). Nothing
	// reserved under from does nothing. amount, when above zero, is what
	// from reserved, as its caller knows it: the common case (to not yet
	// reserved) then needs no read.
	Move(ctx context.Context, transaction, from, to string, amount decimal.Decimal) error
}

// ChildKey is the reservation key of the refund whose child transaction
// has reference_number ref, whoever made it.
func ChildKey(ref string) string { return "child:" + ref }

// Reservation is one refund's share of its transaction's total.
type Reservation struct {
	// Transaction is TransactionOf(session_id).
	Transaction string
	// Currency is the refund's ISO 4217 code, "" when not known.
	Currency    string
	TrackingKey string
	Amount      decimal.Decimal
	// Limit, when set, is the threshold the total must stay within.
	Limit *decimal.Decimal
	// Notified marks a reservation an operation notification made, under
	// its child's key (ChildKey).
	Notified bool
}

// RefundTotal is what was refunded (or is reserved) on one transaction.
type RefundTotal struct {
	Currency string
	Amount   decimal.Decimal
}

// Errors of RefundTotals.Reserve.
var (
	ErrOverLimit        = errors.New("the refunded total would exceed the threshold")
	ErrCurrencyMismatch = errors.New("the transaction's refunds are in another currency")
)

// TransactionOf is the refunded total's key of a transaction. Totals are
// kept per session_id, Ottu's id of the payment: a refund named only by
// order_no cannot be counted against its payment's total, so it always
// needs an approval (on the direct route: approval_required).
func TransactionOf(sessionID string) string { return "session_id:" + sessionID }

// Thresholds are the approval thresholds per currency: a refund that takes
// its transaction's total above its currency's threshold needs an
// approval, and a currency without one always does.
type Thresholds map[string]decimal.Decimal

var currencyPattern = regexp.MustCompile(`^[A-Z]{3}$`)

// ValidCurrency reports whether code is an ISO 4217 alphabetic code.
func ValidCurrency(code string) bool { return currencyPattern.MatchString(code) }

// ParseThresholds reads "KWD=500.000,USD=1500.00": currency codes, each
// once, with a decimal of zero or more. "" is no thresholds (every refund
// needs an approval).
func ParseThresholds(s string) (Thresholds, error) {
	t := Thresholds{}
	s = strings.TrimSpace(s)
	if s == "" {
		return t, nil
	}
	for part := range strings.SplitSeq(s, ",") {
		code, value, ok := strings.Cut(strings.TrimSpace(part), "=")
		code, value = strings.TrimSpace(code), strings.TrimSpace(value)
		if !ok || !ValidCurrency(code) {
			return nil, fmt.Errorf("approval thresholds %q: %q is not CODE=AMOUNT with an ISO 4217 code such as KWD=500.000", s, part)
		}
		if _, dup := t[code]; dup {
			return nil, fmt.Errorf("approval thresholds %q: %s is given twice", s, code)
		}
		d, err := amount.ParseSigned(value)
		if err != nil || d.IsNegative() {
			return nil, fmt.Errorf("approval thresholds %q: %s=%q is not a decimal of zero or more such as 500.000", s, code, value)
		}
		t[code] = d
	}
	return t, nil
}

// String writes the thresholds back, sorted: "KWD=500.000,USD=1500.00".
func (t Thresholds) String() string {
	codes := make([]string, 0, len(t))
	for c := range t {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	parts := make([]string, len(codes))
	for i, c := range codes {
		parts[i] = c + "=" + amount.Format(t[c])
	}
	return strings.Join(parts, ",")
}

// RefundApproval says what a refund request may do with the threshold, as
// the adapter that built it knows.
type RefundApproval string

// The refund requests' standings.
const (
	// RefundViaDirectRoute: POST /operations/refund; within the threshold
	// unless RefundLimits.DirectRouteUnchecked.
	RefundViaDirectRoute RefundApproval = ""
	// RefundWithinThreshold: a workflow that needed no approval; the
	// threshold is checked again, atomically, when the amount is reserved.
	RefundWithinThreshold RefundApproval = "not_required"
	// RefundApproved: a workflow whose approval was verified, or a direct
	// invocation (IAM lambda:InvokeFunction, an administrator's path);
	// counted, never limited.
	RefundApproved RefundApproval = "approved"
)

// RefundLimits applies the thresholds to refunds.
type RefundLimits struct {
	Totals     RefundTotals
	Thresholds Thresholds
	// DirectRouteUnchecked turns the direct route's check off (the
	// template's DirectRefundApproval=off): its refunds are counted, never
	// refused. Anyone allowed to call POST /operations/refund can then
	// refund any amount without an approval.
	DirectRouteUnchecked bool
}

// approvalRequired is the direct route's refusal of a refund that needs an
// approval: nothing was sent to Ottu.
func approvalRequired(why string) *problem.Error {
	return &problem.Error{Code: problem.CodeApprovalRequired,
		Detail: why + " Nothing was sent to Ottu and no money moved: start it as a refund workflow, POST /refund-workflows, which waits for an approver's decision."}
}

// limitFor decides a refund's reservation: its limit (nil: counted only),
// or the refusal of a refund that needs an approval.
func (l *RefundLimits) limitFor(req Request) (Reservation, error) {
	r := Reservation{Currency: req.CurrencyCode, TrackingKey: req.TrackingKey}
	if req.Amount != nil {
		r.Amount = *req.Amount
	}
	if req.SessionID != "" {
		r.Transaction = TransactionOf(req.SessionID)
	}
	checked := req.Approval == RefundWithinThreshold || (req.Approval == RefundViaDirectRoute && !l.DirectRouteUnchecked)
	if !checked {
		return r, nil
	}
	threshold, ok := l.Thresholds[req.CurrencyCode]
	switch {
	case req.Amount == nil:
		return r, approvalRequired("A refund without an amount refunds everything left, which cannot be compared with the approval threshold beforehand.")
	case req.SessionID == "":
		return r, approvalRequired("The refunded total is kept per session_id, and this refund names its payment by order_no only, so it cannot be counted against the threshold; name it by session_id.")
	case req.CurrencyCode == "":
		return r, approvalRequired("The refund names no currency_code, so it cannot be compared with an approval threshold (they are set per currency); send the payment's currency_code.")
	case !ok:
		return r, approvalRequired(fmt.Sprintf("No approval threshold is set for %s, so every refund in it needs an approval.", req.CurrencyCode))
	case req.Amount.GreaterThan(threshold):
		return r, approvalRequired(fmt.Sprintf("The amount %s %s is above the approval threshold %s %s.", amount.Format(*req.Amount), req.CurrencyCode, amount.Format(threshold), req.CurrencyCode))
	}
	r.Limit = &threshold
	return r, nil
}

// reserve counts a refund in its transaction's total before it is sent;
// a refund that would take the total above the threshold is refused.
// A refund named by order_no only is not counted when it may pass
// unchecked (an approved one): there is no session_id to count it under.
func (l *RefundLimits) reserve(ctx context.Context, req Request) (*Reservation, error) {
	r, err := l.limitFor(req)
	if err != nil {
		return nil, err
	}
	if r.Transaction == "" || req.Amount == nil {
		return nil, nil
	}
	total, err := l.Totals.Reserve(ctx, r)
	switch {
	case errors.Is(err, ErrOverLimit):
		return nil, approvalRequired(fmt.Sprintf("%s %s was already refunded or reserved on session_id %q (refunds made outside this stack that Ottu notified included), so %s more would take it above the approval threshold %s %s.",
			amount.Format(total.Amount), r.Currency, req.SessionID, amount.Format(r.Amount), amount.Format(*r.Limit), r.Currency))
	case errors.Is(err, ErrCurrencyMismatch):
		return nil, problem.Invalid(problem.CodeInvalidRequest, "currency_code",
			fmt.Sprintf("currency_code %s is not the currency of this payment's earlier refunds (%s); send the payment's own currency_code.", r.Currency, total.Currency))
	case err != nil:
		return nil, storeUnavailable(req.TrackingKey, err, "The refunded-total store could not be reached, so nothing was sent to Ottu and no money moved; retry with the same Tracking-Key after the Retry-After delay.")
	}
	return &r, nil
}
