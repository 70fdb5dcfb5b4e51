package api

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/ottuops/ottu-lambda/shared/platform/apigw"
	"github.com/ottuops/ottu-lambda/shared/platform/obs"
	"github.com/ottuops/ottu-lambda/shared/platform/problem"
	"github.com/ottuops/ottu-lambda/shared/platform/strictjson"
	"github.com/ottuops/ottu-lambda/shared/platform/timefmt"
	"github.com/ottuops/ottu-lambda/shared/refundflow"
)

// ApprovalService asks for approvals and takes decisions
// (refundflow.Approvals).
type ApprovalService interface {
	Request(ctx context.Context, ev refundflow.RequestEvent) (*refundflow.Approval, error)
	Verify(ctx context.Context, workflowID string) (*refundflow.Verified, error)
	Decide(ctx context.Context, workflowID string, d refundflow.Decision) (*refundflow.Approval, error)
}

// RefundApproval handles the refund-approval function's events: POST
// /refund-workflows/{id}/approval through API Gateway, and the state
// machine's approval state (a .waitForTaskToken task) by direct
// invocation.
type RefundApproval struct {
	Service       ApprovalService
	MaxBodyBytes  int
	PublicBaseURL string
	Logger        *slog.Logger
	Metrics       *obs.Metrics
	Now           func() time.Time
}

// ApprovalAnswer is the answer of POST /refund-workflows/{id}/approval.
type ApprovalAnswer struct {
	WorkflowID string                  `json:"workflow_id"`
	Approval   refundflow.ApprovalView `json:"approval"`
	StatusURL  string                  `json:"status_url"`
}

// RequestedAnswer is the approval state's result: the approval waits.
type RequestedAnswer struct {
	WorkflowID string `json:"workflow_id"`
	Status     string `json:"status"`
	ExpiresAt  string `json:"expires_at"`
}

// approvalFields are the members of a decision.
var approvalFields = []string{"approved", "note"}

// Invoke is the Lambda entry point.
func (h *RefundApproval) Invoke(ctx context.Context, payload json.RawMessage) (any, error) {
	return apigw.Dispatch(ctx, h, payload)
}

// Direct answers the workflow's two direct states: VerifyApproval
// ({"verify": {...}}) and the approval wait's token ({"task_token", ...}).
func (h *RefundApproval) Direct(ctx context.Context, payload json.RawMessage) (any, error) {
	var probe struct {
		Verify json.RawMessage `json:"verify"`
	}
	if json.Unmarshal(payload, &probe) == nil && len(probe.Verify) > 0 {
		return h.Verify(ctx, payload)
	}
	return h.Request(ctx, payload)
}

// Verify is the definition's VerifyApproval state: {"verify":
// {"workflow_id"}}. It answers whether the approvals table holds an
// approval the approval function recorded.
func (h *RefundApproval) Verify(ctx context.Context, payload json.RawMessage) (*refundflow.Verified, error) {
	start := h.now()
	log := apigw.LoggerOrDefault(h.Logger).With(obs.Operation("verify_approval"))
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		log = log.With(obs.RequestID(lc.AwsRequestID))
	}
	var ev refundflow.VerifyEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		err = problem.Invalid(problem.CodeInvalidRequest, "verify", `The event must be {"verify": {"workflow_id": "…"}}, as the refund workflow's VerifyApproval state sends it.`)
		Codes.LogDirectFailure(ctx, log, "approval verification failed", err)
		return nil, Codes.Typed(err)
	}
	v, err := h.Service.Verify(ctx, ev.Verify.WorkflowID)
	if err != nil {
		Codes.LogDirectFailure(ctx, log, "approval verification failed", err)
		h.observe("ApprovalVerify_"+string(problem.CodeOf(err)), start)
		return nil, Codes.Typed(err)
	}
	level, outcome := slog.LevelInfo, "ApprovalVerify_approved"
	if !v.Approved {
		// The wait ended with a success the approval function did not send:
		// a forged release, which an operator must look at.
		level, outcome = slog.LevelError, "ApprovalVerify_refused"
	}
	log.LogAttrs(ctx, level, "approval verified", slog.String("workflow_id", ev.Verify.WorkflowID), slog.Bool("approved", v.Approved),
		slog.String("status", v.Status), slog.String("why", v.Why))
	h.observe(outcome, start)
	return v, nil
}

