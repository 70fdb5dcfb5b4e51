package refundflow

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/ottuops/ottu-lambda/shared/platform/timefmt"
)

// WorkflowView is GET /refund-workflows/{id}: where the workflow stands,
// its approval, and its result or why it failed.
type WorkflowView struct {
	WorkflowID  string  `json:"workflow_id"`
	RefundID    *string `json:"refund_id"`
	TrackingKey string  `json:"tracking_key"`
	// Status is running, succeeded, failed, timed_out or aborted.
	Status string `json:"status"`
	// Step is the state the workflow is in, or ended in.
	Step      *string `json:"step"`
	StartedAt string  `json:"started_at"`
	StoppedAt *string `json:"stopped_at"`
	Request   View    `json:"request"`
	// RequestedBy is the IAM principal that started the workflow.
	RequestedBy *string       `json:"requested_by"`
	Approval    *ApprovalView `json:"approval"`
	// Result is the output of a succeeded workflow.
	Result json.RawMessage `json:"result"`
	// Failure says why a failed workflow failed.
	Failure   *FailureView `json:"failure"`
	StatusURL string       `json:"status_url"`
}

// ApprovalView is an approval as a merchant sees it; never its token.
type ApprovalView struct {
	Status      ApprovalStatus `json:"status"`
	Amount      *string        `json:"amount"`
	Threshold   string         `json:"threshold"`
	Why         string         `json:"why"`
	RequestedAt string         `json:"requested_at"`
	ExpiresAt   string         `json:"expires_at"`
	DecidedAt   *string        `json:"decided_at"`
	// RequestedBy started the workflow; DecidedBy decided the approval
	// (IAM principals; never the same one).
	RequestedBy *string `json:"requested_by"`
	DecidedBy   *string `json:"decided_by"`
	Note        *string `json:"note"`
}

// FailureView is a failed workflow's error and what it means.
type FailureView struct {
	Error  string `json:"error"`
	Code   string `json:"code,omitempty"`
	Detail string `json:"detail"`
	// Ottu is Ottu's body when Ottu refused the refund.
	Ottu json.RawMessage `json:"ottu,omitempty"`
}

// ViewOfWorkflow renders a workflow; statusURL is where it is read.
func ViewOfWorkflow(wf *Workflow, statusURL string) WorkflowView {
	v := WorkflowView{
		WorkflowID:  wf.ID,
		RefundID:    nullable(wf.Request.RefundID),
		TrackingKey: wf.TrackingKey,
		Status:      strings.ToLower(wf.Status),
		Step:        nullable(wf.Step),
		StartedAt:   formatTime(wf.StartedAt),
		Request:     ViewOf(wf.Request),
		RequestedBy: nullable(wf.Request.RequestedBy),
		Result:      json.RawMessage("null"),
		StatusURL:   statusURL,
	}
	if !wf.StoppedAt.IsZero() {
		v.StoppedAt = nullable(formatTime(wf.StoppedAt))
	}
	if wf.Approval != nil {
		a := ViewOfApproval(wf.Approval)
		if a.Status == ApprovalPending && wf.Status != ExecutionRunning {
			// The workflow ended while it waited (its approval timed out, or
			// it was stopped): no decision can reach it any more.
			a.Status = ApprovalExpired
		}
		v.Approval = &a
	}
	if len(wf.Output) > 0 {
		v.Result = wf.Output
	}
	if wf.Status == ExecutionFailed || wf.Status == ExecutionTimedOut || wf.Status == ExecutionAborted {
		v.Failure = failureOf(wf)
	}
	return v
}

// ViewOfApproval renders an approval.
func ViewOfApproval(a *Approval) ApprovalView {
	v := ApprovalView{
		Status: a.Status, Amount: nullable(a.Amount), Threshold: a.Threshold, Why: a.Why,
		RequestedAt: formatTime(a.RequestedAt), ExpiresAt: formatTime(a.Deadline), Note: nullable(a.Note),
		RequestedBy: nullable(a.RequestedBy), DecidedBy: nullable(a.DecidedBy),
	}
	if v.Status == ApprovalPending && !a.Deadline.IsZero() && time.Now().After(a.Deadline) {
		v.Status = ApprovalExpired
	}
	if !a.DecidedAt.IsZero() {
		v.DecidedAt = nullable(formatTime(a.DecidedAt))
	}
	return v
}

// failureOf reads the cause the definition's Fail states write: the
// refund function's problem (code, detail, Ottu's body), the approver's
// decision, or a sentence of the definition's own.
func failureOf(wf *Workflow) *FailureView {
	f := &FailureView{Error: wf.Error, Detail: wf.Cause}
	var cause struct {
		Code   string          `json:"code"`
		Detail string          `json:"detail"`
		Ottu   json.RawMessage `json:"ottu"`
		// A Lambda error that reached a Fail state unparsed.
		ErrorMessage string `json:"errorMessage"`
	}
	if json.Unmarshal([]byte(wf.Cause), &cause) == nil {
		if cause.ErrorMessage != "" {
			_ = json.Unmarshal([]byte(cause.ErrorMessage), &cause)
		}
		if cause.Detail != "" {
			f.Code, f.Detail, f.Ottu = cause.Code, cause.Detail, cause.Ottu
		}
	}
	switch {
	case f.Detail != "":
	case wf.Status == ExecutionTimedOut:
		f.Detail = "The workflow ran past its time limit."
	case wf.Status == ExecutionAborted:
		f.Detail = "The workflow was stopped by hand."
	default:
		f.Detail = "The workflow failed with " + wf.Error + " and no cause."
	}
	return f
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return timefmt.Format(t)
}
