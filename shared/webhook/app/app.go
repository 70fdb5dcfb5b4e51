// Package app builds the webhook function: the webhook secret, the
// transactions table and the callback service, behind its adapter.
package app

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	opddb "github.com/ottuops/ottu-lambda/shared/operation/ddb"
	"github.com/ottuops/ottu-lambda/shared/platform/boot"
	"github.com/ottuops/ottu-lambda/shared/platform/config"
	reconcileddb "github.com/ottuops/ottu-lambda/shared/reconcile/ddb"
	"github.com/ottuops/ottu-lambda/shared/secrets"
	"github.com/ottuops/ottu-lambda/shared/txn/ddb"
	"github.com/ottuops/ottu-lambda/shared/webhook"
	"github.com/ottuops/ottu-lambda/shared/webhook/api"
)

// NewResumer makes the Step Functions client that resumes waiting tasks
// (taskresume.FromConfig). The webhook's main passes it in, so that the
// Step Functions SDK is linked where a main chooses it, not wherever this
// package is imported.
type NewResumer func(aws.Config) webhook.Resumer

// WebhookFunction builds the webhook function's entry point (deliveries
// and the refund workflow's waits) from the process environment.
func WebhookFunction(ctx context.Context, getenv func(string) string, newResumer NewResumer) (*api.Function, error) {
	h, err := WebhookHandler(ctx, getenv, newResumer)
	if err != nil {
		return nil, err
	}
	return &api.Function{Webhook: h, Awaiter: h.Service.(*webhook.Service)}, nil
}

// WebhookHandler builds the webhook function's handler from the process
// environment.
func WebhookHandler(ctx context.Context, getenv func(string) string, newResumer NewResumer) (*api.Webhook, error) {
	return BuildWebhook(ctx, getenv, boot.Options{}, newResumer)
}

// BuildWebhook wires the webhook: the webhook secret, the transactions
// table and (with REFUND_TOTALS_TABLE) the refunded totals, which refund
// notifications count in. It needs neither the Ottu API secret nor the
// Tracking-Key table, and its IAM policy grants neither.
func BuildWebhook(_ context.Context, getenv func(string) string, opts boot.Options, newResumer NewResumer) (*api.Webhook, error) {
	b, err := boot.NewBase("webhook", getenv, opts, config.EnvWebhookSecretID, config.EnvInquiriesTable)
	if err != nil {
		return nil, err
	}
	cfg := b.Config
	secretOpts := []secrets.Option{secrets.WithTTL(cfg.SecretsCacheTTL)}
	if b.Now != nil {
		secretOpts = append(secretOpts, secrets.WithClock(b.Now))
	}
	client := dynamodb.NewFromConfig(b.AWS)
	store := ddb.New(client, cfg.InquiriesTable)
	svc := &webhook.Service{
		Keys:      secrets.NewWebhookKeyProvider(secretsmanager.NewFromConfig(b.AWS), cfg.WebhookSecretID, secretOpts...),
		Store:     store,
		Waits:     store,
		Nudge:     &reconcileddb.Nudges{Client: client, Table: cfg.InquiriesTable},
		Resumer:   newResumer(b.AWS),
		Retention: cfg.RecordRetention(),
		Now:       b.Now,
	}
	if cfg.RefundTotalsTable != "" {
		// Refund notifications count in their payment's refunded total.
		svc.Totals, svc.Links = opddb.NewRefundTotals(client, cfg.RefundTotalsTable), store
	}
	return &api.Webhook{Service: svc, Logger: b.Logger, Metrics: b.Metrics(), Now: b.Now}, nil
}