// Request stores the approval state's task token: {"task_token",
// "workflow"}. The token is never logged.
func (h *RefundApproval) Request(ctx context.Context, payload json.RawMessage) (*RequestedAnswer, error) {
	start := h.now()
	log := apigw.LoggerOrDefault(h.Logger).With(obs.Operation("request_approval"))
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		log = log.With(obs.RequestID(lc.AwsRequestID))
	}
	var ev refundflow.RequestEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		err = problem.Invalid(problem.CodeInvalidRequest, "", `The event must be {"task_token": "…", "workflow": {…}}, as the refund workflow's approval state sends it.`)
		Codes.LogDirectFailure(ctx, log, "approval request failed", err)
		return nil, Codes.Typed(err)
	}
	ap, err := h.Service.Request(ctx, ev)
	if err != nil {
		Codes.LogDirectFailure(ctx, log, "approval request failed", err)
		h.observe("ApprovalRequest_"+string(problem.CodeOf(err)), start)
		return nil, Codes.Typed(err)
	}
	log.LogAttrs(ctx, slog.LevelInfo, "approval requested", slog.String("workflow_id", ap.WorkflowID), obs.TrackingKey(ap.TrackingKey),
		slog.String("amount", ap.Amount), slog.String("threshold", ap.Threshold))
	h.observe("ApprovalRequest_stored", start)
	return &RequestedAnswer{WorkflowID: ap.WorkflowID, Status: string(ap.Status), ExpiresAt: timefmt.Format(ap.Deadline)}, nil
}

// HTTP handles POST /refund-workflows/{id}/approval {"approved", "note"?}.
func (h *RefundApproval) HTTP(ctx context.Context, ev events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	start := h.now()
	requestID := apigw.RequestID(ctx, ev)
	headers := map[string]string{"X-Request-Id": requestID}
	id := ev.PathParameters["id"]
	log := apigw.LoggerOrDefault(h.Logger).With(obs.RequestID(requestID), obs.Operation("approval"), slog.String("workflow_id", id))
	if m := ev.RequestContext.HTTP.Method; m != http.MethodPost {
		headers["Allow"] = http.MethodPost
		return h.fail(ctx, log, start, &problem.Error{Code: problem.CodeMethodNotAllowed, Detail: "Use POST for /refund-workflows/{id}/approval."}, headers)
	}
	d, err := h.readDecision(ev)
	if err != nil {
		return h.fail(ctx, log, start, err, headers)
	}
	// Who decides comes from API Gateway's IAM authorizer, never the body.
	d.By = apigw.Principal(ev)
	log = log.With(slog.String("decided_by", d.By))
	ap, err := h.Service.Decide(ctx, id, d)
	if err != nil {
		return h.fail(ctx, log, start, err, headers)
	}
	log.LogAttrs(ctx, slog.LevelInfo, "approval decided", slog.String("decision", string(ap.Status)), obs.TrackingKey(ap.TrackingKey))
	h.observe("Approval_"+string(ap.Status), start)
	body, _ := json.Marshal(ApprovalAnswer{WorkflowID: id, Approval: refundflow.ViewOfApproval(ap),
		StatusURL: workflowURL(h.PublicBaseURL, ev, workflowsPath+"/"+id+"/approval", id)})
	return apigw.JSONResponse(http.StatusOK, body, headers)
}

// readDecision reads {"approved": true|false, "note"?: "…"} strictly.
func (h *RefundApproval) readDecision(ev events.APIGatewayV2HTTPRequest) (refundflow.Decision, error) {
	var d refundflow.Decision
	body, err := readJSONBody(ev, h.MaxBodyBytes)
	if err != nil {
		return d, err
	}
	body = bytes.TrimSpace(body)
	var fields map[string]json.RawMessage
	if len(body) == 0 || body[0] != '{' || json.Unmarshal(body, &fields) != nil {
		return d, &problem.Error{Code: problem.CodeInvalidRequest, Detail: `The request body is not a JSON object; send {"approved": true, "note": "…"} or {"approved": false, "note": "…"}.`}
	}
	if err := strictjson.UnknownFields(fields, approvalFields); err != nil {
		return d, err
	}
	raw, ok := fields["approved"]
	if !ok || strictjson.IsNull(raw) || json.Unmarshal(raw, &d.Approved) != nil {
		return d, problem.Invalid(problem.CodeInvalidRequest, "approved", "approved is required and must be true or false (a JSON boolean).")
	}
	if d.Note, err = strictjson.StringField(fields, "note"); err != nil {
		return d, err
	}
	return d, nil
}

func (h *RefundApproval) fail(ctx context.Context, log *slog.Logger, start time.Time, err error, headers map[string]string) events.APIGatewayV2HTTPResponse {
	resp := Codes.FailHTTP(ctx, log, "approval failed", err, headers)
	h.observe("Approval_"+string(problem.CodeOf(err)), start)
	return resp
}

func (h *RefundApproval) observe(outcome string, start time.Time) {
	observe(h.Metrics, outcome, "RefundApprovalDuration", h.now().Sub(start))
}

func (h *RefundApproval) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}
