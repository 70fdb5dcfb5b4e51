// Package tasktoken holds the one rule every function applies to a Step
// Functions task token it is handed: its length. Step Functions' task
// tokens are at most 2,048 characters (the TaskToken member of
// SendTaskSuccess, SendTaskFailure and SendTaskHeartbeat).
package tasktoken

// MaxLength is Step Functions' limit on a task token.
const MaxLength = 2048

// TooLong reports whether token is longer than Step Functions allows.
func TooLong(token string) bool { return len(token) > MaxLength }
