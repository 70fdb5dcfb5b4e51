package refundflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/ottuops/ottu-lambda/shared/platform/problem"
	"github.com/ottuops/ottu-lambda/shared/platform/tasktoken"
	"github.com/ottuops/ottu-lambda/shared/platform/timefmt"
)

// ApprovalStatus is where an approval stands.
type ApprovalStatus string

// The statuses of an approval.
const (
	ApprovalPending  ApprovalStatus = "pending"
	ApprovalApproved ApprovalStatus = "approved"
	ApprovalRejected ApprovalStatus = "rejected"
	// ApprovalExpired: the workflow timed out before a decision reached it.
	ApprovalExpired ApprovalStatus = "expired"
)

// Approval is one workflow's request for a person's decision. The task
// token is what resumes the workflow; it is never shown or logged.
type Approval struct {
	WorkflowID  string
	Status      ApprovalStatus
	TaskToken   string
	TrackingKey string
	// Amount is "" when the refund is of everything left.
	Amount    string
	Threshold string
	Why       string
	Reason    string
	// RequestedAt is when the workflow asked; Deadline when its wait ends.
	RequestedAt time.Time
	Deadline    time.Time
	DecidedAt   time.Time
	Note        string
	// RequestedBy is the IAM principal that started the workflow ("" when
	// unknown); DecidedBy the one that decided. They are never the same.
	RequestedBy string
	DecidedBy   string
	// Delivered is set once the workflow has the decision.
	Delivered bool
	// ExpiresAt is when the record may be deleted (DynamoDB TTL).
	ExpiresAt time.Time
}

// Decision is an approver's answer; By is the approver's IAM principal.
type Decision struct {
	Approved bool
	Note     string
	By       string
}

// ApprovalTimedOutError is the error the definition fails a workflow with
// when no decision came in time.
const ApprovalTimedOutError = "ApprovalTimedOut"

// MaxNoteLength bounds an approver's note.
const MaxNoteLength = 1000

// Approvals asks for approvals and takes decisions, each once.
type Approvals struct {
	Store           ApprovalStore
	SFN             StepFunctions
	StateMachineARN string
	// Retention is how long an approval is kept after its deadline.
	Retention time.Duration
	// CallTimeout bounds each call to the table or to Step Functions.
	CallTimeout time.Duration
	Now         func() time.Time
}

// RequestEvent is what the approval state sends: its task token and the
// prepared workflow.
type RequestEvent struct {
	TaskToken string   `json:"task_token"`
	Workflow  Prepared `json:"workflow"`
}

// Request stores a pending approval with its task token, so that a
// decision can resume the workflow. It runs before the workflow waits, so
// no decision can come before the token is stored.
func (a *Approvals) Request(ctx context.Context, ev RequestEvent) (*Approval, error) {
	wf := ev.Workflow
	switch {
	case ev.TaskToken == "" || tasktoken.TooLong(ev.TaskToken):
		return nil, problem.Invalid(problem.CodeInvalidRequest, "task_token", "task_token is missing or too long; the definition passes $$.Task.Token.")
	case !ValidWorkflowID(wf.WorkflowID) || wf.TrackingKey == "":
		return nil, problem.Invalid(problem.CodeInvalidRequest, "workflow", "workflow must be the prepared workflow ($.workflow), with its workflow_id and tracking_key.")
	case wf.Settings.ApprovalTimeoutSeconds <= 0:
		return nil, problem.Invalid(problem.CodeInvalidRequest, "workflow", "workflow.settings.approval_timeout_seconds must be above zero.")
	}
	now := a.now()
	deadline := now.Add(time.Duration(wf.Settings.ApprovalTimeoutSeconds) * time.Second)
	ap := Approval{
		WorkflowID: wf.WorkflowID, Status: ApprovalPending, TaskToken: ev.TaskToken, TrackingKey: wf.TrackingKey,
		Amount: deref(wf.Request.Amount), Threshold: wf.Approval.Threshold, Why: wf.Approval.Why, Reason: deref(wf.Request.Reason),
		RequestedAt: now, Deadline: deadline, ExpiresAt: deadline.Add(a.retention()),
		RequestedBy: deref(wf.RequestedBy),
	}
	cctx, cancel := a.call(ctx)
	defer cancel()
	switch err := a.Store.Put(cctx, ap); {
	case errors.Is(err, ErrApprovalNotPending):
		return nil, &problem.Error{Code: CodeApprovalDecided,
			Detail: fmt.Sprintf("Workflow %s already has a decided approval; a new approval cannot be asked for under the same id.", wf.WorkflowID)}
	case err != nil:
		return nil, unavailable(err, "The approvals table could not be written, so the approval was not asked for; the workflow retries.")
	}
	return &ap, nil
}

