// Command inquiry-result answers GET /transactions/{id}/inquiry: the
// stored inquiry answers and disclosures of a transaction, by session_id or
// order_no, never asking Ottu. Wiring only; the logic lives in
// shared/inquiry.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/ottuops/ottu-lambda/shared/inquiry/resultapp"
	"github.com/ottuops/ottu-lambda/shared/platform/boot"
)

func main() {
	h, err := resultapp.InquiryResultHandler(context.Background(), os.Getenv)
	if err != nil {
		boot.Exit("inquiry-result", err)
	}
	lambda.Start(h.Invoke)
}
