package refundflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ottuops/ottu-lambda/shared/platform/problem"
)

// Workflows starts refund workflows and reads them.
type Workflows struct {
	SFN       StepFunctions
	Approvals interface {
		Get(ctx context.Context, workflowID string) (*Approval, error)
	}
	StateMachineARN string
	// CallTimeout bounds each call to Step Functions or the table.
	CallTimeout time.Duration
}

// Started is a started workflow: new, or the one its refund_id started
// before (Existing, with its current state).
type Started struct {
	ID          string
	TrackingKey string
	Existing    *Workflow
}

// Start starts a workflow named by the request's refund_id. The same
// refund_id started again answers the existing workflow, and one started
// for another refund is refused: a refund_id is one refund. It is required
// here, the merchant's route: a name made for a caller would be new on
// every retry of a request whose answer was lost, and refund twice.
// (An execution started in Step Functions directly is named by its
// caller, and Prepare derives the key from that name.)
func (w *Workflows) Start(ctx context.Context, req Request) (*Started, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	if req.RequestedBy == "" {
		return nil, &problem.Error{Code: problem.CodePrincipalRequired,
			Detail: "The request carries no IAM principal, so who asked for the refund could not be recorded and nothing was started; call POST /refund-workflows on its IAM-authorized route, signed (SigV4) with the requester's credentials."}
	}
	if req.RefundID == "" {
		return nil, problem.Invalid(problem.CodeInvalidRequest, "refund_id",
			"refund_id is required: send your own id for this refund (for example your return's id), and the same refund_id on every retry, so a retry after a lost answer cannot start a second refund.")
	}
	id := req.RefundID
	input, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("encode the workflow input: %w", err)
	}
	// Answer a refund_id used before from its workflow, running or ended
	// alike (Step Functions itself answers a repeat of a running execution
	// as if it were new, and refuses one of an ended one).
	if st, err := w.existing(ctx, id, req); err == nil || !errors.Is(err, errNoWorkflow) {
		return st, err
	}
	cctx, cancel := w.call(ctx)
	_, err = w.SFN.StartExecution(cctx, w.StateMachineARN, id, string(input))
	cancel()
	switch {
	case err == nil:
		return &Started{ID: id, TrackingKey: TrackingKeyFor(id, req.RefundID)}, nil
	case !errors.Is(err, ErrExecutionExists):
		return nil, unavailable(err, "Step Functions did not start the workflow, so nothing was refunded; send the same request again (the same refund_id cannot refund twice).")
	}
	// Started by a request at the same moment: answer that one.
	return w.existing(ctx, id, req)
}

// errNoWorkflow: no workflow has the id yet.
var errNoWorkflow = errors.New("no workflow with this id")

// existing answers a start whose id names a workflow: that workflow, when
// it is for the same refund; refund_id_reused when not.
func (w *Workflows) existing(ctx context.Context, id string, req Request) (*Started, error) {
	existing, err := w.Read(ctx, id)
	if problem.CodeOf(err) == problem.CodeNotFound {
		return nil, errNoWorkflow
	}
	if err != nil {
		return nil, err
	}
	if !existing.Request.Same(req) {
		return nil, &problem.Error{Code: CodeRefundIDReused,
			Detail: fmt.Sprintf("refund_id %q already started a refund of %s; a refund_id is one refund. Send a new refund_id for a different refund, or GET /refund-workflows/%s for that one.", id, existing.Request.Describe(), id)}
	}
	return &Started{ID: id, TrackingKey: existing.TrackingKey, Existing: existing}, nil
}

// Workflow is one workflow as this stack sees it.
type Workflow struct {
	ID          string
	TrackingKey string
	// Status is the execution's (RUNNING, SUCCEEDED, FAILED, …); Step is
	// the state it is in (or ended in).
	Status    string
	Step      string
	StartedAt time.Time
	StoppedAt time.Time
	Request   Request
	// Approval is nil when the workflow asked for none (yet).
	Approval *Approval
	// Output is the result of a succeeded workflow; Error and Cause say why
	// a failed one failed.
	Output       json.RawMessage
	Error, Cause string
}

// Read reads a workflow: its execution, where it stands, and its approval.
func (w *Workflows) Read(ctx context.Context, id string) (*Workflow, error) {
	if !ValidWorkflowID(id) {
		return nil, problem.Invalid(problem.CodeInvalidRequest, "id", "The workflow id must be 1 to 80 letters, digits, '.', '_' or '-', as POST /refund-workflows answered it.")
	}
	arn := ExecutionARN(w.StateMachineARN, id)
	cctx, cancel := w.call(ctx)
	ex, err := w.SFN.DescribeExecution(cctx, arn)
	cancel()
	switch {
	case errors.Is(err, ErrExecutionNotFound):
		return nil, &problem.Error{Code: problem.CodeNotFound, Detail: fmt.Sprintf("There is no refund workflow %q (Step Functions keeps a finished workflow 90 days).", id)}
	case err != nil:
		return nil, unavailable(err, "Step Functions did not answer; read the workflow again shortly.")
	}
	wf := &Workflow{ID: id, Status: ex.Status, StartedAt: ex.StartedAt, StoppedAt: ex.StoppedAt, Error: ex.Error, Cause: ex.Cause}
	if req, err := ParseInput([]byte(ex.Input)); err == nil {
		wf.Request = req
	}
	wf.TrackingKey = TrackingKeyFor(id, wf.Request.RefundID)
	if ex.Output != "" && json.Valid([]byte(ex.Output)) {
		wf.Output = json.RawMessage(ex.Output)
	}
	cctx, cancel = w.call(ctx)
	events, err := w.SFN.RecentEvents(cctx, arn)
	cancel()
	if err != nil {
		return nil, unavailable(err, "Step Functions did not answer with the workflow's history; read the workflow again shortly.")
	}
	wf.Step = currentStep(events)
	cctx, cancel = w.call(ctx)
	ap, err := w.Approvals.Get(cctx, id)
	cancel()
	switch {
	case err == nil:
		wf.Approval = ap
	case !errors.Is(err, ErrApprovalNotFound):
		return nil, unavailable(err, "The approvals table did not answer; read the workflow again shortly.")
	}
	return wf, nil
}

// currentStep is the name of the state entered last.
func currentStep(events []Event) string {
	var last Event
	for _, e := range events {
		if strings.HasSuffix(e.Type, "StateEntered") && e.ID > last.ID {
			last = e
		}
	}
	return last.StateName
}

func (w *Workflows) call(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, callTimeout(w.CallTimeout))
}
