// Command inquiry is the inquiry function: POST /inquiry and direct
// invocation (Step Functions, with a task token to resume on Ottu's
// disclosure). Wiring only; the logic lives in shared/inquiry.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/ottuops/ottu-lambda/shared/app"
	"github.com/ottuops/ottu-lambda/shared/app/inquiryapp"
)

func main() {
	h, err := inquiryapp.InquiryHandler(context.Background(), os.Getenv)
	if err != nil {
		app.Exit("inquiry", err)
	}
	lambda.Start(h.Invoke)
}
