// Command operation-status answers GET /operations/{tracking_key}: the stored
// Tracking-Key record, or Ottu's latest answer with ?refresh=true. Wiring only.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/ottuops/ottu-lambda/shared/app"
	"github.com/ottuops/ottu-lambda/shared/app/operationsapp"
)

func main() {
	h, err := operationsapp.StatusHandler(context.Background(), os.Getenv)
	if err != nil {
		app.Exit("operation-status", err)
	}
	lambda.Start(h.Invoke)
}
