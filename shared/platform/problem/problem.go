// Package problem is the failure vocabulary every domain and adapter shares:
// the contract's problem codes, the error that carries one, its HTTP status
// and title, the RFC 9457 document, and the typed errors a direct
// invocation returns for Step Functions to match. It imports nothing of AWS
// and no domain, so each domain (operations, inquiry, callbacks) can use it.
package problem

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Code is the machine-readable reason of a failure, the `code` of the
// contract's problem documents.
type Code string

// The problem codes of the contract (and a few it is silent on).
const (
	CodeInvalidRequest      Code = "invalid_request"
	CodeUnknownField        Code = "unknown_field"
	CodeAmountNotApplicable Code = "amount_not_applicable"
	CodeInvalidAmount       Code = "invalid_amount"
	CodeInvalidTrackingKey  Code = "invalid_tracking_key"
	// CodeTrackingKeyRequired: capture, refund or void without a key; a
	// retry without one could move money twice.
	CodeTrackingKeyRequired Code = "tracking_key_required"
	// CodeUnsupportedMediaType: a Content-Type that is not JSON.
	CodeUnsupportedMediaType Code = "unsupported_media_type"
	CodeBodyTooLarge         Code = "body_too_large"
	CodeMethodNotAllowed     Code = "method_not_allowed"
	CodeNotFound             Code = "not_found"
	CodeInProgress           Code = "in_progress"
	// CodeOutcomePending: an earlier attempt's outcome is unknown and Ottu
	// may still be working on it; the key is held until RetryAfter.
	CodeOutcomePending    Code = "outcome_pending"
	CodeOperationRejected Code = "operation_rejected"
	CodeTrackingKeyReused Code = "tracking_key_reused"
	CodeOttuUnavailable   Code = "ottu_unavailable"
	CodeOttuAuth          Code = "ottu_auth"
	CodeOutcomeUnknown    Code = "outcome_unknown"
	// CodeStoreUnavailable: DynamoDB could not be reached before Ottu was
	// called, so nothing was done; retrying is safe.
	CodeStoreUnavailable Code = "store_unavailable"
	// CodeInternal is every failure that is not one of the above; its
	// detail reveals nothing internal.
	CodeInternal Code = "internal_error"
)

// FieldError points at one bad field of a request.
type FieldError struct {
	Field  string `json:"field"`
	Detail string `json:"detail"`
}

// Error is every failure the domains report. Detail is a sentence a person
// can act on; it never contains a secret.
type Error struct {
	Code   Code
	Detail string
	Fields []FieldError
	// Ottu is Ottu's response body when Ottu answered.
	Ottu json.RawMessage
	// RetryAfter says when a retry with the same key may go ahead (in_progress,
	// outcome_pending, store_unavailable, outcome_unknown on API v2); zero:
	// not by waiting.
	RetryAfter time.Duration
	// TrackingKey is the key the failure concerns, if any.
	TrackingKey string
	Err         error
}

