// Command refund-workflow starts and reads refund workflows (POST
// /refund-workflows, GET /refund-workflows/{id}) and runs the workflow's
// first state, Prepare, by direct invocation. Wiring only; the logic lives
// in shared/refundflow.
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
	h, err := app.RefundWorkflowHandler(context.Background(), os.Getenv, sfn.FromConfig)
	if err != nil {
		boot.Exit("refund-workflow", err)
	}
	lambda.Start(h.Invoke)
}
