// Package api adapts the refund workflow's functions:
// refund-workflow (POST /refund-workflows, GET /refund-workflows/{id}, the
// Prepare state) and refund-approval (POST
// /refund-workflows/{id}/approval, the approval state), to the refundflow
// services.
package api

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/ottuops/ottu-lambda/shared/platform/apigw"
	"github.com/ottuops/ottu-lambda/shared/platform/obs"
	"github.com/ottuops/ottu-lambda/shared/platform/problem"
	"github.com/ottuops/ottu-lambda/shared/platform/strictjson"
	"github.com/ottuops/ottu-lambda/shared/refundflow"
)

// WorkflowService starts and reads refund workflows (refundflow.Workflows).
type WorkflowService interface {
	Start(ctx context.Context, req refundflow.Request) (*refundflow.Started, error)
	Read(ctx context.Context, id string) (*refundflow.Workflow, error)
}

// RefundWorkflow handles the refund-workflow function's events: POST
// /refund-workflows and GET /refund-workflows/{id} through API Gateway,
// and the state machine's first state (Prepare) by direct invocation.
type RefundWorkflow struct {
	Service WorkflowService
	// Refunded reads a payment's refunded total for Prepare.
	Refunded     refundflow.Refunded
	MaxBodyBytes int
	// PublicBaseURL, when set, starts every status URL; else the address
	// the request came in on.
	PublicBaseURL string
	Logger        *slog.Logger
	Metrics       *obs.Metrics
	Now           func() time.Time
}

// workflowsPath is the route the workflows live under.
const workflowsPath = "/refund-workflows"

// StartedView is the answer of POST /refund-workflows for a new workflow.
type StartedView struct {
	WorkflowID  string `json:"workflow_id"`
	TrackingKey string `json:"tracking_key"`
	Status      string `json:"status"`
	StatusURL   string `json:"status_url"`
}

// Invoke is the Lambda entry point.
func (h *RefundWorkflow) Invoke(ctx context.Context, payload json.RawMessage) (any, error) {
	return apigw.Dispatch(ctx, h, payload)
}

// Direct is the state machine's first state, Prepare: it validates the input,
// derives the Tracking-Key and decides whether a person must approve.
// Failures are typed errors (InvalidRequest) the definition catches.
func (h *RefundWorkflow) Direct(ctx context.Context, payload json.RawMessage) (*refundflow.Prepared, error) {
	start := h.now()
	log := apigw.LoggerOrDefault(h.Logger).With(obs.Operation("prepare"))
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		log = log.With(obs.RequestID(lc.AwsRequestID))
	}
	ev, err := refundflow.DecodePrepareEvent(payload)
	var p *refundflow.Prepared
	if err == nil {
		p, err = refundflow.Prepare(ctx, ev, h.Refunded)
	}
	if err != nil {
		Codes.LogDirectFailure(ctx, log, "prepare failed", err)
		h.observe("Prepare_"+string(problem.CodeOf(err)), start)
		return nil, Codes.Typed(err)
	}
	log.LogAttrs(ctx, slog.LevelInfo, "workflow prepared", slog.String("workflow_id", p.WorkflowID),
		obs.TrackingKey(p.TrackingKey), slog.Bool("approval_required", p.Approval.Required))
	h.observe("Prepare_done", start)
	return p, nil
}

// HTTP handles POST /refund-workflows and GET /refund-workflows/{id}.
func (h *RefundWorkflow) HTTP(ctx context.Context, ev events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	start := h.now()
	requestID := apigw.RequestID(ctx, ev)
	headers := map[string]string{"X-Request-Id": requestID}
	log := apigw.LoggerOrDefault(h.Logger).With(obs.RequestID(requestID), obs.Operation("refund_workflow"))
	method := ev.RequestContext.HTTP.Method
	id, isRead := ev.PathParameters["id"]
	switch {
	case isRead && method != http.MethodGet:
		headers["Allow"] = http.MethodGet
		return h.fail(ctx, log, start, &problem.Error{Code: problem.CodeMethodNotAllowed, Detail: "Use GET for /refund-workflows/{id}."}, headers)
	case isRead:
		return h.read(ctx, log, start, ev, id, headers)
	case method != http.MethodPost:
		headers["Allow"] = http.MethodPost
		return h.fail(ctx, log, start, &problem.Error{Code: problem.CodeMethodNotAllowed, Detail: "Use POST for /refund-workflows."}, headers)
	}
	return h.start(ctx, log, start, ev, headers)
}

