// Command webhook is the webhook function: POST /webhooks/ottu, Ottu's
// disclosure callbacks, verified by their signature. Wiring only; the logic
// lives in shared/.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/ottuops/ottu-lambda/shared/app"
	"github.com/ottuops/ottu-lambda/shared/app/webhookapp"
	"github.com/ottuops/ottu-lambda/shared/taskresume"
)

func main() {
	h, err := webhookapp.WebhookHandler(context.Background(), os.Getenv, taskresume.FromConfig)
	if err != nil {
		app.Exit("webhook", err)
	}
	lambda.Start(h.HTTP)
}
