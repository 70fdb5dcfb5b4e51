// Command inquiry is the inquiry function: POST /inquiry and direct
// invocation (Step Functions, with a task token to resume on Ottu's
// disclosure). Wiring only; the logic lives in shared/inquiry.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/ottuops/ottu-lambda/shared/inquiry/app"
	"github.com/ottuops/ottu-lambda/shared/platform/boot"
)

func main() {
	h, err := app.InquiryHandler(context.Background(), os.Getenv)
	if err != nil {
		boot.Exit("inquiry", err)
	}
	lambda.Start(h.Invoke)
}
