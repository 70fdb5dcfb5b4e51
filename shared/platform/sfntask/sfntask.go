// Package sfntask holds the one reading of Step Functions' answers to
// SendTaskSuccess and SendTaskFailure that every capability resuming a
// waiting task shares: which errors mean the task token is no longer
// accepted, so that a caller stops retrying it.
package sfntask

import (
	"errors"

	"github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

// Gone reports whether err says Step Functions no longer accepts the task
// token (the task timed out, ended, or the token is unknown), with the
// error's name. Every other error may pass on a retry.
func Gone(err error) (name string, gone bool) {
	var (
		timedOut *types.TaskTimedOut
		missing  *types.TaskDoesNotExist
		invalid  *types.InvalidToken
	)
	switch {
	case errors.As(err, &timedOut):
		return "TaskTimedOut", true
	case errors.As(err, &missing):
		return "TaskDoesNotExist", true
	case errors.As(err, &invalid):
		return "InvalidToken", true
	}
	return "", false
}
