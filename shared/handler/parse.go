package handler

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"slices"
	"strings"

	"github.com/ottuops/ottu-lambda/shared/amount"
	"github.com/ottuops/ottu-lambda/shared/operation"
	"github.com/ottuops/ottu-lambda/shared/ottu"
	"github.com/ottuops/ottu-lambda/shared/problem"
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
		return nil, &problem.Error{Code: problem.CodeInvalidRequest, Detail: "The request body is marked base64 but is not valid base64."}
	}
	if len(b) > limit {
		return nil, tooLarge(limit)
	}
	return b, nil
}

func tooLarge(limit int) error {
	return &problem.Error{Code: problem.CodeBodyTooLarge,
		Detail: fmt.Sprintf("The request body is larger than %d bytes; send only session_id or order_no, amount and extra.", limit)}
}

// parseOperationBody reads an operation's JSON body strictly: an object,
// known fields only, strings where strings are due, amounts read exactly.
func parseOperationBody(op ottu.Operation, body []byte, allowed []string) (operation.Request, string, error) {
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
	if err := checkMembers(body); err != nil {
		return req, "", err
	}
	var unknown []string
	for k := range fields {
		if !slices.Contains(allowed, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		e := &problem.Error{Code: problem.CodeUnknownField,
			Detail: fmt.Sprintf("Unknown field %s; the accepted fields are %s.", quoteList(unknown), quoteList(allowed))}
		for _, f := range unknown {
			e.Fields = append(e.Fields, problem.FieldError{Field: f, Detail: "This field is not accepted."})
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
	if raw, ok := fields["amount"]; ok && isNull(raw) {
		// Ottu reads a missing amount as "the full amount": a null must not
		// become a full refund by accident.
		return req, "", problem.Invalid(problem.CodeInvalidAmount, "amount",
			`amount is null; leave it out to let Ottu use the full or remaining amount, or send a decimal string such as "2.500".`)
	}
	if raw, ok := fields["amount"]; ok {
		if !op.TakesAmount() {
			return req, "", operation.AmountNotApplicable(op)
		}
		d, ok, err := amount.ParseJSON(raw)
		if err != nil || !ok {
			return req, "", problem.Invalid(problem.CodeInvalidAmount, "amount",
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
		return "", problem.Invalid(problem.CodeInvalidRequest, name, name+" must be a string.")
	}
	if s == "" {
		return "", problem.Invalid(problem.CodeInvalidRequest, name, name+" is empty; leave it out or send a value.")
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

// checkMembers refuses a member named twice in any object of valid JSON:
// decoders disagree on which one wins, so {"amount": "1", "amount": "100"}
// must not be read as either.
func checkMembers(body []byte) error {
	type frame struct {
		object    bool
		expectKey bool
		keys      map[string]bool
	}
	var stack []*frame
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	for {
		tok, err := dec.Token()
		if err == io.EOF || err != nil {
			return nil // syntax errors are reported by the caller's decode
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{', '[':
				if top != nil && top.object {
					top.expectKey = true
				}
				stack = append(stack, &frame{object: d == '{', expectKey: true, keys: map[string]bool{}})
			default:
				stack = stack[:len(stack)-1]
			}
			continue
		}
		if top == nil || !top.object {
			continue
		}
		if !top.expectKey {
			top.expectKey = true
			continue
		}
		name, _ := tok.(string)
		if top.keys[name] {
			return problem.Invalid(problem.CodeInvalidRequest, name,
				fmt.Sprintf("The member %q appears twice in one object; send each member once.", name))
		}
		top.keys[name] = true
		top.expectKey = false
	}
}

// checkContentType accepts JSON (application/json or any +json type) or
// no Content-Type at all; anything else is refused before it is read.
func checkContentType(value string) error {
	if value == "" {
		return nil
	}
	mt, _, err := mime.ParseMediaType(value)
	if err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json")) {
		return nil
	}
	return &problem.Error{Code: problem.CodeUnsupportedMediaType,
		Detail: fmt.Sprintf("The Content-Type %q is not JSON; send the body as application/json.", value)}
}
