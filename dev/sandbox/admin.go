package sandbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/ottuops/ottu-lambda/shared/amount"
)

// Admin errors; match with errors.Is. The message says what to fix.
var (
	ErrInvalid  = errors.New("sandbox: invalid request")
	ErrConflict = errors.New("sandbox: conflict")
	ErrNotFound = errors.New("sandbox: not found")
)

type adminError struct {
	kind error
	msg  string
}

func (e *adminError) Error() string { return e.msg }
func (e *adminError) Unwrap() error { return e.kind }

func invalidf(format string, a ...any) error {
	return &adminError{kind: ErrInvalid, msg: fmt.Sprintf(format, a...)}
}

func conflictf(format string, a ...any) error {
	return &adminError{kind: ErrConflict, msg: fmt.Sprintf(format, a...)}
}

func notFoundf(format string, a ...any) error {
	return &adminError{kind: ErrNotFound, msg: fmt.Sprintf(format, a...)}
}

// adminStatus maps an admin error to its HTTP status.
func adminStatus(err error) int {
	switch {
	case errors.Is(err, ErrConflict):
		return http.StatusConflict
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound
	}
	return http.StatusBadRequest
}

const maxIDLen = 128

// maxAgeMinutes bounds age_minutes at a year.
const maxAgeMinutes = 365 * 24 * 60

