// Command refund-approval takes approvers' decisions (POST
// /refund-workflows/{id}/approval) and, by direct invocation from the
// workflow's approval state, stores the task token the decision resumes.
// Wiring only; the logic lives in shared/refundflow.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/ottuops/ottu-lambda/shared/platform/boot"
	"github.com/ottuops/ottu-lambda/shared/refundflow/app"
	"github.com/ottuops/ottu-lambda/shared/refundflow/sfn"
)

func main() {
	h, err := app.RefundApprovalHandler(context.Background(), os.Getenv, sfn.FromConfig)
	if err != nil {
		boot.Exit("refund-approval", err)
	}
	lambda.Start(h.Invoke)
}
