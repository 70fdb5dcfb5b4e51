// Command refund-approval takes approvers' decisions (POST
// /refund-workflows/{id}/approval) and, by direct invocation from the
// workflow's approval state, stores the task token the decision resumes.
// Wiring only; the logic lives in shared/refundflow.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/ottuops/ottu-lambda/shared/app"
	"github.com/ottuops/ottu-lambda/shared/app/refundflowapp"
	"github.com/ottuops/ottu-lambda/shared/workflowsfn"
)

func main() {
	h, err := refundflowapp.RefundApprovalHandler(context.Background(), os.Getenv, workflowsfn.FromConfig)
	if err != nil {
		app.Exit("refund-approval", err)
	}
	lambda.Start(h.Invoke)
}
