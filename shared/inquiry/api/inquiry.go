// Package api adapts the inquiry function's events (POST /inquiry and
// direct invocations) and inquiry-result's (GET
// /transactions/{id}/inquiry) to the inquiry domain, and its answers and
// errors back to responses and typed invocation errors.
package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/ottuops/ottu-lambda/shared/amount"
	"github.com/ottuops/ottu-lambda/shared/inquiry"
	"github.com/ottuops/ottu-lambda/shared/platform/apigw"
	"github.com/ottuops/ottu-lambda/shared/platform/obs"
	"github.com/ottuops/ottu-lambda/shared/platform/problem"
	"github.com/ottuops/ottu-lambda/shared/platform/strictjson"
	"github.com/ottuops/ottu-lambda/shared/platform/tasktoken"
	"github.com/ottuops/ottu-lambda/shared/platform/timefmt"
	"github.com/ottuops/ottu-lambda/shared/txn"
)

// Inquirer answers inquiries (inquiry.Service).
type Inquirer interface {
	Inquire(ctx context.Context, req inquiry.Request) (*inquiry.Result, error)
}

// Inquiry handles the inquiry function's events: POST /inquiry, and a
// direct invocation (Step Functions, possibly a .waitForTaskToken task).
type Inquiry struct {
	Service      Inquirer
	MaxBodyBytes int
	Logger       *slog.Logger
}

// Members an inquiry request may have: the merchant's over HTTP (fresh is
// a query parameter there), and a workflow's, which may also carry fresh
// and the task token to resume on the disclosure.
var (
	inquiryHTTPFields   = []string{"session_id", "order_no", "disclose_to_merchant", "disclosure_url"}
	inquiryDirectFields = []string{"session_id", "order_no", "disclose_to_merchant", "disclosure_url", "fresh", "task_token"}
)

// The answer headers of POST /inquiry.
const (
	// headerInquirySource says whether Ottu answered now (inquiry: the body
	// is Ottu's) or the answer was stored (stored: the body is the stored
	// view, with fresh_after).
	headerInquirySource = "Inquiry-Source"
	// headerResultStored is "false" when Ottu answered but the answer could
	// not be stored, so GET /transactions/{id}/inquiry will not show it.
	headerResultStored = "Result-Stored"
)

// InquiryView is the JSON form of a stored answer: the current view of GET
// /transactions/{id}/inquiry, each entry of its history, a stored answer
// to POST /inquiry (source "stored"), and a direct invocation's answer.
type InquiryView struct {
	Source txn.Source `json:"source"`
	// StoredSource is where a stored answer came from (source "stored").
	StoredSource txn.Source `json:"stored_source,omitempty"`
	SessionID    *string    `json:"session_id"`
	OrderNo      *string    `json:"order_no"`
	// ReferenceNumber is Ottu's reference_number (signed in a callback).
	ReferenceNumber *string `json:"reference_number,omitempty"`
	// Conflict is set on a callback whose signed identity disagrees with
	// the one its session_id is bound to: it changed nothing.
	Conflict string  `json:"conflict,omitempty"`
	State    *string `json:"state"`
	Result   *string `json:"result"`
	// ReceivedAt is when this stack received the answer (RFC 3339).
	ReceivedAt string `json:"received_at"`
	// OttuTimestamp is Ottu's timestamp_utc of the answer, in RFC 3339.
	OttuTimestamp *string `json:"ottu_timestamp"`
	// FreshAfter (stored answers only) is when Ottu's throttle allows a
	// fresh inquiry; null when none is known or none will be allowed.
	FreshAfter json.RawMessage `json:"fresh_after,omitempty"`
	// Detail (stored answers only) says why Ottu was not asked.
	Detail string `json:"detail,omitempty"`
	// ResultStored is false (direct invocation only) when Ottu answered
	// but the answer could not be stored.
	ResultStored *bool `json:"result_stored,omitempty"`
	// Waiting is true (direct invocation only) when the task token waits
	// for Ottu's disclosure.
	Waiting bool `json:"waiting,omitempty"`
	// Amount and CurrencyCode (direct invocation only) are Ottu's, read
	// from its body, which a direct invocation does not return.
	Amount       *string `json:"amount,omitempty"`
	CurrencyCode *string `json:"currency_code,omitempty"`
	// Operation (operation notifications only) is what the notification
	// says: operation, amount, source, initiator, the child's reference.
	Operation *txn.Operation `json:"operation,omitempty"`
	// Ottu is Ottu's body without its signature; left out of a direct
	// invocation's answer (it holds the customer's details, and Step
	// Functions keeps task outputs in its history).
	Ottu    json.RawMessage `json:"ottu,omitempty"`
	History *[]InquiryView  `json:"history,omitempty"`
}

