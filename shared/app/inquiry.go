package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/ottuops/ottu-lambda/shared/config"
	"github.com/ottuops/ottu-lambda/shared/handler"
	"github.com/ottuops/ottu-lambda/shared/inquiry"
	"github.com/ottuops/ottu-lambda/shared/obs"
	"github.com/ottuops/ottu-lambda/shared/txnstore"
)

// InquiryHandler builds the inquiry function's handler from the process
// environment.
func InquiryHandler(ctx context.Context, getenv func(string) string) (*handler.Inquiry, error) {
	return BuildInquiry(ctx, getenv, Options{})
}

// BuildInquiry wires the inquiry function: the Ottu client (on the API
// secret) and the transactions table. It needs no Tracking-Key table.
// PUBLIC_BASE_URL, when set, makes this stack's own webhook the default
// disclosure URL; without it a request through API Gateway uses the API's
// own address, and a direct invocation must name disclosure_url.
func BuildInquiry(_ context.Context, getenv func(string) string, opts Options) (*handler.Inquiry, error) {
	b, err := NewBase("inquiry", getenv, opts, config.EnvAPISecretID, config.EnvInquiriesTable)
	if err != nil {
		return nil, err
	}
	client, err := b.OttuClient()
	if err != nil {
		return nil, err
	}
	cfg := b.Config
	metrics := b.Metrics()
	svc := &inquiry.Service{
		Ottu:      client,
		Store:     txnstore.New(dynamodb.NewFromConfig(b.AWS), cfg.InquiriesTable),
		Retention: cfg.RecordRetention(),
		Now:       b.Now,
		Logger:    func(ctx context.Context) *slog.Logger { return obs.Logger(ctx) },
		Observe: func(_ context.Context, outcome string, d time.Duration) {
			metrics.Count("Inquiry_"+outcome, 1)
			metrics.Duration("InquiryDuration", d)
			metrics.Flush()
		},
	}
	if cfg.PublicBaseURL != "" {
		svc.WebhookURL = cfg.PublicBaseURL + inquiry.WebhookPath
	}
	return &handler.Inquiry{Service: svc, MaxBodyBytes: int(cfg.MaxBodyBytes), Logger: b.Logger}, nil
}

// InquiryResultHandler builds the inquiry-result function's handler from
// the process environment.
func InquiryResultHandler(ctx context.Context, getenv func(string) string) (*handler.InquiryResult, error) {
	return BuildInquiryResult(ctx, getenv, Options{})
}

// BuildInquiryResult wires the inquiry-result function: the transactions
// table only. It reads what is stored and never calls Ottu, so it has no
// Ottu client and reads no secret.
func BuildInquiryResult(_ context.Context, getenv func(string) string, opts Options) (*handler.InquiryResult, error) {
	b, err := NewBase("inquiry-result", getenv, opts, config.EnvInquiriesTable)
	if err != nil {
		return nil, err
	}
	metrics := b.Metrics()
	results := &inquiry.Results{
		Store: txnstore.New(dynamodb.NewFromConfig(b.AWS), b.Config.InquiriesTable),
		Now:   b.Now,
		Observe: func(_ context.Context, outcome string, d time.Duration) {
			metrics.Count("InquiryResult_"+outcome, 1)
			metrics.Duration("InquiryResultDuration", d)
			metrics.Flush()
		},
	}
	return &handler.InquiryResult{Service: results, Logger: b.Logger}, nil
}
