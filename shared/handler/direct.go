package handler

import (
	"context"
	"encoding/json"
	"log/slog"

	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/ottuops/ottu-lambda/shared/obs"
	"github.com/ottuops/ottu-lambda/shared/operation"
)

// DirectResult is what a direct invocation returns on success.
type DirectResult struct {
	TrackingKey string          `json:"tracking_key"`
	Operation   string          `json:"operation"`
	Result      string          `json:"result"`
	Replayed    bool            `json:"replayed"`
	Ottu        json.RawMessage `json:"ottu"`
}

// invokeError is the body of every typed invocation error. The Lambda
// runtime names the error by its Go type (InvalidRequest, …), which is what
// Step Functions' Retry and Catch match; the message is this JSON, so a
// Catch can read the code and Ottu's body with States.StringToJson.
type invokeError struct {
	Code        operation.Code  `json:"code"`
	Detail      string          `json:"detail"`
	TrackingKey string          `json:"tracking_key,omitempty"`
	Ottu        json.RawMessage `json:"ottu,omitempty"`
	// RetryAfterSeconds is how long to wait before retrying with the same
	// key, for a workflow's Wait state (SecondsPath); absent: no wait named.
	RetryAfterSeconds int `json:"retry_after_seconds,omitempty"`
}

func (e invokeError) Error() string {
	b, _ := json.Marshal(e)
	return string(b)
}

// The error types of the contract's direct invocation table. Their names
// are the errorType Step Functions sees; do not rename them.
type (
	// InvalidRequest: the event is malformed. Do not retry.
	InvalidRequest struct{ invokeError }
	// OperationRejected: Ottu said no (or knows no such transaction). Do not retry.
	OperationRejected struct{ invokeError }
	// TrackingKeyReused: the key was used for a different request. Do not retry.
	TrackingKeyReused struct{ invokeError }
	// OperationInProgress: the same key is in flight, or held after an
	// unknown outcome. Retry after retry_after_seconds.
	OperationInProgress struct{ invokeError }
	// OttuUnavailable: Ottu unreachable, 5xx, or refusing our credentials;
	// also the Tracking-Key store being unreachable. Retry.
	OttuUnavailable struct{ invokeError }
	// OutcomeUnknown: time-out after sending. Retry with the same key.
	OutcomeUnknown struct{ invokeError }
)

// typedError maps a domain error to its invocation error type.
func typedError(err error) error {
	p, e := problemFrom(err)
	body := invokeError{Code: p.Code, Detail: p.Detail, TrackingKey: e.TrackingKey, Ottu: p.Ottu,
		RetryAfterSeconds: retryAfterSeconds(e.RetryAfter)}
	switch e.Code {
	case operation.CodeOperationRejected, operation.CodeNotFound:
		return &OperationRejected{body}
	case operation.CodeTrackingKeyReused:
		return &TrackingKeyReused{body}
	case operation.CodeInProgress, operation.CodeOutcomePending:
		return &OperationInProgress{body}
	case operation.CodeOttuUnavailable, operation.CodeOttuAuth, operation.CodeStoreUnavailable:
		return &OttuUnavailable{body}
	case operation.CodeOutcomeUnknown:
		return &OutcomeUnknown{body}
	case internalCode:
		return &OttuUnavailable{body}
	}
	return &InvalidRequest{body}
}

// Direct handles a direct invocation (Step Functions, other AWS code):
// {"session_id"?, "order_no"?, "amount"?, "extra"?, "tracking_key"}.
func (h *Operation) Direct(ctx context.Context, payload json.RawMessage) (*DirectResult, error) {
	log := h.logger().With(obs.Operation(string(h.Op)))
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		log = log.With(obs.RequestID(lc.AwsRequestID))
	}
	req, key, err := parseOperationBody(h.Op, payload, directFields)
	if err == nil && key == "" {
		err = operation.Invalid(operation.CodeInvalidTrackingKey, "tracking_key",
			"tracking_key is required in a direct invocation, so that a retry by Step Functions cannot repeat the operation; derive it from the execution, e.g. States.Format('{}-refund', $$.Execution.Name).")
	}
	if err != nil {
		log.LogAttrs(ctx, slog.LevelInfo, "invalid direct invocation", slog.String("error", err.Error()))
		return nil, typedError(err)
	}
	req.TrackingKey = key
	log = log.With(obs.TrackingKey(key))
	res, err := h.Service.Execute(obs.With(ctx, log), req)
	if err != nil {
		level := slog.LevelInfo
		if StatusOf(operation.CodeOf(err)) >= 500 {
			level = slog.LevelError
		}
		log.LogAttrs(ctx, level, "operation failed", slog.String("code", string(operation.CodeOf(err))), slog.String("error", err.Error()))
		return nil, typedError(err)
	}
	log.LogAttrs(ctx, slog.LevelInfo, "operation done", slog.Bool("replayed", res.Replayed), slog.String("result", res.OttuResult))
	return &DirectResult{
		TrackingKey: res.TrackingKey,
		Operation:   string(res.Operation),
		Result:      res.OttuResult,
		Replayed:    res.Replayed,
		Ottu:        res.Body,
	}, nil
}
