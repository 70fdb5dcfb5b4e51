package api

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ottuops/ottu-lambda/shared/operation"
	"github.com/ottuops/ottu-lambda/shared/payment"
	"github.com/ottuops/ottu-lambda/shared/platform/apigw"
	"github.com/ottuops/ottu-lambda/shared/platform/obs"
	"github.com/ottuops/ottu-lambda/shared/platform/problem"
	"github.com/ottuops/ottu-lambda/shared/platform/timefmt"
)

// StatusReader reads Tracking-Key records (operation.Service).
type StatusReader interface {
	Status(ctx context.Context, key string, refresh bool) (*operation.Record, error)
}

// OperationStatus handles GET /operations/{tracking_key}.
type OperationStatus struct {
	Service StatusReader
	Logger  *slog.Logger
}

// RecordView is the contract's JSON form of a Tracking-Key record.
type RecordView struct {
	TrackingKey string           `json:"tracking_key"`
	Operation   string           `json:"operation"`
	SessionID   *string          `json:"session_id"`
	OrderNo     *string          `json:"order_no"`
	Amount      *string          `json:"amount"`
	Status      operation.Status `json:"status"`
	Attempts    int              `json:"attempts"`
	CreatedAt   string           `json:"created_at"`
	UpdatedAt   string           `json:"updated_at"`
	Ottu        json.RawMessage  `json:"ottu"`
	// OttuInquiry is Ottu's read-only view of the operation, on refresh.
	OttuInquiry json.RawMessage `json:"ottu_inquiry,omitempty"`
	// OttuInquiryThrottled replaces OttuInquiry when Ottu's inquiry
	// throttle refused the refresh: the record is as stored.
	OttuInquiryThrottled *ThrottledView `json:"ottu_inquiry_throttled,omitempty"`
}

// ThrottledView says a refresh was refused by Ottu's inquiry throttle.
type ThrottledView struct {
	Detail string `json:"detail"`
	// RetryAfterSeconds is Ottu's Retry-After; absent when it named none.
	RetryAfterSeconds int `json:"retry_after_seconds,omitempty"`
}

// Invoke is the Lambda entry point: GET /operations/{tracking_key} through
// API Gateway, or a direct event {"tracking_key", "refresh"?} (a workflow
// following a queued refund) answered with the record itself.
func (h *OperationStatus) Invoke(ctx context.Context, payload json.RawMessage) (any, error) {
	return apigw.Dispatch(ctx, h, payload)
}

// Direct reads a record for a direct invocation; failures are the typed
// errors of the operation functions (not_found is an OperationRejected).
func (h *OperationStatus) Direct(ctx context.Context, payload json.RawMessage) (*RecordView, error) {
	var in struct {
		TrackingKey string `json:"tracking_key"`
		Refresh     bool   `json:"refresh"`
	}
	if err := apigw.DecodeDirect(payload, &in, `{"tracking_key": "…", "refresh": false}`); err != nil {
		return nil, Codes.Typed(err)
	}
	log := h.logger().With(obs.TrackingKey(in.TrackingKey))
	rec, err := h.Service.Status(ctx, in.TrackingKey, in.Refresh)
	if err != nil {
		log.LogAttrs(ctx, slog.LevelInfo, "status failed", slog.String("code", string(problem.CodeOf(err))), slog.String("error", err.Error()))
		return nil, Codes.Typed(err)
	}
	view := viewOf(rec)
	// A workflow gets ids, amounts and states only (Step Functions keeps
	// them 90 days): not Ottu's bodies, which can carry the customer.
	view.Ottu = json.RawMessage("null")
	view.OttuInquiry = projectChild(view.OttuInquiry)
	return &view, nil
}

// projectChild keeps, of Ottu's view of a child transaction, what a
// workflow reads: its operation, state, amount, currency, reference number
// and Tracking-Key; null stays null.
func projectChild(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 || string(raw) == "null" {
		return raw
	}
	var all map[string]json.RawMessage
	if json.Unmarshal(raw, &all) != nil {
		return json.RawMessage("null")
	}
	kept := map[string]json.RawMessage{}
	for _, k := range []string{"operation", "state", "amount", "currency_code", "reference_number", "tracking_key"} {
		if v, ok := all[k]; ok {
			kept[k] = v
		}
	}
	b, _ := json.Marshal(kept)
	return b
}

