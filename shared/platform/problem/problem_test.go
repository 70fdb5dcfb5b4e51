package problem

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// Codes a domain would register, for TestTyped.
const (
	testRejectedCode  Code = "test_typed_rejected"
	testThrottledCode Code = "test_typed_throttled"
	testInvalidCode   Code = "test_typed_invalid"
)

func init() {
	Register(testRejectedCode, http.StatusUnprocessableEntity, "Refused")
	Register(testThrottledCode, http.StatusTooManyRequests, "Throttled")
	Register(testInvalidCode, http.StatusBadRequest, "Invalid")
}

func TestTyped(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		wantType string
		wantWait int
	}{
		{"a malformed request is an InvalidRequest", Invalid(CodeInvalidAmount, "amount", "bad"), "InvalidRequest", 0},
		{"an unknown transaction is an OperationRejected", &Error{Code: CodeNotFound, Detail: "no"}, "OperationRejected", 0},
		{"a key held after an unknown outcome is an OperationInProgress naming the wait", &Error{Code: CodeOutcomePending, Detail: "held", RetryAfter: 1500 * time.Millisecond}, "OperationInProgress", 2},
		{"a store failure is an OttuUnavailable", &Error{Code: CodeStoreUnavailable, Detail: "down", RetryAfter: time.Second}, "OttuUnavailable", 1},
		{"an unexpected error is an OttuUnavailable that reveals nothing", errors.New("dial tcp 10.0.0.1: secret-ish"), "OttuUnavailable", 0},
		{"an unknown outcome is an OutcomeUnknown", &Error{Code: CodeOutcomeUnknown, Detail: "?", RetryAfter: 300 * time.Second}, "OutcomeUnknown", 300},
		{"a registered 422 is an OperationRejected", &Error{Code: testRejectedCode, Detail: "no"}, "OperationRejected", 0},
		{"a registered 429 is an OttuUnavailable naming the wait", &Error{Code: testThrottledCode, Detail: "later", RetryAfter: 90 * time.Second}, "OttuUnavailable", 90},
		{"a registered 400 is an InvalidRequest", &Error{Code: testInvalidCode, Detail: "fix it"}, "InvalidRequest", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Typed(tt.err)
			if got := reflect.TypeOf(err).Elem().Name(); got != tt.wantType || !slices.Contains(ErrorTypes, got) {
				t.Fatalf("type %s, want %s (one of %v)", got, tt.wantType, ErrorTypes)
			}
			var msg struct {
				Code   Code   `json:"code"`
				Detail string `json:"detail"`
				Wait   int    `json:"retry_after_seconds"`
			}
			if err := json.Unmarshal([]byte(err.Error()), &msg); err != nil || msg.Code == "" || msg.Detail == "" {
				t.Fatalf("message %s is not the problem JSON", err)
			}
			if msg.Wait != tt.wantWait || strings.Contains(err.Error(), "secret-ish") {
				t.Fatalf("message %s: want retry_after_seconds %d and no internal detail", err.Error(), tt.wantWait)
			}
		})
	}
}

func TestRegister(t *testing.T) {
	const code Code = "test_registered_code"
	t.Run("a registered code has its status and title", func(t *testing.T) {
		Register(code, http.StatusTooManyRequests, "Slow down")
		Register(code, http.StatusTooManyRequests, "Slow down") // the same meaning again is fine
		doc, _ := From(&Error{Code: code, Detail: "x"})
		if doc.Status != 429 || doc.Title != "Slow down" || doc.Type != "urn:ottu-lambda:problem:"+string(code) {
			t.Fatalf("document %+v", doc)
		}
	})
	t.Run("registering a code again with another meaning panics", func(t *testing.T) {
		defer func() {
			if recover() == nil {
				t.Fatal("no panic")
			}
		}()
		Register(code, http.StatusBadRequest, "Slow down")
	})
}

func TestFromUnknownCodeIsInternal(t *testing.T) {
	doc, e := From(fmt.Errorf("wrapped: %w", &Error{Code: "never_registered", Detail: "x"}))
	if doc.Status != 500 || doc.Title != "Internal error" || e.Code != "never_registered" {
		t.Fatalf("document %+v", doc)
	}
}

func TestTransactionName(t *testing.T) {
	tests := []struct {
		name, sessionID, orderNo, want string
	}{
		{"both identifiers are named", "sess-1", "order-1", `session_id "sess-1" and order_no "order-1"`},
		{"a session_id alone is named", "sess-1", "", `session_id "sess-1"`},
		{"an order_no alone is named", "", "order-1", `order_no "order-1"`},
		{"an identifier is quoted, so odd text stays visible", "a\"b", "", `session_id "a\"b"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := TransactionName(tt.sessionID, tt.orderNo); got != tt.want {
				t.Errorf("TransactionName = %s, want %s", got, tt.want)
			}
		})
	}
}
