package localstack

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/google/uuid"
)

// The Runtime API paths a function process calls (API version 2018-06-01).
const (
	runtimeNextPath      = "GET /2018-06-01/runtime/invocation/next"
	runtimeResponsePath  = "POST /2018-06-01/runtime/invocation/{id}/response"
	runtimeErrorPath     = "POST /2018-06-01/runtime/invocation/{id}/error"
	runtimeInitErrorPath = "POST /2018-06-01/runtime/init/error"
)

// Local stand-ins for the account and region in ARNs and identities.
const (
	localAccountID = "123456789012"
	localRegion    = "us-east-1"
)

// maxRuntimeBody bounds what a function may post back: Lambda's 6 MB
// synchronous response limit, with room for base64 error bodies.
const maxRuntimeBody = 8 << 20

// errPoolClosed answers invocations made while or after the stack stops.
var errPoolClosed = errors.New("the function is shut down")

// FunctionError is a failed invocation as Lambda reports it: the function's
// own error, a panic, a crash, a failed start or a time-out.
type FunctionError struct {
	Type       string          `json:"errorType"`
	Message    string          `json:"errorMessage"`
	StackTrace json.RawMessage `json:"stackTrace,omitempty"`
}

func (e *FunctionError) Error() string { return e.Type + ": " + e.Message }

// functionConfig is what a pool needs to run one function's processes.
type functionConfig struct {
	// Name is the function's logical id in the template.
	Name string
	// Binary is the built bootstrap executable.
	Binary string
	// Env is the process environment (KEY=VALUE) without
	// AWS_LAMBDA_RUNTIME_API, which each process gets its own of.
	Env []string
	// Timeout is how long one invocation may run before its process is killed.
	Timeout time.Duration
	// MaxProcesses caps how many processes of this function run at once.
	MaxProcesses int
	// Output receives the processes' stdout and stderr, one prefixed line at a time.
	Output *lineSink
	Logger *slog.Logger
}

// invocation is one event on its way through a function process.
type invocation struct {
	id      string
	payload []byte
	done    chan struct{}
	once    sync.Once
	result  []byte
	err     error
	// timer enforces the deadline once a process has taken the invocation.
	timer *time.Timer
}

func newInvocation(payload []byte) *invocation {
	return &invocation{id: uuid.NewString(), payload: payload, done: make(chan struct{})}
}

// finish records the outcome; the first outcome wins (an answer racing a
// time-out, say).
func (inv *invocation) finish(result []byte, err error) {
	inv.once.Do(func() {
		inv.result, inv.err = result, err
		close(inv.done)
	})
}

// process is one running function binary with its own Runtime API listener,
// so the pool always knows which process holds which invocation.
type process struct {
	cmd  *exec.Cmd
	srv  *http.Server
	out  *linePrefixer
	done chan struct{}
	// deliver hands an invocation to this process while it waits in next.
	deliver chan *invocation

	// Guarded by pool.mu.
	ready   bool // has asked for its first invocation
	current *invocation
	initErr *FunctionError

	// started is when the process was started and readyAt when it first
	// asked for an invocation (its init); the cold-start benchmark reads them.
	started, readyAt time.Time
}

func (p *process) kill() {
	if p.cmd.Process != nil {
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	}
}

// pool runs the processes of one function the way Lambda runs execution
// environments: each process takes one invocation at a time from the Runtime
// API; another process starts when an invocation waits and none is free.
type pool struct {
	cfg     functionConfig
	arn     string
	closing chan struct{}
	wg      sync.WaitGroup

	mu       sync.Mutex
	closed   bool
	procs    map[*process]struct{}
	starting int
	idle     []*process    // waiting in next, oldest first
	waiting  []*invocation // not yet taken by a process, oldest first
}

func newPool(cfg functionConfig) *pool {
	if cfg.MaxProcesses < 1 {
		cfg.MaxProcesses = 1
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Output == nil {
		cfg.Output = newLineSink(io.Discard)
	}
	return &pool{
		cfg:     cfg,
		arn:     functionARN(cfg.Name),
		closing: make(chan struct{}),
		procs:   map[*process]struct{}{},
	}
}

func functionARN(name string) string {
	return "arn:aws:lambda:" + localRegion + ":" + localAccountID + ":function:" + name
}

// warm starts one process ahead of the first invocation, as a provisioned
// environment would, so the first request does not pay for the start.
func (p *pool) warm() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || len(p.procs) > 0 {
		return nil
	}
	return p.spawnLocked()
}

