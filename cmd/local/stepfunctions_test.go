package main

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/ottuops/ottu-lambda/dev/localstack"
	"github.com/ottuops/ottu-lambda/dev/sandbox"
)

// stepFunctionsWalk runs a workflow that waits for Ottu on the running
// stack, as a merchant's would: moto's Step Functions engine runs a
// .waitForTaskToken task that invokes the real InquiryFunction binary
// through the stack's Invoke API (named by ARN with a qualifier, as Step
// Functions sends it) with the task token; the sandbox discloses the
// transaction twice to the real WebhookFunction, which resumes the task
// once; the execution succeeds with the callback as its output.
func stepFunctionsWalk(ctx context.Context, t *testing.T, stack *localstack.Stack) {
	const session = "walk-sfn-1"
	if _, err := stack.Sandbox().CreateTransaction(sandbox.TransactionSpec{SessionID: session, Amount: "5.000", CurrencyCode: "KWD",
		State: sandbox.StateAttempted, PGCode: "kpay", AgeMinutes: sandbox.DemoAgeMinutes}); err != nil {
		t.Fatal(err)
	}
	if err := stack.Sandbox().AddFault(sandbox.Fault{Kind: sandbox.FaultDuplicateCallback, Copies: 2}); err != nil {
		t.Fatal(err)
	}
	client, execution := startWaitForDisclosure(ctx, t, stack, "walk-wait-for-disclosure", session)
	var (
		out *sfn.DescribeExecutionOutput
		err error
	)
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(100 * time.Millisecond) {
		if out, err = client.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: execution}); err != nil {
			t.Fatal(err)
		}
		if out.Status != sfntypes.ExecutionStatusRunning {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the execution still waits after a minute")
		}
	}
	hist, err := client.GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{ExecutionArn: execution})
	if err != nil {
		t.Fatal(err)
	}
	var events []string
	for _, e := range hist.Events {
		events = append(events, string(e.Type))
	}
	t.Run("the execution succeeds with the callback's summary as its output, without the signature", func(t *testing.T) {
		var callback map[string]any
		if out.Status != sfntypes.ExecutionStatusSucceeded || json.Unmarshal([]byte(aws.ToString(out.Output)), &callback) != nil ||
			callback["session_id"] != session || callback["signature"] != nil || callback["state"] != sandbox.StateAttempted {
			t.Fatalf("execution %s, output %s; events %v", out.Status, aws.ToString(out.Output), events)
		}
	})
	t.Run("the task was resumed once, though the callback was delivered twice", func(t *testing.T) {
		n := 0
		for _, e := range events {
			if e == string(sfntypes.HistoryEventTypeTaskSucceeded) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d TaskSucceeded events, want 1: %v", n, events)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			tx, _ := stack.Sandbox().Transaction(session)
			done := 0
			for _, cb := range tx.Callbacks {
				if cb.Outcome == sandbox.OutcomeDelivered {
					done++
				}
			}
			if done == 2 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("callbacks %+v, want two delivered", tx.Callbacks)
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
}

// startWaitForDisclosure creates testdata/wait-for-disclosure.asl.json as
// state machine name in moto and starts it for session: an inquiry task
// that waits, with a task token, for the transaction's disclosure.
func startWaitForDisclosure(ctx context.Context, t *testing.T, stack *localstack.Stack, name, session string) (*sfn.Client, *string) {
	t.Helper()
	definition, err := os.ReadFile("testdata/wait-for-disclosure.asl.json")
	if err != nil {
		t.Fatal(err)
	}
	client := sfn.NewFromConfig(stack.AWSConfig())
	sm, err := client.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{
		Name: aws.String(name),
		Definition: aws.String(strings.ReplaceAll(string(definition), "${InquiryFunctionArn}",
			"arn:aws:lambda:us-east-1:123456789012:function:InquiryFunction:$LATEST")),
		RoleArn: aws.String("arn:aws:iam::123456789012:role/walk-state-machine"),
	})
	if err != nil {
		t.Fatalf("create the state machine in moto: %v", err)
	}
	run, err := client.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: sm.StateMachineArn, Input: aws.String(`{"session_id":"` + session + `"}`)})
	if err != nil {
		t.Fatal(err)
	}
	return client, run.ExecutionArn
}
