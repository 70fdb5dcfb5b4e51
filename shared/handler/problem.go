// Package handler translates Lambda events — API Gateway HTTP API (payload
// 2.0) requests and direct invocations — into domain calls, and domain
// results and errors back into responses and typed invocation errors.
package handler

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ottuops/ottu-lambda/shared/operation"
)

// Problem is an RFC 9457 problem document.
type Problem struct {
	Type   string                 `json:"type"`
	Title  string                 `json:"title"`
	Status int                    `json:"status"`
	Detail string                 `json:"detail"`
	Code   operation.Code         `json:"code"`
	Errors []operation.FieldError `json:"errors,omitempty"`
	Ottu   json.RawMessage        `json:"ottu,omitempty"`
}

type codeInfo struct {
	status int
	title  string
}

var codes = map[operation.Code]codeInfo{
	operation.CodeInvalidRequest:       {http.StatusBadRequest, "The request is malformed"},
	operation.CodeUnknownField:         {http.StatusBadRequest, "The request has an unknown field"},
	operation.CodeAmountNotApplicable:  {http.StatusBadRequest, "This operation takes no amount"},
	operation.CodeInvalidAmount:        {http.StatusBadRequest, "The amount is invalid"},
	operation.CodeInvalidTrackingKey:   {http.StatusBadRequest, "The Tracking-Key is invalid"},
	operation.CodeTrackingKeyRequired:  {http.StatusBadRequest, "A Tracking-Key is required"},
	operation.CodeUnsupportedMediaType: {http.StatusUnsupportedMediaType, "The request body must be JSON"},
	operation.CodeBodyTooLarge:         {http.StatusRequestEntityTooLarge, "The request body is too large"},
	operation.CodeMethodNotAllowed:     {http.StatusMethodNotAllowed, "Method not allowed"},
	operation.CodeNotFound:             {http.StatusNotFound, "Not found"},
	operation.CodeInProgress:           {http.StatusConflict, "The same Tracking-Key is being processed"},
	operation.CodeOutcomePending:       {http.StatusConflict, "An earlier attempt's outcome is not known yet"},
	operation.CodeOperationRejected:    {http.StatusUnprocessableEntity, "Ottu rejected the operation"},
	operation.CodeTrackingKeyReused:    {http.StatusUnprocessableEntity, "The Tracking-Key was used for a different request"},
	operation.CodeOttuUnavailable:      {http.StatusBadGateway, "Ottu is unavailable"},
	operation.CodeOttuAuth:             {http.StatusBadGateway, "Ottu refused the credentials"},
	operation.CodeOutcomeUnknown:       {http.StatusGatewayTimeout, "The outcome is unknown"},
	operation.CodeStoreUnavailable:     {http.StatusServiceUnavailable, "The Tracking-Key store is unavailable"},
}

const internalCode operation.Code = "internal_error"

// StatusOf is the HTTP status of a problem code.
func StatusOf(code operation.Code) int {
	if c, ok := codes[code]; ok {
		return c.status
	}
	return http.StatusInternalServerError
}

// problemFrom turns any error into a problem; errors that are not the
// domain's become a generic 500 whose detail reveals nothing internal.
func problemFrom(err error) (Problem, *operation.Error) {
	var e *operation.Error
	if !errors.As(err, &e) {
		e = &operation.Error{Code: internalCode, Detail: "An internal error occurred; retry with the same Tracking-Key. If it persists, contact the operator with the request id.", Err: err}
	}
	info, ok := codes[e.Code]
	if !ok {
		info = codeInfo{http.StatusInternalServerError, "Internal error"}
	}
	return Problem{
		Type:   "urn:ottu-lambda:problem:" + string(e.Code),
		Title:  info.title,
		Status: info.status,
		Detail: e.Detail,
		Code:   e.Code,
		Errors: e.Fields,
		Ottu:   e.Ottu,
	}, e
}

// problemResponse renders err as an application/problem+json response.
func problemResponse(err error, headers map[string]string) events.APIGatewayV2HTTPResponse {
	p, e := problemFrom(err)
	h := copyHeaders(headers)
	h["Content-Type"] = "application/problem+json"
	if secs := retryAfterSeconds(e.RetryAfter); secs > 0 {
		h["Retry-After"] = strconv.Itoa(secs)
	}
	body, _ := json.Marshal(p)
	return events.APIGatewayV2HTTPResponse{StatusCode: p.Status, Headers: h, Body: string(body)}
}

func jsonResponse(status int, body []byte, headers map[string]string) events.APIGatewayV2HTTPResponse {
	h := copyHeaders(headers)
	h["Content-Type"] = "application/json"
	return events.APIGatewayV2HTTPResponse{StatusCode: status, Headers: h, Body: string(body)}
}

func copyHeaders(in map[string]string) map[string]string {
	out := make(map[string]string, len(in)+3)
	for k, v := range in {
		out[k] = v
	}
	return out
}

// retryAfterSeconds rounds a wait up to whole seconds, as Retry-After and
// a Wait state take it: never shorter than the domain asked.
func retryAfterSeconds(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	return int((d + time.Second - 1) / time.Second)
}