// HTTP handles GET /operations/{tracking_key}.
func (h *OperationStatus) HTTP(ctx context.Context, ev events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	requestID := apigw.RequestID(ctx, ev)
	headers := map[string]string{"X-Request-Id": requestID}
	key := ev.PathParameters["tracking_key"]
	log := h.logger().With(obs.RequestID(requestID), obs.TrackingKey(key))
	if m := ev.RequestContext.HTTP.Method; m != "" && m != http.MethodGet {
		headers["Allow"] = http.MethodGet
		return Codes.ProblemResponse(&problem.Error{Code: problem.CodeMethodNotAllowed, Detail: "Use GET for /operations/{tracking_key}."}, headers)
	}
	for name := range ev.QueryStringParameters {
		if name != "refresh" {
			// A typo (?refesh=true) silently ignored would answer the stored
			// record as if Ottu had been asked.
			return Codes.ProblemResponse(problem.Invalid(problem.CodeInvalidRequest, name,
				fmt.Sprintf("Unknown query parameter %q: GET /operations/{tracking_key} takes only refresh (true or false).", name)), headers)
		}
	}
	refresh := false
	switch v := ev.QueryStringParameters["refresh"]; v {
	case "", "false", "0":
	case "true", "1":
		refresh = true
	default:
		return Codes.ProblemResponse(problem.Invalid(problem.CodeInvalidRequest, "refresh", "refresh must be true or false."), headers)
	}
	if operation.ValidateTrackingKey(key) == nil {
		headers["Tracking-Key"] = key
	}
	rec, err := h.Service.Status(ctx, key, refresh)
	if err != nil && problem.CodeOf(err) == problem.CodeNotFound && isOperationName(key) {
		// GET /operations/refund: the operation's route, asked with the
		// wrong method, not a key nobody recorded.
		headers["Allow"] = http.MethodPost
		delete(headers, "Tracking-Key")
		return Codes.ProblemResponse(&problem.Error{Code: problem.CodeMethodNotAllowed, Detail: fmt.Sprintf(
			"/operations/%s takes POST (a %s); to read a record, GET /operations/{tracking_key} with its Tracking-Key. No record has the Tracking-Key %q.", key, key, key)}, headers)
	}
	if err != nil {
		resp := Codes.ProblemResponse(err, headers)
		log.LogAttrs(ctx, slog.LevelInfo, "status failed", slog.Int("status", resp.StatusCode), slog.String("error", err.Error()))
		return resp
	}
	body, _ := json.Marshal(viewOf(rec))
	return apigw.JSONResponse(http.StatusOK, body, headers)
}

// isOperationName reports whether key names an operation route
// (/operations/refund and its siblings).
func isOperationName(key string) bool {
	for _, op := range payment.Operations {
		if key == string(op) {
			return true
		}
	}
	return false
}

// viewOf is the contract's JSON form of a record.
func viewOf(rec *operation.Record) RecordView {
	view := RecordView{
		TrackingKey: rec.TrackingKey,
		Operation:   rec.Operation,
		SessionID:   apigw.Nullable(rec.SessionID),
		OrderNo:     apigw.Nullable(rec.OrderNo),
		Amount:      apigw.Nullable(rec.Amount),
		Status:      rec.Status,
		Attempts:    rec.Attempts,
		CreatedAt:   timefmt.Format(rec.CreatedAt),
		UpdatedAt:   timefmt.Format(rec.UpdatedAt),
		Ottu:        rec.OttuBody,
		OttuInquiry: rec.Inquiry,
	}
	if !json.Valid(view.Ottu) {
		view.Ottu = json.RawMessage("null")
	}
	if len(view.OttuInquiry) > 0 && !json.Valid(view.OttuInquiry) {
		view.OttuInquiry = json.RawMessage("null")
	}
	if t := rec.InquiryThrottled; t != nil {
		view.OttuInquiryThrottled = &ThrottledView{Detail: t.Detail, RetryAfterSeconds: problem.RetryAfterSeconds(t.RetryAfter)}
	}
	return view
}

func (h *OperationStatus) logger() *slog.Logger {
	if h.Logger != nil {
		return h.Logger
	}
	return slog.Default()
}
