package sandbox

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/ottuops/ottu-lambda/shared/ottu"
	"github.com/ottuops/ottu-lambda/shared/payment"
)

// Ottu's answers for a missing transaction.
const (
	msgNotFound      = "Not found."
	msgOrderNotFound = "Order number does not exist"
	msgOperationDone = "Operation done successfully"
	timestampLayout  = "2006-01-02 15:04:05"
)

// serveOperation is POST /b/pbl/v2/operation/ and /b/pbl/v1/operation/{order_no}.
// Order: authentication, body, permission, field errors, faults, then
// Tracking-Key and the transaction under the lock.
func (s *Server) serveOperation(w http.ResponseWriter, r *http.Request, version int, pathOrderNo string) {
	info := infoFrom(r.Context())
	p, m, ok := s.readOttuRequest(w, r, version)
	if !ok {
		return
	}
	req, errs := parseOperation(m, version, pathOrderNo)
	if req.operation != "" && !forbid(w, p, req.operation.Permission()) {
		return
	}
	if errs != nil {
		writeJSON(w, http.StatusBadRequest, errs)
		return
	}
	info.operation, info.sessionID, info.orderNo = string(req.operation), req.sessionID, req.orderNo
	key := ""
	if req.operation.External() {
		key = strings.TrimSpace(r.Header.Get("Tracking-Key"))
		info.trackingKey = key
	}

	drop, proceed := s.applyFaults(w, string(req.operation))
	if !proceed {
		return
	}
	status, resp, replayed := s.operate(req, key, version)
	info.replayed = replayed
	if drop {
		dropConnection(w, info)
		return
	}
	writeJSON(w, status, resp)
}

// operate carries out one validated operation atomically. replayed is
// true when a stored Tracking-Key answered instead.
func (s *Server) operate(req opRequest, key string, version int) (status int, body any, replayed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if key != "" {
		if c, ok := s.keys[key]; ok {
			return http.StatusOK, externalBody(c), true
		}
	}
	t := s.lookupLocked(req.sessionID, req.orderNo)
	switch {
	case t == nil && version == 1:
		status, body = http.StatusNotFound, failedBody(msgOrderNotFound)
	case t == nil:
		status, body = http.StatusNotFound, failedBody(msgNotFound)
	case req.operation.External():
		status, body = s.externalLocked(t, req, key)
	default:
		status, body = s.internalLocked(t, req.operation)
	}
	return status, body, false
}

// lookupLocked finds a visible transaction; when both ids are given they
// must name the same one.
func (s *Server) lookupLocked(sessionID, orderNo string) *txn {
	var t *txn
	if sessionID != "" {
		if t = s.bySession[sessionID]; t == nil {
			return nil
		}
	}
	if orderNo != "" {
		o := s.byOrder[orderNo]
		if o == nil || (t != nil && o != t) {
			return nil
		}
		t = o
	}
	if t == nil || t.softDeleted {
		return nil
	}
	return t
}

// rejected is Ottu's 400 for an operation it will not do; nothing changed.
func rejected(format string, a ...any) (int, any) {
	return http.StatusBadRequest, failedBody(fmt.Sprintf(format, a...))
}

// stateRejected names the state and where op is allowed.
func stateRejected(op payment.Operation, state string, allowed ...string) (int, any) {
	return rejected("Operation %s is not allowed for a transaction in state %s; %s needs state %s", op, state, op, joinList(allowed))
}

func (s *Server) internalLocked(t *txn, op payment.Operation) (int, any) {
	done := map[string]string{"message": msgOperationDone, "result": ottu.ResultSuccess}
	switch op {
	case payment.Cancel, payment.Expire:
		if !slices.Contains(allowedFrom[op], t.state) {
			return stateRejected(op, t.state, allowedFrom[op]...)
		}
		if op == payment.Cancel {
			t.state = StateCanceled
		} else {
			t.state = StateExpired
		}
	case payment.Delete:
		if slices.Contains(softDeleted, t.state) {
			t.softDeleted = true
		} else {
			delete(s.bySession, t.sessionID)
			if t.orderNo != "" {
				delete(s.byOrder, t.orderNo)
			}
		}
	}
	return http.StatusOK, done
}

// externalLocked runs capture, refund or void through Ottu's API.
func (s *Server) externalLocked(t *txn, req opRequest, key string) (int, any) {
	return s.externalFromLocked(t, req, key, apiOrigin)
}

