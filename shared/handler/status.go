package handler

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ottuops/ottu-lambda/shared/obs"
	"github.com/ottuops/ottu-lambda/shared/operation"
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

// recordView is the contract's JSON form of a record.
type recordView struct {
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
}

// Invoke is the Lambda entry point.
func (h *OperationStatus) Invoke(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	requestID := requestIDOf(ctx, ev)
	headers := map[string]string{"X-Request-Id": requestID}
	key := ev.PathParameters["tracking_key"]
	log := h.logger().With(obs.RequestID(requestID), obs.TrackingKey(key))
	if m := ev.RequestContext.HTTP.Method; m != "" && m != http.MethodGet {
		headers["Allow"] = http.MethodGet
		return problemResponse(&operation.Error{Code: operation.CodeMethodNotAllowed, Detail: "Use GET for /operations/{tracking_key}."}, headers), nil
	}
	refresh := false
	switch v := ev.QueryStringParameters["refresh"]; v {
	case "", "false", "0":
	case "true", "1":
		refresh = true
	default:
		return problemResponse(operation.Invalid(operation.CodeInvalidRequest, "refresh", "refresh must be true or false."), headers), nil
	}
	headers["Tracking-Key"] = key
	rec, err := h.Service.Status(ctx, key, refresh)
	if err != nil {
		resp := problemResponse(err, headers)
		log.LogAttrs(ctx, slog.LevelInfo, "status failed", slog.Int("status", resp.StatusCode), slog.String("error", err.Error()))
		return resp, nil
	}
	view := recordView{
		TrackingKey: rec.TrackingKey,
		Operation:   rec.Operation,
		SessionID:   nullable(rec.SessionID),
		OrderNo:     nullable(rec.OrderNo),
		Amount:      nullable(rec.Amount),
		Status:      rec.Status,
		Attempts:    rec.Attempts,
		CreatedAt:   rec.CreatedAt.UTC().Format(time.RFC3339Nano),
		UpdatedAt:   rec.UpdatedAt.UTC().Format(time.RFC3339Nano),
		Ottu:        rec.OttuBody,
	}
	if !json.Valid(view.Ottu) {
		view.Ottu = json.RawMessage("null")
	}
	body, _ := json.Marshal(view)
	return jsonResponse(http.StatusOK, body, headers), nil
}

// nullable writes "" as JSON null: the contract's record always has the field.
func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func (h *OperationStatus) logger() *slog.Logger {
	if h.Logger != nil {
		return h.Logger
	}
	return slog.Default()
}