// Invoke runs payload through one of the function's processes and returns
// its response, or a *FunctionError when the function failed.
func (p *pool) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	inv := newInvocation(payload)
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, errPoolClosed
	}
	if n := len(p.idle); n > 0 {
		proc := p.idle[0]
		p.idle = p.idle[1:]
		p.dispatchLocked(proc, inv)
		proc.deliver <- inv
	} else {
		p.waiting = append(p.waiting, inv)
		p.scaleLocked()
	}
	p.mu.Unlock()

	select {
	case <-inv.done:
		return inv.result, inv.err
	case <-ctx.Done():
		p.mu.Lock()
		p.waiting = slices.DeleteFunc(p.waiting, func(w *invocation) bool { return w == inv })
		p.mu.Unlock()
		return nil, ctx.Err()
	}
}

// dispatchLocked gives inv to proc and starts the deadline clock.
func (p *pool) dispatchLocked(proc *process, inv *invocation) {
	proc.current = inv
	inv.timer = time.AfterFunc(p.cfg.Timeout, func() { p.timedOut(proc, inv) })
}

// undispatchLocked puts back an invocation a process never received.
func (p *pool) undispatchLocked(proc *process, inv *invocation) {
	inv.timer.Stop()
	if proc.current == inv {
		proc.current = nil
	}
	p.waiting = append([]*invocation{inv}, p.waiting...)
	p.scaleLocked()
}

// timedOut fails an invocation that outlived the function's timeout and
// kills its process, as Lambda does; the pool starts a fresh one on demand.
func (p *pool) timedOut(proc *process, inv *invocation) {
	p.mu.Lock()
	if proc.current != inv {
		p.mu.Unlock()
		return
	}
	proc.current = nil
	p.mu.Unlock()
	inv.finish(nil, &FunctionError{
		Type:    "Sandbox.Timedout",
		Message: fmt.Sprintf("RequestId: %s Error: Task timed out after %.2f seconds", inv.id, p.cfg.Timeout.Seconds()),
	})
	p.cfg.Logger.Warn("function timed out; its process is killed", "function", p.cfg.Name, "request_id", inv.id, "timeout", p.cfg.Timeout.String())
	proc.kill()
}

// scaleLocked starts processes while invocations wait that no idle or
// starting process will take, up to the function's maximum.
func (p *pool) scaleLocked() {
	for !p.closed && len(p.waiting) > len(p.idle)+p.starting && len(p.procs) < p.cfg.MaxProcesses {
		if err := p.spawnLocked(); err != nil {
			p.cfg.Logger.Error("function process did not start", "function", p.cfg.Name, "error", err.Error())
			inv := p.waiting[0]
			p.waiting = p.waiting[1:]
			inv.finish(nil, &FunctionError{Type: "Runtime.InvalidEntrypoint", Message: err.Error()})
		}
	}
}

func (p *pool) spawnLocked() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listen for the Runtime API of %s: %w", p.cfg.Name, err)
	}
	proc := &process{done: make(chan struct{}), deliver: make(chan *invocation, 1)}
	proc.srv = &http.Server{Handler: p.runtimeAPI(proc), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = proc.srv.Serve(ln) }()

	cmd := exec.Command(p.cfg.Binary) //nolint:gosec // G702: the binary is the function the stack built itself
	cmd.Dir = filepath.Dir(p.cfg.Binary)
	cmd.Env = append(slices.Clone(p.cfg.Env), "AWS_LAMBDA_RUNTIME_API="+ln.Addr().String())
	proc.out = p.cfg.Output.prefixer(p.cfg.Name)
	cmd.Stdout, cmd.Stderr = proc.out, proc.out
	// Its own process group, so a kill takes anything it started too; and it
	// dies with the stack even when the stack is killed outright.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.WaitDelay = time.Second
	proc.started = time.Now()
	if err := cmd.Start(); err != nil {
		_ = proc.srv.Close()
		return fmt.Errorf("start %s: %w", p.cfg.Binary, err)
	}
	proc.cmd = cmd
	p.procs[proc] = struct{}{}
	p.starting++
	p.wg.Add(1)
	go p.watch(proc)
	return nil
}

