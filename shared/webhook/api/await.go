package api

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"

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

// Invoke dispatches one invocation. A direct invocation's failure is a
// typed error (problem.Typed) the workflow's Catch reads.
func (f *Function) Invoke(ctx context.Context, payload json.RawMessage) (any, error) {
	var ev events.APIGatewayV2HTTPRequest
	if json.Unmarshal(payload, &ev) == nil && (ev.RequestContext.HTTP.Method != "" || ev.RawPath != "") {
		return f.HTTP(ctx, ev)
	}
	log := f.logger().With(obs.Operation("await_operation_notification"))
	ctx = obs.With(ctx, log)
	var a awaitEvent
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&a); err != nil || a.Await == nil {
		err := problem.Invalid(problem.CodeInvalidRequest, "", `The webhook function takes Ottu's deliveries through API Gateway, or {"await_operation_notification": {"task_token", "child_reference_number", "amount", "timeout_seconds"}} from the refund workflow.`)
		log.LogAttrs(ctx, slog.LevelWarn, "invocation refused", slog.String("error", err.Error()))
		return nil, problem.Typed(err)
	}
	res, err := f.Awaiter.Await(ctx, *a.Await)
	if err != nil {
		log.LogAttrs(ctx, slog.LevelWarn, "wait for the operation notification not registered", slog.String("error", err.Error()))
		return nil, problem.Typed(err)
	}
	log.LogAttrs(ctx, slog.LevelInfo, "waiting for the operation notification",
		slog.String("child_reference_number", a.Await.ChildReferenceNumber), slog.String("session_id", a.Await.SessionID),
		slog.Bool("resumed_at_once", res.Resumed))
	return res, nil
}
