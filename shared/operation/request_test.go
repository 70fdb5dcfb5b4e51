package operation

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/ottuops/ottu-lambda/shared/payment"
	"github.com/ottuops/ottu-lambda/shared/platform/problem"
)

func dec(s string) *decimal.Decimal {
	d := decimal.RequireFromString(s)
	return &d
}

func TestValidate(t *testing.T) {
	base := Request{Operation: payment.Refund, SessionID: "s1", TrackingKey: "k1"}
	tests := []struct {
		name string
		edit func(*Request)
		code problem.Code
	}{
		{"a refund with a session id and key is valid", func(*Request) {}, ""},
		{"an order number alone names the transaction", func(r *Request) { r.SessionID, r.OrderNo = "", "o1" }, ""},
		{"a request naming no transaction is refused", func(r *Request) { r.SessionID = "" }, problem.CodeInvalidRequest},
		{"an unknown operation is refused", func(r *Request) { r.Operation = "chargeback" }, problem.CodeInvalidRequest},
		{"an amount on a void is not applicable", func(r *Request) { r.Operation, r.Amount = payment.Void, dec("1") }, problem.CodeAmountNotApplicable},
		{"an amount on a capture is fine", func(r *Request) { r.Operation, r.Amount = payment.Capture, dec("1") }, ""},
		{"a zero amount is refused", func(r *Request) { r.Amount = dec("0") }, problem.CodeInvalidAmount},
		{"an empty tracking key is refused", func(r *Request) { r.TrackingKey = "" }, problem.CodeInvalidTrackingKey},
		{"a tracking key with a space is refused", func(r *Request) { r.TrackingKey = "a b" }, problem.CodeInvalidTrackingKey},
		{"a tracking key of 255 characters is accepted", func(r *Request) { r.TrackingKey = strings.Repeat("k", 255) }, ""},
		{"a tracking key of 256 characters is refused", func(r *Request) { r.TrackingKey = strings.Repeat("k", 256) }, problem.CodeInvalidTrackingKey},
		{"a non-ASCII tracking key is refused", func(r *Request) { r.TrackingKey = "clé" }, problem.CodeInvalidTrackingKey},
		{"extra that is an array is refused", func(r *Request) { r.Extra = json.RawMessage(`[1]`) }, problem.CodeInvalidRequest},
		{"extra that is an object is accepted", func(r *Request) { r.Extra = json.RawMessage(`{"a":1}`) }, ""},
		{"a session id with surrounding spaces is refused", func(r *Request) { r.SessionID = " s1" }, problem.CodeInvalidRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := base
			tt.edit(&r)
			err := r.Validate()
			if got := problem.CodeOf(err); got != tt.code {
				t.Fatalf("Validate() = %v (code %q), want code %q", err, got, tt.code)
			}
			if err != nil && problem.CodeOf(err) == "" {
				t.Fatalf("Validate() returned a non-domain error %v", err)
			}
		})
	}
}

func TestFingerprint(t *testing.T) {
	base := Request{Operation: payment.Refund, SessionID: "s1", Amount: dec("2.5"), Extra: json.RawMessage(`{"a":1,"b":"x"}`), TrackingKey: "k"}
	same := []struct {
		name string
		edit func(*Request)
	}{
		{"the same amount written with trailing zeros is the same request", func(r *Request) { r.Amount = dec("2.500") }},
		{"extra with its keys in another order is the same request", func(r *Request) { r.Extra = json.RawMessage(`{"b":"x", "a":1}`) }},
		{"another tracking key does not change the fingerprint", func(r *Request) { r.TrackingKey = "other" }},
	}
	for _, tt := range same {
		t.Run(tt.name, func(t *testing.T) {
			r := base
			tt.edit(&r)
			if r.Fingerprint() != base.Fingerprint() {
				t.Fatal("fingerprints differ")
			}
		})
	}
	different := []struct {
		name string
		edit func(*Request)
	}{
		{"another amount is another request", func(r *Request) { r.Amount = dec("2.501") }},
		{"no amount is another request", func(r *Request) { r.Amount = nil }},
		{"another operation is another request", func(r *Request) { r.Operation = payment.Capture }},
		{"another session is another request", func(r *Request) { r.SessionID = "s2" }},
		{"an order number besides the session is another request", func(r *Request) { r.OrderNo = "o1" }},
		{"another extra is another request", func(r *Request) { r.Extra = json.RawMessage(`{"a":2,"b":"x"}`) }},
		{"fields cannot shift between session and order", func(r *Request) { r.SessionID, r.OrderNo = "s", "1" }},
	}
	for _, tt := range different {
		t.Run(tt.name, func(t *testing.T) {
			r := base
			tt.edit(&r)
			if r.Fingerprint() == base.Fingerprint() {
				t.Fatal("fingerprints are equal")
			}
		})
	}
}
