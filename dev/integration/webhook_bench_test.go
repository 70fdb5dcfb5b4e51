package integration_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ottuops/ottu-lambda/dev/testkit"
	"github.com/ottuops/ottu-lambda/shared/ottu"
	"github.com/ottuops/ottu-lambda/shared/platform/obs"
	"github.com/ottuops/ottu-lambda/shared/txn"
	"github.com/ottuops/ottu-lambda/shared/webhook"
	"github.com/ottuops/ottu-lambda/shared/webhook/api"
)

// instantEntries stores digests in memory and has no waiters: the
// webhook's own work is what is left to measure.
type instantEntries struct {
	mu   sync.Mutex
	seen map[string]bool
}

func (s *instantEntries) Put(_ context.Context, e txn.Entry) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen[e.Digest] {
		return false, nil
	}
	s.seen[e.Digest] = true
	return true, nil
}

func (s *instantEntries) Waiters(context.Context, string) ([]txn.Waiter, error) { return nil, nil }

func (s *instantEntries) Bind(_ context.Context, _ string, id txn.Identity, _ bool) (txn.Identity, error) {
	return id, nil
}

func (s *instantEntries) FirstReceived(context.Context, txn.Entry) (time.Time, error) {
	return time.Time{}, nil
}
func (s *instantEntries) ClaimWaiter(context.Context, txn.Waiter, time.Time) error {
	return txn.ErrClaimed
}

func (s *instantEntries) FinishWaiter(context.Context, txn.Waiter, txn.WaiterStatus, time.Time) error {
	return nil
}

type instantKey struct{}

func (instantKey) WebhookKey(context.Context, bool) (string, error) { return sandboxWebhookKey, nil }

type instantResumer struct{}

func (instantResumer) SendTaskSuccess(context.Context, string, []byte) error { return nil }

func (instantResumer) SendTaskFailure(context.Context, string, string, string) error { return nil }

// callbackEvent is a signed callback like the sandbox's, as API Gateway
// hands it to the function.
func callbackEvent(i int) events.APIGatewayV2HTTPRequest {
	f := signed(fmt.Sprintf("bench-%d", i), "paid", "2026-11-22 10:00:00")
	f["customer_email"], f["reference_number"], f["remaining_amount"] = "buyer@example.com", "REF1", json.Number("0.000")
	delete(f, "signature")
	f["signature"] = ottu.Sign(f, sandboxWebhookKey)
	ev := events.APIGatewayV2HTTPRequest{Version: "2.0", RouteKey: "POST /webhooks/ottu", RawPath: "/webhooks/ottu",
		Headers: map[string]string{"content-type": "application/json"}, Body: string(mustJSON(f))}
	ev.RequestContext.HTTP.Method = "POST"
	ev.RequestContext.RequestID = "bench"
	return ev
}

// BenchmarkWebhookOverhead: one callback through the webhook's entry point
// (decode, parse, verify both schemes' inputs, build and digest the entry,
// answer, log and metric) with the secret, DynamoDB and Step Functions
// answering instantly. The contract wants our own time well under 100 ms.
func BenchmarkWebhookOverhead(b *testing.B) {
	for _, tc := range []struct {
		name string
		ev   func(i int) events.APIGatewayV2HTTPRequest
		want string
	}{
		{"first delivery", callbackEvent, `{"status":"accepted"}`},
		{"duplicate", func(int) events.APIGatewayV2HTTPRequest { return callbackEvent(-1) }, `{"status":"duplicate"}`},
	} {
		b.Run(tc.name, func(b *testing.B) {
			h := &api.Webhook{
				Service: &webhook.Service{Keys: instantKey{}, Store: &instantEntries{seen: map[string]bool{}}, Resumer: instantResumer{}},
				Logger:  slog.New(slog.NewJSONHandler(io.Discard, nil)),
				Metrics: obs.NewMetrics(io.Discard, "OttuOperations", map[string]string{"Function": "webhook"}),
			}
			evs := make([]events.APIGatewayV2HTTPRequest, b.N)
			for i := range evs {
				evs[i] = tc.ev(i)
			}
			if tc.want == `{"status":"duplicate"}` {
				_, _ = h.HTTP(context.Background(), evs[0])
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				resp, _ := h.HTTP(context.Background(), evs[i])
				if resp.Body != tc.want {
					b.Fatalf("%d %s", resp.StatusCode, resp.Body)
				}
			}
		})
	}
}

// BenchmarkWebhookAgainstMoto: the whole webhook against moto (secret,
// DynamoDB), reporting DynamoDB requests per first delivery and per
// duplicate.
func BenchmarkWebhookAgainstMoto(b *testing.B) {
	s := newWebhookStack(b, testkit.SharedMoto(b))
	for _, tc := range []struct {
		name string
		ev   func(i int) events.APIGatewayV2HTTPRequest
	}{
		{"first delivery", func(i int) events.APIGatewayV2HTTPRequest { return callbackEvent(b.N*1000 + i) }},
		{"duplicate", func(int) events.APIGatewayV2HTTPRequest { return callbackEvent(-2) }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			evs := make([]events.APIGatewayV2HTTPRequest, b.N)
			for i := range evs {
				evs[i] = tc.ev(i)
			}
			_, _ = s.webhook.HTTP(context.Background(), callbackEvent(-2))
			s.dynamo.Reset()
			b.ResetTimer()
			for i := range b.N {
				if resp, _ := s.webhook.HTTP(context.Background(), evs[i]); resp.StatusCode != 200 {
					b.Fatalf("%d %s", resp.StatusCode, resp.Body)
				}
			}
			b.ReportMetric(float64(s.dynamo.Counts().Total())/float64(b.N), "dynamodb-requests/op")
		})
	}
}
