package sandbox

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/ottuops/ottu-lambda/shared/ottu"
)

// Ottu's inquiry messages (seed 002).
const (
	msgNoAttemptsLookup = "No payment attempts found for this Lookup"
	msgInquiryNotAllow  = "Operation is not allowed"
	operationInquiry    = "inquiry"
)

// serveInquiry is POST /b/pbl/v2/inquiry/ and /b/pbl/v1/inquiry/{order_no}.
func (s *Server) serveInquiry(w http.ResponseWriter, r *http.Request, version int, pathOrderNo string) {
	info := infoFrom(r.Context())
	p, m, ok := s.readOttuRequest(w, r, version)
	if !ok {
		return
	}
	req, errs := parseInquiry(m, version, pathOrderNo)
	if !forbid(w, p, ottu.PermissionInquiry) {
		return
	}
	if errs != nil {
		writeJSON(w, http.StatusBadRequest, errs)
		return
	}
	info.operation, info.sessionID, info.orderNo = operationInquiry, req.sessionID, req.orderNo

	drop, proceed := s.applyFaults(w, operationInquiry)
	if !proceed {
		return
	}
	status, resp, wait := s.inquire(req, version)
	if drop {
		dropConnection(w, info)
		return
	}
	if wait > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds(wait)))
	}
	writeJSON(w, status, resp)
}

// inquire answers the signed payment payload and, when asked, discloses it
// to the merchant's URL in the background. wait, when not zero, is the
// Retry-After of a throttled request.
//
// The throttle (throttle.go) comes where Ottu's framework would put it: the
// overall rate before anything is looked up, the per-transaction limits
// once the request would otherwise be answered, so a refused inquiry (no
// such transaction, a state inquiry does not answer, no disclosure URL)
// never uses up one of the transaction's inquiries.
func (s *Server) inquire(req inquiryRequest, version int) (int, any, time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if r := s.admitInquiryLocked(now); r != nil {
		return r.answer()
	}
	t := s.lookupLocked(req.sessionID, req.orderNo)
	switch {
	case t == nil && version == 1:
		return http.StatusNotFound, failedBody(msgOrderNotFound), 0
	case t == nil:
		return http.StatusNotFound, failedBody(msgNoAttemptsLookup), 0
	case t.state == StateCreated:
		return http.StatusBadRequest, failedBody("payment attempts for order " + t.orderNo), 0
	case !slices.Contains(inquiryAllowed, t.state):
		return http.StatusBadRequest, failedBody(msgInquiryNotAllow), 0
	}
	target := req.disclosureURL
	if target == "" {
		target = t.webhookURL
	}
	if req.disclose && target == "" {
		return http.StatusBadRequest, failedBody("No disclosure url found for order " + t.orderNo), 0
	}
	if r := s.transactionRefusalLocked(t, now); r != nil {
		return r.answer()
	}
	payload, err := s.paymentPayloadLocked(t)
	if err != nil {
		return http.StatusInternalServerError, detailBody("Server Error (500)"), 0
	}
	t.inquiredAt = append(t.inquiredAt, now)
	if req.disclose {
		s.produceCallbackLocked(t, target, payload)
	}
	return http.StatusOK, payload, 0
}

// paymentPayloadLocked is the transaction as Ottu sends it in inquiry
// answers and disclosure callbacks, signed with the webhook key.
func (s *Server) paymentPayloadLocked(t *txn) (json.RawMessage, error) {
	children := make([]Child, 0, len(t.children))
	for _, c := range t.children {
		children = append(children, c.snapshot())
	}
	f := ottu.Fields{
		"amount":              formatIn(t.amount, t.currency),
		"currency_code":       t.currency,
		"customer_email":      t.customerEmail,
		"customer_first_name": t.customerFirstName,
		"customer_last_name":  t.customerLastName,
		"customer_phone":      t.customerPhone,
		"extra":               map[string]any{},
		"gateway_account":     t.pgCode,
		"gateway_name":        t.gateway().name,
		"is_sandbox":          true,
		"order_no":            t.orderNo,
		"reference_number":    t.referenceNumber,
		"remaining_amount":    json.Number(formatIn(t.remainingToPay(), t.currency)),
		"result":              inquiryResult(t.state),
		"session_id":          t.sessionID,
		"state":               t.state,
		"timestamp_utc":       s.now().Format(timestampLayout),
		"transactions":        children,
	}
	f["signature"] = ottu.Sign(f, s.cfg.WebhookKey)
	b, err := json.Marshal(f)
	if err != nil {
		return nil, fmt.Errorf("encode payment payload: %w", err)
	}
	return b, nil
}
