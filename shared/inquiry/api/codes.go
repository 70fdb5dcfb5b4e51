package api

import (
	"net/http"

	"github.com/ottuops/ottu-lambda/shared/inquiry"
	"github.com/ottuops/ottu-lambda/shared/platform/apigw"
)

// Codes is what every problem code this adapter answers means on the
// wire: the platform's codes and the inquiry domain's own.
var Codes = apigw.Platform.With(apigw.Codes{
	inquiry.CodeNotAllowed:              {HTTP: http.StatusUnprocessableEntity, Title: "Ottu does not answer an inquiry of this transaction"},
	inquiry.CodeDisclosureURLMissing:    {HTTP: http.StatusBadRequest, Title: "There is no URL to disclose the transaction to"},
	inquiry.CodeDisclosureURLNotAllowed: {HTTP: http.StatusBadRequest, Title: "Ottu may not disclose the transaction to that URL"},
	inquiry.CodeThrottled:               {HTTP: http.StatusTooManyRequests, Title: "Ottu's inquiry throttle refused the inquiry"},
})