// validID accepts ids usable in a URL path segment: 1 to 128 printable
// characters, no spaces or slashes.
func validID(s string) bool {
	if s == "" || len(s) > maxIDLen {
		return false
	}
	for _, r := range s {
		if r == '/' || unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// CreateTransaction adds a parent transaction as if a customer had reached
// spec.State. Errors wrap ErrInvalid or ErrConflict.
func (s *Server) CreateTransaction(spec TransactionSpec) (Transaction, error) {
	amt, err := amount.Parse(strings.TrimSpace(spec.Amount))
	if err != nil {
		return Transaction{}, invalidf(`amount is not valid (%v); send a decimal string greater than zero such as "10.000"`, err)
	}
	cur := strings.ToUpper(strings.TrimSpace(spec.CurrencyCode))
	if !validCurrency(cur) {
		return Transaction{}, invalidf("currency_code %q is not a three-letter ISO 4217 code such as KWD", spec.CurrencyCode)
	}
	paid := cur
	if spec.PaidCurrencyCode != "" {
		paid = strings.ToUpper(strings.TrimSpace(spec.PaidCurrencyCode))
		if !validCurrency(paid) {
			return Transaction{}, invalidf("paid_currency_code %q is not a three-letter ISO 4217 code such as USD", spec.PaidCurrencyCode)
		}
	}
	if !fitsCurrency(amt, cur) {
		return Transaction{}, invalidf("amount %s has more decimal places than %s allows (%d)", amt.String(), cur, places(cur))
	}
	state := strings.TrimSpace(spec.State)
	if !slices.Contains(States, state) {
		return Transaction{}, invalidf("state %q is unknown: use one of %s", spec.State, strings.Join(States, ", "))
	}
	pg := strings.ToLower(strings.TrimSpace(spec.PGCode))
	if _, ok := gateways[pg]; !ok {
		return Transaction{}, invalidf("pg_code %q is unknown: use one of %s", spec.PGCode, strings.Join(PGCodes(), ", "))
	}
	hook := strings.TrimSpace(spec.WebhookURL)
	if hook != "" && !validURL(hook) {
		return Transaction{}, invalidf("webhook_url must be an absolute http or https URL")
	}
	sid, order := strings.TrimSpace(spec.SessionID), strings.TrimSpace(spec.OrderNo)
	if sid != "" && !validID(sid) {
		return Transaction{}, invalidf("session_id must be 1 to %d printable characters without spaces or slashes", maxIDLen)
	}
	if order != "" && !validID(order) {
		return Transaction{}, invalidf("order_no must be 1 to %d printable characters without spaces or slashes", maxIDLen)
	}
	if spec.AgeMinutes < 0 || spec.AgeMinutes > maxAgeMinutes {
		return Transaction{}, invalidf("age_minutes must be a whole number of minutes from 0 to %d (a year); send 15 to have a transaction inquiry answers at once", maxAgeMinutes)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if sid == "" {
		for sid = randomHex(20); s.bySession[sid] != nil; sid = randomHex(20) {
		}
	} else if s.bySession[sid] != nil {
		return Transaction{}, conflictf("a transaction with session_id %q already exists; use another or leave it out to get a new one", sid)
	}
	if order != "" && s.byOrder[order] != nil {
		return Transaction{}, conflictf("a transaction with order_no %q already exists; order numbers are unique", order)
	}
	t := &txn{
		sessionID:         sid,
		orderNo:           order,
		amount:            amt,
		currency:          cur,
		paidCurrency:      paid,
		state:             state,
		pgCode:            pg,
		webhookURL:        hook,
		customerEmail:     strings.TrimSpace(spec.CustomerEmail),
		customerFirstName: strings.TrimSpace(spec.CustomerFirstName),
		customerLastName:  strings.TrimSpace(spec.CustomerLastName),
		customerPhone:     strings.TrimSpace(spec.CustomerPhone),
		referenceNumber:   referenceNumber(),
		createdAt:         s.now().Add(-time.Duration(spec.AgeMinutes) * time.Minute),
	}
	s.bySession[sid] = t
	if order != "" {
		s.byOrder[order] = t
	}
	return t.snapshot(), nil
}

// Transaction returns the transaction with its children and callbacks,
// soft-deleted ones included; false when unknown or hard-deleted.
func (s *Server) Transaction(sessionID string) (Transaction, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.bySession[sessionID]
	if t == nil {
		return Transaction{}, false
	}
	return t.snapshot(), true
}

// SettleRequest names a queued refund by Tracking-Key or child session id
// (either may be left out when the transaction has one queued refund) and
// how it ends.
type SettleRequest struct {
	TrackingKey    string `json:"tracking_key,omitempty"`
	ChildSessionID string `json:"child_session_id,omitempty"`
	Result         string `json:"result"`
}

// Settle ends a queued refund now, as the gateway would later.
func (s *Server) Settle(sessionID string, req SettleRequest) (Child, error) {
	if req.Result != SettleSuccess && req.Result != SettleRejected {
		return Child{}, invalidf("result must be %q or %q (got %q)", SettleSuccess, SettleRejected, req.Result)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.bySession[sessionID]
	if t == nil {
		return Child{}, notFoundf("no transaction has session_id %q", sessionID)
	}
	var match []*child
	for _, c := range t.children {
		switch {
		case req.TrackingKey != "" && c.trackingKey != req.TrackingKey:
		case req.ChildSessionID != "" && c.sessionID != req.ChildSessionID:
		case req.TrackingKey == "" && req.ChildSessionID == "" && c.state != ChildRefundQueued:
		default:
			match = append(match, c)
		}
	}
	switch {
	case len(match) == 0 && req.TrackingKey == "" && req.ChildSessionID == "":
		return Child{}, notFoundf("transaction %q has no queued refund to settle", sessionID)
	case len(match) == 0:
		return Child{}, notFoundf("transaction %q has no child with that tracking_key or child_session_id", sessionID)
	case len(match) > 1:
		return Child{}, invalidf("transaction %q has %d queued refunds; name one with tracking_key or child_session_id", sessionID, len(match))
	}
	c := match[0]
	if c.state != ChildRefundQueued {
		return Child{}, conflictf("child %s is a %s in state %s, not a queued refund", c.sessionID, c.operation, c.state)
	}
	s.settleLocked(c, req.Result)
	return c.snapshot(), nil
}

// serveAdmin routes /sandbox/…: not Ottu, no authentication.
func (s *Server) serveAdmin(w http.ResponseWriter, r *http.Request, escaped string) {
	rest := strings.TrimSuffix(strings.TrimPrefix(escaped, "/sandbox/"), "/")
	parts := strings.Split(rest, "/")
	switch {
	case rest == "transactions":
		if r.Method != http.MethodPost {
			methodNotAllowed(w, r, http.MethodPost)
			return
		}
		s.adminCreate(w, r)
	case len(parts) == 2 && parts[0] == "transactions":
		id, ok := transactionPath(w, r, http.MethodGet, parts[1])
		if !ok {
			return
		}
		t, found := s.Transaction(id)
		if !found {
			writeJSON(w, http.StatusNotFound, detailBody(fmt.Sprintf("No transaction has session_id %q (a hard delete removes it).", id)))
			return
		}
		writeJSON(w, http.StatusOK, t)
	case len(parts) == 3 && parts[0] == "transactions" && parts[2] == "settle":
		if id, ok := transactionPath(w, r, http.MethodPost, parts[1]); ok {
			s.adminSettle(w, r, id)
		}
	case len(parts) == 3 && parts[0] == "transactions" && parts[2] == "external-operations":
		if id, ok := transactionPath(w, r, http.MethodPost, parts[1]); ok {
			s.adminExternal(w, r, id)
		}
	case rest == "faults":
		s.adminFaults(w, r)
	default:
		notFound(w)
	}
}

func (s *Server) adminCreate(w http.ResponseWriter, r *http.Request) {
	var body struct {
		TransactionSpec
		Amount json.RawMessage `json:"amount"`
	}
	if !decodeAdmin(w, r, &body) {
		return
	}
	spec := body.TransactionSpec
	switch raw := bytes.TrimSpace(body.Amount); {
	case len(raw) == 0 || string(raw) == "null":
	case raw[0] == '"':
		_ = json.Unmarshal(raw, &spec.Amount)
	case raw[0] == '-' || (raw[0] >= '0' && raw[0] <= '9'):
		spec.Amount = string(raw)
	default:
		writeJSON(w, http.StatusBadRequest, detailBody(`amount must be a decimal string such as "10.000"`))
		return
	}
	t, err := s.CreateTransaction(spec)
	if err != nil {
		writeJSON(w, adminStatus(err), detailBody(err.Error()))
		return
	}
	infoFrom(r.Context()).sessionID = t.SessionID
	writeJSON(w, http.StatusCreated, t)
}

func (s *Server) adminSettle(w http.ResponseWriter, r *http.Request, sessionID string) {
	var req SettleRequest
	if !decodeAdmin(w, r, &req) {
		return
	}
	c, err := s.Settle(sessionID, req)
	if err != nil {
		writeJSON(w, adminStatus(err), detailBody(err.Error()))
		return
	}
	writeJSON(w, http.StatusOK, c)
}

func (s *Server) adminExternal(w http.ResponseWriter, r *http.Request, sessionID string) {
	var req ExternalOperation
	if !decodeAdmin(w, r, &req) {
		return
	}
	c, err := s.External(sessionID, req)
	if err != nil {
		writeJSON(w, adminStatus(err), detailBody(err.Error()))
		return
	}
	writeJSON(w, http.StatusCreated, c)
}

func (s *Server) adminFaults(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodPost:
		var f Fault
		if !decodeAdmin(w, r, &f) {
			return
		}
		added, err := s.addFault(f)
		if err != nil {
			writeJSON(w, adminStatus(err), detailBody(err.Error()))
			return
		}
		writeJSON(w, http.StatusCreated, added)
	case http.MethodGet:
		writeJSON(w, http.StatusOK, map[string]any{"faults": s.Faults()})
	case http.MethodDelete:
		writeJSON(w, http.StatusOK, map[string]any{"cleared": s.ClearFaults()})
	default:
		methodNotAllowed(w, r, http.MethodGet, http.MethodPost, http.MethodDelete)
	}
}

// decodeAdmin reads one JSON object into v, refusing unknown fields; on
// failure it has answered 400 or 413.
func decodeAdmin(w http.ResponseWriter, r *http.Request, v any) bool {
	body, ok := readBody(w, r)
	if !ok {
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.More() {
		err = errors.New("extra data after the JSON object")
	}
	if err == nil {
		return true
	}
	var typeErr *json.UnmarshalTypeError
	var msg string
	switch {
	case errors.Is(err, io.EOF):
		msg = "The body is empty; send a JSON object."
	case errors.As(err, &typeErr):
		msg = fmt.Sprintf("%s must be a JSON %s, not %s.", typeErr.Field, jsonKind(typeErr.Type.Kind().String()), typeErr.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		msg = fmt.Sprintf("Unknown field %s; check the spelling.", strings.TrimPrefix(err.Error(), "json: unknown field "))
	default:
		msg = "The body is not a JSON object: " + err.Error()
	}
	writeJSON(w, http.StatusBadRequest, detailBody(msg))
	return false
}

func jsonKind(goKind string) string {
	switch goKind {
	case "int", "int64", "int32", "float64":
		return "number"
	case "struct", "map":
		return "object"
	}
	return goKind
}

// transactionPath checks the method and reads the session_id segment of an
// admin path; on failure it has answered.
func transactionPath(w http.ResponseWriter, r *http.Request, method, segment string) (string, bool) {
	if r.Method != method {
		methodNotAllowed(w, r, method)
		return "", false
	}
	id, ok := pathID("/"+segment, "/")
	if !ok {
		notFound(w)
		return "", false
	}
	infoFrom(r.Context()).sessionID = id
	return id, true
}
