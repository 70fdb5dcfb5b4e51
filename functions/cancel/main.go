// Command cancel is the cancel operation function: POST /operations/cancel and
// direct invocation. Wiring only; the logic lives in shared/.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/ottuops/ottu-lambda/shared/app"
	"github.com/ottuops/ottu-lambda/shared/app/operationsapp"
	"github.com/ottuops/ottu-lambda/shared/ottu"
)

func main() {
	h, err := operationsapp.OperationHandler(context.Background(), ottu.Cancel, os.Getenv)
	if err != nil {
		app.Exit("cancel", err)
	}
	lambda.Start(h.Invoke)
}
