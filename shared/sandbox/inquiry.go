package sandbox

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"

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
	status, resp := s.inquire(req, version)
	if drop {
		dropConnection(w, info)
		return
	}
	writeJSON(w, status, resp)
}

// inquire answers the signed payment payload and, when asked, discloses it
// to the merchant's URL in the background.
func (s *Server) inquire(req inquiryRequest, version int) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.lookupLocked(req.sessionID, req.orderNo)
	switch {
	case t == nil && version == 1:
		return http.StatusNotFound, failedBody(msgOrderNotFound)
	case t == nil:
		return http.StatusNotFound, failedBody(msgNoAttemptsLookup)
	case t.state == StateCreated:
		return http.StatusBadRequest, failedBody("payment attempts for order " + t.orderNo)
	case !slices.Contains(inquiryAllowed, t.state):
		return http.StatusBadRequest, failedBody(msgInquiryNotAllow)
	}
	target := req.disclosureURL
	if target == "" {
		target = t.webhookURL
	}
	if req.disclose && target == "" {
		return http.StatusBadRequest, failedBody("No disclosure url found for order " + t.orderNo)
	}
	payload, err := s.paymentPayloadLocked(t)
	if err != nil {
		return http.StatusInternalServerError, detailBody("Server Error (500)")
	}
	if req.disclose {
		s.produceCallbackLocked(t, target, payload)
	}
	return http.StatusOK, payload
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
