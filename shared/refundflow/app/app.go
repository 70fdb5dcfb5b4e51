// Package app builds the refund workflow's functions
// (refund-workflow and refund-approval): Step Functions, the approvals
// table and the workflow services, behind their adapters. Neither calls
// Ottu nor reads a secret: the refund itself runs in the refund function.
package app

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	operationddb "github.com/ottuops/ottu-lambda/shared/operation/ddb"
	"github.com/ottuops/ottu-lambda/shared/platform/boot"
	"github.com/ottuops/ottu-lambda/shared/platform/config"
	"github.com/ottuops/ottu-lambda/shared/refundflow"
	"github.com/ottuops/ottu-lambda/shared/refundflow/api"
	"github.com/ottuops/ottu-lambda/shared/refundflow/ddb"
)

// NewStepFunctions makes the Step Functions client of the refund workflow's
// functions (workflowsfn.FromConfig). Their mains pass it in, so that the
// Step Functions SDK is linked into their binaries only.
type NewStepFunctions func(aws.Config) refundflow.StepFunctions

// RefundWorkflowHandler builds the refund-workflow function's handler from
// the process environment.
func RefundWorkflowHandler(ctx context.Context, getenv func(string) string, newSFN NewStepFunctions) (*api.RefundWorkflow, error) {
	return BuildRefundWorkflow(ctx, getenv, boot.Options{}, newSFN)
}

// BuildRefundWorkflow wires the refund-workflow function: Step Functions
// (start, describe and read the history of the workflow's executions) and
// the approvals table (read only). It needs no Ottu secret and no
// Tracking-Key table: the refund runs in the refund function.
func BuildRefundWorkflow(_ context.Context, getenv func(string) string, opts boot.Options, newSFN NewStepFunctions) (*api.RefundWorkflow, error) {
	b, err := boot.NewBase("refund-workflow", getenv, opts, config.EnvRefundStateMachineARN, config.EnvRefundApprovalsTable, config.EnvRefundTotalsTable)
	if err != nil {
		return nil, err
	}
	cfg := b.Config
	totals := operationddb.NewRefundTotals(dynamodb.NewFromConfig(b.AWS), cfg.RefundTotalsTable)
	svc := &refundflow.Workflows{
		SFN:             newSFN(b.AWS),
		Approvals:       ddb.New(dynamodb.NewFromConfig(b.AWS), cfg.RefundApprovalsTable),
		StateMachineARN: cfg.RefundStateMachineARN,
	}
	return &api.RefundWorkflow{Service: svc, Refunded: totals.Total, MaxBodyBytes: int(cfg.MaxBodyBytes), PublicBaseURL: cfg.PublicBaseURL,
		Logger: b.Logger, Metrics: b.Metrics(), Now: b.Now}, nil
}

// RefundApprovalHandler builds the refund-approval function's handler from
// the process environment.
func RefundApprovalHandler(ctx context.Context, getenv func(string) string, newSFN NewStepFunctions) (*api.RefundApproval, error) {
	return BuildRefundApproval(ctx, getenv, boot.Options{}, newSFN)
}

// BuildRefundApproval wires the refund-approval function: the approvals
// table, and Step Functions to resume the waiting workflow (and to tell a
// workflow that never waited from none at all).
func BuildRefundApproval(_ context.Context, getenv func(string) string, opts boot.Options, newSFN NewStepFunctions) (*api.RefundApproval, error) {
	b, err := boot.NewBase("refund-approval", getenv, opts, config.EnvRefundStateMachineARN, config.EnvRefundApprovalsTable)
	if err != nil {
		return nil, err
	}
	cfg := b.Config
	svc := &refundflow.Approvals{
		Store:           ddb.New(dynamodb.NewFromConfig(b.AWS), cfg.RefundApprovalsTable),
		SFN:             newSFN(b.AWS),
		StateMachineARN: cfg.RefundStateMachineARN,
		Retention:       cfg.RecordRetention(),
		Now:             b.Now,
	}
	return &api.RefundApproval{Service: svc, MaxBodyBytes: int(cfg.MaxBodyBytes), PublicBaseURL: cfg.PublicBaseURL,
		Logger: b.Logger, Metrics: b.Metrics(), Now: b.Now}, nil
}
