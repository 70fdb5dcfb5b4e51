package refundflow

import (
	"context"
	"strings"
	"time"
)

// StepFunctions is the part of Step Functions the workflow's functions
// use (shared/refundflow/sfn implements it with the SDK). Each function's IAM
// policy grants only the calls its code makes.
type StepFunctions interface {
	// StartExecution starts the named execution: ErrExecutionExists when
	// one of that name exists (finished, or running with another input).
	StartExecution(ctx context.Context, stateMachineARN, name, input string) (executionARN string, err error)
	// DescribeExecution reads one execution: ErrExecutionNotFound when
	// there is none.
	DescribeExecution(ctx context.Context, executionARN string) (*Execution, error)
	// RecentEvents returns the execution's newest history events (any
	// order; at least the newest hundred).
	RecentEvents(ctx context.Context, executionARN string) ([]Event, error)
	// SendTaskSuccess and SendTaskFailure end a waiting task: ErrTaskGone
	// when Step Functions no longer accepts the token.
	SendTaskSuccess(ctx context.Context, token string, output []byte) error
	SendTaskFailure(ctx context.Context, token, errorName, cause string) error
}

// Execution statuses, as Step Functions names them.
const (
	ExecutionRunning   = "RUNNING"
	ExecutionSucceeded = "SUCCEEDED"
	ExecutionFailed    = "FAILED"
	ExecutionTimedOut  = "TIMED_OUT"
	ExecutionAborted   = "ABORTED"
)

// Execution is one run of the state machine.
type Execution struct {
	ARN, Name string
	Status    string
	Input     string
	// Output is set once the execution succeeded; Error and Cause once it
	// failed.
	Output       string
	Error, Cause string
	StartedAt    time.Time
	StoppedAt    time.Time
}

// Event is one history event: its id (increasing), its type and, for
// state events, the state's name.
type Event struct {
	ID        int64
	Type      string
	StateName string
}

// ApprovalStore keeps one approval per workflow (shared/refundflow/ddb
// implements it on DynamoDB).
type ApprovalStore interface {
	// Put stores a pending approval, replacing one still pending (a retried
	// request brings a new task token); ErrApprovalNotPending when the
	// workflow's approval was decided.
	Put(ctx context.Context, a Approval) error
	// Get reads a workflow's approval: ErrApprovalNotFound when none.
	Get(ctx context.Context, workflowID string) (*Approval, error)
	// Decide records a decision by decidedBy in one conditional write, only
	// while the approval is pending, before its deadline, and when
	// decidedBy is not the principal that started the workflow. When it is
	// not, the error wraps ErrApprovalNotPending (or is ErrApprovalNotFound)
	// and the approval is returned as it is.
	Decide(ctx context.Context, workflowID string, status ApprovalStatus, note, decidedBy string, now time.Time) (*Approval, error)
	// SetDelivered notes that the workflow has the decision.
	SetDelivered(ctx context.Context, workflowID string) error
	// SetExpired notes that the workflow timed out before the decision
	// reached it.
	SetExpired(ctx context.Context, workflowID string, now time.Time) error
}

// ExecutionARN is the ARN of the execution name of a state machine.
func ExecutionARN(stateMachineARN, name string) string {
	return strings.Replace(stateMachineARN, ":stateMachine:", ":execution:", 1) + ":" + name
}
