package localstack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ottuops/ottu-lambda/dev/sandbox"
)

// StateMachine is a state machine the stack created in moto.
type StateMachine struct {
	LogicalID string
	Name      string
	ARN       string
}

// StateMachines lists the state machines the stack created in moto.
func (s *Stack) StateMachines() []StateMachine { return slices.Clone(s.stateMachines) }

// The demo workflow the stack starts at start-up, so that the sample
// events of the workflow's routes (events/refund-workflow-read-apigw.json,
// events/refund-approval-apigw.json) find a workflow waiting for approval
// on a fresh stack.
const (
	demoWorkflowFunction = "RefundWorkflowFunction"
	demoApprovalFunction = "RefundApprovalFunction"
)

// seedDemoWorkflow starts sandbox.DemoWorkflowID through the real
// refund-workflow function, as POST /refund-workflows does, and waits until
// it waits for its approval.
func (s *Stack) seedDemoWorkflow(ctx context.Context) error {
	what := fmt.Sprintf("seed the demo refund workflow %s", sandbox.DemoWorkflowID)
	body, err := json.Marshal(map[string]string{
		"session_id": sandbox.DemoWorkflowSessionID, "amount": sandbox.DemoWorkflowAmount,
		"reason": "Demo refund above the approval threshold", "refund_id": sandbox.DemoWorkflowID,
	})
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "POST /refund-workflows", RawPath: "/refund-workflows", Body: string(body),
		Headers: map[string]string{"content-type": "application/json"},
		RequestContext: events.APIGatewayV2HTTPRequestContext{RequestID: "local-seed-workflow", DomainName: hostOf(s.urls.API),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "POST", Path: "/refund-workflows"}},
	}
	// Started by the local requester, so the local approver (or the unsigned
	// local principal) may approve it.
	requester := s.users[LocalUsers[0].AccessKeyID]
	ev.RequestContext.Authorizer = iamIdentity(&requester)
	payload, _ := json.Marshal(ev)
	out, err := s.functions.Invoke(ctx, demoWorkflowFunction, payload)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(out, &resp); err != nil || resp.StatusCode != 202 {
		return fmt.Errorf("%s: the function answered %s, want 202", what, out)
	}
	read := ev
	read.RouteKey, read.RawPath, read.Body = "GET /refund-workflows/{id}", "/refund-workflows/"+sandbox.DemoWorkflowID, ""
	read.RequestContext.HTTP.Method, read.RequestContext.HTTP.Path = "GET", read.RawPath
	read.PathParameters = map[string]string{"id": sandbox.DemoWorkflowID}
	payload, _ = json.Marshal(read)
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, err := s.functions.Invoke(ctx, demoWorkflowFunction, payload)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		var view struct {
			Status   string `json:"status"`
			Approval *struct {
				Status string `json:"status"`
			} `json:"approval"`
		}
		_ = json.Unmarshal(out, &resp)
		if json.Unmarshal([]byte(resp.Body), &view) == nil && view.Approval != nil && view.Approval.Status == "pending" {
			return nil
		}
		if view.Status != "" && view.Status != "running" {
			return fmt.Errorf("%s: it ended (%s) instead of waiting for its approval: %s", what, view.Status, resp.Body)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: it does not wait for its approval after 30 s: %s", what, resp.Body)
		}
		select {
		case <-ctx.Done():
			return errors.Join(fmt.Errorf("%s", what), ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// hostOf is the host:port of a base URL such as http://127.0.0.1:3000.
func hostOf(baseURL string) string {
	if u, err := url.Parse(baseURL); err == nil {
		return u.Host
	}
	return ""
}
