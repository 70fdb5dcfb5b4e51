package operation

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/ottuops/ottu-lambda/shared/ottu"
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
)

// FieldError points at one bad field of a request.
type FieldError struct {
	Field  string `json:"field"`
	Detail string `json:"detail"`
}

// Error is every failure the domain reports. Detail is a sentence a person
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

// AmountNotApplicable refuses an amount on an operation that takes none.
func AmountNotApplicable(op ottu.Operation) *Error {
	return Invalid(CodeAmountNotApplicable, "amount", fmt.Sprintf("%s does not take an amount (only capture and refund do); leave amount out.", op))
}

// inProgress answers a caller whose key another request holds.
func inProgress(key string, retryAfter time.Duration) *Error {
	return &Error{Code: CodeInProgress, TrackingKey: key, RetryAfter: retryAfter,
		Detail: fmt.Sprintf("An operation with Tracking-Key %q is being processed right now; nothing new was sent. Ask again with the same key after the Retry-After delay to get its result.", key)}
}

// outcomePending answers a caller whose key is held after an unknown
// outcome, until Ottu must have finished the first attempt.
func outcomePending(req Request, retryAfter time.Duration) *Error {
	return &Error{Code: CodeOutcomePending, TrackingKey: req.TrackingKey, RetryAfter: retryAfter,
		Detail: fmt.Sprintf("An earlier %s with Tracking-Key %q got no answer from Ottu, so money may already have moved. The key is held while Ottu may still be working on it: retry with the same key after %d seconds (Retry-After), and Ottu will answer with the first attempt's result instead of doing it again. Do not use a new key for the same %s.",
			req.Operation, req.TrackingKey, int(retryAfter.Seconds()), req.Operation)}
}
