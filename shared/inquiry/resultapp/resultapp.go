// Package resultapp builds the inquiry-result function: the
// transactions table and the stored results behind their adapter. It is
// apart from inquiryapp because it never calls Ottu, so its binary links
// neither the Ottu client nor Secrets Manager.
package resultapp

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/ottuops/ottu-lambda/shared/inquiry"
	"github.com/ottuops/ottu-lambda/shared/inquiry/api"
	"github.com/ottuops/ottu-lambda/shared/platform/boot"
	"github.com/ottuops/ottu-lambda/shared/platform/config"
	"github.com/ottuops/ottu-lambda/shared/txn/ddb"
)

// InquiryResultHandler builds the inquiry-result function's handler from
// the process environment.
func InquiryResultHandler(ctx context.Context, getenv func(string) string) (*api.InquiryResult, error) {
	return BuildInquiryResult(ctx, getenv, boot.Options{})
}

// BuildInquiryResult wires the inquiry-result function: the transactions
// table only. It reads what is stored and never calls Ottu, so it has no
// Ottu client and reads no secret.
func BuildInquiryResult(_ context.Context, getenv func(string) string, opts boot.Options) (*api.InquiryResult, error) {
	b, err := boot.NewBase("inquiry-result", getenv, opts, config.EnvInquiriesTable)
	if err != nil {
		return nil, err
	}
	metrics := b.Metrics()
	results := &inquiry.Results{
		Store: ddb.New(dynamodb.NewFromConfig(b.AWS), b.Config.InquiriesTable),
		Now:   b.Now,
		Observe: func(_ context.Context, outcome string, d time.Duration) {
			metrics.Count("InquiryResult_"+outcome, 1)
			metrics.Duration("InquiryResultDuration", d)
			metrics.Flush()
		},
	}
	return &api.InquiryResult{Service: results, Logger: b.Logger}, nil
}
