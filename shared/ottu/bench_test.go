package ottu_test

import (
	"context"
	"testing"

	"github.com/ottuops/ottu-lambda/shared/ottu"
	"github.com/ottuops/ottu-lambda/shared/payment"
)

// BenchmarkOperation is the client's per-call cost against the in-process
// sandbox: one 0.001 refund per iteration over a kept-alive connection. A
// fresh transaction every refundsPerTxn iterations keeps the sandbox's own
// per-transaction bookkeeping from growing with b.N.
func BenchmarkOperation(b *testing.B) {
	const refundsPerTxn = 1000
	sb := startSandbox(b)
	c := sb.client(b, ottu.Config{})
	ctx := context.Background()
	req := ottu.OperationRequest{Operation: payment.Refund, Amount: dec("0.001")}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if i%refundsPerTxn == 0 {
			b.StopTimer()
			req.SessionID = sb.paid(b, "1000000000.000")
			b.StartTimer()
		}
		resp, err := c.Operation(ctx, req)
		if err != nil {
			b.Fatal(err)
		}
		if resp.Result != ottu.ResultSuccess {
			b.Fatalf("result %q", resp.Result)
		}
	}
}

// BenchmarkSign is the standard-scheme signature of Ottu's example callback.
func BenchmarkSign(b *testing.B) {
	f, err := ottu.ParseCallback(fixture(b, "callback_example.json"), "application/json")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if ottu.Sign(f, exampleKey) != exampleSignature {
			b.Fatal("the example no longer signs to Ottu's signature")
		}
	}
}

// BenchmarkVerify parses and verifies the example callback, as the webhook
// does per delivery.
func BenchmarkVerify(b *testing.B) {
	body := fixture(b, "callback_example.json")
	b.ReportAllocs()
	for b.Loop() {
		f, err := ottu.ParseCallback(body, "application/json")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := ottu.Verify(f, exampleKey); err != nil {
			b.Fatal(err)
		}
	}
}
