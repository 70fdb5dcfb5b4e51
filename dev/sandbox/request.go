package sandbox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/ottuops/ottu-lambda/shared/amount"
	"github.com/ottuops/ottu-lambda/shared/payment"
)

// Validation messages, worded as Django REST framework words them.
const (
	msgRequired      = "This field is required."
	msgNotNull       = "This field may not be null."
	msgNotString     = "Not a valid string."
	msgNotBool       = "Must be a valid boolean."
	msgNotURL        = "Enter a valid URL."
	msgNotNumber     = "A valid number is required."
	msgBadAmount     = `Enter a valid amount: a decimal string such as "2.500", with at most 13 digits before the point and 3 after it.`
	msgAmountNotPos  = "Ensure this value is greater than 0."
	msgExtraNoObject = "Must be a JSON object."
	msgEitherID      = "Either order_no or session_id must be provided."
)

// fieldErrors is DRF's 400 body: field name → messages.
type fieldErrors map[string][]string

func (f fieldErrors) add(field, msg string) { f[field] = append(f[field], msg) }

// badRequest is a 400 answer body found while reading a request.
type badRequest struct{ body any }

// parseObject reads a JSON object. An empty body reads as {} (DRF does the
// same). Anything else gives the 400 body to answer.
func parseObject(body []byte) (map[string]json.RawMessage, *badRequest) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return map[string]json.RawMessage{}, nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return nil, &badRequest{detailBody("JSON parse error - " + err.Error())}
	}
	if dec.More() {
		return nil, &badRequest{detailBody("JSON parse error - extra data after the JSON value")}
	}
	if raw[0] != '{' {
		msg := fmt.Sprintf("Invalid data. Expected a dictionary, but got %s.", pythonType(raw))
		return nil, &badRequest{fieldErrors{"non_field_errors": {msg}}}
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, &badRequest{detailBody("JSON parse error - " + err.Error())}
	}
	return m, nil
}

// pythonType names a JSON value's type the way DRF's messages do.
func pythonType(raw json.RawMessage) string {
	switch raw[0] {
	case '[':
		return "list"
	case '"':
		return "str"
	case 't', 'f':
		return "bool"
	case 'n':
		return "NoneType"
	}
	if bytes.ContainsAny(raw, ".eE") {
		return "float"
	}
	return "int"
}

func isNull(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) == 0 || string(raw) == "null"
}

// stringField reads a string (or a number's text, as DRF's CharField does),
// trimmed. An empty msg means it was fine; null reads as "".
func stringField(raw json.RawMessage) (string, string) {
	raw = bytes.TrimSpace(raw)
	switch {
	case isNull(raw):
		return "", ""
	case raw[0] == '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", msgNotString
		}
		return strings.TrimSpace(s), ""
	case raw[0] == '-' || (raw[0] >= '0' && raw[0] <= '9'):
		return string(raw), ""
	}
	return "", msgNotString
}

// amountField reads an amount given as a string or a JSON number, from its
// text, never through a float. nil means absent (null or "").
func amountField(raw json.RawMessage) (*decimal.Decimal, string) {
	raw = bytes.TrimSpace(raw)
	var text string
	switch {
	case isNull(raw):
		return nil, ""
	case raw[0] == '"':
		if err := json.Unmarshal(raw, &text); err != nil {
			return nil, msgBadAmount
		}
		text = strings.TrimSpace(text)
		if text == "" {
			return nil, ""
		}
	case raw[0] == '-' || (raw[0] >= '0' && raw[0] <= '9'):
		text = string(raw)
	default:
		return nil, msgNotNumber
	}
	d, err := amount.ParseSigned(text)
	if err != nil {
		return nil, msgBadAmount
	}
	return &d, ""
}

// boolField reads DRF's accepted spellings of a boolean.
func boolField(raw json.RawMessage) (bool, string) {
	raw = bytes.TrimSpace(raw)
	if isNull(raw) {
		return false, ""
	}
	switch strings.Trim(string(raw), `"`) {
	case "true", "True", "1":
		return true, ""
	case "false", "False", "0", "":
		return false, ""
	}
	return false, msgNotBool
}

// urlField reads an absolute http(s) URL; "" means absent.
func urlField(raw json.RawMessage) (string, string) {
	s, msg := stringField(raw)
	if msg != "" || s == "" {
		return s, msg
	}
	if !validURL(s) {
		return "", msgNotURL
	}
	return s, ""
}

func validURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// opRequest is a validated operation request.
type opRequest struct {
	operation payment.Operation
	sessionID string
	orderNo   string
	amount    *decimal.Decimal // nil: Ottu picks the full or remaining amount
	extra     json.RawMessage
}

// parseOperation validates an operation body. On v1 the order number comes
// from the path. The operation is returned even when other fields are bad,
// so the caller can check the permission first; errs is nil when valid.
func parseOperation(m map[string]json.RawMessage, version int, pathOrderNo string) (opRequest, fieldErrors) {
	var req opRequest
	errs := fieldErrors{}

	switch raw, ok := m["operation"]; {
	case !ok:
		errs.add("operation", msgRequired)
	case isNull(raw):
		errs.add("operation", msgNotNull)
	default:
		var name string
		if json.Unmarshal(raw, &name) != nil {
			name = strings.Trim(string(bytes.TrimSpace(raw)), `"`)
		}
		op, err := payment.ParseOperation(name)
		if err != nil {
			errs.add("operation", fmt.Sprintf("%q is not a valid choice.", name))
		}
		req.operation = op
	}

	req.sessionID, req.orderNo = transactionIDs(m, version, pathOrderNo, errs)

	d, msg := amountField(m["amount"])
	switch {
	case msg != "":
		errs.add("amount", msg)
	case d != nil && req.operation.TakesAmount():
		if !d.IsPositive() {
			errs.add("amount", msgAmountNotPos)
		} else {
			req.amount = d
		}
	}

	if raw, ok := m["extra"]; ok && !isNull(raw) {
		if bytes.TrimSpace(raw)[0] != '{' {
			errs.add("extra", msgExtraNoObject)
		} else {
			req.extra = raw
		}
	}

	if len(errs) == 0 && req.sessionID == "" && req.orderNo == "" {
		errs.add("non_field_errors", msgEitherID)
	}
	if len(errs) == 0 {
		return req, nil
	}
	return req, errs
}

// inquiryRequest is a validated inquiry request.
type inquiryRequest struct {
	sessionID     string
	orderNo       string
	disclose      bool
	disclosureURL string
}

// parseInquiry validates an inquiry body; errs is nil when valid.
func parseInquiry(m map[string]json.RawMessage, version int, pathOrderNo string) (inquiryRequest, fieldErrors) {
	var req inquiryRequest
	errs := fieldErrors{}
	req.sessionID, req.orderNo = transactionIDs(m, version, pathOrderNo, errs)
	var msg string
	if req.disclose, msg = boolField(m["disclose_to_merchant"]); msg != "" {
		errs.add("disclose_to_merchant", msg)
	}
	if req.disclosureURL, msg = urlField(m["disclosure_url"]); msg != "" {
		errs.add("disclosure_url", msg)
	}
	if len(errs) == 0 && req.sessionID == "" && req.orderNo == "" {
		errs.add("non_field_errors", msgEitherID)
	}
	if len(errs) == 0 {
		return req, nil
	}
	return req, errs
}

// readOttuRequest does what every Ottu endpoint does first, in Ottu's order:
// authenticate, insist on POST, read the body and parse it as an object. On
// failure it has answered and ok is false.
func (s *Server) readOttuRequest(w http.ResponseWriter, r *http.Request, version int) (principal, map[string]json.RawMessage, bool) {
	p, ok := s.authenticate(w, r, version)
	if !ok {
		return p, nil, false
	}
	if r.Method != http.MethodPost {
		methodNotAllowed(w, r, http.MethodPost)
		return p, nil, false
	}
	body, ok := readBody(w, r)
	if !ok {
		return p, nil, false
	}
	m, bad := parseObject(body)
	if bad != nil {
		writeJSON(w, http.StatusBadRequest, bad.body)
		return p, nil, false
	}
	return p, m, true
}

// transactionIDs reads session_id and order_no: from the body on v2, the
// order_no from the path on v1.
func transactionIDs(m map[string]json.RawMessage, version int, pathOrderNo string, errs fieldErrors) (sessionID, orderNo string) {
	if version == 1 {
		return "", pathOrderNo
	}
	for field, dst := range map[string]*string{"session_id": &sessionID, "order_no": &orderNo} {
		v, msg := stringField(m[field])
		if msg != "" {
			errs.add(field, msg)
		}
		*dst = v
	}
	return sessionID, orderNo
}
