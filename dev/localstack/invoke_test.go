package localstack

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ottuops/ottu-lambda/dev/testkit"
)

// lambdaServer serves the Invoke API for the echo function; out collects
// the function's output.
func lambdaServer(t *testing.T) (base string, out *testkit.Buffer) {
	t.Helper()
	out = &testkit.Buffer{}
	p := newPool(functionConfig{
		Name:         "EchoFunction",
		Binary:       echoBinary(t),
		RIE:          rieBinary(t),
		Timeout:      5 * time.Second,
		MaxProcesses: 2,
		Output:       newLineSink(out),
	})
	t.Cleanup(p.Close)
	fns := functionSet{"EchoFunction": p}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	mux := http.NewServeMux()
	mux.Handle(invokePattern, &lambdaAPI{functions: fns, logger: slog.New(slog.DiscardHandler), background: ctx})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL, out
}

func invokeURL(base, name string) string {
	return base + "/2015-03-31/functions/" + url.PathEscape(name) + "/invocations"
}

type invokeResult struct {
	status int
	header http.Header
	body   []byte
}

func postInvoke(t *testing.T, base, name, invocationType string, payload []byte) invokeResult {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, invokeURL(base, name), bytes.NewReader(payload))
	if invocationType != "" {
		req.Header.Set("X-Amz-Invocation-Type", invocationType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	return invokeResult{resp.StatusCode, resp.Header, body}
}

func TestInvokeAPI(t *testing.T) {
	base, out := lambdaServer(t)
	const arn = "arn:aws:lambda:us-east-1:123456789012:function:EchoFunction"

	for _, name := range []string{"EchoFunction", arn, arn + ":$LATEST", "123456789012:function:EchoFunction"} {
		t.Run("a synchronous invocation by "+name+" returns the function's payload", func(t *testing.T) {
			got := postInvoke(t, base, name, "", []byte(`{"a":1}`))
			if got.status != http.StatusOK || got.header.Get("X-Amz-Executed-Version") != "$LATEST" || got.header.Get("X-Amz-Function-Error") != "" {
				t.Fatalf("got %d %v %s", got.status, got.header, got.body)
			}
			var ans echoAnswer
			if err := json.Unmarshal(got.body, &ans); err != nil || !jsonEqual(ans.Event, `{"a":1}`) {
				t.Fatalf("payload %s, want the echo of {\"a\":1}", got.body)
			}
		})
	}

	t.Run("a name sent fully percent-encoded, as botocore and Step Functions send an ARN with a qualifier, is understood", func(t *testing.T) {
		escaped := strings.NewReplacer(":", "%3A", "$", "%24").Replace(arn + ":$LATEST")
		resp, err := http.Post(base+"/2015-03-31/functions/"+escaped+"/invocations", "application/json", strings.NewReader(`{"a":2}`))
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }()
		body, _ := io.ReadAll(resp.Body)
		var ans echoAnswer
		if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &ans) != nil || !jsonEqual(ans.Event, `{"a":2}`) {
			t.Fatalf("got %d %s", resp.StatusCode, body)
		}
	})

	t.Run("an empty payload reaches the function as {}", func(t *testing.T) {
		got := postInvoke(t, base, "EchoFunction", "RequestResponse", nil)
		var ans echoAnswer
		if err := json.Unmarshal(got.body, &ans); err != nil || !jsonEqual(ans.Event, `{}`) {
			t.Fatalf("got %d %s", got.status, got.body)
		}
	})

	t.Run("a function error answers 200 with X-Amz-Function-Error and errorType, errorMessage", func(t *testing.T) {
		got := postInvoke(t, base, "EchoFunction", "", []byte(`{"action":"error"}`))
		if got.status != http.StatusOK || got.header.Get("X-Amz-Function-Error") != "Unhandled" {
			t.Fatalf("got %d %v", got.status, got.header)
		}
		if !jsonEqual(got.body, `{"errorType":"EchoError","errorMessage":"asked to fail"}`) {
			t.Fatalf("body %s", got.body)
		}
	})

	t.Run("an Event invocation is accepted with 202 and runs on its own, its output prefixed", func(t *testing.T) {
		got := postInvoke(t, base, "EchoFunction", "Event", []byte(`{"action":"print","message":"async-marker"}`))
		if got.status != http.StatusAccepted || len(got.body) != 0 {
			t.Fatalf("got %d %s, want 202 and no body", got.status, got.body)
		}
		waitUntil(t, func() bool { return strings.Contains(out.String(), "EchoFunction | async-marker\n") })
	})

	t.Run("a DryRun answers 204 without running", func(t *testing.T) {
		if got := postInvoke(t, base, "EchoFunction", "DryRun", []byte(`{}`)); got.status != http.StatusNoContent {
			t.Fatalf("got %d %s", got.status, got.body)
		}
	})

	refusals := []struct {
		name, function, invocationType string
		payload                        []byte
		wantStatus                     int
		wantCode, wantMessage          string
	}{
		{"an unknown function is ResourceNotFoundException", "Nope", "", []byte(`{}`), 404, "ResourceNotFoundException", "Function not found: arn:aws:lambda:us-east-1:123456789012:function:Nope"},
		{"a DryRun of an unknown function is ResourceNotFoundException", "Nope", "DryRun", []byte(`{}`), 404, "ResourceNotFoundException", "Function not found"},
		{"an Event for an unknown function is ResourceNotFoundException", "Nope", "Event", []byte(`{}`), 404, "ResourceNotFoundException", "Function not found"},
		{"a published version that does not exist is ResourceNotFoundException", arn + ":3", "", []byte(`{}`), 404, "ResourceNotFoundException", "Function not found"},
		{"a payload that is not JSON is InvalidRequestContentException", "EchoFunction", "", []byte(`{nope`), 400, "InvalidRequestContentException", "Could not parse request body into json"},
		{"an unknown invocation type is InvalidParameterValueException", "EchoFunction", "Sometime", []byte(`{}`), 400, "InvalidParameterValueException", "X-Amz-Invocation-Type"},
		{"a payload over 6 MB is RequestTooLargeException", "EchoFunction", "", []byte(`"` + strings.Repeat("a", maxSyncPayload) + `"`), 413, "RequestTooLargeException", "6291456 bytes"},
		{"an Event payload over 256 KB is RequestTooLargeException", "EchoFunction", "Event", []byte(`"` + strings.Repeat("a", maxAsyncPayload) + `"`), 413, "RequestTooLargeException", "262144 bytes"},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			got := postInvoke(t, base, tt.function, tt.invocationType, tt.payload)
			var body struct{ Type, Message string }
			_ = json.Unmarshal(got.body, &body)
			if got.status != tt.wantStatus || got.header.Get("X-Amzn-Errortype") != tt.wantCode ||
				body.Type != "User" || !strings.Contains(body.Message, tt.wantMessage) {
				t.Fatalf("got %d %s %s, want %d %s with %q", got.status, got.header.Get("X-Amzn-Errortype"), got.body, tt.wantStatus, tt.wantCode, tt.wantMessage)
			}
		})
	}
}

func TestFunctionName(t *testing.T) {
	tests := []struct {
		in, name, qualifier string
	}{
		{"RefundFunction", "RefundFunction", ""},
		{"RefundFunction:$LATEST", "RefundFunction", "$LATEST"},
		{"arn:aws:lambda:us-east-1:123456789012:function:RefundFunction", "RefundFunction", ""},
		{"arn:aws:lambda:us-east-1:123456789012:function:RefundFunction:prod", "RefundFunction", "prod"},
		{"123456789012:function:RefundFunction", "RefundFunction", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in+" names "+tt.name, func(t *testing.T) {
			name, qualifier := functionName(tt.in)
			if name != tt.name || qualifier != tt.qualifier {
				t.Fatalf("got %q %q, want %q %q", name, qualifier, tt.name, tt.qualifier)
			}
		})
	}
}
