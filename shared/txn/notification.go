package txn

import (
	"encoding/json"
	"strings"
)

// Operation notifications are filed by the only identity Ottu signs on
// them: the parent payment's reference_number. A transaction's timeline
// (History) joins the notifications filed under the reference_number its
// own entries carry.

// refPrefix and childPrefix make the partitions of notifications and of
// the waiters for them distinct from any session_id or order_no.
const (
	refPrefix   = "ref#"
	childPrefix = "child#"
	pkPrefix    = "pymt#"
)

// RefKey is where the operation notifications of the payment whose
// reference_number is ref are filed.
func RefKey(ref string) string { return refPrefix + ref }

// LegacyKey is where a notification of Ottu's older shape (no
// reference_number, only pymt_txn_pk) is filed.
func LegacyKey(pk string) string { return pkPrefix + pk }

// ChildKey is where the waiters for the notification of one child
// transaction (its reference_number, from our operation's answer) are
// filed.
func ChildKey(childRef string) string { return childPrefix + childRef }

// IsNotificationKey reports whether key is a notification partition, not
// a transaction's own.
func IsNotificationKey(key string) bool {
	return strings.HasPrefix(key, refPrefix) || strings.HasPrefix(key, pkPrefix) || strings.HasPrefix(key, childPrefix)
}

// ReferenceOf is the payment's reference_number an inquiry answer or a
// disclosure carries; "" when it carries none (or e is a notification).
func ReferenceOf(e Entry) string {
	if e.Source == SourceOperation {
		return ""
	}
	var b struct {
		Ref any `json:"reference_number"`
	}
	if json.Unmarshal(e.Body, &b) != nil {
		return ""
	}
	s, _ := b.Ref.(string)
	return strings.TrimSpace(s)
}

// Operation is what the timeline shows of an operation notification.
// Amount, ReferenceNumber and Result are the fields Ottu signs on it; the
// others are hints (unsigned), shown but never acted on.
type Operation struct {
	Operation string `json:"operation"`
	// Amount is the signed amount, as sent.
	Amount string `json:"amount"`
	// ReferenceNumber is the parent payment's (signed).
	ReferenceNumber string `json:"reference_number"`
	Result          string `json:"result"`
	// Source is input (through Ottu: API or dashboard) or pg (the
	// gateway's own dashboard).
	Source string `json:"source"`
	// Initiator is who did it ({email, id, username}), set for dashboard
	// and Basic-auth operations; null otherwise.
	Initiator json.RawMessage `json:"initiator"`
	// ChildReferenceNumber and ChildState describe the child transaction
	// the operation created.
	ChildReferenceNumber string `json:"child_reference_number"`
	ChildState           string `json:"child_state"`
	CurrencyCode         string `json:"currency_code"`
	// PaymentPK is the older shape's pymt_txn_pk.
	PaymentPK string `json:"pymt_txn_pk,omitempty"`
	// External is true for an operation no record of ours explains, false
	// for one this stack made, null while not known (Explain).
	External *bool `json:"external"`
}

// OperationOf reads an operation notification's body (either of Ottu's
// shapes); ok is false when body is not a JSON object.
func OperationOf(body json.RawMessage) (op Operation, ok bool) {
	var m map[string]any
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.UseNumber()
	if dec.Decode(&m) != nil || m == nil {
		return op, false
	}
	child, _ := m["txn"].(map[string]any)
	op = Operation{
		Operation:            scalar(m["operation"]),
		Amount:               scalar(m["amount"]),
		ReferenceNumber:      scalar(m["reference_number"]),
		Result:               scalar(m["result"]),
		Source:               scalar(m["source"]),
		ChildReferenceNumber: scalar(child["reference_number"]),
		ChildState:           scalar(child["state"]),
		CurrencyCode:         scalar(child["currency_code"]),
		PaymentPK:            scalar(m["pymt_txn_pk"]),
		Initiator:            json.RawMessage("null"),
	}
	init := m["initiator"]
	if init == nil {
		init = m["initiator_pk"]
	}
	if im, isMap := init.(map[string]any); !isMap || len(im) > 0 {
		if b, err := json.Marshal(init); err == nil {
			op.Initiator = b
		}
	}
	return op, true
}

// scalar is a string or number's text; "" otherwise.
func scalar(v any) string {
	switch t := v.(type) {
	case string:
		return strings.TrimSpace(t)
	case json.Number:
		return t.String()
	}
	return ""
}

// PaymentReference is the reference_number of the payment whose history
// (newest first) this is: the newest that one of its own inquiry answers or
// disclosures carries. A conflict (another payment's signed callback re-filed
// under the session) never lends its reference. "" when none is known.
func PaymentReference(history []Entry) string {
	for _, e := range history {
		if e.Conflict != "" {
			continue
		}
		if r := ReferenceOf(e); r != "" {
			return r
		}
	}
	return ""
}

// Origins says, for the children Ottu's stored answers list, whether each
// was made through this stack: by child reference_number, true when Ottu
// lists it with a Tracking-Key (every capture, refund and void this stack
// sends carries one), false when Ottu lists it without. A child no stored
// inquiry or disclosure lists is absent: not known yet.
func Origins(history []Entry) map[string]bool {
	out := map[string]bool{}
	for _, e := range history {
		if e.Source == SourceOperation {
			continue
		}
		var b struct {
			Transactions []struct {
				ReferenceNumber string `json:"reference_number"`
				TrackingKey     string `json:"tracking_key"`
			} `json:"transactions"`
		}
		if json.Unmarshal(e.Body, &b) != nil {
			continue
		}
		for _, c := range b.Transactions {
			if c.ReferenceNumber == "" {
				continue
			}
			out[c.ReferenceNumber] = out[c.ReferenceNumber] || c.TrackingKey != ""
		}
	}
	return out
}

// Explain marks op external when Ottu's stored answers list its child
// without a Tracking-Key (made outside this stack: Ottu's dashboard, the
// gateway's, or another API client), not external when they list it with
// one, and leaves External nil while no stored answer lists it. It is for
// display: the refunded total counts every refund notification, ours and
// external alike, once per child (operation.CountRefund).
func (op *Operation) Explain(origins map[string]bool) {
	ours, known := origins[op.ChildReferenceNumber]
	if !known || op.ChildReferenceNumber == "" {
		op.External = nil
		return
	}
	ext := !ours
	op.External = &ext
}

// CountsAsRefund reports whether a notification's operation is counted in
// its payment's refunded total: every one but those whose (unsigned)
// operation says capture, void or cancel. Its operation may be null, and
// counting a non-refund is too much, never too little.
func (op Operation) CountsAsRefund() bool {
	switch strings.ToLower(op.Operation) {
	case "capture", "void", "cancel":
		return false
	}
	return op.Result == "success"
}

// ChildOrDigest is the id a notification's refund is counted under: its
// child's reference_number, or, without one, the digest of the delivery
// (a refund of ours then counts twice: too much, never too little).
func ChildOrDigest(e Entry, op Operation) string {
	if op.ChildReferenceNumber != "" {
		return op.ChildReferenceNumber
	}
	return "digest:" + e.Digest
}
