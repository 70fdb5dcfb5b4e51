package localstack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
)

// echoAnswer is what the echo function returns for the default action.
type echoAnswer struct {
	PID         int             `json:"pid"`
	Function    string          `json:"function"`
	FunctionARN string          `json:"function_arn"`
	RequestID   string          `json:"request_id"`
	Event       json.RawMessage `json:"event"`
}

// newEchoPool runs the echo function with a short timeout; the pool is
// closed when the test ends.
func newEchoPool(t *testing.T, maxProcs int, timeout time.Duration) *pool {
	t.Helper()
	p := newPool(functionConfig{
		Name:         "EchoFunction",
		Binary:       echoBinary(t),
		Env:          []string{"AWS_LAMBDA_FUNCTION_NAME=EchoFunction"},
		Timeout:      timeout,
		MaxProcesses: maxProcs,
		Output:       newLineSink(testWriter{t}),
	})
	t.Cleanup(p.Close)
	return p
}

// testWriter sends function output to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// invokeEcho invokes the echo function; a generous deadline turns a pool
// that never answers into a failure rather than a hung test.
func invokeEcho(t *testing.T, p *pool, payload string) echoAnswer {
	t.Helper()
	out, err := p.Invoke(testContext(t), []byte(payload))
	if err != nil {
		t.Fatalf("invoke %s: %v", payload, err)
	}
	var ans echoAnswer
	if err := json.Unmarshal(out, &ans); err != nil {
		t.Fatalf("echo answer %s: %v", out, err)
	}
	return ans
}

func TestPoolInvoke(t *testing.T) {
	p := newEchoPool(t, 2, 5*time.Second)

	t.Run("a successful invocation returns the function's own answer", func(t *testing.T) {
		ans := invokeEcho(t, p, `{"hello":"world"}`)
		if !jsonEqual(ans.Event, `{"hello":"world"}`) {
			t.Errorf("the function saw %s, want the payload sent", ans.Event)
		}
		if ans.Function != "EchoFunction" {
			t.Errorf("AWS_LAMBDA_FUNCTION_NAME in the process = %q", ans.Function)
		}
		if ans.FunctionARN != "arn:aws:lambda:us-east-1:123456789012:function:EchoFunction" {
			t.Errorf("invoked function ARN = %q", ans.FunctionARN)
		}
		if _, err := uuid.Parse(ans.RequestID); err != nil {
			t.Errorf("request id %q from Lambda-Runtime-Aws-Request-Id is not a UUID", ans.RequestID)
		}
	})

	t.Run("each invocation gets its own request id", func(t *testing.T) {
		a, b := invokeEcho(t, p, `{}`), invokeEcho(t, p, `{}`)
		if a.RequestID == b.RequestID {
			t.Fatalf("two invocations share request id %s", a.RequestID)
		}
	})
}

func TestPoolFailures(t *testing.T) {
	const timeout = 300 * time.Millisecond
	tests := []struct {
		name        string
		action      string
		wantType    string
		wantMessage string
		// wantNewProcess: Lambda replaces the environment after this failure.
		wantNewProcess bool
	}{
		{"a returned error keeps its type and message and the process lives on", "error", "EchoError", "asked to fail", false},
		{"a panic is reported with its value and the process is replaced", "panic", "string", "asked to panic", true},
		{"a crash without an answer is a Runtime.ExitError and the process is replaced", "exit", "Runtime.ExitError", "Runtime exited with error: exit status 3", true},
		{"a function running past its timeout is killed, reported as Sandbox.Timedout, and the pool recovers", "sleep", "Sandbox.Timedout", "Task timed out after 0.30 seconds", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newEchoPool(t, 1, timeout)
			before := invokeEcho(t, p, `{}`)

			_, err := p.Invoke(testContext(t), []byte(`{"action":"`+tt.action+`"}`))
			var fnErr *FunctionError
			if !errors.As(err, &fnErr) {
				t.Fatalf("invoke %s: got %v, want a *FunctionError", tt.action, err)
			}
			if fnErr.Type != tt.wantType || !strings.Contains(fnErr.Message, tt.wantMessage) {
				t.Fatalf("got %s: %s, want %s containing %q", fnErr.Type, fnErr.Message, tt.wantType, tt.wantMessage)
			}

			after := invokeEcho(t, p, `{"again":true}`)
			if replaced := after.PID != before.PID; replaced != tt.wantNewProcess {
				t.Fatalf("process %d before, %d after: replaced = %v, want %v", before.PID, after.PID, replaced, tt.wantNewProcess)
			}
			if tt.wantNewProcess && processAlive(before.PID) {
				t.Fatalf("the failed process %d is still running", before.PID)
			}
		})
	}
}

