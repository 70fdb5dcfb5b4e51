package sfntask

import (
	"errors"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

func TestGone(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		wantName string
		wantGone bool
	}{
		{"a timed-out task is gone", fmt.Errorf("send: %w", &types.TaskTimedOut{}), "TaskTimedOut", true},
		{"a task that does not exist is gone", &types.TaskDoesNotExist{}, "TaskDoesNotExist", true},
		{"an invalid token is gone", &types.InvalidToken{}, "InvalidToken", true},
		{"a throttle may pass on a retry", errors.New("ThrottlingException"), "", false},
		{"no error is not gone", nil, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if name, gone := Gone(tt.err); name != tt.wantName || gone != tt.wantGone {
				t.Fatalf("Gone = %q, %v", name, gone)
			}
		})
	}
}