// Decide takes an approver's decision: it is recorded once (a second one
// is a 409 approval_decided, one after the deadline a 409
// approval_expired) and then passed to the waiting workflow. A decision
// recorded but not passed on (Step Functions did not answer) is passed on
// when the same decision is sent again.
func (a *Approvals) Decide(ctx context.Context, workflowID string, d Decision) (*Approval, error) {
	if !ValidWorkflowID(workflowID) {
		return nil, problem.Invalid(problem.CodeInvalidRequest, "id", "The workflow id must be 1 to 80 letters, digits, '.', '_' or '-', as POST /refund-workflows answered it.")
	}
	if err := checkNote(d.Note); err != nil {
		return nil, err
	}
	if d.By == "" {
		return nil, &problem.Error{Code: problem.CodePrincipalRequired,
			Detail: "The decision carries no IAM principal, so who decided could not be recorded and nothing was decided; call POST /refund-workflows/{id}/approval on its IAM-authorized route, signed (SigV4) with the approver's credentials."}
	}
	status := ApprovalRejected
	if d.Approved {
		status = ApprovalApproved
	}
	now := a.now()
	cctx, cancel := a.call(ctx)
	ap, err := a.Store.Decide(cctx, workflowID, status, d.Note, d.By, now)
	cancel()
	switch {
	case errors.Is(err, ErrApprovalNotFound):
		return nil, a.notWaiting(ctx, workflowID)
	case errors.Is(err, ErrApprovalNotPending) && ap != nil && ap.Status == ApprovalPending && ap.RequestedBy == d.By:
		return nil, &problem.Error{Code: problem.CodeSelfApproval,
			Detail: fmt.Sprintf("%s started refund workflow %s, so it cannot also approve or reject it: four eyes. Another principal, with the refund approver policy, must decide; nothing was decided.", d.By, workflowID)}
	case errors.Is(err, ErrApprovalNotPending) && ap != nil:
		if ap.Status != status || ap.Delivered || ap.Status == ApprovalExpired || ap.Status == ApprovalPending {
			return nil, notPending(ap)
		}
		// The same decision again, recorded but never passed on: pass it on.
	case err != nil:
		return nil, unavailable(err, "The approvals table did not answer, so the decision was not recorded; send it again.")
	}
	return a.deliver(ctx, ap)
}

