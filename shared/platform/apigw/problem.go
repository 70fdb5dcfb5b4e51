// Package apigw holds what every Lambda event adapter shares: problem and
// JSON responses, the request id, header lookup, strict body decoding and
// failure logging. Each domain's adapters — which translate API Gateway HTTP
// API (payload 2.0) requests and direct invocations into domain calls, and
// domain results and errors back into responses and typed invocation
// errors — live in a subpackage of their own (operations, inquiries,
// webhook, refundworkflow), so that a function's binary links only the
// domain it serves.
package apigw

import (
	"github.com/aws/aws-lambda-go/events"
)

// JSONResponse answers body, already JSON, with status and headers.
func JSONResponse(status int, body []byte, headers map[string]string) events.APIGatewayV2HTTPResponse {
	h := copyHeaders(headers)
	h["Content-Type"] = "application/json"
	return events.APIGatewayV2HTTPResponse{StatusCode: status, Headers: h, Body: string(body)}
}

func copyHeaders(in map[string]string) map[string]string {
	out := make(map[string]string, len(in)+3)
	for k, v := range in {
		out[k] = v
	}
	return out
}
