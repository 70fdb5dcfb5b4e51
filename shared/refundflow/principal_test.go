package refundflow

import (
	"context"
	"testing"

	"github.com/ottuops/ottu-lambda/shared/platform/problem"
)

// TestRequestedByComesFromTheAuthorizerOnly: who asked is recorded from
// API Gateway's authorizer, never from the body, and a start without it
// starts nothing.
func TestRequestedByComesFromTheAuthorizerOnly(t *testing.T) {
	const body = `{"session_id":"s-1","amount":"1.000","refund_id":"R-1","requested_by":"arn:aws:iam::123456789012:user/someone-else"}`
	t.Run("a body naming requested_by is a 400 unknown_field", func(t *testing.T) {
		if _, err := ParseRequest([]byte(body)); problem.CodeOf(err) != problem.CodeUnknownField {
			t.Fatalf("err = %v, want unknown_field", err)
		}
	})
	t.Run("the execution input carries the recorded principal", func(t *testing.T) {
		req, err := ParseInput([]byte(body))
		if err != nil || req.RequestedBy != "arn:aws:iam::123456789012:user/someone-else" {
			t.Fatalf("got %+v, %v", req, err)
		}
		out, _ := req.MarshalJSON()
		again, err := ParseInput(out)
		if err != nil || again.RequestedBy != req.RequestedBy {
			t.Fatalf("round trip %s: %+v, %v", out, again, err)
		}
	})
	t.Run("a start without a principal is a 403 principal_required and starts nothing", func(t *testing.T) {
		w := &Workflows{StateMachineARN: "arn:aws:states:us-east-1:123456789012:stateMachine:refund"} // no SFN: a call would panic
		req, err := ParseRequest([]byte(`{"session_id":"s-1","amount":"1.000","refund_id":"R-1"}`))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Start(context.Background(), req); problem.CodeOf(err) != problem.CodePrincipalRequired {
			t.Fatalf("err = %v, want principal_required", err)
		}
	})
}
