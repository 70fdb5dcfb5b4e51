// Command expire is the expire operation function: POST /operations/expire and
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
	h, err := operationsapp.OperationHandler(context.Background(), ottu.Expire, os.Getenv)
	if err != nil {
		app.Exit("expire", err)
	}
	lambda.Start(h.Invoke)
}
