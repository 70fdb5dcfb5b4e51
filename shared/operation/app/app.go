// Package app builds the operation functions (capture, refund,
// void, cancel, expire, delete) and operation-status: the Ottu client on
// the API secret, the Tracking-Key table and the operation service, behind
// their adapters.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/ottuops/ottu-lambda/shared/inquiry"
	"github.com/ottuops/ottu-lambda/shared/operation"
	"github.com/ottuops/ottu-lambda/shared/operation/api"
	"github.com/ottuops/ottu-lambda/shared/operation/ddb"
	"github.com/ottuops/ottu-lambda/shared/ottu"
	"github.com/ottuops/ottu-lambda/shared/ottu/ottuclient"
	"github.com/ottuops/ottu-lambda/shared/payment"
	"github.com/ottuops/ottu-lambda/shared/platform/boot"
	"github.com/ottuops/ottu-lambda/shared/platform/config"
	"github.com/ottuops/ottu-lambda/shared/platform/obs"
	txnddb "github.com/ottuops/ottu-lambda/shared/txn/ddb"
)

// Deps are what an operation or status function needs; tests build them
// with Build against moto and the sandbox.
type Deps struct {
	Config  config.Config
	Logger  *slog.Logger
	Service *operation.Service
	AWS     aws.Config
}

// Build wires the operation service: what the operation and
// operation-status functions need (the API secret and the Tracking-Key
// table).
func Build(_ context.Context, function string, getenv func(string) string, opts boot.Options) (*Deps, error) {
	b, client, err := ottuclient.NewBase(function, getenv, opts, config.EnvTrackingKeysTable)
	if err != nil {
		return nil, err
	}
	cfg := b.Config
	ddbClient := dynamodb.NewFromConfig(b.AWS)
	store := ddb.New(ddbClient, cfg.TrackingKeysTable)
	metrics := b.Metrics()
	var inquirer operation.Inquirer = client
	if cfg.InquiriesTable != "" {
		// Refreshes keep Ottu's answers where Ottu's inquiry throttle is
		// reckoned and the transaction's timeline is read.
		inquirer = &inquiry.Recorder{Ottu: client, Store: txnddb.New(ddbClient, cfg.InquiriesTable), Retention: cfg.RecordRetention(), Now: opts.Now}
	}
	svc := &operation.Service{
		Store:         store,
		Ottu:          client,
		Inquiry:       inquirer,
		Retention:     cfg.RecordRetention(),
		LeaseGrace:    cfg.LeaseGrace,
		RecordTimeout: recordTimeout(cfg.DeadlineMargin),
		NoOttuReplay:  cfg.APIVersion == 1,
		Now:           opts.Now,
		Logger:        func(ctx context.Context) *slog.Logger { return obs.Logger(ctx) },
		Observe: func(_ context.Context, op payment.Operation, outcome string, d time.Duration) {
			metrics.Count("Operation_"+outcome, 1)
			metrics.Duration("OperationDuration", d)
			metrics.Flush()
		},
	}
	return &Deps{Config: cfg, Logger: b.Logger, Service: svc, AWS: b.AWS}, nil
}

// RefundLimits builds the refund function's threshold rule: the refunded
// totals table, the thresholds per currency, and whether the direct route
// is checked. The table is required while the direct route is checked; a
// refund function with the check off and no table counts nothing (a
// benchmark's configuration: the template always sets the table).
func RefundLimits(deps *Deps) (*operation.RefundLimits, error) {
	cfg := deps.Config
	thresholds, err := operation.ParseThresholds(cfg.RefundApprovalThresholds)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", config.EnvRefundApprovalThresholds, err)
	}
	if cfg.RefundTotalsTable == "" {
		if cfg.DirectRefundApprovalOff {
			return nil, nil
		}
		return nil, cfg.Require(config.EnvRefundTotalsTable)
	}
	return &operation.RefundLimits{
		Totals:               ddb.NewRefundTotals(dynamodb.NewFromConfig(deps.AWS), cfg.RefundTotalsTable),
		Thresholds:           thresholds,
		DirectRouteUnchecked: cfg.DirectRefundApprovalOff,
	}, nil
}

// recordTimeout leaves the outcome write most of the margin kept back from
// the Ottu call.
func recordTimeout(margin time.Duration) time.Duration {
	if margin <= 0 {
		return operation.DefaultRecordTimeout
	}
	return margin * 2 / 3
}

// OperationHandler builds the handler of one operation function.
func OperationHandler(ctx context.Context, op payment.Operation, getenv func(string) string) (*api.Operation, error) {
	deps, err := Build(ctx, string(op), getenv, boot.Options{})
	if err != nil {
		return nil, err
	}
	if op == payment.Refund {
		if deps.Service.Refunds, err = RefundLimits(deps); err != nil {
			return nil, fmt.Errorf("refund: %w", err)
		}
	}
	// Every operation needs the Ottu secret: read it while init finishes
	// and the first request claims its key, not after the claim.
	if c, ok := deps.Service.Ottu.(*ottu.Client); ok {
		c.Prefetch(ctx)
	}
	return NewOperationHandler(op, deps), nil
}

// NewOperationHandler wires an operation handler from built dependencies.
func NewOperationHandler(op payment.Operation, deps *Deps) *api.Operation {
	return &api.Operation{Op: op, Service: deps.Service, MaxBodyBytes: int(deps.Config.MaxBodyBytes), Logger: deps.Logger}
}

// StatusHandler builds the operation-status function's handler.
func StatusHandler(ctx context.Context, getenv func(string) string) (*api.OperationStatus, error) {
	deps, err := Build(ctx, "operation-status", getenv, boot.Options{})
	if err != nil {
		return nil, err
	}
	return &api.OperationStatus{Service: deps.Service, Logger: deps.Logger}, nil
}
