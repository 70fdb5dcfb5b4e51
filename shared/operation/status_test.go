package operation

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ottuops/ottu-lambda/shared/ottu"
	"github.com/ottuops/ottu-lambda/shared/platform/problem"
)

// oneRecord is a store holding one succeeded record; Settle is counted.
type oneRecord struct {
	rec     Record
	settled int
}

func (s *oneRecord) Claim(context.Context, Claim) (*Record, error) { panic("a read must never claim") }
func (s *oneRecord) Complete(context.Context, Outcome) error       { panic("a read must never complete") }
func (s *oneRecord) Settle(context.Context, Settlement) error      { s.settled++; return nil }
func (s *oneRecord) Get(_ context.Context, key string) (*Record, error) {
	if key != s.rec.TrackingKey {
		return nil, ErrRecordNotFound
	}
	cp := s.rec
	return &cp, nil
}

// inquirer answers every inquiry with err, or with body.
type inquirer struct {
	err   error
	body  string
	calls int
}

func (i *inquirer) Inquiry(context.Context, ottu.InquiryRequest) (*ottu.InquiryResponse, error) {
	i.calls++
	if i.err != nil {
		return nil, i.err
	}
	return &ottu.InquiryResponse{StatusCode: 200, Raw: json.RawMessage(i.body)}, nil
}

// TestStatusRefreshUnderOttusThrottle: a refresh Ottu's inquiry throttle
// refuses answers the stored record, saying so, and never fails or
// changes the record; any other failed inquiry is still an error.
func TestStatusRefreshUnderOttusThrottle(t *testing.T) {
	stored := Record{TrackingKey: "queued-1", Operation: "refund", SessionID: "s-1", Amount: "2.500", Status: StatusSucceeded,
		OttuBody: json.RawMessage(`{"result":"queued","reference_number":"R1"}`), UpdatedAt: time.Now()}
	tests := []struct {
		name          string
		err           error
		wantThrottled bool
		wantRetry     time.Duration
		wantCode      problem.Code
	}{
		{name: "a 429 with Retry-After answers the stored record and when Ottu answers again",
			err:           &ottu.Error{Kind: ottu.KindUnavailable, StatusCode: 429, RetryAfter: 1800 * time.Second, Detail: "Request was throttled."},
			wantThrottled: true, wantRetry: 30 * time.Minute},
		{name: "a 429 naming no time answers the stored record with no wait",
			err:           &ottu.Error{Kind: ottu.KindUnavailable, StatusCode: 429, Detail: "Request was throttled."},
			wantThrottled: true},
		{name: "a 503 is still an ottu_unavailable error",
			err:      &ottu.Error{Kind: ottu.KindUnavailable, StatusCode: 503, Sent: true},
			wantCode: problem.CodeOttuUnavailable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			store := &oneRecord{rec: stored}
			inq := &inquirer{err: tc.err}
			s := &Service{Store: store, Inquiry: inq}
			rec, err := s.Status(context.Background(), "queued-1", true)
			if tc.wantCode != "" {
				if problem.CodeOf(err) != tc.wantCode {
					t.Fatalf("err = %v, want code %s", err, tc.wantCode)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if rec.InquiryThrottled == nil || rec.Inquiry != nil || rec.Status != StatusSucceeded || store.settled != 0 {
				t.Fatalf("record %+v throttled %+v settled %d", rec, rec.InquiryThrottled, store.settled)
			}
			if rec.InquiryThrottled.RetryAfter != tc.wantRetry || !strings.Contains(rec.InquiryThrottled.Detail, "throttle") {
				t.Fatalf("throttle %+v, want RetryAfter %s", rec.InquiryThrottled, tc.wantRetry)
			}
			if inq.calls != 1 {
				t.Fatalf("%d inquiries, want 1", inq.calls)
			}
		})
	}
}

// TestRefreshSettlesOnlyFromThisOperationsChild: an unknown outcome is
// settled by the child its own operation leaves, never by another
// operation's child under the same key or reference.
func TestRefreshSettlesOnlyFromThisOperationsChild(t *testing.T) {
	tests := []struct {
		name      string
		operation string
		child     string
		want      Status
	}{
		{"a refund child in state refunded settles a refund as succeeded", "refund", `{"operation":"refund","state":"refunded","tracking_key":"k-1"}`, StatusSucceeded},
		{"a rejected queued refund settles a refund as failed", "refund", `{"operation":"refund","state":"refund_rejected","tracking_key":"k-1"}`, StatusFailed},
		{"a capture child under the same key does not settle a refund", "refund", `{"operation":"capture","state":"paid","tracking_key":"k-1"}`, StatusUnknown},
		{"a paid child settles a capture", "capture", `{"operation":"capture","state":"paid","tracking_key":"k-1"}`, StatusSucceeded},
		{"a refunded child does not settle a void", "void", `{"state":"refunded","tracking_key":"k-1"}`, StatusUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := &oneRecord{rec: Record{TrackingKey: "k-1", Operation: tt.operation, SessionID: "s-1", Status: StatusUnknown, UpdatedAt: time.Now()}}
			inq := &inquirer{body: `{"state":"paid","transactions":[` + tt.child + `]}`}
			s := &Service{Store: store, Inquiry: inq}
			rec, err := s.Status(context.Background(), "k-1", true)
			if err != nil {
				t.Fatal(err)
			}
			if rec.Status != tt.want {
				t.Fatalf("status %s, want %s", rec.Status, tt.want)
			}
			if settled := store.settled > 0; settled != (tt.want != StatusUnknown) {
				t.Fatalf("settled %d times", store.settled)
			}
		})
	}
}
