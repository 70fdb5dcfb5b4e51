// Package app builds the inquiry function: the Ottu client on the
// API secret, the transactions table and the inquiry service, behind its
// adapter.
package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/ottuops/ottu-lambda/shared/inquiry"
	"github.com/ottuops/ottu-lambda/shared/inquiry/api"
	opddb "github.com/ottuops/ottu-lambda/shared/operation/ddb"
	"github.com/ottuops/ottu-lambda/shared/ottu/ottuclient"
	"github.com/ottuops/ottu-lambda/shared/platform/boot"
	"github.com/ottuops/ottu-lambda/shared/platform/config"
	"github.com/ottuops/ottu-lambda/shared/platform/obs"
	"github.com/ottuops/ottu-lambda/shared/txn/ddb"
)

// InquiryHandler builds the inquiry function's handler from the process
// environment.
func InquiryHandler(ctx context.Context, getenv func(string) string) (*api.Inquiry, error) {
	return BuildInquiry(ctx, getenv, boot.Options{})
}

// BuildInquiry wires the inquiry function: the Ottu client (on the API
// secret) and the transactions table. It needs no Tracking-Key table.
// PUBLIC_BASE_URL, when set, makes this stack's own webhook the default
// disclosure URL; without it a request through API Gateway uses the API's
// own address, and a direct invocation must name disclosure_url.
func BuildInquiry(_ context.Context, getenv func(string) string, opts boot.Options) (*api.Inquiry, error) {
	b, client, err := ottuclient.NewBase("inquiry", getenv, opts, config.EnvInquiriesTable)
	if err != nil {
		return nil, err
	}
	cfg := b.Config
	metrics := b.Metrics()
	svc := &inquiry.Service{
		Ottu:                  client,
		Store:                 ddb.New(dynamodb.NewFromConfig(b.AWS), cfg.InquiriesTable),
		Retention:             cfg.RecordRetention(),
		AllowedDisclosureURLs: cfg.DisclosureURLAllowList,
		Now:                   b.Now,
		Logger:                func(ctx context.Context) *slog.Logger { return obs.Logger(ctx) },
		Observe: func(_ context.Context, outcome string, d time.Duration) {
			metrics.Count("Inquiry_"+outcome, 1)
			metrics.Duration("InquiryDuration", d)
			metrics.Flush()
		},
	}
	if cfg.RefundTotalsTable != "" {
		// Refunds notified before the session_id was bound count now.
		svc.Totals = opddb.NewRefundTotals(dynamodb.NewFromConfig(b.AWS), cfg.RefundTotalsTable)
	}
	if cfg.PublicBaseURL != "" {
		svc.WebhookURL = cfg.PublicBaseURL + inquiry.WebhookPath
	}
	return &api.Inquiry{Service: svc, MaxBodyBytes: int(cfg.MaxBodyBytes), Logger: b.Logger}, nil
}
