package refundflow

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/shopspring/decimal"

	"github.com/ottuops/ottu-lambda/shared/amount"
	"github.com/ottuops/ottu-lambda/shared/operation"
	"github.com/ottuops/ottu-lambda/shared/platform/problem"
	"github.com/ottuops/ottu-lambda/shared/platform/strictjson"
)

// Request is what starts a refund workflow: the transaction, the amount
// (absent: Ottu refunds what is left), the merchant's reason and its own
// refund id.
type Request struct {
	SessionID string
	OrderNo   string
	// Amount is nil when Ottu is to refund the whole remaining amount;
	// AmountText is its decimal text as sent.
	Amount     *decimal.Decimal
	AmountText string
	Reason     string
	RefundID   string
	// CurrencyCode is the payment's currency as the caller states it: the
	// approval thresholds are set per currency.
	CurrencyCode string
	// RequestedBy is the IAM principal that started the workflow (from
	// API Gateway's authorizer, never from the body); "" when unknown (an
	// execution started in Step Functions directly).
	RequestedBy string
}

// Limits of the request's free text.
const (
	MaxReasonLength = 500
	maxIDLength     = 255
)

// RequestFields are the members a request may have.
var RequestFields = []string{"session_id", "order_no", "amount", "currency_code", "reason", "refund_id"}

// inputFields are the members of a workflow's execution input: the
// request, and the principal the refund-workflow function recorded.
var inputFields = append(slices.Clone(RequestFields), "requested_by")

// idPattern is what names an execution: Step Functions allows no spaces,
// brackets, wildcards or punctuation such as : / # in execution names, and
// at most 80 characters.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$`)

// ValidWorkflowID reports whether id can name a workflow (a refund_id, or
// the id of GET /refund-workflows/{id}).
func ValidWorkflowID(id string) bool { return idPattern.MatchString(id) }

// TrackingKeyPrefix starts every Tracking-Key a workflow refunds with.
const TrackingKeyPrefix = "refund-workflow-"

// TrackingKeyFor is the Tracking-Key of a workflow: from the merchant's
// refund_id when given, so that the same refund started twice is one
// refund at Ottu, else from the workflow (execution) id.
func TrackingKeyFor(workflowID, refundID string) string {
	if refundID != "" {
		return TrackingKeyPrefix + refundID
	}
	return TrackingKeyPrefix + workflowID
}

// ParseRequest reads a request strictly: a JSON object of RequestFields,
// strings where strings are due, the amount read exactly (a decimal string
// or a JSON number, never through a float).
func ParseRequest(body []byte) (Request, error) {
	return parse(body, RequestFields)
}

// ParseInput reads a workflow's execution input: a request and, when the
// refund-workflow function started it, requested_by.
func ParseInput(body []byte) (Request, error) {
	return parse(body, inputFields)
}

func parse(body []byte, allowed []string) (Request, error) {
	var req Request
	body = bytes.TrimSpace(body)
	example := `{"session_id": "…", "amount": "2.500", "refund_id": "R-1001"}`
	if len(body) == 0 || body[0] != '{' {
		return req, &problem.Error{Code: problem.CodeInvalidRequest, Detail: "The request is not a JSON object; send one such as " + example + "."}
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return req, &problem.Error{Code: problem.CodeInvalidRequest, Detail: "The request is not valid JSON; send an object such as " + example + "."}
	}
	if err := strictjson.UnknownFields(fields, allowed); err != nil {
		return req, err
	}
	var err error
	for _, f := range []struct {
		name string
		dst  *string
	}{{"session_id", &req.SessionID}, {"order_no", &req.OrderNo}, {"reason", &req.Reason}, {"refund_id", &req.RefundID}, {"currency_code", &req.CurrencyCode}, {"requested_by", &req.RequestedBy}} {
		if *f.dst, err = strictjson.StringField(fields, f.name); err != nil {
			return req, err
		}
	}
	if raw, ok := fields["amount"]; ok {
		d, ok, err := amount.ParseJSON(raw)
		if err != nil || !ok {
			return req, problem.Invalid(problem.CodeInvalidAmount, "amount",
				`amount must be a decimal string greater than zero with at most 13 digits before the point and 3 after it, such as "2.500"; leave it out to refund everything left.`)
		}
		req.Amount = &d
		req.AmountText = amount.Format(d) // as parsed: escapes never reach Ottu
	}
	return req, req.Validate()
}