// viewOfEntry is the JSON form of a stored entry.
func viewOfEntry(e txn.Entry) InquiryView {
	v := InquiryView{
		Source:          e.Source,
		SessionID:       apigw.Nullable(e.SessionID),
		OrderNo:         apigw.Nullable(e.OrderNo),
		State:           apigw.Nullable(e.State),
		Result:          apigw.Nullable(e.Result),
		ReceivedAt:      timefmt.Format(e.ReceivedAt),
		Ottu:            txn.WithoutSignature(e.Body),
		ReferenceNumber: apigw.Nullable(e.ReferenceNumber),
		Conflict:        e.Conflict,
	}
	if !e.OttuTimestamp.IsZero() {
		v.OttuTimestamp = apigw.Nullable(timefmt.Format(e.OttuTimestamp))
	}
	if !json.Valid(v.Ottu) {
		v.Ottu = json.RawMessage("null")
	}
	if e.Source == txn.SourceOperation {
		if op, ok := txn.OperationOf(e.Body); ok {
			v.Operation = &op
		}
		// A notification is filed under its payment's reference_number,
		// not under a session_id or order_no.
		v.SessionID, v.OrderNo = nil, nil
	}
	return v
}

// viewOfResult is an inquiry's answer as a view.
func viewOfResult(res *inquiry.Result) InquiryView {
	v := viewOfEntry(res.Entry)
	if res.Source == txn.SourceStored {
		v.StoredSource, v.Source = v.Source, txn.SourceStored
		v.Detail = res.Reason
		v.FreshAfter = json.RawMessage("null")
		if !res.FreshAfter.IsZero() {
			v.FreshAfter, _ = json.Marshal(timefmt.Format(res.FreshAfter))
		}
	}
	return v
}

// Invoke is the Lambda entry point: an API Gateway event or a direct
// invocation, each answered in its own form.
func (h *Inquiry) Invoke(ctx context.Context, payload json.RawMessage) (any, error) {
	return apigw.Dispatch(ctx, h, payload)
}

// HTTP handles POST /inquiry[?fresh=true]. The answer is Ottu's body when
// Ottu answered now, the stored view (source "stored") when its throttle
// would have refused.
func (h *Inquiry) HTTP(ctx context.Context, ev events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	requestID := apigw.RequestID(ctx, ev)
	headers := map[string]string{"X-Request-Id": requestID}
	log := apigw.LoggerOrDefault(h.Logger).With(obs.RequestID(requestID), obs.Operation("inquiry"))

	if m := ev.RequestContext.HTTP.Method; m != "" && m != http.MethodPost {
		headers["Allow"] = http.MethodPost
		return Codes.FailHTTP(ctx, log, "inquiry failed", &problem.Error{Code: problem.CodeMethodNotAllowed, Detail: "Use POST for /inquiry."}, headers)
	}
	req, err := h.readHTTP(ev)
	if err != nil {
		return Codes.FailHTTP(ctx, log, "inquiry failed", err, headers)
	}
	res, err := h.Service.Inquire(obs.With(ctx, log), req)
	if err != nil {
		return Codes.FailHTTP(ctx, log, "inquiry failed", err, headers)
	}
	logResult(ctx, log, res)
	headers[headerInquirySource] = string(res.Source)
	if res.Source == txn.SourceInquiry {
		if res.Unstored {
			headers[headerResultStored] = "false"
		}
		return apigw.JSONResponse(http.StatusOK, res.Entry.Body, headers)
	}
	body, _ := json.Marshal(viewOfResult(res))
	return apigw.JSONResponse(http.StatusOK, body, headers)
}

// readHTTP reads the request of POST /inquiry.
func (h *Inquiry) readHTTP(ev events.APIGatewayV2HTTPRequest) (inquiry.Request, error) {
	if ct, _ := apigw.LookupHeader(ev.Headers, "content-type"); ct != "" {
		if err := apigw.CheckContentType(ct); err != nil {
			return inquiry.Request{}, err
		}
	}
	limit := h.MaxBodyBytes
	if limit <= 0 {
		limit = apigw.DefaultMaxBodyBytes
	}
	body, err := apigw.DecodeBody(ev.Body, ev.IsBase64Encoded, limit)
	if err != nil {
		return inquiry.Request{}, err
	}
	req, err := parseInquiryBody(body, inquiryHTTPFields)
	if err != nil {
		return req, err
	}
	if req.Fresh, err = apigw.BoolQuery(ev.QueryStringParameters, "fresh"); err != nil {
		return req, err
	}
	req.APIBaseURL = apigw.APIBaseURL(ev, "/inquiry")
	return req, nil
}

