package ottu

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Kind says what a failed call means for the caller, so it can act without
// parsing text.
type Kind int

// The kinds of failure a call to Ottu can end in.
const (
	// KindInvalid: the request was refused before sending (bad amount, no id).
	KindInvalid Kind = iota + 1
	// KindRejected: Ottu answered and said no (state, gateway, balance,
	// currency, field errors). Nothing was done.
	KindRejected
	// KindNotFound: Ottu knows no such transaction.
	KindNotFound
	// KindAuth: Ottu refused the credentials (401) or the permission (403),
	// even after fetching the credentials again.
	KindAuth
	// KindUnavailable: Ottu could not be reached, answered 5xx or 429, or
	// answered something unreadable. See Error.Sent for whether it may have
	// acted.
	KindUnavailable
	// KindOutcomeUnknown: the request was sent but no answer came in time.
	// Ottu may or may not have acted; retry with the same Tracking-Key.
	KindOutcomeUnknown
)

func (k Kind) String() string {
	switch k {
	case KindInvalid:
		return "invalid"
	case KindRejected:
		return "rejected"
	case KindNotFound:
		return "not_found"
	case KindAuth:
		return "auth"
	case KindUnavailable:
		return "unavailable"
	case KindOutcomeUnknown:
		return "outcome_unknown"
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Sentinels for errors.Is: errors.Is(err, ottu.ErrRejected).
var (
	ErrInvalid        = &Error{Kind: KindInvalid}
	ErrRejected       = &Error{Kind: KindRejected}
	ErrNotFound       = &Error{Kind: KindNotFound}
	ErrAuth           = &Error{Kind: KindAuth}
	ErrUnavailable    = &Error{Kind: KindUnavailable}
	ErrOutcomeUnknown = &Error{Kind: KindOutcomeUnknown}
)

// Error is every failure the client returns. It never carries credentials.
type Error struct {
	Kind Kind
	// StatusCode is Ottu's HTTP status, 0 when no answer came.
	StatusCode int
	// Detail is Ottu's "detail" (or "message"), or our own sentence.
	Detail string
	// FieldErrors are DRF-style field errors: {"amount": ["..."]}.
	FieldErrors map[string][]string
	// Body is Ottu's response body, when one came and was JSON.
	Body json.RawMessage
	// Raw is the response body as it came, JSON or not, so that an answer
	// which cannot be parsed can still be recorded.
	Raw []byte
	// Sent is true when the request was written to the connection, so Ottu
	// may have acted on it even though the call failed.
	Sent bool
	// TimedOut, with KindOutcomeUnknown, says the deadline passed while
	// waiting for the answer; false there means the connection broke.
	TimedOut bool
	// RetryAfter is Ottu's Retry-After header on 429 and 5xx, read as
	// seconds or an HTTP date; zero when absent, unreadable, past, or over a
	// day (no wait that long is believed).
	RetryAfter time.Duration
	// Err is the underlying transport error, if any.
	Err error
}

// Throttled says Ottu's throttle turned the request away (HTTP 429): it
// was not processed.
func (e *Error) Throttled() bool { return e.StatusCode == http.StatusTooManyRequests }

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("ottu: ")
	b.WriteString(e.Kind.String())
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, " (HTTP %d)", e.StatusCode)
	}
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	if len(e.FieldErrors) > 0 {
		b.WriteString(": ")
		b.WriteString(FormatFieldErrors(e.FieldErrors))
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the transport error.
func (e *Error) Unwrap() error { return e.Err }

// Is matches the sentinels by kind.
func (e *Error) Is(target error) bool {
	var t *Error
	if errors.As(target, &t) && t.StatusCode == 0 && t.Detail == "" && t.Err == nil && t.Body == nil {
		return t.Kind == e.Kind
	}
	return false
}

// KindOf returns the Kind of err, or 0 when err is not from this package.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return 0
}

// FormatFieldErrors renders field errors as one readable sentence.
func FormatFieldErrors(fe map[string][]string) string {
	keys := make([]string, 0, len(fe))
	for k := range fe {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+": "+strings.Join(fe[k], " "))
	}
	return strings.Join(parts, "; ")
}
