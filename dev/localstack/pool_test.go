package localstack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
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
		RIE:          rieBinary(t),
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
		// RIE names the function by AWS_LAMBDA_FUNCTION_NAME under its own fixed account.
		if ans.FunctionARN != "arn:aws:lambda:us-east-1:012345678912:function:EchoFunction" {
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
	const timeout = time.Second // RIE's smallest
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
		{"a function running past its timeout is killed, reported as Sandbox.Timedout, and the pool recovers", "sleep", "Sandbox.Timedout", "Task timed out after 1.00 seconds", true},
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
		p := newEchoPool(t, 1, time.Second)
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
		p := newPool(functionConfig{Name: "GhostFunction", Binary: filepath.Join(t.TempDir(), "bootstrap"), RIE: rieBinary(t), Timeout: time.Second, MaxProcesses: 2})
		t.Cleanup(p.Close)
		_, err := p.Invoke(testContext(t), []byte(`{}`))
		var fnErr *FunctionError
		if !errors.As(err, &fnErr) || fnErr.Type != "Runtime.InvalidEntrypoint" {
			t.Fatalf("got %v, want Runtime.InvalidEntrypoint", err)
		}
	})

	t.Run("a process that dies before asking for work fails the invocation that waited for it", func(t *testing.T) {
		// /bin/false exits at once, as a function crashing in init would.
		p := newPool(functionConfig{Name: "CrashFunction", Binary: "/bin/false", RIE: rieBinary(t), Timeout: time.Second, MaxProcesses: 2})
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

func TestRIEAnswer(t *testing.T) {
	tests := []struct {
		name        string
		status      int
		body        string
		wantResult  string
		wantType    string
		wantRetired bool
	}{
		{"a result is the function's answer", 200, `{"statusCode":200,"body":"{}"}`, `{"statusCode":200,"body":"{}"}`, "", false},
		{"a returned error, which RIE answers with 200, keeps its type for Step Functions", 200, `{"errorMessage":"Ottu refused","errorType":"OperationRejected"}`, "", "OperationRejected", false},
		{"an error document with a stack trace is still an error", 200, `{"errorMessage":"x","errorType":"string","stackTrace":[]}`, "", "string", false},
		{"a result that merely has an errorType field among others is a result", 200, `{"errorType":"x","errorMessage":"y","result":"success"}`, `{"errorType":"x","errorMessage":"y","result":"success"}`, "", false},
		{"RIE's time-out text is Sandbox.Timedout", 200, `Task timed out after 3.00 seconds`, "", "Sandbox.Timedout", false},
		{"a 502 is the crash RIE reports", 502, `{"errorType":"Runtime.ExitError","errorMessage":"RequestId: r Error: Runtime exited with error: exit status 3"}`, "", "Runtime.ExitError", false},
		{"any other status retires the process", 400, ``, "", "Runtime.Unknown", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			result, fnErr, retire := rieAnswer("r", tt.status, []byte(tt.body))
			gotType := ""
			if fnErr != nil {
				gotType = fnErr.Type
			}
			if string(result) != tt.wantResult || gotType != tt.wantType || retire != tt.wantRetired {
				t.Fatalf("got result %q, error type %q, retire %v; want %q, %q, %v", result, gotType, retire, tt.wantResult, tt.wantType, tt.wantRetired)
			}
		})
	}
}

func TestPoolRunsFunctionsUnderRIE(t *testing.T) {
	t.Run("the function's process is a child of aws-lambda-rie, which reports Lambda's REPORT line", func(t *testing.T) {
		p := newEchoPool(t, 1, 5*time.Second)
		ans := invokeEcho(t, p, `{}`)
		p.mu.Lock()
		procs := make([]*process, 0, len(p.procs))
		for proc := range p.procs {
			procs = append(procs, proc)
		}
		p.mu.Unlock()
		if len(procs) != 1 {
			t.Fatalf("%d processes, want 1", len(procs))
		}
		proc := procs[0]
		if kids := proc.bootstrapPIDs(); len(kids) != 1 || kids[0] != ans.PID {
			t.Fatalf("children of aws-lambda-rie (pid %d): %v, want the function's pid %d", proc.cmd.Process.Pid, kids, ans.PID)
		}
		if comm, _ := os.ReadFile("/proc/" + strconv.Itoa(proc.cmd.Process.Pid) + "/comm"); strings.TrimSpace(string(comm)) != "aws-lambda-rie" {
			t.Fatalf("the parent of the function is %q, want aws-lambda-rie", comm)
		}
		if d := proc.takeInitDuration(time.Second); d <= 0 {
			t.Fatalf("no Init Duration read from RIE's REPORT line")
		}
	})

	t.Run("the function's environment reaches it through RIE with the timeout in whole seconds", func(t *testing.T) {
		p := newEchoPool(t, 1, 1500*time.Millisecond)
		out, err := p.Invoke(testContext(t), []byte(`{"action":"env"}`))
		if err != nil {
			t.Fatal(err)
		}
		var env map[string]string
		if err := json.Unmarshal(out, &env); err != nil {
			t.Fatal(err)
		}
		if env["AWS_LAMBDA_FUNCTION_NAME"] != "EchoFunction" || env["AWS_LAMBDA_FUNCTION_TIMEOUT"] != "2" || env["AWS_LAMBDA_RUNTIME_API"] == "" {
			t.Fatalf("environment %v: want AWS_LAMBDA_FUNCTION_NAME=EchoFunction, AWS_LAMBDA_FUNCTION_TIMEOUT=2 and RIE's AWS_LAMBDA_RUNTIME_API", env)
		}
	})
}

func TestParseFunctionError(t *testing.T) {
	tests := []struct {
		name, body, header string
		want               FunctionError
	}{
		{"a runtime's error document is read as is", `{"errorType":"Boom","errorMessage":"bad"}`, "", FunctionError{Type: "Boom", Message: "bad"}},
		{"the default names the type when the document does not", `{"errorMessage":"bad"}`, "Runtime.Unknown", FunctionError{Type: "Runtime.Unknown", Message: "bad"}},
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

// processAlive reports whether pid runs; a zombie (dead, not yet reaped by
// a PID 1 that may never reap it) is not alive.
func processAlive(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(stat, ')')
	return i >= 0 && len(stat) > i+2 && stat[i+2] != 'Z'
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
