// Command webhook is the webhook function: POST /webhooks/ottu, Ottu's
// disclosure callbacks, verified by their signature. Wiring only; the logic
// lives in shared/.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/ottuops/ottu-lambda/shared/platform/boot"
	"github.com/ottuops/ottu-lambda/shared/webhook/app"
	"github.com/ottuops/ottu-lambda/shared/webhook/sfn"
)

func main() {
	h, err := app.WebhookFunction(context.Background(), os.Getenv, sfn.FromConfig)
	if err != nil {
		boot.Exit("webhook", err)
	}
	lambda.Start(h.Invoke)
}
