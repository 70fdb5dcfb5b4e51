// Package app builds the reconcile function: the operation service's
// read-only refresh (no Ottu operation client at all), the Tracking-Key
// table's by_status index, and the budget and nudges in the transactions
// table.
package app

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	opapp "github.com/ottuops/ottu-lambda/shared/operation/app"
	"github.com/ottuops/ottu-lambda/shared/platform/boot"
	"github.com/ottuops/ottu-lambda/shared/platform/config"
	"github.com/ottuops/ottu-lambda/shared/reconcile"
	"github.com/ottuops/ottu-lambda/shared/reconcile/api"
	"github.com/ottuops/ottu-lambda/shared/reconcile/ddb"
	txnddb "github.com/ottuops/ottu-lambda/shared/txn/ddb"
)

// Environment of the reconcile function besides the shared settings.
const (
	EnvPerTransaction = "RECONCILE_INQUIRIES_PER_TRANSACTION"
	EnvPerRun         = "RECONCILE_INQUIRIES_PER_RUN"
)

// Handler builds the reconcile function's handler from the process
// environment.
func Handler(ctx context.Context, getenv func(string) string) (*api.Reconcile, error) {
	return Build(ctx, getenv, boot.Options{})
}

// Build wires the reconciler.
func Build(ctx context.Context, getenv func(string) string, opts boot.Options) (*api.Reconcile, error) {
	deps, err := opapp.Build(ctx, "reconcile", getenv, opts)
	if err != nil {
		return nil, err
	}
	if err := deps.Config.Require(config.EnvInquiriesTable); err != nil {
		return nil, err
	}
	perTxn, err := intSetting(getenv, EnvPerTransaction, reconcile.DefaultPerTransaction, 1, 2)
	if err != nil {
		return nil, err
	}
	perRun, err := intSetting(getenv, EnvPerRun, reconcile.DefaultPerRun, 1, 25)
	if err != nil {
		return nil, err
	}
	b, err := boot.NewBase("reconcile", getenv, opts)
	if err != nil {
		return nil, err
	}
	// The reconciler reads: its copy of the operation service has no Ottu
	// operation client, so nothing it runs can send an operation.
	refresher := *deps.Service
	refresher.Ottu = nil
	client := dynamodb.NewFromConfig(b.AWS)
	cfg := deps.Config
	svc := &reconcile.Service{
		Records:        &ddb.Records{Client: client, Table: cfg.TrackingKeysTable},
		Refresher:      &refresher,
		Transactions:   txnddb.New(client, cfg.InquiriesTable),
		Budget:         &ddb.Budget{Client: client, Table: cfg.InquiriesTable},
		Nudges:         &ddb.Nudges{Client: client, Table: cfg.InquiriesTable},
		Approvals:      approvals(client, cfg.RefundApprovalsTable),
		PerTransaction: perTxn,
		PerRun:         perRun,
		Now:            opts.Now,
		Logger:         deps.Service.Logger,
	}
	return &api.Reconcile{Runner: svc, Logger: deps.Logger, Out: b.Out, Namespace: cfg.MetricsNamespace, Function: "reconcile"}, nil
}

// approvals counts the waiting approvals when the stack has the refund
// workflow's table; nil otherwise.
func approvals(client *dynamodb.Client, table string) reconcile.Approvals {
	if table == "" {
		return nil
	}
	return &ddb.Approvals{Client: client, Table: table}
}

func intSetting(getenv func(string) string, name string, def, lo, hi int) (int, error) {
	v := strings.TrimSpace(getenv(name))
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("%s %q must be a whole number from %d to %d", name, v, lo, hi)
	}
	return n, nil
}
