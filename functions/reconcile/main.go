// Command reconcile is the reconcile function: on a schedule, it settles
// Tracking-Key records whose outcome is not known, read-only. Wiring only;
// the logic lives in shared/reconcile.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/ottuops/ottu-lambda/shared/platform/boot"
	"github.com/ottuops/ottu-lambda/shared/reconcile/app"
)

func main() {
	h, err := app.Handler(context.Background(), os.Getenv)
	if err != nil {
		boot.Exit("reconcile", err)
	}
	lambda.Start(h.Invoke)
}
