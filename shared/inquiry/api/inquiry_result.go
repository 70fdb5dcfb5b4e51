package api

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/ottuops/ottu-lambda/shared/inquiry"
	"github.com/ottuops/ottu-lambda/shared/platform/apigw"
	"github.com/ottuops/ottu-lambda/shared/platform/obs"
	"github.com/ottuops/ottu-lambda/shared/platform/problem"
	"github.com/ottuops/ottu-lambda/shared/txn"
)

// ResultReader reads a transaction's stored results (inquiry.Results).
type ResultReader interface {
	Read(ctx context.Context, id string, withHistory bool) (*inquiry.Stored, error)
}

// InquiryResult handles GET /transactions/{id}/inquiry and a direct
// invocation {"id", "history"?}: what is stored of a transaction, never
// asking Ottu.
type InquiryResult struct {
	Service ResultReader
	Logger  *slog.Logger
}

// Invoke is the Lambda entry point.
func (h *InquiryResult) Invoke(ctx context.Context, payload json.RawMessage) (any, error) {
	return apigw.Dispatch(ctx, h, payload)
}

// HTTP handles GET /transactions/{id}/inquiry[?history=true]; id is a
// session_id or an order_no.
func (h *InquiryResult) HTTP(ctx context.Context, ev events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	requestID := apigw.RequestID(ctx, ev)
	headers := map[string]string{"X-Request-Id": requestID}
	id := ev.PathParameters["id"]
	log := apigw.LoggerOrDefault(h.Logger).With(obs.RequestID(requestID))
	if m := ev.RequestContext.HTTP.Method; m != "" && m != http.MethodGet {
		headers["Allow"] = http.MethodGet
		return Codes.FailHTTP(ctx, log, "read failed", &problem.Error{Code: problem.CodeMethodNotAllowed, Detail: "Use GET for /transactions/{id}/inquiry."}, headers)
	}
	withHistory, err := apigw.BoolQuery(ev.QueryStringParameters, "history")
	if err != nil {
		return Codes.FailHTTP(ctx, log, "read failed", err, headers)
	}
	st, err := h.Service.Read(ctx, id, withHistory)
	if err != nil {
		return Codes.FailHTTP(ctx, log, "read failed", err, headers)
	}
	v := viewOfStored(st, withHistory)
	log.LogAttrs(ctx, slog.LevelInfo, "read done", slog.String("source", string(v.Source)), slog.Bool("history", withHistory))
	body, _ := json.Marshal(v)
	return apigw.JSONResponse(http.StatusOK, body, headers)
}

// Direct reads for a direct invocation {"id", "history"?}; failures are
// typed errors (not_found is an OperationRejected).
func (h *InquiryResult) Direct(ctx context.Context, payload json.RawMessage) (*InquiryView, error) {
	log := apigw.LoggerOrDefault(h.Logger)
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		log = log.With(obs.RequestID(lc.AwsRequestID))
	}
	var in struct {
		ID      string `json:"id"`
		History bool   `json:"history"`
	}
	if err := apigw.DecodeDirect(payload, &in, `{"id": "<session_id or order_no>", "history": false}`); err != nil {
		return nil, Codes.Typed(err)
	}
	st, err := h.Service.Read(ctx, in.ID, in.History)
	if err != nil {
		Codes.LogDirectFailure(ctx, log, "read failed", err)
		return nil, Codes.Typed(err)
	}
	v := viewOfStored(st, in.History)
	return &v, nil
}

// viewOfStored is the current view, with the history when asked for.
func viewOfStored(st *inquiry.Stored, withHistory bool) InquiryView {
	v := viewOfEntry(st.Current)
	if withHistory {
		h := make([]InquiryView, 0, len(st.History))
		origins := txn.Origins(st.History)
		for _, e := range st.History {
			ev := viewOfEntry(e)
			if ev.Operation != nil {
				ev.Operation.Explain(origins)
			}
			h = append(h, ev)
		}
		v.History = &h
	}
	return v
}
