package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ottuops/ottu-lambda/shared/operation"
	"github.com/ottuops/ottu-lambda/shared/platform/problem"
)

// fakeStatus holds records by key; it remembers whether it was asked.
type fakeStatus struct {
	records map[string]*operation.Record
	asked   bool
}

func (f *fakeStatus) Status(_ context.Context, key string, _ bool) (*operation.Record, error) {
	f.asked = true
	if rec, ok := f.records[key]; ok {
		return rec, nil
	}
	return nil, &problem.Error{Code: problem.CodeNotFound, TrackingKey: key, Detail: "No operation is recorded for Tracking-Key " + key + "."}
}

func statusEvent(key string, query map[string]string) events.APIGatewayV2HTTPRequest {
	ev := events.APIGatewayV2HTTPRequest{PathParameters: map[string]string{"tracking_key": key}, QueryStringParameters: query}
	ev.RequestContext.HTTP.Method = http.MethodGet
	return ev
}

func TestOperationStatusRouteMistakes(t *testing.T) {
	now := time.Date(2026, 12, 7, 4, 0, 0, 0, time.UTC)
	stored := &operation.Record{TrackingKey: "refund", Operation: "refund", Status: "succeeded", CreatedAt: now, UpdatedAt: now}
	tests := []struct {
		name       string
		key        string
		query      map[string]string
		records    map[string]*operation.Record
		wantStatus int
		wantAllow  string
		wantDetail string
		wantAsked  bool
	}{
		{"GET on an operation's route is a 405 naming POST", "refund", nil, nil, http.StatusMethodNotAllowed, "POST", "/operations/refund takes POST", true},
		{"GET on another operation's route is a 405 too", "capture", nil, nil, http.StatusMethodNotAllowed, "POST", "/operations/capture takes POST", true},
		{"a record whose Tracking-Key is an operation's name is still read", "refund", nil, map[string]*operation.Record{"refund": stored}, http.StatusOK, "", "", true},
		{"an unknown key that names no operation stays a 404", "my-key-1", nil, nil, http.StatusNotFound, "", "No operation is recorded", true},
		{"a misspelt query parameter is a 400 naming the one allowed, before anything is read", "my-key-1", map[string]string{"refesh": "true"}, nil, http.StatusBadRequest, "", `Unknown query parameter "refesh": GET /operations/{tracking_key} takes only refresh`, false},
		{"refresh alone is accepted", "refund", map[string]string{"refresh": "false"}, map[string]*operation.Record{"refund": stored}, http.StatusOK, "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := &fakeStatus{records: tt.records}
			resp := (&OperationStatus{Service: svc}).HTTP(context.Background(), statusEvent(tt.key, tt.query))
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.wantStatus, resp.Body)
			}
			if got := resp.Headers["Allow"]; got != tt.wantAllow {
				t.Errorf("Allow %q, want %q", got, tt.wantAllow)
			}
			var doc struct {
				Detail string `json:"detail"`
			}
			_ = json.Unmarshal([]byte(resp.Body), &doc)
			if !strings.Contains(doc.Detail, tt.wantDetail) {
				t.Errorf("detail %q, want it to contain %q", doc.Detail, tt.wantDetail)
			}
			if svc.asked != tt.wantAsked {
				t.Errorf("the store was asked: %v, want %v", svc.asked, tt.wantAsked)
			}
		})
	}
}
