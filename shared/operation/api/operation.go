// Package api adapts the operation functions' events (POST
// /operations/{op} and direct invocations) and operation-status's (GET
// /operations/{tracking_key}) to the operation service, and its results and
// errors back to responses and typed invocation errors.
package api

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/uuid"

	"github.com/ottuops/ottu-lambda/shared/operation"
	"github.com/ottuops/ottu-lambda/shared/payment"
	"github.com/ottuops/ottu-lambda/shared/platform/apigw"
	"github.com/ottuops/ottu-lambda/shared/platform/obs"
	"github.com/ottuops/ottu-lambda/shared/platform/problem"
)

// Executor runs one operation (operation.Service).
type Executor interface {
	Execute(ctx context.Context, req operation.Request) (*operation.Result, error)
}

// Operation handles one operation function's events, HTTP and direct.
type Operation struct {
	Op           payment.Operation
	Service      Executor
	MaxBodyBytes int
	// NewTrackingKey makes a key when the merchant sent none.
	NewTrackingKey func() string
	Logger         *slog.Logger
}

// Invoke is the Lambda entry point: it tells an API Gateway event from a
// direct invocation and answers each in its own form.
func (h *Operation) Invoke(ctx context.Context, payload json.RawMessage) (any, error) {
	return apigw.Dispatch(ctx, h, payload)
}

// HTTP handles POST /operations/{op}.
func (h *Operation) HTTP(ctx context.Context, ev events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	requestID := apigw.RequestID(ctx, ev)
	headers := map[string]string{"X-Request-Id": requestID}
	log := h.logger().With(obs.RequestID(requestID), obs.Operation(string(h.Op)))

	if ev.RequestContext.HTTP.Method != "" && ev.RequestContext.HTTP.Method != http.MethodPost {
		headers["Allow"] = http.MethodPost
		return h.fail(ctx, log, &problem.Error{Code: problem.CodeMethodNotAllowed,
			Detail: fmt.Sprintf("Use POST for /operations/%s.", h.Op)}, headers)
	}
	key, err := trackingKeyFromHeaders(ev.Headers, h.Op, h.newKey)
	if err != nil {
		return h.fail(ctx, log, err, headers)
	}
	headers["Tracking-Key"] = key
	log = log.With(obs.TrackingKey(key))

	if ct, _ := apigw.LookupHeader(ev.Headers, "content-type"); ct != "" {
		if err := apigw.CheckContentType(ct); err != nil {
			return h.fail(ctx, log, err, headers)
		}
	}
	body, err := apigw.DecodeBody(ev.Body, ev.IsBase64Encoded, h.maxBody())
	if err != nil {
		return h.fail(ctx, log, err, headers)
	}
	req, _, err := parseOperationBody(h.Op, body, httpFields)
	if err != nil {
		return h.fail(ctx, log, err, headers)
	}
	req.TrackingKey = key
	ctx = obs.With(ctx, log)
	res, err := h.Service.Execute(ctx, req)
	if err != nil {
		return h.fail(ctx, log, err, headers)
	}
	if res.Replayed {
		headers["Idempotent-Replayed"] = "true"
	}
	if res.Unrecorded {
		// Ottu did it, but GET /operations/{key} may not show it yet.
		headers["Outcome-Recorded"] = "false"
	}
	log.LogAttrs(ctx, slog.LevelInfo, "operation done", slog.Bool("replayed", res.Replayed), slog.String("result", res.OttuResult))
	status := res.OttuStatus
	if status < 200 || status > 299 {
		status = http.StatusOK
	}
	return apigw.JSONResponse(status, res.Body, headers)
}

func (h *Operation) fail(ctx context.Context, log *slog.Logger, err error, headers map[string]string) events.APIGatewayV2HTTPResponse {
	resp := Codes.ProblemResponse(err, headers)
	level := slog.LevelInfo
	if resp.StatusCode >= 500 {
		level = slog.LevelError
	}
	log.LogAttrs(ctx, level, "operation failed", slog.Int("status", resp.StatusCode), slog.String("code", string(problem.CodeOf(err))), slog.String("error", err.Error()))
	return resp
}

// trackingKeyFromHeaders reads Tracking-Key or its alias Idempotency-Key;
// API Gateway lower-cases header names. Operations that move money need the
// caller's key: one made here would be new on every retry. Cancel, expire
// and delete move no money and Ottu refuses them in the state they leave,
// so a key is made for them when none is sent.
func trackingKeyFromHeaders(headers map[string]string, op payment.Operation, newKey func() string) (string, error) {
	tk, hasTK := apigw.LookupHeader(headers, "tracking-key")
	ik, hasIK := apigw.LookupHeader(headers, "idempotency-key")
	switch {
	case hasTK && hasIK && tk != ik:
		return "", problem.Invalid(problem.CodeInvalidTrackingKey, "Tracking-Key",
			"Tracking-Key and Idempotency-Key are both present and differ; send one of them, or the same value in both.")
	case !hasTK && !hasIK && op.External():
		return "", problem.Invalid(problem.CodeTrackingKeyRequired, "Tracking-Key",
			fmt.Sprintf("A Tracking-Key header is required for %s, which moves money: derive it from your own id for this %s (for example your refund id), and send the same key on every retry so the %s happens at most once.", op, op, op))
	case !hasTK && !hasIK:
		return newKey(), nil
	case !hasTK:
		tk = ik
	}
	if err := operation.ValidateTrackingKey(tk); err != nil {
		return "", err
	}
	return tk, nil
}

func (h *Operation) newKey() string {
	if h.NewTrackingKey != nil {
		return h.NewTrackingKey()
	}
	return uuid.NewString()
}

func (h *Operation) maxBody() int {
	if h.MaxBodyBytes > 0 {
		return h.MaxBodyBytes
	}
	return apigw.DefaultMaxBodyBytes
}

func (h *Operation) logger() *slog.Logger {
	if h.Logger != nil {
		return h.Logger
	}
	return slog.Default()
}