// deliver passes a recorded decision to the waiting workflow.
func (a *Approvals) deliver(ctx context.Context, ap *Approval) (*Approval, error) {
	cctx, cancel := a.call(ctx)
	defer cancel()
	var err error
	if ap.Status == ApprovalApproved {
		out, _ := json.Marshal(map[string]any{"approved": true, "note": ap.Note, "decided_at": timefmt.Format(ap.DecidedAt)})
		err = a.SFN.SendTaskSuccess(cctx, ap.TaskToken, out)
	} else {
		detail := "The approver rejected the refund, so nothing was refunded."
		if ap.Note != "" {
			detail += " Note: " + ap.Note
		}
		cause, _ := json.Marshal(map[string]any{"code": "approval_rejected", "detail": detail, "note": ap.Note, "decided_at": timefmt.Format(ap.DecidedAt)})
		err = a.SFN.SendTaskFailure(cctx, ap.TaskToken, ApprovalRejectedError, string(cause))
	}
	switch {
	case errors.Is(err, ErrTaskGone):
		timedOut, derr := a.timedOut(ctx, ap.WorkflowID)
		if derr != nil {
			return nil, unavailable(derr, fmt.Sprintf("The decision (%s) is recorded, but whether the workflow took it could not be read from Step Functions; send the same decision again, or GET /refund-workflows/%s.", ap.Status, ap.WorkflowID))
		}
		if timedOut {
			_ = a.Store.SetExpired(cctx, ap.WorkflowID, a.now())
			ap.Status = ApprovalExpired
			return nil, notPending(ap)
		}
		// The workflow has moved on: an earlier sending of this decision
		// reached it.
	case err != nil:
		return nil, unavailable(err, fmt.Sprintf("The decision (%s) is recorded but Step Functions did not take it, so the workflow still waits; send the same decision again.", ap.Status))
	}
	ap.Delivered = true
	_ = a.Store.SetDelivered(cctx, ap.WorkflowID) // best effort: a repeat is answered from the execution
	return ap, nil
}

// timedOut reports whether the workflow ended because its approval timed
// out (or never ran at all); an error when Step Functions could not say.
func (a *Approvals) timedOut(ctx context.Context, workflowID string) (bool, error) {
	cctx, cancel := a.call(ctx)
	defer cancel()
	ex, err := a.SFN.DescribeExecution(cctx, ExecutionARN(a.StateMachineARN, workflowID))
	switch {
	case errors.Is(err, ErrExecutionNotFound):
		return true, nil
	case err != nil:
		return false, err
	}
	return ex.Error == ApprovalTimedOutError || ex.Status == ExecutionTimedOut, nil
}

// notWaiting answers a decision for a workflow with no approval stored.
func (a *Approvals) notWaiting(ctx context.Context, workflowID string) error {
	cctx, cancel := a.call(ctx)
	defer cancel()
	ex, err := a.SFN.DescribeExecution(cctx, ExecutionARN(a.StateMachineARN, workflowID))
	switch {
	case errors.Is(err, ErrExecutionNotFound):
		return &problem.Error{Code: problem.CodeNotFound, Detail: fmt.Sprintf("There is no refund workflow %q; check the id POST /refund-workflows answered.", workflowID)}
	case err != nil:
		return unavailable(err, "Step Functions did not answer, so whether the workflow waits for an approval is unknown; send the decision again.")
	case ex.Status == ExecutionRunning:
		return &problem.Error{Code: CodeApprovalNotPending,
			Detail: fmt.Sprintf("Refund workflow %s is not waiting for an approval: its refund is not above the approval threshold, or it has not reached the approval yet (GET /refund-workflows/%s shows its step).", workflowID, workflowID)}
	}
	return &problem.Error{Code: CodeApprovalNotPending,
		Detail: fmt.Sprintf("Refund workflow %s has ended (%s) without waiting for an approval; nothing can be approved.", workflowID, strings.ToLower(ex.Status))}
}

// notPending answers a decision that comes too late or a second time.
func notPending(ap *Approval) error {
	switch ap.Status {
	case ApprovalApproved, ApprovalRejected:
		return &problem.Error{Code: CodeApprovalDecided,
			Detail: fmt.Sprintf("The refund of workflow %s was already %s at %s; a decision is taken once.", ap.WorkflowID, ap.Status, ap.DecidedAt.UTC().Format(time.RFC3339))}
	}
	return &problem.Error{Code: CodeApprovalExpired,
		Detail: fmt.Sprintf("The approval of workflow %s timed out at %s, so the workflow failed and nothing was refunded; start a new workflow with a new refund_id to ask again.", ap.WorkflowID, ap.Deadline.UTC().Format(time.RFC3339))}
}

