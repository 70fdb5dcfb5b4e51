package apigw

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

	"github.com/ottuops/ottu-lambda/shared/platform/problem"
)

// Codes a domain's adapter would map, for TestTyped.
const (
	testRejectedCode  problem.Code = "test_typed_rejected"
	testThrottledCode problem.Code = "test_typed_throttled"
	testInvalidCode   problem.Code = "test_typed_invalid"
)

var testCodes = Platform.With(Codes{
	testRejectedCode:  {http.StatusUnprocessableEntity, "Refused"},
	testThrottledCode: {http.StatusTooManyRequests, "Throttled"},
	testInvalidCode:   {http.StatusBadRequest, "Invalid"},
})

func TestTyped(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		wantType string
		wantWait int
	}{
		{"a malformed request is an InvalidRequest", problem.Invalid(problem.CodeInvalidAmount, "amount", "bad"), "InvalidRequest", 0},
		{"an unknown transaction is an OperationRejected", &problem.Error{Code: problem.CodeNotFound, Detail: "no"}, "OperationRejected", 0},
		{"a key held after an unknown outcome is an OperationInProgress naming the wait", &problem.Error{Code: problem.CodeOutcomePending, Detail: "held", RetryAfter: 1500 * time.Millisecond}, "OperationInProgress", 2},
		{"a store failure is an OttuUnavailable", &problem.Error{Code: problem.CodeStoreUnavailable, Detail: "down", RetryAfter: time.Second}, "OttuUnavailable", 1},
		{"an unexpected error is an OttuUnavailable that reveals nothing", errors.New("dial tcp 10.0.0.1: secret-ish"), "OttuUnavailable", 0},
		{"an unknown outcome is an OutcomeUnknown", &problem.Error{Code: problem.CodeOutcomeUnknown, Detail: "?", RetryAfter: 300 * time.Second}, "OutcomeUnknown", 300},
		{"a domain's 422 is an OperationRejected", &problem.Error{Code: testRejectedCode, Detail: "no"}, "OperationRejected", 0},
		{"a domain's 429 is an OttuUnavailable naming the wait", &problem.Error{Code: testThrottledCode, Detail: "later", RetryAfter: 90 * time.Second}, "OttuUnavailable", 90},
		{"a domain's 400 is an InvalidRequest", &problem.Error{Code: testInvalidCode, Detail: "fix it"}, "InvalidRequest", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := testCodes.Typed(tt.err)
			if got := reflect.TypeOf(err).Elem().Name(); got != tt.wantType || !slices.Contains(ErrorTypes, got) {
				t.Fatalf("type %s, want %s (one of %v)", got, tt.wantType, ErrorTypes)
			}
			var msg struct {
				Code   problem.Code `json:"code"`
				Detail string       `json:"detail"`
				Wait   int          `json:"retry_after_seconds"`
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

func TestWith(t *testing.T) {
	t.Run("a domain's code has its status and title", func(t *testing.T) {
		doc, _ := testCodes.Document(&problem.Error{Code: testThrottledCode, Detail: "x"})
		if doc.Status != 429 || doc.Title != "Throttled" || doc.Type != "urn:ottu-lambda:problem:"+string(testThrottledCode) {
			t.Fatalf("document %+v", doc)
		}
	})
	t.Run("the platform's codes are left as they were", func(t *testing.T) {
		if _, ok := Platform[testThrottledCode]; ok {
			t.Fatal("With changed Platform")
		}
	})
	t.Run("mapping a code twice panics", func(t *testing.T) {
		defer func() {
			if recover() == nil {
				t.Fatal("no panic")
			}
		}()
		Platform.With(Codes{problem.CodeNotFound: {http.StatusGone, "Gone"}})
	})
}

func TestDocumentOfAnUnmappedCodeIsInternal(t *testing.T) {
	doc, e := Platform.Document(fmt.Errorf("wrapped: %w", &problem.Error{Code: "never_mapped", Detail: "x"}))
	if doc.Status != 500 || doc.Title != "Internal error" || e.Code != "never_mapped" {
		t.Fatalf("document %+v", doc)
	}
}
