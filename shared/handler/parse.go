package handler

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/ottuops/ottu-lambda/shared/amount"
	"github.com/ottuops/ottu-lambda/shared/operation"
	"github.com/ottuops/ottu-lambda/shared/ottu"
)

// DefaultMaxBodyBytes is the contract's 64 KiB request limit.
const DefaultMaxBodyBytes = 64 << 10

// fields a merchant may send in an operation body; tracking_key only in a
// direct invocation.
var (
	httpFields   = []string{"session_id", "order_no", "amount", "extra"}
	directFields = []string{"session_id", "order_no", "amount", "extra", "tracking_key"}
)

// decodeBody returns the raw body bytes of an API Gateway event.
func decodeBody(body string, isBase64 bool, limit int) ([]byte, error) {
	if !isBase64 {
		if len(body) > limit {
			return nil, tooLarge(limit)
		}
		return []byte(body), nil
	}
	if base64.StdEncoding.DecodedLen(len(body)) > limit+3 {
		return nil, tooLarge(limit)
	}
	b, err := base64.StdEncoding.DecodeString(body)
	if err != nil {
		return nil, &operation.Error{Code: operation.CodeInvalidRequest, Detail: "The request body is marked base64 but is not valid base64."}
	}
	if len(b) > limit {
		return nil, tooLarge(limit)
	}
	return b, nil
}

func tooLarge(limit int) error {
	return &operation.Error{Code: operation.CodeBodyTooLarge,
		Detail: fmt.Sprintf("The request body is larger than %d bytes; send only session_id or order_no, amount and extra.", limit)}
}

// parseOperationBody reads an operation's JSON body strictly: an object,
// known fields only, strings where strings are due, amounts read exactly.
func parseOperationBody(op ottu.Operation, body []byte, allowed []string) (operation.Request, string, error) {
	req := operation.Request{Operation: op}
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return req, "", &operation.Error{Code: operation.CodeInvalidRequest,
			Detail: `The request body is empty; send a JSON object such as {"session_id": "…", "amount": "2.500"}.`}
	}
	var fields map[string]json.RawMessage
	if body[0] != '{' || json.Unmarshal(body, &fields) != nil {
		return req, "", &operation.Error{Code: operation.CodeInvalidRequest,
			Detail: `The request body is not a JSON object; send one such as {"session_id": "…", "amount": "2.500"}.`}
	}
	var unknown []string
	for k := range fields {
		if !slices.Contains(allowed, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		e := &operation.Error{Code: operation.CodeUnknownField,
			Detail: fmt.Sprintf("Unknown field %s; the accepted fields are %s.", quoteList(unknown), quoteList(allowed))}
		for _, f := range unknown {
			e.Fields = append(e.Fields, operation.FieldError{Field: f, Detail: "This field is not accepted."})
		}
		return req, "", e
	}
	var err error
	if req.SessionID, err = stringField(fields, "session_id"); err != nil {
		return req, "", err
	}
	if req.OrderNo, err = stringField(fields, "order_no"); err != nil {
		return req, "", err
	}
	key, err := stringField(fields, "tracking_key")
	if err != nil {
		return req, "", err
	}
	if raw, ok := fields["amount"]; ok && !isNull(raw) {
		if !op.TakesAmount() {
			return req, "", operation.AmountNotApplicable(op)
		}
		d, ok, err := amount.ParseJSON(raw)
		if err != nil || !ok {
			return req, "", operation.Invalid(operation.CodeInvalidAmount, "amount",
				`amount must be a decimal string greater than zero with at most 13 digits before the point and 3 after it, such as "2.500".`)
		}
		req.Amount = &d
	}
	if raw, ok := fields["extra"]; ok && !isNull(raw) {
		req.Extra = raw // the domain checks it is an object
	}
	return req, key, nil
}

func stringField(fields map[string]json.RawMessage, name string) (string, error) {
	raw, ok := fields[name]
	if !ok || isNull(raw) {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", operation.Invalid(operation.CodeInvalidRequest, name, name+" must be a string.")
	}
	if s == "" {
		return "", operation.Invalid(operation.CodeInvalidRequest, name, name+" is empty; leave it out or send a value.")
	}
	return s, nil
}

func isNull(raw json.RawMessage) bool {
	return bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = `"` + n + `"`
	}
	return strings.Join(q, ", ")
}
