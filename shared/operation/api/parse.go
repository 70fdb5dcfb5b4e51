package api

import (
	"bytes"
	"encoding/json"
	"slices"

	"github.com/ottuops/ottu-lambda/shared/amount"
	"github.com/ottuops/ottu-lambda/shared/operation"
	"github.com/ottuops/ottu-lambda/shared/payment"
	"github.com/ottuops/ottu-lambda/shared/platform/problem"
	"github.com/ottuops/ottu-lambda/shared/platform/strictjson"
)

// fields a merchant may send in an operation body; tracking_key only in a
// direct invocation.
var (
	httpFields   = []string{"session_id", "order_no", "amount", "extra", "currency_code"}
	directFields = []string{"session_id", "order_no", "amount", "extra", "currency_code", "tracking_key", "approval"}
)

// parseOperationBody reads an operation's JSON body strictly: an object,
// known fields only, strings where strings are due, amounts read exactly.
func parseOperationBody(op payment.Operation, body []byte, allowed []string) (operation.Request, string, error) {
	req := operation.Request{Operation: op}
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return req, "", &problem.Error{Code: problem.CodeInvalidRequest,
			Detail: `The request body is empty; send a JSON object such as {"session_id": "…", "amount": "2.500"}.`}
	}
	var fields map[string]json.RawMessage
	if body[0] != '{' || json.Unmarshal(body, &fields) != nil {
		return req, "", &problem.Error{Code: problem.CodeInvalidRequest,
			Detail: `The request body is not a JSON object; send one such as {"session_id": "…", "amount": "2.500"}.`}
	}
	if err := strictjson.CheckMembers(body); err != nil {
		return req, "", err
	}
	if err := strictjson.UnknownFields(fields, allowed); err != nil {
		return req, "", err
	}
	var err error
	if req.SessionID, err = strictjson.StringField(fields, "session_id"); err != nil {
		return req, "", err
	}
	if req.OrderNo, err = strictjson.StringField(fields, "order_no"); err != nil {
		return req, "", err
	}
	key, err := strictjson.StringField(fields, "tracking_key")
	if err != nil {
		return req, "", err
	}
	if req.CurrencyCode, err = strictjson.StringField(fields, "currency_code"); err != nil {
		return req, "", err
	}
	approval, err := strictjson.StringField(fields, "approval")
	if err != nil {
		return req, "", err
	}
	switch a := operation.RefundApproval(approval); {
	case approval == "":
		// An HTTP body never has one (not in httpFields); a direct
		// invocation without one is an administrator's (IAM
		// lambda:InvokeFunction): counted, not limited.
		if slices.Contains(allowed, "approval") {
			req.Approval = operation.RefundApproved
		}
	case a == operation.RefundApproved || a == operation.RefundWithinThreshold:
		req.Approval = a
	default:
		return req, "", problem.Invalid(problem.CodeInvalidRequest, "approval", `approval must be "approved" or "not_required", as the refund workflow sends it.`)
	}
	if raw, ok := fields["amount"]; ok && strictjson.IsNull(raw) {
		// Ottu reads a missing amount as "the full amount": a null must not
		// become a full refund by accident.
		return req, "", problem.Invalid(problem.CodeInvalidAmount, "amount",
			`amount is null; leave it out to let Ottu use the full or remaining amount, or send a decimal string such as "2.500".`)
	}
	if raw, ok := fields["amount"]; ok {
		if !op.TakesAmount() {
			// Named before the amount is read, so that any amount on a
			// void says what is wrong; the rule is the domain's.
			return req, "", operation.AmountNotApplicable(op)
		}
		d, ok, err := amount.ParseJSON(raw)
		if err != nil || !ok {
			return req, "", problem.Invalid(problem.CodeInvalidAmount, "amount",
				`amount must be a decimal string greater than zero with at most 13 digits before the point and 3 after it, such as "2.500".`)
		}
		req.Amount = &d
	}
	if raw, ok := fields["extra"]; ok && !strictjson.IsNull(raw) {
		req.Extra = raw // the domain checks it is an object
	}
	return req, key, nil
}
