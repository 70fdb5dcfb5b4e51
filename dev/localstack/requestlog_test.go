package localstack

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestRequestLog(t *testing.T) {
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/invocations") {
			w.Header().Set("X-Amz-Function-Error", "Unhandled")
		}
		if r.Method == http.MethodPost && r.URL.Path == "/operations/refund" {
			w.WriteHeader(http.StatusCreated)
		}
	})
	tests := []struct {
		name, method, path, want string
	}{
		{"an API request is one line with its method, path, status and time", http.MethodPost, "/operations/refund", "12:04:05 POST /operations/refund 201 7ms\n"},
		{"an Invoke API request names the function and says it failed", http.MethodPost, "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3ARefundFunction/invocations", "12:04:05 invoke RefundFunction 200 7ms function error\n"},
		{"an answer without an explicit status is a 200", http.MethodGet, "/operations/k", "12:04:05 GET /operations/k 200 7ms\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out strings.Builder
			l := newRequestLog(handler, &out).(*requestLog)
			at := time.Date(2026, 12, 7, 12, 4, 5, 0, time.UTC)
			calls := 0
			l.now = func() time.Time { calls++; return at.Add(time.Duration(calls-1) * 7 * time.Millisecond) }
			l.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(tt.method, tt.path, nil))
			if out.String() != tt.want {
				t.Fatalf("logged %q, want %q", out.String(), tt.want)
			}
		})
	}
}
