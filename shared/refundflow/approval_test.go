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
	delivered bool
}

func (s *decidedStore) Decide(_ context.Context, id string, status ApprovalStatus, note string, now time.Time) (*Approval, error) {
	return &Approval{WorkflowID: id, Status: status, Note: note, DecidedAt: now, TaskToken: "token"}, nil
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
			ap, err := a.Decide(context.Background(), "wf-1", Decision{Approved: true})
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
