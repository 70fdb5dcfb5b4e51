// Package problem is the failure vocabulary every domain and adapter shares:
// the contract's problem codes and the error that carries one. It imports
// nothing of HTTP, AWS or any domain, so each domain (operations, inquiry,
// callbacks, the refund workflow) can use it; what a code means on the wire
// (its HTTP status and title, its typed invocation error) is the adapters'
// business, in shared/platform/apigw.
package problem

import (
	"encoding/json"
	"errors"
	"fmt"
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

// RetryAfterSeconds rounds a wait up to whole seconds, as Retry-After and a
// Wait state take it: never shorter than the domain asked.
func RetryAfterSeconds(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	return int((d + time.Second - 1) / time.Second)
}