// watch waits for a process to exit and settles what it leaves behind.
func (p *pool) watch(proc *process) {
	defer p.wg.Done()
	waitErr := proc.cmd.Wait()
	proc.out.flush()
	exit := "Runtime exited without providing a reason"
	if waitErr != nil {
		exit = "Runtime exited with error: " + waitErr.Error()
	}

	p.mu.Lock()
	delete(p.procs, proc)
	p.idle = slices.DeleteFunc(p.idle, func(q *process) bool { return q == proc })
	var failed *invocation
	var fnErr *FunctionError
	switch {
	case proc.current != nil:
		failed, proc.current = proc.current, nil
		failed.timer.Stop()
		fnErr = &FunctionError{Type: "Runtime.ExitError", Message: "RequestId: " + failed.id + " Error: " + exit}
	case !proc.ready:
		// It died starting: the invocation it was started for gets the reason.
		p.starting--
		if len(p.waiting) > 0 {
			failed, p.waiting = p.waiting[0], p.waiting[1:]
			fnErr = proc.initErr
			if fnErr == nil {
				fnErr = &FunctionError{Type: "Runtime.ExitError", Message: "RequestId: " + failed.id + " Error: " + exit}
			}
		}
	}
	close(proc.done)
	p.scaleLocked()
	p.mu.Unlock()

	_ = proc.srv.Close()
	if failed != nil {
		failed.finish(nil, fnErr)
	}
	if !p.isClosed() {
		p.cfg.Logger.Info("function process exited", "function", p.cfg.Name, "pid", proc.cmd.Process.Pid, "reason", exit)
	}
}

func (p *pool) isClosed() bool {
	select {
	case <-p.closing:
		return true
	default:
		return false
	}
}

// Close fails waiting invocations, kills every process and waits for them.
func (p *pool) Close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	close(p.closing)
	waiting := p.waiting
	p.waiting = nil
	procs := make([]*process, 0, len(p.procs))
	for proc := range p.procs {
		procs = append(procs, proc)
	}
	p.mu.Unlock()
	for _, inv := range waiting {
		inv.finish(nil, errPoolClosed)
	}
	for _, proc := range procs {
		proc.kill()
	}
	p.wg.Wait()
}

// runtimeAPI serves the AWS Lambda Runtime API to one process.
func (p *pool) runtimeAPI(proc *process) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc(runtimeNextPath, func(w http.ResponseWriter, r *http.Request) { p.next(proc, w, r) })
	mux.HandleFunc(runtimeResponsePath, func(w http.ResponseWriter, r *http.Request) { p.respond(proc, w, r) })
	mux.HandleFunc(runtimeErrorPath, func(w http.ResponseWriter, r *http.Request) { p.fail(proc, w, r) })
	mux.HandleFunc(runtimeInitErrorPath, func(w http.ResponseWriter, r *http.Request) { p.initError(proc, w, r) })
	return mux
}

// next long-polls until an invocation is there for this process.
func (p *pool) next(proc *process, w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	if !proc.ready {
		proc.ready = true
		proc.readyAt = time.Now()
		p.starting--
	}
	if prev := proc.current; prev != nil {
		// Asking for the next event completes the previous one; no answer came.
		proc.current = nil
		prev.timer.Stop()
		prev.finish(nil, &FunctionError{Type: "Runtime.NoResponse", Message: "the function asked for the next event without answering request " + prev.id})
	}
	var inv *invocation
	if len(p.waiting) > 0 {
		inv, p.waiting = p.waiting[0], p.waiting[1:]
		p.dispatchLocked(proc, inv)
	} else {
		p.idle = append(p.idle, proc)
	}
	p.mu.Unlock()

	if inv == nil {
		select {
		case inv = <-proc.deliver:
		case <-r.Context().Done():
		case <-proc.done:
		case <-p.closing:
		}
		if inv == nil {
			p.mu.Lock()
			p.idle = slices.DeleteFunc(p.idle, func(q *process) bool { return q == proc })
			select {
			case late := <-proc.deliver:
				p.undispatchLocked(proc, late)
			default:
			}
			p.scaleLocked()
			p.mu.Unlock()
			// Never an empty 200, which a runtime would take for an event.
			runtimeAnswer(w, http.StatusServiceUnavailable, "Runtime.Unavailable", "no invocation: the function is stopping")
			return
		}
	}

	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Lambda-Runtime-Aws-Request-Id", inv.id)
	h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(time.Now().Add(p.cfg.Timeout).UnixMilli(), 10))
	h.Set("Lambda-Runtime-Invoked-Function-Arn", p.arn)
	h.Set("Lambda-Runtime-Trace-Id", traceID())
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(inv.payload) //nolint:gosec // G705: the Runtime API hands the event to the function verbatim
}

