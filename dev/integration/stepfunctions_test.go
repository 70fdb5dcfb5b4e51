package integration_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/ottuops/ottu-lambda/dev/testkit"
)

// execution is how a state machine run ended.
type execution struct {
	status, output string
	// history is the execution's events as JSON, for counting and for
	// failure messages.
	history string
	// events is the whole history as JSON: every event's details (task
	// parameters, outputs), as Step Functions keeps them for 90 days.
	events string
}

// runStateMachine creates definition in moto's Step Functions, runs it
// with input and waits for it to end (moto's engine runs executions
// asynchronously).
func runStateMachine(ctx context.Context, t *testing.T, cfg aws.Config, definition, input string) execution {
	t.Helper()
	client := sfn.NewFromConfig(cfg)
	sm, err := client.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{
		Name:       aws.String(testkit.UniqueName("wait-for-disclosure")),
		Definition: aws.String(definition),
		RoleArn:    aws.String("arn:aws:iam::123456789012:role/test-state-machine"),
	})
	if err != nil {
		t.Fatalf("create state machine: %v", err)
	}
	run, err := client.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: sm.StateMachineArn, Input: aws.String(input)})
	if err != nil {
		t.Fatalf("start execution: %v", err)
	}
	var out *sfn.DescribeExecutionOutput
	for {
		out, err = client.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: run.ExecutionArn})
		if err != nil {
			t.Fatalf("describe execution: %v", err)
		}
		if out.Status != sfntypes.ExecutionStatusRunning {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the execution was still running when the test's time ran out")
		case <-time.After(100 * time.Millisecond):
		}
	}
	hist, err := client.GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{ExecutionArn: run.ExecutionArn})
	if err != nil {
		t.Fatalf("execution history: %v", err)
	}
	types := make([]string, 0, len(hist.Events))
	for _, e := range hist.Events {
		types = append(types, string(e.Type))
	}
	b, _ := json.Marshal(types)
	events, _ := json.Marshal(hist.Events)
	return execution{status: string(out.Status), output: aws.ToString(out.Output), history: string(b), events: string(events)}
}
