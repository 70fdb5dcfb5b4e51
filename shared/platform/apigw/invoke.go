package apigw

import (
	"encoding/json"
	"net/http"

	"github.com/ottuops/ottu-lambda/shared/platform/problem"
)

// invokeError is the body of every typed invocation error. The Lambda
// runtime names the error by its Go type (InvalidRequest, …), which is what
// Step Functions' Retry and Catch match; the message is this JSON, so a
// Catch can read the code and Ottu's body with States.StringToJson.
type invokeError struct {
	Code        problem.Code    `json:"code"`
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

// ErrorTypes are the errorType names a workflow's Retry and Catch may
// match; a test checks every definition names only these.
var ErrorTypes = []string{"InvalidRequest", "OperationRejected", "TrackingKeyReused", "OperationInProgress", "OttuUnavailable", "OutcomeUnknown"}

// Typed maps any error to its invocation error type: the direct
// invocation's counterpart of an HTTP status.
func (c Codes) Typed(err error) error {
	p, e := c.Document(err)
	body := invokeError{Code: p.Code, Detail: p.Detail, TrackingKey: e.TrackingKey, Ottu: p.Ottu,
		RetryAfterSeconds: problem.RetryAfterSeconds(e.RetryAfter)}
	switch e.Code {
	case problem.CodeOperationRejected, problem.CodeNotFound:
		return &OperationRejected{body}
	case problem.CodeTrackingKeyReused:
		return &TrackingKeyReused{body}
	case problem.CodeInProgress, problem.CodeOutcomePending:
		return &OperationInProgress{body}
	case problem.CodeOttuUnavailable, problem.CodeOttuAuth, problem.CodeStoreUnavailable, problem.CodeInternal:
		return &OttuUnavailable{body}
	case problem.CodeOutcomeUnknown:
		return &OutcomeUnknown{body}
	}
	// A domain's own code is typed by its status, so a workflow
	// treats it like the built-in code it resembles: a 422 is Ottu saying
	// no (do not retry), a 429 Ottu throttling (retry after the seconds it
	// names), a 5xx Ottu or the store failing (retry).
	switch status := c.StatusOf(e.Code); {
	case status == http.StatusUnprocessableEntity:
		return &OperationRejected{body}
	case status == http.StatusTooManyRequests, status >= 500:
		return &OttuUnavailable{body}
	}
	return &InvalidRequest{body}
}
