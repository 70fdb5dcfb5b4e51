package sfn

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/ottuops/ottu-lambda/shared/webhook"
)

type fakeAPI struct {
	err    error
	in     *sfn.SendTaskSuccessInput
	failIn *sfn.SendTaskFailureInput
}

func (f *fakeAPI) SendTaskFailure(_ context.Context, in *sfn.SendTaskFailureInput, _ ...func(*sfn.Options)) (*sfn.SendTaskFailureOutput, error) {
	f.failIn = in
	return &sfn.SendTaskFailureOutput{}, f.err
}

func (f *fakeAPI) SendTaskSuccess(_ context.Context, in *sfn.SendTaskSuccessInput, _ ...func(*sfn.Options)) (*sfn.SendTaskSuccessOutput, error) {
	f.in = in
	return &sfn.SendTaskSuccessOutput{}, f.err
}

func TestSendTaskSuccess(t *testing.T) {
	cases := []struct {
		name        string
		err         error
		wantGone    bool
		wantErr     bool
		wantRefused bool
	}{
		{name: "a live token is resumed with the output"},
		{name: "a timed-out task is gone", err: &types.TaskTimedOut{Message: aws.String("timed out")}, wantGone: true, wantErr: true},
		{name: "a task that no longer exists is gone", err: &types.TaskDoesNotExist{}, wantGone: true, wantErr: true},
		{name: "an invalid token is gone", err: &types.InvalidToken{}, wantGone: true, wantErr: true},
		{name: "throttling is a transient failure, not gone", err: errors.New("ThrottlingException"), wantErr: true},
		{name: "an output Step Functions refuses is refused for good", err: &types.InvalidOutput{}, wantErr: true, wantRefused: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			api := &fakeAPI{err: tc.err}
			err := New(api).SendTaskSuccess(context.Background(), "tok-1", []byte(`{"state":"paid"}`))
			if (err != nil) != tc.wantErr || errors.Is(err, webhook.ErrTaskGone) != tc.wantGone || errors.Is(err, webhook.ErrOutputRefused) != tc.wantRefused {
				t.Fatalf("err %v", err)
			}
			if aws.ToString(api.in.TaskToken) != "tok-1" || aws.ToString(api.in.Output) != `{"state":"paid"}` {
				t.Errorf("sent %+v", api.in)
			}
			if err != nil && tc.wantGone && strings.Contains(err.Error(), "tok-1") {
				t.Errorf("the token leaked into the error: %v", err)
			}
		})
	}
}

func TestSendTaskFailure(t *testing.T) {
	api := &fakeAPI{}
	if err := New(api).SendTaskFailure(context.Background(), "tok-1", webhook.ErrorCallbackTooLarge, "too large"); err != nil {
		t.Fatal(err)
	}
	if aws.ToString(api.failIn.TaskToken) != "tok-1" || aws.ToString(api.failIn.Error) != "CallbackTooLarge" || aws.ToString(api.failIn.Cause) != "too large" {
		t.Errorf("sent %+v", api.failIn)
	}
	api.err = &types.TaskTimedOut{}
	if err := New(api).SendTaskFailure(context.Background(), "tok-1", "E", "c"); !errors.Is(err, webhook.ErrTaskGone) {
		t.Errorf("a timed-out task: %v", err)
	}
}