func TestPoolConcurrency(t *testing.T) {
	t.Run("20 concurrent invocations are all answered, each with its own payload", func(t *testing.T) {
		const n, maxProcs = 20, 10
		p := newEchoPool(t, maxProcs, 10*time.Second)
		var wg sync.WaitGroup
		answers := make([]echoAnswer, n)
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				out, err := p.Invoke(testContext(t), fmt.Appendf(nil, `{"n":%d}`, i))
				if err == nil {
					err = json.Unmarshal(out, &answers[i])
				}
				errs[i] = err
			})
		}
		wg.Wait()
		pids := map[int]bool{}
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("invocation %d: %v", i, errs[i])
			}
			if want := fmt.Sprintf(`{"n":%d}`, i); !jsonEqual(answers[i].Event, want) {
				t.Fatalf("invocation %d got the answer for %s", i, answers[i].Event)
			}
			pids[answers[i].PID] = true
		}
		if len(pids) > maxProcs {
			t.Fatalf("%d processes served the invocations, more than the maximum %d", len(pids), maxProcs)
		}
	})

	t.Run("invocations beyond the maximum wait for a busy process instead of failing", func(t *testing.T) {
		p := newEchoPool(t, 1, 300*time.Millisecond)
		var wg sync.WaitGroup
		var sleepErr error
		wg.Go(func() { _, sleepErr = p.Invoke(testContext(t), []byte(`{"action":"sleep"}`)) })
		waitUntil(t, func() bool { return busy(p) == 1 })
		ans := invokeEcho(t, p, `{"queued":true}`)
		wg.Wait()
		var fnErr *FunctionError
		if !errors.As(sleepErr, &fnErr) || fnErr.Type != "Sandbox.Timedout" {
			t.Fatalf("the sleeping invocation ended with %v, want Sandbox.Timedout", sleepErr)
		}
		if !jsonEqual(ans.Event, `{"queued":true}`) {
			t.Fatalf("the queued invocation got %s", ans.Event)
		}
	})

	t.Run("a caller that gives up before a process is free leaves the queue", func(t *testing.T) {
		p := newEchoPool(t, 1, time.Minute)
		go func() { _, _ = p.Invoke(testContext(t), []byte(`{"action":"sleep"}`)) }()
		waitUntil(t, func() bool { return busy(p) == 1 })
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			// The only process sleeps, so the next invocation stays queued.
			for i := 0; i < 1000 && queued(p) == 0; i++ {
				time.Sleep(5 * time.Millisecond)
			}
			cancel()
		}()
		if _, err := p.Invoke(ctx, []byte(`{}`)); !errors.Is(err, context.Canceled) {
			t.Fatalf("invoke cancelled while queued: %v, want context.Canceled", err)
		}
		if n := queued(p); n != 0 {
			t.Fatalf("%d invocations still queued after their callers gave up", n)
		}
	})
}

func TestPoolStartFailures(t *testing.T) {
	t.Run("a binary that cannot start fails the invocation instead of hanging", func(t *testing.T) {
		p := newPool(functionConfig{Name: "GhostFunction", Binary: filepath.Join(t.TempDir(), "bootstrap"), Timeout: time.Second, MaxProcesses: 2})
		t.Cleanup(p.Close)
		_, err := p.Invoke(testContext(t), []byte(`{}`))
		var fnErr *FunctionError
		if !errors.As(err, &fnErr) || fnErr.Type != "Runtime.InvalidEntrypoint" {
			t.Fatalf("got %v, want Runtime.InvalidEntrypoint", err)
		}
	})

	t.Run("a process that dies before asking for work fails the invocation that waited for it", func(t *testing.T) {
		// /bin/false exits at once, as a function crashing in init would.
		p := newPool(functionConfig{Name: "CrashFunction", Binary: "/bin/false", Timeout: time.Second, MaxProcesses: 2})
		t.Cleanup(p.Close)
		_, err := p.Invoke(testContext(t), []byte(`{}`))
		var fnErr *FunctionError
		if !errors.As(err, &fnErr) || fnErr.Type != "Runtime.ExitError" || !strings.Contains(fnErr.Message, "exit status 1") {
			t.Fatalf("got %v, want Runtime.ExitError with exit status 1", err)
		}
	})
}