func (e *Error) Error() string {
	s := string(e.Code) + ": " + e.Detail
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// CodeOf returns the Code of err, or "" when err is not an *Error.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// Invalid is a malformed-request error pointing at one field.
func Invalid(code Code, field, detail string) *Error {
	e := &Error{Code: code, Detail: detail}
	if field != "" {
		e.Fields = []FieldError{{Field: field, Detail: detail}}
	}
	return e
}

// TransactionName names a payment transaction in a problem's detail by
// the identifiers its request gave, so that every domain words it alike
// and the client recognises what it sent.
func TransactionName(sessionID, orderNo string) string {
	switch {
	case sessionID != "" && orderNo != "":
		return fmt.Sprintf("session_id %q and order_no %q", sessionID, orderNo)
	case sessionID != "":
		return fmt.Sprintf("session_id %q", sessionID)
	}
	return fmt.Sprintf("order_no %q", orderNo)
}

type codeInfo struct {
	status int
	title  string
}

var codes = map[Code]codeInfo{
	CodeInvalidRequest:       {http.StatusBadRequest, "The request is malformed"},
	CodeUnknownField:         {http.StatusBadRequest, "The request has an unknown field"},
	CodeAmountNotApplicable:  {http.StatusBadRequest, "This operation takes no amount"},
	CodeInvalidAmount:        {http.StatusBadRequest, "The amount is invalid"},
	CodeInvalidTrackingKey:   {http.StatusBadRequest, "The Tracking-Key is invalid"},
	CodeTrackingKeyRequired:  {http.StatusBadRequest, "A Tracking-Key is required"},
	CodeUnsupportedMediaType: {http.StatusUnsupportedMediaType, "The request body must be JSON"},
	CodeBodyTooLarge:         {http.StatusRequestEntityTooLarge, "The request body is too large"},
	CodeMethodNotAllowed:     {http.StatusMethodNotAllowed, "Method not allowed"},
	CodeNotFound:             {http.StatusNotFound, "Not found"},
	CodeInProgress:           {http.StatusConflict, "The same Tracking-Key is being processed"},
	CodeOutcomePending:       {http.StatusConflict, "An earlier attempt's outcome is not known yet"},
	CodeOperationRejected:    {http.StatusUnprocessableEntity, "Ottu rejected the operation"},
	CodeTrackingKeyReused:    {http.StatusUnprocessableEntity, "The Tracking-Key was used for a different request"},
	CodeOttuUnavailable:      {http.StatusBadGateway, "Ottu is unavailable"},
	CodeOttuAuth:             {http.StatusBadGateway, "Ottu refused the credentials"},
	CodeOutcomeUnknown:       {http.StatusGatewayTimeout, "The outcome is unknown"},
	CodeStoreUnavailable:     {http.StatusServiceUnavailable, "The Tracking-Key store is unavailable"},
	CodeInternal:             {http.StatusInternalServerError, "Internal error"},
}

// Register adds a domain's own code (inquiry, callbacks) with its HTTP
// status and title. Call it from an init function; a code registered twice
// with another meaning panics, since the contract gives each one meaning.
func Register(code Code, status int, title string) {
	if c, ok := codes[code]; ok && (c.status != status || c.title != title) {
		panic("problem: code " + string(code) + " registered twice with different meanings")
	}
	codes[code] = codeInfo{status, title}
}

// StatusOf is the HTTP status of a problem code (500 for an unknown one).
func StatusOf(code Code) int {
	if c, ok := codes[code]; ok {
		return c.status
	}
	return http.StatusInternalServerError
}

// Codes lists every code known, for tests that compare them with the API
// description.
func Codes() []Code {
	out := make([]Code, 0, len(codes))
	for c := range codes {
		out = append(out, c)
	}
	return out
}

// Document is an RFC 9457 problem document.
type Document struct {
	Type   string          `json:"type"`
	Title  string          `json:"title"`
	Status int             `json:"status"`
	Detail string          `json:"detail"`
	Code   Code            `json:"code"`
	Errors []FieldError    `json:"errors,omitempty"`
	Ottu   json.RawMessage `json:"ottu,omitempty"`
}

// From turns any error into a problem document and the *Error behind it;
// errors that are not an *Error become a generic 500 whose detail reveals
// nothing internal.
func From(err error) (Document, *Error) {
	var e *Error
	if !errors.As(err, &e) {
		e = &Error{Code: CodeInternal, Detail: "An internal error occurred; retry with the same Tracking-Key. If it persists, contact the operator with the request id.", Err: err}
	}
	info, ok := codes[e.Code]
	if !ok {
		info = codes[CodeInternal]
	}
	return Document{
		Type:   "urn:ottu-lambda:problem:" + string(e.Code),
		Title:  info.title,
		Status: info.status,
		Detail: e.Detail,
		Code:   e.Code,
		Errors: e.Fields,
		Ottu:   e.Ottu,
	}, e
}

// RetryAfterSeconds rounds a wait up to whole seconds, as Retry-After and a
// Wait state take it: never shorter than the domain asked.
func RetryAfterSeconds(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	return int((d + time.Second - 1) / time.Second)
}
