package localstack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// lambdaFunctions runs functions and tells, without running one, whether a
// name exists (for DryRun and Event invocations).
type lambdaFunctions interface {
	invoker
	Has(name string) bool
}

// invokePattern is the Lambda Invoke API route (`sam local start-lambda`).
const invokePattern = "POST /2015-03-31/functions/{name}/invocations"

// Lambda's payload limits for synchronous and asynchronous invocations.
const (
	maxSyncPayload  = 6 << 20
	maxAsyncPayload = 256 << 10
)

// lambdaAPI serves the Lambda Invoke API for the template's functions, so
// the AWS CLI and SDKs (Step Functions code, say) can invoke them locally.
type lambdaAPI struct {
	functions lambdaFunctions
	logger    *slog.Logger
	// background is the context asynchronous invocations run under; it ends
	// when the stack stops.
	background context.Context
}

func (l *lambdaAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name, qualifier := functionName(r.PathValue("name"))
	if q := r.URL.Query().Get("Qualifier"); q != "" {
		qualifier = q
	}
	if qualifier != "" && qualifier != "$LATEST" {
		lambdaError(w, http.StatusNotFound, "ResourceNotFoundException", "Function not found: "+functionARN(name)+":"+qualifier)
		return
	}

	mode := r.Header.Get("X-Amz-Invocation-Type")
	limit := int64(maxSyncPayload)
	switch mode {
	case "", "RequestResponse", "DryRun":
	case "Event":
		limit = maxAsyncPayload
	default:
		lambdaError(w, http.StatusBadRequest, "InvalidParameterValueException", "X-Amz-Invocation-Type must be RequestResponse, Event or DryRun, got "+strconv.Quote(mode))
		return
	}
	payload, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		lambdaError(w, http.StatusBadRequest, "InvalidRequestContentException", "Could not read the request body: "+err.Error())
		return
	}
	if int64(len(payload)) > limit {
		lambdaError(w, http.StatusRequestEntityTooLarge, "RequestTooLargeException",
			"Request must be smaller than "+strconv.FormatInt(limit, 10)+" bytes for the Invoke operation")
		return
	}
	if len(bytes.TrimSpace(payload)) == 0 {
		payload = []byte("{}")
	}
	if !json.Valid(payload) {
		lambdaError(w, http.StatusBadRequest, "InvalidRequestContentException", "Could not parse request body into json: the payload is not valid JSON")
		return
	}

	if mode == "DryRun" || mode == "Event" {
		switch {
		case !l.functions.Has(name):
			lambdaError(w, http.StatusNotFound, "ResourceNotFoundException", "Function not found: "+functionARN(name))
		case mode == "Event":
			go l.invokeAsync(name, payload)
			w.WriteHeader(http.StatusAccepted)
		default:
			w.WriteHeader(http.StatusNoContent)
		}
		return
	}

	result, err := l.functions.Invoke(r.Context(), name, payload)
	var fnErr *FunctionError
	switch {
	case errors.Is(err, errFunctionNotFound):
		lambdaError(w, http.StatusNotFound, "ResourceNotFoundException", "Function not found: "+functionARN(name))
		return
	case errors.As(err, &fnErr):
		result, _ = json.Marshal(fnErr)
		w.Header().Set("X-Amz-Function-Error", "Unhandled")
	case err != nil:
		if r.Context().Err() == nil {
			l.logger.Error("invocation failed", "function", name, "error", err.Error())
		}
		lambdaError(w, http.StatusInternalServerError, "ServiceException", "The function could not be invoked: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amz-Executed-Version", "$LATEST")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(result) //nolint:gosec // G705: Invoke answers the function's JSON payload verbatim, as Lambda does
}

func (l *lambdaAPI) invokeAsync(name string, payload []byte) {
	_, err := l.functions.Invoke(l.background, name, payload)
	if err != nil && l.background.Err() == nil {
		l.logger.Error("asynchronous invocation failed", append([]any{"function", name}, errorAttrs(err)...)...)
	}
}

// functionName takes a logical id, a function ARN or a partial ARN
// ("123456789012:function:Name"), with an optional ":qualifier", and returns
// the name and the qualifier.
func functionName(s string) (name, qualifier string) {
	parts := strings.Split(s, ":")
	for i, p := range parts {
		if p == "function" && i+1 < len(parts) {
			name = parts[i+1]
			if i+2 < len(parts) {
				qualifier = parts[i+2]
			}
			return name, qualifier
		}
	}
	if len(parts) == 2 {
		return parts[0], parts[1]
	}
	return s, ""
}

// lambdaError answers the way the Lambda service does, with the error code in
// x-amzn-ErrorType so SDKs and the CLI name it.
func lambdaError(w http.ResponseWriter, status int, code, message string) {
	kind := "User"
	if status >= 500 {
		kind = "Service"
	}
	b, _ := json.Marshal(map[string]string{"Type": kind, "Message": message})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-Errortype", code)
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// portOf is the port of a base URL such as http://127.0.0.1:3000.
func portOf(baseURL string) (int, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return 0, fmt.Errorf("the API address %q: %w", baseURL, err)
	}
	p, err := strconv.Atoi(u.Port())
	if err != nil || p <= 0 {
		return 0, fmt.Errorf("the API address %q has no port", baseURL)
	}
	return p, nil
}
