package testkit

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

func TestSharedMotoAnswersDynamoDB(t *testing.T) {
	m := SharedMoto(t)
	out, err := dynamodb.NewFromConfig(m.AWSConfig()).ListTables(context.Background(), &dynamodb.ListTablesInput{})
	if err != nil {
		t.Fatalf("ListTables against moto: %v", err)
	}
	if out == nil {
		t.Fatal("ListTables returned nothing")
	}
}

// TestMotoRunsMoreThanOneExecution: with the engine on, moto 5.2.1 alone
// fails every StartExecution after the first (getmoto/moto#10077); the
// patch testenv loads into moto_server lets a state machine run again and
// again, and others beside it.
func TestMotoRunsMoreThanOneExecution(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	port, err := FreePort() // no Lambda task here: nothing need listen on it
	if err != nil {
		t.Fatal(err)
	}
	m, err := StartMotoWith(ctx, "127.0.0.1:0", MotoOptions{LambdaPort: port})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Stop()
	client := sfn.NewFromConfig(m.AWSConfig())
	definition := `{"StartAt": "Done", "States": {"Done": {"Type": "Pass", "Result": {"ok": true}, "End": true}}}`
	for _, machine := range []string{"first", "second"} {
		sm, err := client.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String(machine), Definition: aws.String(definition),
			RoleArn: aws.String("arn:aws:iam::123456789012:role/test")})
		if err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			t.Run(fmt.Sprintf("execution %d of the %s state machine starts and succeeds", i+1, machine), func(t *testing.T) {
				run, err := client.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: sm.StateMachineArn,
					Name: aws.String(fmt.Sprintf("run-%d", i)), Input: aws.String(`{}`)})
				if err != nil {
					t.Fatalf("start: %v", err)
				}
				for {
					out, err := client.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: run.ExecutionArn})
					if err != nil {
						t.Fatal(err)
					}
					if out.Status != sfntypes.ExecutionStatusRunning {
						if out.Status != sfntypes.ExecutionStatusSucceeded {
							t.Fatalf("execution %s: %s %s", out.Status, aws.ToString(out.Error), aws.ToString(out.Cause))
						}
						return
					}
					time.Sleep(50 * time.Millisecond)
				}
			})
		}
	}
}
