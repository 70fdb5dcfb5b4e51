package localstack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/ottuops/ottu-lambda/dev/samtemplate"
	"github.com/ottuops/ottu-lambda/dev/sandbox"
)

// LocalParameters are the template parameters the local stack sets itself
// (Options.Parameters overrides them): the refund workflow's waits, short
// enough to watch, and a threshold the demo transactions can exceed. They
// reach the definition through the same DefinitionSubstitutions as in AWS.
var LocalParameters = map[string]string{
	"RefundApprovalThresholds":     "KWD=50.000",
	"RefundApprovalTimeoutSeconds": "900",
	"QueuedRefundPollSeconds":      "2",
	"QueuedRefundPollRounds":       "10",
	// A queued refund's notification comes seconds after it settles.
	"QueuedRefundNotificationSeconds": "10",
	"RefundRetryWaitSeconds":          "2",
	"RefundMaxWaitRounds":             "10",
}

// stateMachineRole is the role every local state machine is created with;
// moto checks no permission.
const stateMachineRole = "arn:aws:iam::" + localAccountID + ":role/ottu-lambda-local-state-machine"

// StateMachine is a state machine the stack created in moto.
type StateMachine struct {
	LogicalID string
	Name      string
	ARN       string
}

// parameters are the template's parameter defaults, then the local
// stack's own values, then the caller's; an override of a parameter the
// template does not declare is an error (a typo would otherwise be
// silently ignored).
func parameters(tmpl *samtemplate.Template, overrides map[string]string) (map[string]string, error) {
	params := tmpl.ParameterDefaults()
	for k, v := range LocalParameters {
		if _, ok := tmpl.Parameters[k]; ok {
			params[k] = v
		}
	}
	var unknown []string
	for _, k := range slices.Sorted(maps.Keys(overrides)) {
		if _, ok := tmpl.Parameters[k]; !ok {
			unknown = append(unknown, k)
			continue
		}
		params[k] = overrides[k]
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("Options.Parameters names %v, which the template does not declare", unknown)
	}
	return params, nil
}

// createStateMachines creates each of the template's state machines in
// moto from its definition file, filled in with the same
// DefinitionSubstitutions SAM uses, so moto's CreateStateMachine parses
// the definition that deploys. It adds each one's Ref, Arn and Name to refs.
func (s *Stack) createStateMachines(ctx context.Context, dir string, tmpl *samtemplate.Template, refs map[string]string) error {
	if len(tmpl.StateMachines) == 0 {
		return nil
	}
	s.step("creating the state machines (%d) in moto…", len(tmpl.StateMachines))
	client := sfn.NewFromConfig(s.AWSConfig())
	for _, sm := range tmpl.StateMachines {
		def, err := Definition(dir, sm, refs)
		if err != nil {
			return err
		}
		name, err := sm.ResolveName(refs)
		if err != nil {
			return err
		}
		if name == "" {
			name = "ottu-lambda-local-" + sm.LogicalID
		}
		out, err := client.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String(name), Definition: aws.String(string(def)), RoleArn: aws.String(stateMachineRole)})
		if err != nil {
			return fmt.Errorf("create state machine %s in moto (its definition %s does not parse?): %w", sm.LogicalID, sm.DefinitionURI, err)
		}
		arn := aws.ToString(out.StateMachineArn)
		refs[sm.LogicalID], refs[sm.LogicalID+".Arn"], refs[sm.LogicalID+".Name"] = arn, arn, name
		s.stateMachines = append(s.stateMachines, StateMachine{LogicalID: sm.LogicalID, Name: name, ARN: arn})
	}
	return nil
}

// Definition reads a state machine's definition file (relative to dir, the
// template's directory) and fills in its DefinitionSubstitutions resolved
// with refs, as CloudFormation does.
func Definition(dir string, sm samtemplate.StateMachine, refs map[string]string) ([]byte, error) {
	raw, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(sm.DefinitionURI)))
	if err != nil {
		return nil, fmt.Errorf("state machine %s: read its definition: %w", sm.LogicalID, err)
	}
	values, err := sm.ResolveSubstitutions(refs)
	if err != nil {
		return nil, err
	}
	def, err := samtemplate.Substitute(raw, values)
	if err != nil {
		return nil, fmt.Errorf("state machine %s (%s): %w", sm.LogicalID, sm.DefinitionURI, err)
	}
	if !json.Valid(def) {
		return nil, fmt.Errorf("state machine %s: %s is not JSON once its placeholders are filled in", sm.LogicalID, sm.DefinitionURI)
	}
	return def, nil
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
