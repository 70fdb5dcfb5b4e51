package localstack

import (
	"context"
	"testing"
)

// RequireCallsAllowed fails t when a function made an AWS call (action and
// resource) that its own role's policies do not allow, or when no call was
// recorded at all. moto's IAM enforcement (Options.EnforceIAM) refuses a
// missing action as it happens; this adds the resource ARNs, which moto
// does not match. End-to-end tests call it after their cases.
func (s *Stack) RequireCallsAllowed(ctx context.Context, t testing.TB) CallReport {
	t.Helper()
	rep, err := s.CheckCalls(ctx)
	if err != nil {
		t.Fatalf("check the functions' AWS calls against their roles: %v", err)
	}
	if len(s.AWSCalls()) == 0 {
		t.Fatal("no AWS call of a function was recorded: the IAM check would prove nothing")
	}
	for _, c := range rep.Denied {
		t.Errorf("%s called %s on %s, which its role's policies do not allow", c.Function, c.Action, c.Resource)
	}
	return rep
}

// Called tells whether function made at least one call of action (such as
// states:SendTaskFailure), so a suite can show that a grant another suite
// leaves unused is used here.
func (s *Stack) Called(function, action string) bool {
	for _, c := range s.AWSCalls() {
		if c.Function == function && c.Action == action {
			return true
		}
	}
	return false
}
