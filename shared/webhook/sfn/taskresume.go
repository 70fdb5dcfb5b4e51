// Package sfn ends waiting Step Functions tasks (.waitForTaskToken)
// with SendTaskSuccess: the webhook.Resumer of the webhook function. Only
// the webhook links it, so only its binary carries the Step Functions SDK.
package sfn

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/ottuops/ottu-lambda/shared/platform/sfntask"
	"github.com/ottuops/ottu-lambda/shared/webhook"
)

// API is the part of the Step Functions client used; *sfn.Client is one.
type API interface {
	SendTaskSuccess(ctx context.Context, in *sfn.SendTaskSuccessInput, optFns ...func(*sfn.Options)) (*sfn.SendTaskSuccessOutput, error)
	SendTaskFailure(ctx context.Context, in *sfn.SendTaskFailureInput, optFns ...func(*sfn.Options)) (*sfn.SendTaskFailureOutput, error)
}

// Client resumes tasks through API.
type Client struct{ api API }

var _ webhook.Resumer = (*Client)(nil)

// New wraps api.
func New(api API) *Client { return &Client{api: api} }

// FromConfig builds the Step Functions client from the function's AWS
// configuration (AWS_ENDPOINT_URL points it at moto locally).
func FromConfig(cfg aws.Config) webhook.Resumer { return New(sfn.NewFromConfig(cfg)) }

// SendTaskSuccess ends the task holding token with output. Step Functions'
// answers for a token that can no longer be used — the task timed out
// (TaskTimedOut), was already ended or never existed (TaskDoesNotExist,
// InvalidToken) — wrap webhook.ErrTaskGone; the caller logs them and moves
// on. Every other error may pass on a retry.
func (c *Client) SendTaskSuccess(ctx context.Context, token string, output []byte) error {
	_, err := c.api.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: aws.String(token), Output: aws.String(string(output))})
	var refused *types.InvalidOutput
	if errors.As(err, &refused) {
		return fmt.Errorf("%w (InvalidOutput)", webhook.ErrOutputRefused)
	}
	return taskError("send task success", err)
}

// SendTaskFailure ends the task holding token with errorName and cause;
// its errors are those of SendTaskSuccess.
func (c *Client) SendTaskFailure(ctx context.Context, token, errorName, cause string) error {
	_, err := c.api.SendTaskFailure(ctx, &sfn.SendTaskFailureInput{TaskToken: aws.String(token), Error: aws.String(errorName), Cause: aws.String(cause)})
	return taskError("send task failure", err)
}

func taskError(what string, err error) error {
	if err == nil {
		return nil
	}
	if name, gone := sfntask.Gone(err); gone {
		return fmt.Errorf("%w (%s)", webhook.ErrTaskGone, name)
	}
	return fmt.Errorf("%s: %w", what, err)
}