func TestPoolClose(t *testing.T) {
	t.Run("closing kills busy processes, fails their invocations and refuses new ones", func(t *testing.T) {
		p := newEchoPool(t, 1, time.Minute)
		pid := invokeEcho(t, p, `{}`).PID
		done := make(chan error, 1)
		go func() {
			_, err := p.Invoke(testContext(t), []byte(`{"action":"sleep"}`))
			done <- err
		}()
		waitUntil(t, func() bool { return busy(p) == 1 })
		p.Close()
		if err := <-done; err == nil {
			t.Fatal("the invocation running when the pool closed succeeded")
		}
		if processAlive(pid) {
			t.Fatalf("process %d outlived Close", pid)
		}
		if _, err := p.Invoke(testContext(t), []byte(`{}`)); !errors.Is(err, errPoolClosed) {
			t.Fatalf("invoke after Close: %v, want errPoolClosed", err)
		}
	})
}

func TestRuntimeAPI(t *testing.T) {
	p := newPool(functionConfig{Name: "EchoFunction", Timeout: time.Second})
	proc := &process{done: make(chan struct{}), deliver: make(chan *invocation, 1)}
	srv := httptest.NewServer(p.runtimeAPI(proc))
	t.Cleanup(srv.Close)

	tests := []struct {
		name       string
		path       string
		header     http.Header
		body       string
		wantStatus int
		wantBody   string
	}{
		{"an answer for a request id the process does not hold is refused", "/2018-06-01/runtime/invocation/nope/response", nil, `{}`, http.StatusBadRequest, "InvalidRequestID"},
		{"an error for a request id the process does not hold is refused", "/2018-06-01/runtime/invocation/nope/error", nil, `{}`, http.StatusBadRequest, "InvalidRequestID"},
		{"an init error is accepted and kept for the invocation that waits", "/2018-06-01/runtime/init/error", http.Header{"Lambda-Runtime-Function-Error-Type": {"Runtime.InitError"}}, `not json`, http.StatusAccepted, `"OK"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, srv.URL+tt.path, strings.NewReader(tt.body))
			for k, v := range tt.header {
				req.Header[k] = v
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = resp.Body.Close() }()
			var body bytes.Buffer
			_, _ = body.ReadFrom(resp.Body)
			if resp.StatusCode != tt.wantStatus || !strings.Contains(body.String(), tt.wantBody) {
				t.Fatalf("got %d %s, want %d containing %s", resp.StatusCode, body.String(), tt.wantStatus, tt.wantBody)
			}
		})
	}
	p.mu.Lock()
	initErr := proc.initErr
	p.mu.Unlock()
	if initErr == nil || initErr.Type != "Runtime.InitError" || initErr.Message != "not json" {
		t.Fatalf("init error kept as %+v, want Runtime.InitError with the body as message", initErr)
	}
}

func TestParseFunctionError(t *testing.T) {
	tests := []struct {
		name, body, header string
		want               FunctionError
	}{
		{"a runtime's error document is read as is", `{"errorType":"Boom","errorMessage":"bad"}`, "", FunctionError{Type: "Boom", Message: "bad"}},
		{"the header names the type when the document does not", `{"errorMessage":"bad"}`, "Runtime.Unknown", FunctionError{Type: "Runtime.Unknown", Message: "bad"}},
		{"a body that is not JSON becomes the message", `plain words`, "", FunctionError{Type: "Unhandled", Message: "plain words"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseFunctionError([]byte(tt.body), tt.header)
			if got.Type != tt.want.Type || got.Message != tt.want.Message {
				t.Fatalf("got %+v, want %+v", *got, tt.want)
			}
		})
	}
}

// testContext bounds a test's invocations, so a pool that never answers
// fails the test instead of hanging it.
func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// busy counts the processes holding an invocation.
func busy(p *pool) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for proc := range p.procs {
		if proc.current != nil {
			n++
		}
	}
	return n
}

// queued counts the invocations no process has taken yet.
func queued(p *pool) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.waiting)
}

func processAlive(pid int) bool {
	return syscall.Kill(pid, 0) == nil
}

// waitUntil polls cond, failing the test if it never holds.
func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	for range 500 {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("condition never held")
}

func jsonEqual(got json.RawMessage, want string) bool {
	var a, b any
	if json.Unmarshal(got, &a) != nil || json.Unmarshal([]byte(want), &b) != nil {
		return false
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}
