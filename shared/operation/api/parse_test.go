package api

import (
	"testing"

	"github.com/ottuops/ottu-lambda/shared/payment"
	"github.com/ottuops/ottu-lambda/shared/platform/problem"
	"github.com/ottuops/ottu-lambda/shared/platform/strictjson"
)

// FuzzParseOperationBody checks that no body panics, that every refusal is a
// domain error with a detail, and that every accepted body validates.
func FuzzParseOperationBody(f *testing.F) {
	for _, s := range []string{
		`{"session_id":"s","amount":"2.500"}`, `{"order_no":"o","amount":1}`, `{"session_id":"s","extra":{"a":[1]}}`,
		`{"amount":1e999}`, `{"session_id":null}`, `[]`, `{`, `{"session_id":"s","amount":"-0"}`, "\x00",
		`{"session_id":"s","amount":"1","amount":"9"}`, `{"session_id":"s","amount":null}`, `{"session_id":"s","extra":{"a":{"a":1,"a":2}}}`,
		`{"session_id":"s","extra":{"s":"\"[{","b":[[[[[[[[[[]]]]]]]]]]}}`,
	} {
		f.Add(s, uint8(1))
	}
	f.Fuzz(func(t *testing.T, body string, opIndex uint8) {
		op := payment.Operations[int(opIndex)%len(payment.Operations)]
		req, key, err := parseOperationBody(op, []byte(body), directFields)
		if err != nil {
			if problem.CodeOf(err) == "" {
				t.Fatalf("non-domain error %v", err)
			}
			return
		}
		if key == "" {
			key = "k"
		}
		req.TrackingKey = key
		if verr := req.Validate(); verr != nil && problem.CodeOf(verr) == "" {
			t.Fatalf("validate returned non-domain error %v", verr)
		}
		if req.Amount != nil && (!op.TakesAmount() || !req.Amount.IsPositive()) {
			t.Fatalf("accepted amount %s on %s", req.Amount, op)
		}
		if strictjson.CheckMembers([]byte(body)) != nil {
			t.Fatalf("accepted a body with a member named twice: %q", body)
		}
	})
}
