package api

import "github.com/ottuops/ottu-lambda/shared/platform/apigw"

// Codes is what every problem code this adapter answers means on the
// wire: the operations use only the platform's codes.
var Codes = apigw.Platform