// Validate checks what ParseRequest cannot see in one field alone.
func (r Request) Validate() error {
	switch {
	case r.SessionID == "" && r.OrderNo == "":
		return problem.Invalid(problem.CodeInvalidRequest, "session_id",
			`Name the payment to refund: send session_id or order_no, such as {"session_id": "…", "amount": "2.500"}.`)
	case r.RefundID != "" && !ValidWorkflowID(r.RefundID):
		return problem.Invalid(problem.CodeInvalidRequest, "refund_id",
			"refund_id must be 1 to 80 letters, digits, '.', '_' or '-', starting with a letter or digit: it names the workflow, and the same refund_id is the same refund.")
	case r.CurrencyCode != "" && !operation.ValidCurrency(r.CurrencyCode):
		return problem.Invalid(problem.CodeInvalidRequest, "currency_code", "currency_code must be the payment's ISO 4217 code in capitals, such as KWD.")
	case utf8.RuneCountInString(r.Reason) > MaxReasonLength:
		return problem.Invalid(problem.CodeInvalidRequest, "reason", fmt.Sprintf("reason is longer than %d characters; shorten it.", MaxReasonLength))
	}
	for _, f := range []struct{ name, v string }{{"session_id", r.SessionID}, {"order_no", r.OrderNo}} {
		if len(f.v) > maxIDLength || strings.TrimSpace(f.v) != f.v {
			return problem.Invalid(problem.CodeInvalidRequest, f.name,
				fmt.Sprintf("%s must be at most %d characters with no leading or trailing spaces, exactly as Ottu gave it.", f.name, maxIDLength))
		}
	}
	if strings.IndexFunc(r.Reason, func(c rune) bool { return unicode.IsControl(c) && c != '\n' }) >= 0 {
		return problem.Invalid(problem.CodeInvalidRequest, "reason", "reason may not contain control characters other than new lines.")
	}
	return nil
}

// Same reports whether two requests ask for the same refund: the same
// transaction, the same amount (by value: "2.5" is "2.500") and the same
// refund_id. The reason is not compared: it changes nothing at Ottu.
func (r Request) Same(o Request) bool {
	if r.SessionID != o.SessionID || r.OrderNo != o.OrderNo || r.RefundID != o.RefundID || r.CurrencyCode != o.CurrencyCode || (r.Amount == nil) != (o.Amount == nil) {
		return false
	}
	return r.Amount == nil || r.Amount.Equal(*o.Amount)
}

// Describe names the refund for a sentence: "2.500 of session_id s-1".
func (r Request) Describe() string {
	what := "everything left"
	if r.Amount != nil {
		what = r.AmountText
	}
	if r.SessionID != "" {
		return fmt.Sprintf("%s of session_id %q", what, r.SessionID)
	}
	return fmt.Sprintf("%s of order_no %q", what, r.OrderNo)
}

// MarshalJSON writes the request as the workflow's input: only the members
// given, the amount as its decimal text, and the principal that asked.
func (r Request) MarshalJSON() ([]byte, error) {
	m := map[string]string{}
	for k, v := range map[string]string{"session_id": r.SessionID, "order_no": r.OrderNo, "amount": r.AmountText, "reason": r.Reason, "refund_id": r.RefundID, "currency_code": r.CurrencyCode, "requested_by": r.RequestedBy} {
		if v != "" {
			m[k] = v
		}
	}
	return json.Marshal(m)
}
