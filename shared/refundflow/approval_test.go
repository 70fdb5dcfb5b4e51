package refundflow

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ottuops/ottu-lambda/shared/platform/problem"
)

// decidedStore records every decision; only Decide and SetDelivered are used.
type decidedStore struct {
	ApprovalStore
	requestedBy string
	decisions   int
	delivered   bool
}

func (s *decidedStore) Decide(_ context.Context, id string, status ApprovalStatus, note, by string, now time.Time) (*Approval, error) {
	if s.requestedBy != "" && s.requestedBy == by {
		// As the table answers a decision its condition refused.
		return &Approval{WorkflowID: id, Status: ApprovalPending, RequestedBy: s.requestedBy, TaskToken: "token"}, ErrApprovalNotPending
	}
	s.decisions++
	return &Approval{WorkflowID: id, Status: status, Note: note, DecidedAt: now, TaskToken: "token", RequestedBy: s.requestedBy, DecidedBy: by}, nil
}

func (s *decidedStore) SetDelivered(context.Context, string) error { s.delivered = true; return nil }

// goneTask answers every send with ErrTaskGone and DescribeExecution with
// describeErr.
type goneTask struct {
	StepFunctions
	describeErr error
}

func (g goneTask) SendTaskSuccess(context.Context, string, []byte) error { return ErrTaskGone }

func (g goneTask) DescribeExecution(context.Context, string) (*Execution, error) {
	if g.describeErr != nil {
		return nil, g.describeErr
	}
	return &Execution{Status: "SUCCEEDED"}, nil
}

// TestApprovalDeliveryIsNotClaimedWhenUnknown: a decision whose task is
// gone is "delivered" only when Step Functions shows the workflow moved
// on; when it cannot be read, the answer says delivery is unknown.
func TestApprovalDeliveryIsNotClaimedWhenUnknown(t *testing.T) {
	tests := []struct {
		name          string
		describeErr   error
		wantCode      problem.Code
		wantDelivered bool
	}{
		{"a workflow that moved on took an earlier sending of the decision", nil, "", true},
		{"a workflow that cannot be read leaves delivery unknown, never claimed", errors.New("throttled"), CodeWorkflowUnavailable, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := &decidedStore{}
			a := &Approvals{Store: store, SFN: goneTask{describeErr: tt.describeErr},
				StateMachineARN: "arn:aws:states:us-east-1:123456789012:stateMachine:refund"}
			ap, err := a.Decide(context.Background(), "wf-1", Decision{Approved: true, By: "arn:aws:iam::123456789012:user/approver"})
			if tt.wantCode != "" {
				if problem.CodeOf(err) != tt.wantCode || ap != nil {
					t.Fatalf("got %+v, %v; want %s", ap, err, tt.wantCode)
				}
			} else if err != nil || !ap.Delivered {
				t.Fatalf("got %+v, %v; want delivered", ap, err)
			}
			if store.delivered != tt.wantDelivered {
				t.Fatalf("stored delivered %v, want %v", store.delivered, tt.wantDelivered)
			}
		})
	}
}

// sentTasks records what reached the waiting task.
type sentTasks struct {
	StepFunctions
	successes, failures int
}

func (s *sentTasks) SendTaskSuccess(context.Context, string, []byte) error { s.successes++; return nil }
func (s *sentTasks) SendTaskFailure(context.Context, string, string, string) error {
	s.failures++
	return nil
}

// TestFourEyes: the principal that started a workflow cannot decide it,
// and a decision with no principal decides nothing.
func TestFourEyes(t *testing.T) {
	const requester, approver = "arn:aws:iam::123456789012:user/requester", "arn:aws:iam::123456789012:user/approver"
	tests := []struct {
		name     string
		d        Decision
		wantCode problem.Code
	}{
		{"an approval by the requester is a 403 self_approval and reaches no workflow", Decision{Approved: true, By: requester}, problem.CodeSelfApproval},
		{"a rejection by the requester is a 403 self_approval too", Decision{Approved: false, By: requester}, problem.CodeSelfApproval},
		{"a decision with no principal is a 403 principal_required", Decision{Approved: true}, problem.CodePrincipalRequired},
		{"an approval by another principal is recorded with its principal and delivered", Decision{Approved: true, By: approver}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := &decidedStore{requestedBy: requester}
			sent := &sentTasks{}
			a := &Approvals{Store: store, SFN: sent, StateMachineARN: "arn:aws:states:us-east-1:123456789012:stateMachine:refund"}
			ap, err := a.Decide(context.Background(), "wf-1", tt.d)
			if tt.wantCode != "" {
				if problem.CodeOf(err) != tt.wantCode || ap != nil || sent.successes+sent.failures != 0 {
					t.Fatalf("got %+v, %v, %d sent; want a 403 %s and nothing sent", ap, err, sent.successes+sent.failures, tt.wantCode)
				}
				return
			}
			if err != nil || ap.DecidedBy != approver || ap.RequestedBy != requester || sent.successes != 1 {
				t.Fatalf("got %+v, %v, %d successes sent", ap, err, sent.successes)
			}
		})
	}
}

// storedApproval is an approvals table holding one approval (or none, or
// failing).
type storedApproval struct {
	ApprovalStore
	ap  *Approval
	err error
}

func (s storedApproval) Get(context.Context, string) (*Approval, error) {
	if s.err != nil {
		return nil, s.err
	}
	if s.ap == nil {
		return nil, ErrApprovalNotFound
	}
	return s.ap, nil
}

// TestVerifyApproval: after the wait, only an approval the approval
// function recorded, by another principal than the requester, lets the
// refund run.
func TestVerifyApproval(t *testing.T) {
	const requester, approver = "arn:aws:iam::123456789012:user/requester", "arn:aws:iam::123456789012:user/approver"
	tests := []struct {
		name         string
		store        storedApproval
		wantApproved bool
		wantCode     problem.Code
	}{
		{"an approval by another principal is verified", storedApproval{ap: &Approval{Status: ApprovalApproved, RequestedBy: requester, DecidedBy: approver}}, true, ""},
		{"a pending approval (a forged release) is not", storedApproval{ap: &Approval{Status: ApprovalPending, RequestedBy: requester}}, false, ""},
		{"a rejected approval is not", storedApproval{ap: &Approval{Status: ApprovalRejected, RequestedBy: requester, DecidedBy: approver}}, false, ""},
		{"an approval with no deciding principal is not", storedApproval{ap: &Approval{Status: ApprovalApproved, RequestedBy: requester}}, false, ""},
		{"an approval decided by the requester is not", storedApproval{ap: &Approval{Status: ApprovalApproved, RequestedBy: requester, DecidedBy: requester}}, false, ""},
		{"an approval of a workflow with no recorded requester is not (nobody can show the approver is someone else)", storedApproval{ap: &Approval{Status: ApprovalApproved, DecidedBy: approver}}, false, ""},
		{"no approval at all is not", storedApproval{}, false, ""},
		{"a table that cannot be read is an error, never an approval", storedApproval{err: errors.New("throttled")}, false, CodeWorkflowUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := (&Approvals{Store: tt.store}).Verify(context.Background(), "wf-1")
			if tt.wantCode != "" {
				if problem.CodeOf(err) != tt.wantCode || v != nil {
					t.Fatalf("got %+v, %v; want %s", v, err, tt.wantCode)
				}
				return
			}
			if err != nil || v.Approved != tt.wantApproved || v.Why == "" {
				t.Fatalf("got %+v, %v; want approved %v with a reason", v, err, tt.wantApproved)
			}
		})
	}
}
