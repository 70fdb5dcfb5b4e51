package operation

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/ottuops/ottu-lambda/shared/amount"
	"github.com/ottuops/ottu-lambda/shared/ottu"
	"github.com/ottuops/ottu-lambda/shared/payment"
	"github.com/ottuops/ottu-lambda/shared/platform/problem"
)

// maxIDLength bounds session_id and order_no.
const maxIDLength = 255

// Request is one payment operation a merchant asks for.
type Request struct {
	Operation payment.Operation
	SessionID string
	OrderNo   string
	// Amount is nil when Ottu should use the full or remaining amount.
	Amount *decimal.Decimal
	// Extra is passed to Ottu unchanged (a JSON object), nil when absent.
	Extra       json.RawMessage
	TrackingKey string
	// CurrencyCode is a refund's currency as the caller states it (never
	// sent to Ottu): the approval thresholds are set per currency.
	CurrencyCode string
	// Approval is where a refund stands with the approval threshold, set
	// by the adapter that built the request (never from an HTTP body).
	Approval RefundApproval
}

// ValidateTrackingKey checks a key against payment.CheckTrackingKey, as
// the contract's invalid_tracking_key.
func ValidateTrackingKey(key string) error {
	if err := payment.CheckTrackingKey(key); err != nil {
		return problem.Invalid(problem.CodeInvalidTrackingKey, "Tracking-Key", sentence(err.Error()))
	}
	return nil
}

// sentence makes a rule's message a sentence: a capital and a full stop.
func sentence(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:] + "."
}

// Validate checks what the domain requires of a request, whichever adapter
// built it.
func (r Request) Validate() error {
	if _, err := payment.ParseOperation(string(r.Operation)); err != nil {
		return problem.Invalid(problem.CodeInvalidRequest, "operation", err.Error())
	}
	if err := ValidateTrackingKey(r.TrackingKey); err != nil {
		return err
	}
	if r.SessionID == "" && r.OrderNo == "" {
		return problem.Invalid(problem.CodeInvalidRequest, "session_id", "Send session_id or order_no (or both) to name the payment transaction.")
	}
	for field, v := range map[string]string{"session_id": r.SessionID, "order_no": r.OrderNo} {
		if len(v) > maxIDLength {
			return problem.Invalid(problem.CodeInvalidRequest, field, fmt.Sprintf("%s is %d characters long; at most %d are accepted.", field, len(v), maxIDLength))
		}
		if strings.TrimSpace(v) != v {
			return problem.Invalid(problem.CodeInvalidRequest, field, field+" has leading or trailing spaces; send the identifier exactly as Ottu gave it.")
		}
	}
	if r.Amount != nil {
		if !r.Operation.TakesAmount() {
			return AmountNotApplicable(r.Operation)
		}
		if !r.Amount.IsPositive() {
			return problem.Invalid(problem.CodeInvalidAmount, "amount", "amount must be greater than zero.")
		}
	}
	if r.CurrencyCode != "" {
		if r.Operation != payment.Refund {
			return problem.Invalid(problem.CodeInvalidRequest, "currency_code", fmt.Sprintf("currency_code is taken by refund only, not by %s.", r.Operation))
		}
		if !ValidCurrency(r.CurrencyCode) {
			return problem.Invalid(problem.CodeInvalidRequest, "currency_code", "currency_code must be the payment's ISO 4217 code in capitals, such as KWD.")
		}
	}
	if r.Extra != nil {
		return validateExtra(r.Extra)
	}
	return nil
}

// Bounds of extra. Ottu echoes extra back in its answer: an unbounded one
// could make that answer too large or too deep to record after the money
// moved.
const (
	MaxExtraBytes = 16 << 10
	MaxExtraDepth = 8
)

func validateExtra(extra json.RawMessage) error {
	trimmed := bytes.TrimSpace(extra)
	if len(trimmed) > MaxExtraBytes {
		return problem.Invalid(problem.CodeInvalidRequest, "extra", fmt.Sprintf("extra is %d bytes; at most %d are accepted, so keep only what you need to find the operation again.", len(trimmed), MaxExtraBytes))
	}
	if len(trimmed) == 0 || trimmed[0] != '{' || !json.Valid(trimmed) {
		return problem.Invalid(problem.CodeInvalidRequest, "extra", "extra must be a JSON object, such as {\"reason\": \"customer return\"}.")
	}
	if depth := jsonDepth(trimmed); depth > MaxExtraDepth {
		return problem.Invalid(problem.CodeInvalidRequest, "extra", fmt.Sprintf("extra is nested %d levels deep; at most %d are accepted.", depth, MaxExtraDepth))
	}
	return nil
}

// jsonDepth is the deepest nesting of objects and arrays in valid JSON,
// found without decoding (a string's brackets do not count).
func jsonDepth(b []byte) int {
	depth, deepest, inString, escaped := 0, 0, false, false
	for _, c := range b {
		switch {
		case escaped:
			escaped = false
		case inString && c == '\\':
			escaped = true
		case c == '"':
			inString = !inString
		case inString:
		case c == '{' || c == '[':
			depth++
			deepest = max(deepest, depth)
		case c == '}' || c == ']':
			depth--
		}
	}
	return deepest
}

// Fingerprint identifies the request apart from its key: the operation, the
// transaction, the amount by value (2.5 and "2.500" are the same) and extra
// by content (key order does not matter).
func (r Request) Fingerprint() string {
	h := sha256.New()
	amount := ""
	if r.Amount != nil {
		amount = r.Amount.String()
	}
	fmt.Fprintf(h, "v1\x00%s\x00%s\x00%s\x00%s\x00", r.Operation, r.SessionID, r.OrderNo, amount)
	h.Write(canonicalJSON(r.Extra))
	return hex.EncodeToString(h.Sum(nil))
}

// canonicalJSON re-encodes JSON with sorted keys and numbers as written.
func canonicalJSON(raw json.RawMessage) []byte {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return raw
	}
	out, err := json.Marshal(v)
	if err != nil {
		return raw
	}
	return out
}

// amountText is the amount as recorded ("" when Ottu chooses).
func (r Request) amountText() string {
	if r.Amount == nil {
		return ""
	}
	return amount.Format(*r.Amount)
}

func (r Request) ottuRequest() ottu.OperationRequest {
	return ottu.OperationRequest{
		Operation:   r.Operation,
		SessionID:   r.SessionID,
		OrderNo:     r.OrderNo,
		Amount:      r.Amount,
		Extra:       r.Extra,
		TrackingKey: r.TrackingKey,
	}
}
