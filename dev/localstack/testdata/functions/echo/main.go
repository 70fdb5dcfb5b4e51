// Command echo is a tiny Lambda function for the local stack's tests: a
// real lambda.Start program that echoes its event and misbehaves on request.
//
// The action comes from the event's "action" field (direct invocation) or
// from the "action" query parameter (API Gateway events):
//
//	echo (default)  {"pid", "function", "function_arn", "request_id", "event"}
//	respond         returns the API event's body verbatim as the response
//	error           returns an *EchoError
//	sleep           sleeps far past any timeout, ignoring the deadline
//	panic           panics
//	exit            exits with status 3 without answering
//	env             returns the process environment as an object
//	print           writes the event's "message" to stdout, then echoes
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

// EchoError gives the function error a type name the tests can check.
type EchoError struct{ Reason string }

func (e *EchoError) Error() string { return e.Reason }

type event struct {
	Action  string `json:"action"`
	Message string `json:"message"`
	Query   struct {
		Action string `json:"action"`
	} `json:"queryStringParameters"`
	Body string `json:"body"`
}

func handle(ctx context.Context, raw json.RawMessage) (json.RawMessage, error) {
	var ev event
	_ = json.Unmarshal(raw, &ev)
	action := ev.Action
	if action == "" {
		action = ev.Query.Action
	}
	switch action {
	case "respond":
		return json.RawMessage(ev.Body), nil
	case "error":
		return nil, &EchoError{Reason: "asked to fail"}
	case "sleep":
		time.Sleep(time.Hour)
		return nil, nil
	case "panic":
		panic("asked to panic")
	case "exit":
		os.Exit(3)
	case "print":
		fmt.Println(ev.Message)
	case "env":
		env := map[string]string{}
		for _, kv := range os.Environ() {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
		return json.Marshal(env)
	}
	var requestID, arn string
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		requestID, arn = lc.AwsRequestID, lc.InvokedFunctionArn
	}
	return json.Marshal(map[string]any{
		"pid":          os.Getpid(),
		"function":     os.Getenv("AWS_LAMBDA_FUNCTION_NAME"),
		"function_arn": arn,
		"request_id":   requestID,
		"event":        raw,
	})
}

func main() { lambda.Start(handle) }
