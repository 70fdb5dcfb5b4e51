package api

import (
	"net/http"

	"github.com/ottuops/ottu-lambda/shared/platform/apigw"
	"github.com/ottuops/ottu-lambda/shared/webhook"
)

// Codes is what every problem code this adapter answers means on the
// wire: the platform's codes and the webhook domain's own.
var Codes = apigw.Platform.With(apigw.Codes{
	webhook.CodeInvalidSignature:      {HTTP: http.StatusUnauthorized, Title: "The callback's signature is missing or wrong"},
	webhook.CodeInvalidCallback:       {HTTP: http.StatusBadRequest, Title: "The body is not an Ottu callback"},
	webhook.CodeWebhookKeyUnavailable: {HTTP: http.StatusServiceUnavailable, Title: "The webhook key could not be read"},
	webhook.CodeCallbackNotStored:     {HTTP: http.StatusServiceUnavailable, Title: "The callback could not be stored"},
	webhook.CodeAmbiguousSignature:    {HTTP: http.StatusBadRequest, Title: "The callback's signed values can be read as another callback"},
})