// checkNote refuses a note a person could not read back.
func checkNote(note string) error {
	switch {
	case !utf8.ValidString(note):
		return problem.Invalid(problem.CodeInvalidRequest, "note", "note must be valid UTF-8 text.")
	case utf8.RuneCountInString(note) > MaxNoteLength:
		return problem.Invalid(problem.CodeInvalidRequest, "note", fmt.Sprintf("note is longer than %d characters; shorten it.", MaxNoteLength))
	case strings.IndexFunc(note, func(c rune) bool { return unicode.IsControl(c) && c != '\n' }) >= 0:
		return problem.Invalid(problem.CodeInvalidRequest, "note", "note may not contain control characters other than new lines.")
	}
	return nil
}

func (a *Approvals) call(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, callTimeout(a.CallTimeout))
}

func (a *Approvals) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

func (a *Approvals) retention() time.Duration {
	if a.Retention > 0 {
		return a.Retention
	}
	return 30 * 24 * time.Hour
}

// DefaultCallTimeout bounds each call to the table or to Step Functions.
const DefaultCallTimeout = 3 * time.Second

func callTimeout(d time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return DefaultCallTimeout
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// VerifyEvent is what the definition's VerifyApproval state sends after
// the wait: {"verify": {"workflow_id": "…"}}.
type VerifyEvent struct {
	Verify struct {
		WorkflowID string `json:"workflow_id"`
	} `json:"verify"`
}

// Verified is VerifyApproval's answer: whether the approvals table holds
// an approval of the workflow recorded by the approval function. Approved
// is the only thing the definition lets through to Refund.
type Verified struct {
	Approved    bool    `json:"approved"`
	Status      string  `json:"status"`
	RequestedBy *string `json:"requested_by"`
	DecidedBy   *string `json:"decided_by"`
	Why         string  `json:"why"`
}

// Verify re-reads a workflow's approval after its wait ended with a task
// success. The task token is in the execution's history and
// states:SendTaskSuccess cannot be narrowed to one token by IAM, so the
// success itself proves nothing: only an approval the approval function
// recorded (approved, by a principal other than the requester) lets the
// refund run. Anything else answers not approved, and the workflow ends
// with nothing refunded. A table that cannot be read is an error (the
// definition retries, then ends the workflow, also with nothing refunded).
func (a *Approvals) Verify(ctx context.Context, workflowID string) (*Verified, error) {
	if !ValidWorkflowID(workflowID) {
		return nil, problem.Invalid(problem.CodeInvalidRequest, "verify.workflow_id", "verify.workflow_id must be the workflow's id ($.workflow.workflow_id).")
	}
	cctx, cancel := a.call(ctx)
	ap, err := a.Store.Get(cctx, workflowID)
	cancel()
	switch {
	case errors.Is(err, ErrApprovalNotFound):
		return &Verified{Status: "none", Why: "The approvals table holds no approval of this workflow, so the task success that ended its wait was not sent by the approval function."}, nil
	case err != nil:
		return nil, unavailable(err, "The approvals table could not be read, so the approval could not be verified and nothing was refunded.")
	}
	v := &Verified{Status: string(ap.Status), RequestedBy: nullable(ap.RequestedBy), DecidedBy: nullable(ap.DecidedBy)}
	switch {
	case ap.Status != ApprovalApproved:
		v.Why = fmt.Sprintf("The approvals table records the approval as %s, so the task success that ended the wait was not the approval function's; nothing is refunded.", ap.Status)
	case ap.DecidedBy == "":
		v.Why = "The approval records no deciding principal, so it was not recorded by the approval function; nothing is refunded."
	case ap.RequestedBy == "":
		// A workflow started without a recorded requester (an execution
		// started in Step Functions directly) cannot show that its approver
		// is someone else: four eyes need both names.
		v.Why = "The workflow records no requesting principal, so nobody can show the approver is another person; nothing is refunded. Start refunds through POST /refund-workflows."
	case ap.DecidedBy == ap.RequestedBy:
		v.Why = "The approval was decided by the principal that started the workflow; nothing is refunded."
	default:
		v.Approved = true
		v.Why = fmt.Sprintf("Approved by %s, who did not start the workflow.", ap.DecidedBy)
	}
	return v, nil
}
