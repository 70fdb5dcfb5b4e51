package apigw

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strconv"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ottuops/ottu-lambda/shared/platform/problem"
)

// Status is what a problem code means on the wire: its HTTP status and the
// title of its problem document.
type Status struct {
	HTTP  int
	Title string
}

// Codes maps problem codes to their Status: the one place a code's HTTP
// status is written. Platform holds the codes every function shares; a
// capability's API adapter adds its domain's own with Platform.With, so the
// domain itself never knows HTTP.
type Codes map[problem.Code]Status

// Platform is the status of every code of package problem.
var Platform = Codes{
	problem.CodeInvalidRequest:       {http.StatusBadRequest, "The request is malformed"},
	problem.CodeUnknownField:         {http.StatusBadRequest, "The request has an unknown field"},
	problem.CodeAmountNotApplicable:  {http.StatusBadRequest, "This operation takes no amount"},
	problem.CodeInvalidAmount:        {http.StatusBadRequest, "The amount is invalid"},
	problem.CodeInvalidTrackingKey:   {http.StatusBadRequest, "The Tracking-Key is invalid"},
	problem.CodeTrackingKeyRequired:  {http.StatusBadRequest, "A Tracking-Key is required"},
	problem.CodeUnsupportedMediaType: {http.StatusUnsupportedMediaType, "The request body must be JSON"},
	problem.CodeBodyTooLarge:         {http.StatusRequestEntityTooLarge, "The request body is too large"},
	problem.CodeMethodNotAllowed:     {http.StatusMethodNotAllowed, "Method not allowed"},
	problem.CodeNotFound:             {http.StatusNotFound, "Not found"},
	problem.CodeInProgress:           {http.StatusConflict, "The same Tracking-Key is being processed"},
	problem.CodeOutcomePending:       {http.StatusConflict, "An earlier attempt's outcome is not known yet"},
	problem.CodeOperationRejected:    {http.StatusUnprocessableEntity, "Ottu rejected the operation"},
	problem.CodeTrackingKeyReused:    {http.StatusUnprocessableEntity, "The Tracking-Key was used for a different request"},
	problem.CodeOttuUnavailable:      {http.StatusBadGateway, "Ottu is unavailable"},
	problem.CodeOttuAuth:             {http.StatusBadGateway, "Ottu refused the credentials"},
	problem.CodeOutcomeUnknown:       {http.StatusGatewayTimeout, "The outcome is unknown"},
	problem.CodeStoreUnavailable:     {http.StatusServiceUnavailable, "The Tracking-Key store is unavailable"},
	problem.CodeInternal:             {http.StatusInternalServerError, "Internal error"},
	problem.CodeSelfApproval:         {http.StatusForbidden, "The requester cannot approve its own refund"},
	problem.CodePrincipalRequired:    {http.StatusForbidden, "The request carries no IAM principal"},
	problem.CodeApprovalRequired:     {http.StatusForbidden, "The refund needs an approval"},
}

// With is c plus a domain's own codes. A code both already have is a
// programming error (the contract gives each code one meaning), so it
// panics when the adapter's package variable is built, which every test of
// that adapter does.
func (c Codes) With(own Codes) Codes {
	out := maps.Clone(c)
	for code, s := range own {
		if _, ok := out[code]; ok {
			panic("apigw: problem code " + string(code) + " is mapped twice")
		}
		out[code] = s
	}
	return out
}

// List is every code of c, sorted, for the tests that compare them with
// the API description.
func (c Codes) List() []problem.Code {
	return slices.Sorted(maps.Keys(c))
}

// StatusOf is the HTTP status of code (500 for a code c does not map).
func (c Codes) StatusOf(code problem.Code) int {
	if s, ok := c[code]; ok {
		return s.HTTP
	}
	return http.StatusInternalServerError
}

// Document is an RFC 9457 problem document.
type Document struct {
	Type   string               `json:"type"`
	Title  string               `json:"title"`
	Status int                  `json:"status"`
	Detail string               `json:"detail"`
	Code   problem.Code         `json:"code"`
	Errors []problem.FieldError `json:"errors,omitempty"`
	Ottu   json.RawMessage      `json:"ottu,omitempty"`
}

// Document turns any error into a problem document and the *problem.Error
// behind it; errors that are not a *problem.Error become a generic 500
// whose detail reveals nothing internal.
func (c Codes) Document(err error) (Document, *problem.Error) {
	var e *problem.Error
	if !errors.As(err, &e) {
		e = &problem.Error{Code: problem.CodeInternal, Detail: "An internal error occurred; retry with the same Tracking-Key. If it persists, contact the operator with the request id.", Err: err}
	}
	s, ok := c[e.Code]
	if !ok {
		s = Platform[problem.CodeInternal]
	}
	return Document{
		Type:   "urn:ottu-lambda:problem:" + string(e.Code),
		Title:  s.Title,
		Status: s.HTTP,
		Detail: e.Detail,
		Code:   e.Code,
		Errors: e.Fields,
		Ottu:   e.Ottu,
	}, e
}

// ProblemResponse renders err as an application/problem+json response.
func (c Codes) ProblemResponse(err error, headers map[string]string) events.APIGatewayV2HTTPResponse {
	p, e := c.Document(err)
	h := copyHeaders(headers)
	h["Content-Type"] = "application/problem+json"
	if secs := problem.RetryAfterSeconds(e.RetryAfter); secs > 0 {
		h["Retry-After"] = strconv.Itoa(secs)
	}
	body, _ := json.Marshal(p)
	return events.APIGatewayV2HTTPResponse{StatusCode: p.Status, Headers: h, Body: string(body)}
}

// FailHTTP answers err as a problem and logs it: 5xx at error level.
func (c Codes) FailHTTP(ctx context.Context, log *slog.Logger, msg string, err error, headers map[string]string) events.APIGatewayV2HTTPResponse {
	resp := c.ProblemResponse(err, headers)
	LogFailure(ctx, log, msg, err, resp.StatusCode)
	return resp
}

// LogFailure writes the line of a failed request with its status.
func LogFailure(ctx context.Context, log *slog.Logger, msg string, err error, status int) {
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelError
	}
	log.LogAttrs(ctx, level, msg, slog.Int("status", status), slog.String("code", string(problem.CodeOf(err))), slog.String("error", err.Error()))
}

// LogDirectFailure writes the line of a failed direct invocation, at the
// level its code's status would have.
func (c Codes) LogDirectFailure(ctx context.Context, log *slog.Logger, msg string, err error) {
	LogFailure(ctx, log, msg, err, c.StatusOf(problem.CodeOf(err)))
}
