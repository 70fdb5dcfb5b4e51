// Package payment is the vocabulary of a payment operation that every part
// of the project shares: the operations' names, which of them move money
// through the gateway and take an amount, and the Tracking-Key's syntax.
// It imports nothing of the project, so the domain, its adapters, the Ottu
// client and the sandbox state each rule by calling it, never by restating
// it.
package payment

import "fmt"

// Operation is one of Ottu's six payment operations.
type Operation string

// The operations Ottu's Operations API knows.
const (
	Capture Operation = "capture"
	Refund  Operation = "refund"
	Void    Operation = "void"
	Cancel  Operation = "cancel"
	Expire  Operation = "expire"
	Delete  Operation = "delete"
)

// Operations lists every operation, external ones first.
var Operations = []Operation{Capture, Refund, Void, Cancel, Expire, Delete}

// ParseOperation maps a name such as "refund" to its Operation.
func ParseOperation(s string) (Operation, error) {
	for _, op := range Operations {
		if string(op) == s {
			return op, nil
		}
	}
	return "", fmt.Errorf("unknown operation %q: use one of capture, refund, void, cancel, expire, delete", s)
}

// External reports whether Ottu asks the payment gateway to carry the
// operation out (capture, refund, void); only those take a Tracking-Key.
func (o Operation) External() bool {
	return o == Capture || o == Refund || o == Void
}

// TakesAmount reports whether Ottu reads the amount for this operation.
func (o Operation) TakesAmount() bool {
	return o == Capture || o == Refund
}

// Permission is the Ottu permission a Basic-authenticated user needs.
func (o Operation) Permission() string { return "payment." + string(o) }
