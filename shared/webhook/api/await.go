package api

import (
	"context"
	"encoding/json"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ottuops/ottu-lambda/shared/platform/apigw"
	"github.com/ottuops/ottu-lambda/shared/platform/obs"
	"github.com/ottuops/ottu-lambda/shared/platform/problem"
	"github.com/ottuops/ottu-lambda/shared/webhook"
)

// Awaiter registers a workflow's wait for an operation notification
// (webhook.Service).
type Awaiter interface {
	Await(ctx context.Context, req webhook.AwaitRequest) (*webhook.AwaitResult, error)
}

// Function is the webhook function's entry point: Ottu's deliveries
// through API Gateway, and the refund workflow's direct invocation
// {"await_operation_notification": {...}} from a .waitForTaskToken task.
type Function struct {
	*Webhook
	Awaiter Awaiter
}

// awaitEvent is the direct invocation.
type awaitEvent struct {
	Await *webhook.AwaitRequest `json:"await_operation_notification"`
}

// Invoke dispatches one invocation: Ottu's deliveries through API
// Gateway, or the refund workflow's wait for an operation notification.
func (f *Function) Invoke(ctx context.Context, payload json.RawMessage) (any, error) {
	return apigw.Dispatch(ctx, f, payload)
}

// HTTP is POST /webhooks/ottu; it never fails (every failure is an answer
// Ottu reads).
func (f *Function) HTTP(ctx context.Context, ev events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	resp, _ := f.Webhook.HTTP(ctx, ev)
	return resp
}

// Direct registers the refund workflow's wait for an operation
// notification. A failure is a typed error the workflow's Catch reads.
func (f *Function) Direct(ctx context.Context, payload json.RawMessage) (*webhook.AwaitResult, error) {
	log := f.logger().With(obs.Operation("await_operation_notification"))
	ctx = obs.With(ctx, log)
	var a awaitEvent
	err := apigw.DecodeDirect(payload, &a, `{"await_operation_notification": {"task_token", "child_reference_number", "amount", "timeout_seconds"}} (the refund workflow's), or Ottu's deliveries through API Gateway`)
	if err == nil && a.Await == nil {
		err = problem.Invalid(problem.CodeInvalidRequest, "", `The event must be {"await_operation_notification": {…}}.`)
	}
	if err != nil {
		log.LogAttrs(ctx, slog.LevelWarn, "invocation refused", slog.String("error", err.Error()))
		return nil, Codes.Typed(err)
	}
	res, err := f.Awaiter.Await(ctx, *a.Await)
	if err != nil {
		log.LogAttrs(ctx, slog.LevelWarn, "wait for the operation notification not registered", slog.String("error", err.Error()))
		return nil, Codes.Typed(err)
	}
	log.LogAttrs(ctx, slog.LevelInfo, "waiting for the operation notification",
		slog.String("child_reference_number", a.Await.ChildReferenceNumber), slog.String("session_id", a.Await.SessionID),
		slog.Bool("resumed_at_once", res.Resumed))
	return res, nil
}