// take removes the invocation id from proc if proc holds it.
func (p *pool) take(proc *process, id string) *invocation {
	p.mu.Lock()
	defer p.mu.Unlock()
	inv := proc.current
	if inv == nil || inv.id != id {
		return nil
	}
	proc.current = nil
	inv.timer.Stop()
	return inv
}

// readResult reads a function's response or error body and takes the
// invocation it answers; on failure it has answered the runtime.
func (p *pool) readResult(proc *process, w http.ResponseWriter, r *http.Request, what string) ([]byte, *invocation) {
	body, ok := readRuntimeBody(w, r, what)
	if !ok {
		return nil, nil
	}
	inv := p.take(proc, r.PathValue("id"))
	if inv == nil {
		runtimeAnswer(w, http.StatusBadRequest, "InvalidRequestID", "no invocation "+r.PathValue("id")+" is running in this process")
	}
	return body, inv
}

func (p *pool) respond(proc *process, w http.ResponseWriter, r *http.Request) {
	body, inv := p.readResult(proc, w, r, "response")
	if inv == nil {
		return
	}
	// A streamed response that failed half-way reports its error in trailers.
	if errType := r.Trailer.Get("Lambda-Runtime-Function-Error-Type"); errType != "" {
		fnErr := &FunctionError{Type: errType}
		if b, err := base64.StdEncoding.DecodeString(r.Trailer.Get("Lambda-Runtime-Function-Error-Body")); err == nil {
			fnErr = parseFunctionError(b, errType)
		}
		inv.finish(nil, fnErr)
	} else {
		inv.finish(body, nil)
	}
	runtimeAnswer(w, http.StatusAccepted, "", "")
}

func (p *pool) fail(proc *process, w http.ResponseWriter, r *http.Request) {
	body, inv := p.readResult(proc, w, r, "error")
	if inv == nil {
		return
	}
	inv.finish(nil, parseFunctionError(body, r.Header.Get("Lambda-Runtime-Function-Error-Type")))
	runtimeAnswer(w, http.StatusAccepted, "", "")
}

func (p *pool) initError(proc *process, w http.ResponseWriter, r *http.Request) {
	body, ok := readRuntimeBody(w, r, "error")
	if !ok {
		return
	}
	fnErr := parseFunctionError(body, r.Header.Get("Lambda-Runtime-Function-Error-Type"))
	p.mu.Lock()
	proc.initErr = fnErr
	p.mu.Unlock()
	p.cfg.Logger.Error("function failed to initialise", "function", p.cfg.Name, "error_type", fnErr.Type, "error", fnErr.Message)
	runtimeAnswer(w, http.StatusAccepted, "", "")
}

// readRuntimeBody reads what a runtime posts, within Lambda's limit; on
// failure it has answered.
func readRuntimeBody(w http.ResponseWriter, r *http.Request, what string) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRuntimeBody))
	if err != nil {
		runtimeAnswer(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "the "+what+" is too large")
		return nil, false
	}
	return body, true
}

// parseFunctionError reads the error document a runtime posts; a body that
// is not one still yields a usable error.
func parseFunctionError(body []byte, headerType string) *FunctionError {
	var fnErr FunctionError
	if err := json.Unmarshal(body, &fnErr); err != nil || (fnErr.Type == "" && fnErr.Message == "") {
		fnErr = FunctionError{Message: string(body)}
	}
	if fnErr.Type == "" {
		fnErr.Type = headerType
	}
	if fnErr.Type == "" {
		fnErr.Type = "Unhandled"
	}
	return &fnErr
}

func runtimeAnswer(w http.ResponseWriter, status int, errType, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if errType == "" {
		_, _ = io.WriteString(w, `{"status":"OK"}`)
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]string{"errorType": errType, "errorMessage": message})
}

// traceID makes an X-Ray style trace header for one invocation.
func traceID() string {
	id := uuid.New()
	hex := fmt.Sprintf("%x", id[:])
	return fmt.Sprintf("Root=1-%08x-%s;Parent=%s;Sampled=0", time.Now().Unix(), hex[:24], hex[16:32])
}
