// Command operation-status answers GET /operations/{tracking_key}: the stored
// Tracking-Key record, or Ottu's latest answer with ?refresh=true. Wiring only.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/ottuops/ottu-lambda/shared/operation/app"
	"github.com/ottuops/ottu-lambda/shared/platform/boot"
)

func main() {
	h, err := app.StatusHandler(context.Background(), os.Getenv)
	if err != nil {
		boot.Exit("operation-status", err)
	}
	lambda.Start(h.Invoke)
}
