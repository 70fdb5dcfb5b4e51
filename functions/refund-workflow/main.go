// Command refund-workflow starts and reads refund workflows (POST
// /refund-workflows, GET /refund-workflows/{id}) and runs the workflow's
// first state, Prepare, by direct invocation. Wiring only; the logic lives
// in shared/refundflow.
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
	h, err := refundflowapp.RefundWorkflowHandler(context.Background(), os.Getenv, workflowsfn.FromConfig)
	if err != nil {
		app.Exit("refund-workflow", err)
	}
	lambda.Start(h.Invoke)
}