// externalFromLocked runs capture, refund or void made from: checks, then
// a child, then (when it succeeded at once) its operation notification.
func (s *Server) externalFromLocked(t *txn, req opRequest, key string, from origin) (int, any) {
	op := req.operation
	if !t.gateway().supports(op) {
		return rejected("Payment gateway %s does not support the %s operation", t.pgCode, op)
	}
	if t.paidCurrency != t.currency {
		return rejected("Operations are not working for foreign currencies: the customer paid in %s and the transaction is in %s", t.paidCurrency, t.currency)
	}
	if req.amount != nil && !fitsCurrency(*req.amount, t.currency) {
		return rejected("Amount %s has more decimal places than %s allows (%d)", req.amount.String(), t.currency, places(t.currency))
	}
	cur := t.currency
	var (
		amt    decimal.Decimal
		state  = ChildPaid
		result = ottu.ResultSuccess
		settle Fault
		queued bool
	)
	switch op {
	case payment.Capture:
		if t.state != StateAuthorized {
			return stateRejected(op, t.state, StateAuthorized)
		}
		if t.voided() {
			return rejected("The authorization has been voided; nothing can be captured")
		}
		left := t.amount.Sub(t.captured())
		if !left.IsPositive() {
			return rejected("The transaction has been fully captured (%s %s); nothing is left to capture", formatIn(t.amount, cur), cur)
		}
		amt = orDefault(req.amount, left)
		if amt.GreaterThan(left) {
			return rejected("Capture amount %s exceeds the capturable balance %s", formatIn(amt, cur), formatIn(left, cur))
		}
	case payment.Void:
		if t.state != StateAuthorized {
			return stateRejected(op, t.state, StateAuthorized)
		}
		if t.voided() {
			return rejected("The transaction has already been voided")
		}
		if t.captured().IsPositive() {
			return rejected("Void is not allowed after a capture; refund the captured amount instead")
		}
		amt, state = t.amount, ChildVoided
	case payment.Refund:
		base, ok := t.refundBase()
		switch {
		case !ok && t.state == StateAuthorized:
			return rejected("Refund is not allowed for an authorized transaction with nothing captured; capture it first, or void it")
		case !ok:
			return stateRejected(op, t.state, StatePaid, StateAuthorized+" with a capture")
		}
		left := base.Sub(t.refundCommitted())
		if !left.IsPositive() {
			return rejected("The transaction has been fully refunded (%s %s); nothing is left to refund", formatIn(base, cur), cur)
		}
		amt = orDefault(req.amount, left)
		if amt.GreaterThan(left) {
			return rejected("Refund amount %s exceeds the refundable balance %s", formatIn(amt, cur), formatIn(left, cur))
		}
		state = ChildRefunded
		if settle, queued = s.takeFaultLocked(FaultQueueRefund, string(payment.Refund)); queued {
			state, result = ChildRefundQueued, ottu.ResultQueued
		}
	}

	now := s.now()
	c := &child{
		parent:          t,
		operation:       op,
		amount:          amt,
		state:           state,
		result:          result,
		trackingKey:     key,
		referenceNumber: referenceNumber(),
		sessionID:       randomHex(20),
		extra:           req.extra,
		from:            from,
		createdAt:       now,
		updatedAt:       now,
	}
	t.children = append(t.children, c)
	if key != "" {
		s.keys[key] = c
	}
	if queued {
		after := time.Duration(settle.SettleAfterMS) * time.Millisecond
		if after == 0 {
			after = s.cfg.QueueSettleDelay
		}
		s.scheduleSettleLocked(c, settle.Settle, after)
	} else {
		s.notifyLocked(c, from)
	}
	return http.StatusOK, externalBody(c)
}

func orDefault(d *decimal.Decimal, def decimal.Decimal) decimal.Decimal {
	if d == nil {
		return def
	}
	return *d
}

// externalBody is Ottu's answer to an external operation, built from the
// child's current state (so a replay shows where it stands now).
func externalBody(c *child) map[string]any {
	t := c.parent
	extra := json.RawMessage(`{}`)
	if len(c.extra) > 0 {
		extra = c.extra
	}
	return map[string]any{
		"amount":           formatIn(c.amount, t.currency),
		"initiator":        map[string]any{},
		"is_sandbox":       true,
		"operation":        string(c.operation),
		"pg_code":          t.pgCode,
		"pg_response":      map[string]any{},
		"reference_number": c.referenceNumber,
		"result":           c.result,
		"source":           "input",
		"success":          c.result == ottu.ResultSuccess || c.result == ottu.ResultQueued,
		"timestamp_utc":    c.updatedAt.Format(timestampLayout),
		"txn": map[string]any{
			"amount":         formatIn(c.amount, t.currency),
			"currency_code":  t.currency,
			"customer_email": t.customerEmail,
			"extra":          extra,
			"order_no":       "",
			"state":          c.state,
			"session_id":     c.sessionID,
		},
	}
}

// scheduleSettleLocked settles a queued refund after d unless an admin
// call settles it first.
func (s *Server) scheduleSettleLocked(c *child, result string, d time.Duration) {
	s.goLocked(func() {
		if !s.sleep(d) {
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if c.state == ChildRefundQueued {
			s.settleLocked(c, result)
		}
	})
}

// settleLocked ends a queued refund; a rejection frees its balance.
func (s *Server) settleLocked(c *child, result string) {
	if result == SettleRejected {
		c.state, c.result = ChildRefundRejected, ottu.ResultRejected
	} else {
		c.state, c.result = ChildRefunded, ottu.ResultSuccess
	}
	c.updatedAt = s.now()
	if c.result == ottu.ResultSuccess {
		s.notifyLocked(c, c.from)
	}
}
