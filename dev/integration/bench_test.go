package integration_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ottuops/ottu-lambda/shared/operation"
	"github.com/ottuops/ottu-lambda/shared/operation/api"
	"github.com/ottuops/ottu-lambda/shared/ottu"
	"github.com/ottuops/ottu-lambda/shared/payment"
)

// instantStore and instantOttu answer at once, so the benchmark measures
// only our own work per request: event decoding, validation, fingerprint,
// claim/outcome bookkeeping, problem and response encoding, logging.
type instantStore struct {
	mu   sync.Mutex
	recs map[string]*operation.Record
}

func (s *instantStore) Claim(_ context.Context, c operation.Claim) (*operation.Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.recs[c.TrackingKey]; ok {
		return r, operation.ErrClaimConflict
	}
	s.recs[c.TrackingKey] = &operation.Record{TrackingKey: c.TrackingKey, Fingerprint: c.Fingerprint, Status: operation.StatusInProgress, LeaseID: c.LeaseID}
	return nil, nil
}

func (s *instantStore) Complete(_ context.Context, o operation.Outcome) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.recs[o.TrackingKey]
	r.Status, r.OttuStatus, r.OttuBody = o.Status, o.OttuStatus, o.OttuBody
	return nil
}

func (s *instantStore) Get(context.Context, string) (*operation.Record, error) {
	return nil, operation.ErrRecordNotFound
}

func (s *instantStore) Settle(context.Context, operation.Settlement) error {
	return nil
}

type instantOttu struct{ body json.RawMessage }

func (o instantOttu) Operation(_ context.Context, req ottu.OperationRequest) (*ottu.OperationResponse, error) {
	return &ottu.OperationResponse{Raw: o.body, StatusCode: 200, Operation: string(req.Operation), Result: "success", Amount: req.Amount.String()}, nil
}

func benchEvent(b *testing.B, key string) json.RawMessage {
	ev := events.APIGatewayV2HTTPRequest{Version: "2.0", RouteKey: "POST /operations/refund", RawPath: "/operations/refund",
		Headers: map[string]string{"content-type": "application/json", "tracking-key": key},
		Body:    `{"session_id":"0aceca9c3e7ebb6b5c6bf54497241a1818c1272f","amount":"2.500"}`}
	ev.RequestContext.HTTP.Method = "POST"
	ev.RequestContext.RequestID = "bench"
	payload, err := json.Marshal(ev)
	if err != nil {
		b.Fatal(err)
	}
	return payload
}

// BenchmarkRequestOverhead: a first-time refund through the function's entry
// point with Ottu and DynamoDB answering instantly.
func BenchmarkRequestOverhead(b *testing.B) {
	body := json.RawMessage(`{"amount":"2.500","initiator":{},"is_sandbox":true,"operation":"refund","pg_code":"mpgs","pg_response":{},"reference_number":"REF","result":"success","source":"input","success":true,"timestamp_utc":"2026-11-22 10:00:00","txn":{"amount":"2.500","currency_code":"KWD","customer_email":"","extra":{},"order_no":"","state":"refunded","session_id":"abc"}}`)
	svc := &operation.Service{Store: &instantStore{recs: map[string]*operation.Record{}}, Ottu: instantOttu{body}}
	h := &api.Operation{Op: payment.Refund, Service: svc, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))}
	payloads := make([]json.RawMessage, b.N)
	for i := range payloads {
		payloads[i] = benchEvent(b, fmt.Sprintf("bench-%d", i))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		out, err := h.Invoke(context.Background(), payloads[i])
		if err != nil || out.(events.APIGatewayV2HTTPResponse).StatusCode != 200 {
			b.Fatalf("%v %v", out, err)
		}
	}
}

// BenchmarkRefundAgainstMotoAndSandbox: the whole path with the real parts,
// reporting DynamoDB requests per first request and per replay.
func BenchmarkRefundAgainstMotoAndSandbox(b *testing.B) {
	s := newStack(b)
	sid := paid(s, "999999.000")
	b.Run("first request", func(b *testing.B) {
		s.dynamo.Reset()
		for i := range b.N {
			if resp := s.post(context.Background(), payment.Refund, fmt.Sprintf("bench-first-%d-%d", b.N, i), body(sid, "0.001")); resp.StatusCode != 200 {
				b.Fatalf("%d %s", resp.StatusCode, resp.Body)
			}
		}
		b.ReportMetric(float64(s.dynamo.Counts().Total())/float64(b.N), "dynamodb-requests/op")
	})
	b.Run("replay", func(b *testing.B) {
		key := fmt.Sprintf("bench-replay-%d", b.N)
		s.post(context.Background(), payment.Refund, key, body(sid, "0.001"))
		s.dynamo.Reset()
		for range b.N {
			if resp := s.post(context.Background(), payment.Refund, key, body(sid, "0.001")); resp.Headers["Idempotent-Replayed"] != "true" {
				b.Fatalf("%d %s", resp.StatusCode, resp.Body)
			}
		}
		b.ReportMetric(float64(s.dynamo.Counts().Total())/float64(b.N), "dynamodb-requests/op")
	})
}
