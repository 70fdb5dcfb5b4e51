package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ottuops/ottu-lambda/dev/localstack"
)

// TestNewUserTrial does what the README tells a new user to do, against the
// repository's own template.yaml and the real function binaries running
// behind the local API: a partial refund, the same again, the same key with
// another amount, a refund past the balance, a capture on a paid payment, a
// malformed amount, the record, and direct invocations with events/.
func TestNewUserTrial(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	stack := startStack(ctx, t, 4)
	api := stack.URLs().API

	steps := []struct {
		name, method, path, key, body string
		status                        int
		code                          string
		header                        [2]string
	}{
		{"a partial refund succeeds", "POST", "/operations/refund", "trial-1", `{"session_id":"demo-paid-kwd","amount":"2.500","currency_code":"KWD"}`, 200, "", [2]string{"Tracking-Key", "trial-1"}},
		{"the same request again is replayed", "POST", "/operations/refund", "trial-1", `{"session_id":"demo-paid-kwd","amount":"2.500","currency_code":"KWD"}`, 200, "", [2]string{"Idempotent-Replayed", "true"}},
		{"the same key with another amount is refused", "POST", "/operations/refund", "trial-1", `{"session_id":"demo-paid-kwd","amount":"3.000","currency_code":"KWD"}`, 422, "tracking_key_reused", [2]string{}},
		{"a refund past the balance is rejected with Ottu's reason", "POST", "/operations/refund", "trial-2", `{"session_id":"demo-paid-kwd","amount":"9.000","currency_code":"KWD"}`, 422, "operation_rejected", [2]string{}},
		{"a direct refund without currency_code is a 403 approval_required naming the workflow route", "POST", "/operations/refund", "trial-5", `{"session_id":"demo-paid-kwd","amount":"0.500"}`, 403, "approval_required", [2]string{}},
		{"a direct refund above the local threshold (KWD 50.000) is a 403 approval_required", "POST", "/operations/refund", "trial-6", `{"session_id":"demo-paid-kwd","amount":"50.001","currency_code":"KWD"}`, 403, "approval_required", [2]string{}},
		{"a capture on a paid transaction is rejected", "POST", "/operations/capture", "trial-3", `{"session_id":"demo-paid-kwd","amount":"1.000"}`, 422, "operation_rejected", [2]string{}},
		{"a malformed amount is a 400", "POST", "/operations/refund", "trial-4", `{"session_id":"demo-paid-kwd","amount":"1.0001"}`, 400, "invalid_amount", [2]string{}},
		{"the record of the first key is there", "GET", "/operations/trial-1", "", "", 200, "", [2]string{"Tracking-Key", "trial-1"}},
		{"an unknown key has no record", "GET", "/operations/no-such-key", "", "", 404, "not_found", [2]string{}},
	}
	var firstBody string
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(ctx, st.method, api+st.path, strings.NewReader(st.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			if st.key != "" {
				req.Header.Set("Tracking-Key", st.key)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = resp.Body.Close() }()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != st.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, st.status, b)
			}
			if st.header[0] != "" && resp.Header.Get(st.header[0]) != st.header[1] {
				t.Fatalf("header %s = %q, want %q", st.header[0], resp.Header.Get(st.header[0]), st.header[1])
			}
			if st.code != "" && !strings.Contains(string(b), `"code":"`+st.code+`"`) {
				t.Fatalf("body lacks code %s: %s", st.code, b)
			}
			if st.key == "trial-1" && st.status == 200 {
				if firstBody == "" {
					firstBody = string(b)
				} else if string(b) != firstBody {
					t.Fatalf("the replay differs from the first answer:\n%s\n%s", b, firstBody)
				}
			}
		})
	}

	t.Run("fifty concurrent refunds with one key make one child", func(t *testing.T) {
		var wg sync.WaitGroup
		for range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req, _ := http.NewRequestWithContext(ctx, "POST", api+"/operations/refund", strings.NewReader(`{"session_id":"demo-paid-kwd","amount":"0.100","currency_code":"KWD"}`))
				req.Header.Set("Tracking-Key", "trial-concurrent")
				if resp, err := http.DefaultClient.Do(req); err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					_ = resp.Body.Close()
				}
			}()
		}
		wg.Wait()
		tx, ok := stack.Sandbox().Transaction("demo-paid-kwd")
		if !ok {
			t.Fatal("no demo-paid-kwd")
		}
		n := 0
		for _, c := range tx.Children {
			if c.TrackingKey == "trial-concurrent" {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("%d children with the key, want 1", n)
		}
	})

	t.Run("the direct events of events/ run through the Invoke API", func(t *testing.T) {
		for fn, file := range map[string]string{"RefundFunction": "refund-direct.json", "VoidFunction": "void-direct.json", "CaptureFunction": "capture-direct.json"} {
			payload, err := os.ReadFile("../../events/" + file)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.Post(api+"/2015-03-31/functions/"+fn+"/invocations", "application/json", strings.NewReader(string(payload)))
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			var out struct {
				Result string `json:"result"`
			}
			if resp.StatusCode != 200 || resp.Header.Get("X-Amz-Function-Error") != "" || json.Unmarshal(b, &out) != nil || out.Result != "success" {
				t.Fatalf("%s: %d %v %s", fn, resp.StatusCode, resp.Header, b)
			}
		}
	})

	t.Run("the README's inquiry walk works", func(t *testing.T) { inquiryWalk(ctx, t, stack) })
	t.Run("a workflow waiting for Ottu's disclosure is resumed once", func(t *testing.T) { stepFunctionsWalk(ctx, t, stack) })
	t.Run("a genuine callback re-filed under another session_id changes nothing and resumes nothing", func(t *testing.T) { refiledCallbackWalk(ctx, t, stack) })

	t.Run("a rejected direct invocation names its error type", func(t *testing.T) {
		resp, err := http.Post(api+"/2015-03-31/functions/RefundFunction/invocations", "application/json",
			strings.NewReader(`{"session_id":"demo-paid-kwd","amount":"999.000","tracking_key":"trial-over"}`))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("X-Amz-Function-Error") != "Unhandled" || !strings.Contains(string(b), `"errorType":"OperationRejected"`) {
			t.Fatalf("%d %v %s", resp.StatusCode, resp.Header, b)
		}
	})
	t.Run("every AWS call a function made is allowed by its own role, action and resource", func(t *testing.T) {
		stack.RequireCallsAllowed(ctx, t)
		// dev/apispec's unusedGrants counts on this walk for the resumed wait.
		if !stack.Called("WebhookFunction", "states:SendTaskSuccess") {
			t.Error("the walk never made WebhookFunction send states:SendTaskSuccess (a disclosure resuming a workflow)")
		}
	})
}

// startStack starts the local stack of the repository's own template.yaml
// on free ports, as `make local` does, and closes it with the test.
func startStack(ctx context.Context, t *testing.T, maxProcesses int) *localstack.Stack {
	t.Helper()
	stack, err := localstack.Start(ctx, localstack.Options{
		Template:     "../../template.yaml",
		APIAddr:      "127.0.0.1:0",
		SandboxAddr:  "127.0.0.1:0",
		MotoAddr:     "127.0.0.1:0",
		MaxProcesses: maxProcesses,
		// moto refuses any action a function's own role does not allow.
		EnforceIAM:     true,
		FunctionOutput: io.Discard,
	})
	if err != nil {
		t.Fatalf("start the local stack with template.yaml: %v", err)
	}
	t.Cleanup(stack.Close)
	return stack
}