func (h *RefundWorkflow) start(ctx context.Context, log *slog.Logger, start time.Time, ev events.APIGatewayV2HTTPRequest, headers map[string]string) events.APIGatewayV2HTTPResponse {
	body, err := readJSONBody(ev, h.MaxBodyBytes)
	if err != nil {
		return h.fail(ctx, log, start, err, headers)
	}
	req, err := refundflow.ParseRequest(body)
	if err != nil {
		return h.fail(ctx, log, start, err, headers)
	}
	// Who asked comes from API Gateway's IAM authorizer, never the body.
	req.RequestedBy = apigw.Principal(ev)
	log = log.With(slog.String("requested_by", req.RequestedBy))
	st, err := h.Service.Start(ctx, req)
	if err != nil {
		return h.fail(ctx, log, start, err, headers)
	}
	statusURL := h.statusURL(ev, workflowsPath, st.ID)
	headers["Location"] = statusURL
	log = log.With(slog.String("workflow_id", st.ID), obs.TrackingKey(st.TrackingKey))
	if st.Existing != nil {
		log.LogAttrs(ctx, slog.LevelInfo, "workflow exists", slog.String("status", st.Existing.Status))
		h.observe("RefundWorkflow_existing", start)
		body, _ := json.Marshal(refundflow.ViewOfWorkflow(st.Existing, statusURL))
		return apigw.JSONResponse(http.StatusOK, body, headers)
	}
	log.LogAttrs(ctx, slog.LevelInfo, "workflow started")
	h.observe("RefundWorkflow_started", start)
	out, _ := json.Marshal(StartedView{WorkflowID: st.ID, TrackingKey: st.TrackingKey, Status: "running", StatusURL: statusURL})
	return apigw.JSONResponse(http.StatusAccepted, out, headers)
}

func (h *RefundWorkflow) read(ctx context.Context, log *slog.Logger, start time.Time, ev events.APIGatewayV2HTTPRequest, id string, headers map[string]string) events.APIGatewayV2HTTPResponse {
	log = log.With(slog.String("workflow_id", id))
	wf, err := h.Service.Read(ctx, id)
	if err != nil {
		return h.fail(ctx, log, start, err, headers)
	}
	log.LogAttrs(ctx, slog.LevelInfo, "workflow read", slog.String("status", wf.Status), slog.String("step", wf.Step))
	h.observe("RefundWorkflow_read", start)
	body, _ := json.Marshal(refundflow.ViewOfWorkflow(wf, h.statusURL(ev, workflowsPath+"/"+id, id)))
	return apigw.JSONResponse(http.StatusOK, body, headers)
}

func (h *RefundWorkflow) fail(ctx context.Context, log *slog.Logger, start time.Time, err error, headers map[string]string) events.APIGatewayV2HTTPResponse {
	resp := Codes.FailHTTP(ctx, log, "refund workflow request failed", err, headers)
	h.observe("RefundWorkflow_"+string(problem.CodeOf(err)), start)
	return resp
}

// statusURL is where GET /refund-workflows/{id} reads the workflow: under
// PublicBaseURL, else the address the request came in on (route is the
// request's own route path, to find a stage or mapping before it).
func (h *RefundWorkflow) statusURL(ev events.APIGatewayV2HTTPRequest, route, id string) string {
	return workflowURL(h.PublicBaseURL, ev, route, id)
}

func workflowURL(publicBase string, ev events.APIGatewayV2HTTPRequest, route, id string) string {
	base := publicBase
	if base == "" {
		base = apigw.APIBaseURL(ev, route)
	}
	return base + workflowsPath + "/" + url.PathEscape(id)
}

func (h *RefundWorkflow) observe(outcome string, start time.Time) {
	observe(h.Metrics, outcome, "RefundWorkflowDuration", h.now().Sub(start))
}

func (h *RefundWorkflow) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

// observe writes one EMF line: a count of outcome and the duration.
func observe(m *obs.Metrics, outcome, durationName string, d time.Duration) {
	if m == nil {
		return
	}
	if outcome[len(outcome)-1] == '_' {
		outcome += "error"
	}
	m.Count(outcome, 1)
	m.Duration(durationName, d)
	m.Flush()
}

// readJSONBody reads an API Gateway request's JSON body: the Content-Type
// (JSON or none), the size limit, base64, and each member named once.
func readJSONBody(ev events.APIGatewayV2HTTPRequest, limit int) ([]byte, error) {
	if ct, _ := apigw.LookupHeader(ev.Headers, "content-type"); ct != "" {
		if err := apigw.CheckContentType(ct); err != nil {
			return nil, err
		}
	}
	if limit <= 0 {
		limit = apigw.DefaultMaxBodyBytes
	}
	body, err := apigw.DecodeBody(ev.Body, ev.IsBase64Encoded, limit)
	if err != nil {
		return nil, err
	}
	if err := strictjson.CheckMembers(body); err != nil {
		return nil, err
	}
	return body, nil
}
