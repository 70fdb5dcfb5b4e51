package apigw

import (
	"bytes"
	"context"
	"encoding/json"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ottuops/ottu-lambda/shared/platform/problem"
)

// Handler is a function that answers both of its callers: API Gateway's
// HTTP API (payload 2.0) and a direct invocation (Step Functions, the AWS
// CLI), each in its own form.
type Handler[R any] interface {
	HTTP(ctx context.Context, ev events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse
	Direct(ctx context.Context, payload json.RawMessage) (R, error)
}

// Dispatch is the Lambda entry point of every such function: it tells an
// API Gateway event from a direct invocation and hands the payload to the
// matching side. One decode serves both: only API Gateway sets
// requestContext.http.method, and a direct event never has it.
func Dispatch[R any](ctx context.Context, h Handler[R], payload json.RawMessage) (any, error) {
	var ev events.APIGatewayV2HTTPRequest
	if json.Unmarshal(payload, &ev) == nil && ev.RequestContext.HTTP.Method != "" {
		return h.HTTP(ctx, ev), nil
	}
	return h.Direct(ctx, payload)
}

// DecodeDirect reads a direct invocation's event into v strictly: one JSON
// object whose members v names, and nothing after it. example is the event
// to show a caller who sent something else.
func DecodeDirect(payload json.RawMessage, v any, example string) error {
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil || dec.More() {
		return problem.Invalid(problem.CodeInvalidRequest, "", "The event must be "+example+".")
	}
	return nil
}
