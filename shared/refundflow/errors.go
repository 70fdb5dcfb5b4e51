// Package refundflow is the refund workflow's domain: what a merchant may
// start (and how its Tracking-Key follows from it), the preparation step
// the state machine runs first (validation and the approval decision, in
// decimal), the approval of large refunds (task tokens kept in a table,
// decisions taken once), and the merchant's view of a workflow. It knows
// nothing of Lambda, API Gateway, DynamoDB or the Step Functions SDK:
// adapters implement its interfaces.
package refundflow

import (
	"errors"
	"time"

	"github.com/ottuops/ottu-lambda/shared/platform/problem"
)

// The workflow's own problem codes.
const (
	// CodeRefundIDReused: a workflow with this refund_id exists and was
	// started for a different refund.
	CodeRefundIDReused problem.Code = "refund_id_reused"
	// CodeApprovalNotPending: the workflow is not waiting for an approval
	// (its refund needs none, it has not reached the approval yet, or it
	// has ended).
	CodeApprovalNotPending problem.Code = "approval_not_pending"
	// CodeApprovalDecided: the approval was already given or refused.
	CodeApprovalDecided problem.Code = "approval_decided"
	// CodeApprovalExpired: the approval timed out; the workflow failed.
	CodeApprovalExpired problem.Code = "approval_expired"
	// CodeWorkflowUnavailable: Step Functions or the approvals table did
	// not answer in time.
	CodeWorkflowUnavailable problem.Code = "workflow_unavailable"
)

// Errors the adapters return, for errors.Is.
var (
	// ErrExecutionExists: StartExecution found an execution of that name.
	ErrExecutionExists = errors.New("an execution with this name exists")
	// ErrExecutionNotFound: no execution of that name.
	ErrExecutionNotFound = errors.New("no such execution")
	// ErrTaskGone: Step Functions no longer accepts the task token (the
	// task timed out, ended, or never existed).
	ErrTaskGone = errors.New("the task token is no longer accepted")
	// ErrApprovalNotFound: no approval is stored for the workflow.
	ErrApprovalNotFound = errors.New("no approval is stored for this workflow")
	// ErrApprovalNotPending: the conditional write found the approval
	// decided or past its deadline; the store returns the approval as it is.
	ErrApprovalNotPending = errors.New("the approval is not pending")
)

// ApprovalRejectedError is the error name the approval function sends with
// SendTaskFailure when the approver refuses; the definition's Catch matches
// it. TaskFailureErrors lists every such name, for the test that checks the
// definition names only errors something can raise.
const ApprovalRejectedError = "RefundNotApproved"

// TaskFailureErrors are the error names this project's functions send with
// SendTaskFailure.
var TaskFailureErrors = []string{ApprovalRejectedError}

func unavailable(err error, detail string) *problem.Error {
	return &problem.Error{Code: CodeWorkflowUnavailable, Detail: detail, Err: err, RetryAfter: 2 * time.Second}
}
