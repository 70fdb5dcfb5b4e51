package api

import (
	"context"
	"encoding/json"
	"log/slog"

	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/ottuops/ottu-lambda/shared/amount"
	"github.com/ottuops/ottu-lambda/shared/platform/apigw"
	"github.com/ottuops/ottu-lambda/shared/platform/obs"
	"github.com/ottuops/ottu-lambda/shared/platform/problem"
)

// DirectResult is what a direct invocation returns on success: ids,
// amounts and states only, always present (null when Ottu's answer has
// none), so that no state depends on a path that may be missing: Ottu's
// reference number, the amount Ottu operated on, the currency and the
// child transaction's state (refunded, refund_queued, …). Ottu's body is
// not returned: Step Functions keeps task outputs in its history for 90
// days, and the body can carry the customer's details. The Tracking-Key
// record keeps it (GET /operations/{tracking_key}).
type DirectResult struct {
	TrackingKey     string  `json:"tracking_key"`
	Operation       string  `json:"operation"`
	Result          string  `json:"result"`
	Replayed        bool    `json:"replayed"`
	ReferenceNumber *string `json:"reference_number"`
	Amount          *string `json:"amount"`
	CurrencyCode    *string `json:"currency_code"`
	State           *string `json:"state"`
}

// summarize fills the named members from Ottu's answer; an amount that is
// not a decimal amount stays null.
func (r *DirectResult) summarize(ottuBody json.RawMessage) {
	var body struct {
		ReferenceNumber string          `json:"reference_number"`
		Amount          json.RawMessage `json:"amount"`
		Txn             struct {
			CurrencyCode string `json:"currency_code"`
			State        string `json:"state"`
		} `json:"txn"`
	}
	if json.Unmarshal(ottuBody, &body) != nil {
		return
	}
	r.ReferenceNumber, r.CurrencyCode, r.State = apigw.Nullable(body.ReferenceNumber), apigw.Nullable(body.Txn.CurrencyCode), apigw.Nullable(body.Txn.State)
	if d, ok, err := amount.ParseJSON(body.Amount); ok && err == nil {
		r.Amount = apigw.Nullable(amount.Format(d))
	}
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
		err = problem.Invalid(problem.CodeInvalidTrackingKey, "tracking_key",
			"tracking_key is required in a direct invocation, so that a retry by Step Functions cannot repeat the operation; derive it from the execution, e.g. States.Format('{}-refund', $$.Execution.Name).")
	}
	if err != nil {
		log.LogAttrs(ctx, slog.LevelInfo, "invalid direct invocation", slog.String("error", err.Error()))
		return nil, Codes.Typed(err)
	}
	req.TrackingKey = key
	log = log.With(obs.TrackingKey(key))
	res, err := h.Service.Execute(obs.With(ctx, log), req)
	if err != nil {
		level := slog.LevelInfo
		if Codes.StatusOf(problem.CodeOf(err)) >= 500 {
			level = slog.LevelError
		}
		log.LogAttrs(ctx, level, "operation failed", slog.String("code", string(problem.CodeOf(err))), slog.String("error", err.Error()))
		return nil, Codes.Typed(err)
	}
	log.LogAttrs(ctx, slog.LevelInfo, "operation done", slog.Bool("replayed", res.Replayed), slog.String("result", res.OttuResult))
	out := &DirectResult{
		TrackingKey: res.TrackingKey,
		Operation:   string(res.Operation),
		Result:      res.OttuResult,
		Replayed:    res.Replayed,
	}
	out.summarize(res.Body)
	return out, nil
}
