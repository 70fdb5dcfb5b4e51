// Command expire is the expire operation function: POST /operations/expire and
// direct invocation. Wiring only; the logic lives in shared/.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/ottuops/ottu-lambda/shared/operation/app"
	"github.com/ottuops/ottu-lambda/shared/payment"
	"github.com/ottuops/ottu-lambda/shared/platform/boot"
)

func main() {
	h, err := app.OperationHandler(context.Background(), payment.Expire, os.Getenv)
	if err != nil {
		boot.Exit("expire", err)
	}
	lambda.Start(h.Invoke)
}