// Direct handles a direct invocation: {"session_id"|"order_no",
// "disclose_to_merchant"?, "disclosure_url"?, "fresh"?, "task_token"?}.
// Failures are problem.Typed errors a workflow's Retry and Catch match.
func (h *Inquiry) Direct(ctx context.Context, payload json.RawMessage) (*InquiryView, error) {
	log := apigw.LoggerOrDefault(h.Logger).With(obs.Operation("inquiry"))
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		log = log.With(obs.RequestID(lc.AwsRequestID))
	}
	req, err := parseInquiryBody(payload, inquiryDirectFields)
	if err != nil {
		log.LogAttrs(ctx, slog.LevelInfo, "invalid direct invocation", slog.String("error", err.Error()))
		return nil, Codes.Typed(err)
	}
	res, err := h.Service.Inquire(obs.With(ctx, log), req)
	if err != nil {
		Codes.LogDirectFailure(ctx, log, "inquiry failed", err)
		return nil, Codes.Typed(err)
	}
	logResult(ctx, log, res)
	v := viewOfResult(res)
	var money struct {
		Amount       json.RawMessage `json:"amount"`
		CurrencyCode string          `json:"currency_code"`
	}
	if json.Unmarshal(v.Ottu, &money) == nil {
		if d, ok, err := amount.ParseJSON(money.Amount); ok && err == nil {
			v.Amount = apigw.Nullable(amount.Format(d))
		}
		v.CurrencyCode = apigw.Nullable(money.CurrencyCode)
	}
	v.Ottu = nil // Step Functions gets ids, amounts and states only.
	v.Waiting = res.Waiting
	if res.Unstored {
		v.ResultStored = new(bool)
	}
	return &v, nil
}

// parseInquiryBody reads an inquiry request strictly: a JSON object of the
// allowed members, each member once, strings and booleans where due.
func parseInquiryBody(body []byte, allowed []string) (inquiry.Request, error) {
	var req inquiry.Request
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return req, &problem.Error{Code: problem.CodeInvalidRequest,
			Detail: `The request body is empty; send a JSON object such as {"session_id": "…", "disclose_to_merchant": true}.`}
	}
	var fields map[string]json.RawMessage
	if body[0] != '{' || json.Unmarshal(body, &fields) != nil {
		return req, &problem.Error{Code: problem.CodeInvalidRequest,
			Detail: `The request body is not a JSON object; send one such as {"session_id": "…", "disclose_to_merchant": true}.`}
	}
	if err := strictjson.CheckMembers(body); err != nil {
		return req, err
	}
	if err := strictjson.UnknownFields(fields, allowed); err != nil {
		return req, err
	}
	var err error
	if req.SessionID, err = strictjson.StringField(fields, "session_id"); err != nil {
		return req, err
	}
	if req.OrderNo, err = strictjson.StringField(fields, "order_no"); err != nil {
		return req, err
	}
	if req.DisclosureURL, err = strictjson.StringField(fields, "disclosure_url"); err != nil {
		return req, err
	}
	if req.TaskToken, err = strictjson.StringField(fields, "task_token"); err != nil {
		return req, err
	}
	if tasktoken.TooLong(req.TaskToken) {
		return req, problem.Invalid(problem.CodeInvalidRequest, "task_token",
			fmt.Sprintf("task_token is longer than %d characters; pass $$.Task.Token unchanged.", tasktoken.MaxLength))
	}
	if req.Disclose, err = strictjson.BoolField(fields, "disclose_to_merchant"); err != nil {
		return req, err
	}
	if req.Fresh, err = strictjson.BoolField(fields, "fresh"); err != nil {
		return req, err
	}
	if req.SessionID == "" && req.OrderNo == "" {
		return req, problem.Invalid(problem.CodeInvalidRequest, "session_id",
			`Name the transaction: send session_id or order_no, such as {"session_id": "…"}.`)
	}
	return req, nil
}

// logResult writes the line of a successful inquiry.
func logResult(ctx context.Context, log *slog.Logger, res *inquiry.Result) {
	log.LogAttrs(ctx, slog.LevelInfo, "inquiry done",
		slog.String("source", string(res.Source)),
		slog.String("state", res.Entry.State),
		slog.String("result", res.Entry.Result),
		slog.Bool("stored", !res.Unstored),
		slog.Bool("waiting", res.Waiting))
}
