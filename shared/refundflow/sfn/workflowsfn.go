// Package sfn is refundflow.StepFunctions on the AWS SDK. Only the
// refund-workflow and refund-approval functions link it (their mains pass
// FromConfig to shared/platform/boot), so only their binaries carry the Step
// Functions SDK.
package sfn

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/ottuops/ottu-lambda/shared/platform/sfntask"
	"github.com/ottuops/ottu-lambda/shared/refundflow"
)

// API is the part of the Step Functions client used; *sfn.Client is one.
type API interface {
	StartExecution(ctx context.Context, in *sfn.StartExecutionInput, optFns ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error)
	DescribeExecution(ctx context.Context, in *sfn.DescribeExecutionInput, optFns ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error)
	GetExecutionHistory(ctx context.Context, in *sfn.GetExecutionHistoryInput, optFns ...func(*sfn.Options)) (*sfn.GetExecutionHistoryOutput, error)
	SendTaskSuccess(ctx context.Context, in *sfn.SendTaskSuccessInput, optFns ...func(*sfn.Options)) (*sfn.SendTaskSuccessOutput, error)
	SendTaskFailure(ctx context.Context, in *sfn.SendTaskFailureInput, optFns ...func(*sfn.Options)) (*sfn.SendTaskFailureOutput, error)
}

// Client implements refundflow.StepFunctions.
type Client struct{ api API }

var _ refundflow.StepFunctions = (*Client)(nil)

// New wraps api.
func New(api API) *Client { return &Client{api: api} }

// FromConfig builds the client from the function's AWS configuration
// (AWS_ENDPOINT_URL points it at moto locally).
func FromConfig(cfg aws.Config) refundflow.StepFunctions { return New(sfn.NewFromConfig(cfg)) }

// StartExecution starts the named execution.
func (c *Client) StartExecution(ctx context.Context, stateMachineARN, name, input string) (string, error) {
	out, err := c.api.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(stateMachineARN), Name: aws.String(name), Input: aws.String(input)})
	var exists *types.ExecutionAlreadyExists
	switch {
	case errors.As(err, &exists):
		return "", refundflow.ErrExecutionExists
	case err != nil:
		return "", fmt.Errorf("start execution: %w", err)
	}
	return aws.ToString(out.ExecutionArn), nil
}

// DescribeExecution reads one execution.
func (c *Client) DescribeExecution(ctx context.Context, arn string) (*refundflow.Execution, error) {
	out, err := c.api.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
	var missing *types.ExecutionDoesNotExist
	switch {
	case errors.As(err, &missing):
		return nil, refundflow.ErrExecutionNotFound
	case err != nil:
		return nil, fmt.Errorf("describe execution: %w", err)
	}
	ex := &refundflow.Execution{
		ARN: aws.ToString(out.ExecutionArn), Name: aws.ToString(out.Name), Status: string(out.Status),
		Input: aws.ToString(out.Input), Output: aws.ToString(out.Output),
		Error: aws.ToString(out.Error), Cause: aws.ToString(out.Cause),
	}
	if out.StartDate != nil {
		ex.StartedAt = *out.StartDate
	}
	if out.StopDate != nil {
		ex.StoppedAt = *out.StopDate
	}
	return ex, nil
}

// historyPage is how many of the newest events RecentEvents reads.
const historyPage = 100

// RecentEvents reads the newest events, newest first (an emulator that
// ignores the order gives them all; refundflow picks by id either way).
func (c *Client) RecentEvents(ctx context.Context, arn string) ([]refundflow.Event, error) {
	out, err := c.api.GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{
		ExecutionArn: aws.String(arn), ReverseOrder: true, MaxResults: historyPage, IncludeExecutionData: aws.Bool(false),
	})
	var missing *types.ExecutionDoesNotExist
	switch {
	case errors.As(err, &missing):
		return nil, refundflow.ErrExecutionNotFound
	case err != nil:
		return nil, fmt.Errorf("execution history: %w", err)
	}
	events := make([]refundflow.Event, 0, len(out.Events))
	for _, e := range out.Events {
		ev := refundflow.Event{ID: e.Id, Type: string(e.Type)}
		if d := e.StateEnteredEventDetails; d != nil {
			ev.StateName = aws.ToString(d.Name)
		}
		events = append(events, ev)
	}
	return events, nil
}

// SendTaskSuccess ends a waiting task with output.
func (c *Client) SendTaskSuccess(ctx context.Context, token string, output []byte) error {
	_, err := c.api.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: aws.String(token), Output: aws.String(string(output))})
	return taskError("send task success", err)
}

// SendTaskFailure fails a waiting task with the error name and cause.
func (c *Client) SendTaskFailure(ctx context.Context, token, errorName, cause string) error {
	_, err := c.api.SendTaskFailure(ctx, &sfn.SendTaskFailureInput{TaskToken: aws.String(token), Error: aws.String(errorName), Cause: aws.String(cause)})
	return taskError("send task failure", err)
}

// taskError wraps refundflow.ErrTaskGone for a token Step Functions no
// longer accepts (timed out, ended, or unknown); the token is never named.
func taskError(what string, err error) error {
	if err == nil {
		return nil
	}
	if _, gone := sfntask.Gone(err); gone {
		return fmt.Errorf("%s: %w", what, refundflow.ErrTaskGone)
	}
	return fmt.Errorf("%s: %w", what, err)
}
