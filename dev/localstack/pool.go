package localstack

// Function processes run under AWS's Runtime Interface Emulator
// (aws-lambda-rie, the emulator inside AWS's base images and SAM CLI's
// containers), built from the module pinned in go.mod. Each pool process is
// one aws-lambda-rie with the function's bootstrap beneath it: RIE serves the
// Lambda Runtime API to the bootstrap, applies AWS_LAMBDA_FUNCTION_TIMEOUT,
// restarts the bootstrap after a crash or a time-out, and prints Lambda's
// START/END/REPORT lines. What RIE lacks, the pool adds:
//
//   - one invocation at a time: RIE serves one, and a second one sent while
//     the first runs crashes it (nil pointer after "ReserveFailed:
//     AlreadyReserved"), so the pool never sends a process more than one and
//     starts another process (up to MaxProcesses) when invocations wait;
//   - the function error's type: RIE drops the runtime's
//     Lambda-Runtime-Function-Error-Type header and answers a returned error
//     with 200 and the error document, so the pool recognises the document
//     (see functionErrorDocument) and reports a *FunctionError, which the
//     Invoke API turns into X-Amz-Function-Error as Lambda does;
//   - a time-out answers 200 "Task timed out after N.00 seconds": the pool
//     reports it as Sandbox.Timedout; RIE takes whole seconds only.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/google/uuid"
)

// rieInvokePath is where aws-lambda-rie takes invocations.
const rieInvokePath = "/2015-03-31/functions/function/invocations"

// rieTimedOut starts RIE's answer to an invocation that outlived the
// function's timeout.
const rieTimedOut = "Task timed out after"

// Local stand-ins for the account and region in ARNs and identities. RIE
// itself hands the function arn:aws:lambda:us-east-1:012345678912:function:<name>
// as its invoked ARN (fixed in RIE).
const (
	localAccountID = "123456789012"
	localRegion    = "us-east-1"
)

// maxRuntimeBody bounds an answer read from RIE: Lambda's 6 MB synchronous
// response limit, with room for error bodies.
const maxRuntimeBody = 8 << 20

// How long an aws-lambda-rie may take to listen, and how long past the
// function's timeout the pool waits for RIE's own time-out answer before it
// kills the process itself.
const (
	rieStartTimeout = 10 * time.Second
	timeoutGrace    = 5 * time.Second
)

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
	// RIE is the aws-lambda-rie executable each process runs Binary under.
	RIE string
	// Env is the process environment (KEY=VALUE). RIE passes it to the
	// bootstrap, and adds AWS_LAMBDA_RUNTIME_API; the pool adds
	// AWS_LAMBDA_FUNCTION_TIMEOUT from Timeout.
	Env []string
	// Timeout is how long one invocation may run before its bootstrap is
	// killed; RIE rounds it up to whole seconds.
	Timeout time.Duration
	// MaxProcesses caps how many processes of this function run at once.
	MaxProcesses int
	// Output receives the processes' stdout and stderr (RIE's and the
	// bootstrap's), one prefixed line at a time.
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
}

func newInvocation(payload []byte) *invocation {
	return &invocation{id: uuid.NewString(), payload: payload, done: make(chan struct{})}
}

// finish records the outcome; the first outcome wins.
func (inv *invocation) finish(result []byte, err error) {
	inv.once.Do(func() {
		inv.result, inv.err = result, err
		close(inv.done)
	})
}

// process is one aws-lambda-rie with the function's bootstrap beneath it
// (RIE starts the bootstrap at its first invocation, as Lambda's on-demand
// init does, and again after a crash or a time-out).
type process struct {
	cmd       *exec.Cmd
	invokeURL string
	out       *linePrefixer
	done      chan struct{}
	started   time.Time

	// Guarded by pool.mu.
	ready   bool // RIE listens
	retired bool // being killed; never given another invocation
	current *invocation

	// initMu guards what RIE's log lines told.
	initMu sync.Mutex
	// initDuration is the duration of RIE's latest INIT REPORT (the
	// bootstrap's start to its first request for work). RIE's REPORT line
	// has an "Init Duration" too, but it times only the hand-over of the
	// init, not the init.
	initDuration time.Duration
	// lastExit is why the bootstrap last exited, from RIE's log.
	lastExit string
}

// bootstrapPIDs are the function processes RIE runs (its children).
func (p *process) bootstrapPIDs() []int {
	if p.cmd.Process == nil {
		return nil
	}
	return childPIDs(p.cmd.Process.Pid)
}

// killBootstraps kills the function's processes beneath RIE, which runs
// each in its own process group; RIE lives on and answers the invocation
// with Runtime.ExitError, as Lambda does when an environment crashes.
func (p *process) killBootstraps() int {
	pids := p.bootstrapPIDs()
	for _, pid := range pids {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	return len(pids)
}

// kill kills the bootstraps beneath RIE, gives RIE a moment to reap them
// (a container's PID 1 may not reap orphans), then kills RIE itself. The
// pool sends a retired process nothing, so RIE starts no new bootstrap.
func (p *process) kill() {
	if p.cmd.Process == nil {
		return
	}
	if p.killBootstraps() > 0 {
		for range 100 {
			if len(p.bootstrapPIDs()) == 0 {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
}

// observe reads one line of RIE's output for the pool and says whether it
// belongs in the function log: RIE's own INFO lines (the init and invoke
// phases) do not, as they would not in CloudWatch; its INIT REPORT gives
// the init duration, and a runtime's exit reason is kept for an answer
// that lacks one.
func (p *process) observe(line []byte) bool {
	if !bytes.Contains(line, []byte("(rapid)")) {
		return true
	}
	if _, reason, ok := bytes.Cut(line, []byte(" exited: ")); ok && bytes.Contains(line, []byte("Process runtime-")) {
		p.initMu.Lock()
		p.lastExit = string(reason)
		p.initMu.Unlock()
	}
	if !bytes.Contains(line, []byte("[INFO]")) {
		return true
	}
	if _, after, ok := bytes.Cut(line, []byte("INIT REPORT(durationMs: ")); ok {
		ms, _, _ := bytes.Cut(after, []byte(")"))
		if v, err := strconv.ParseFloat(string(ms), 64); err == nil {
			p.initMu.Lock()
			p.initDuration = time.Duration(v * float64(time.Millisecond))
			p.initMu.Unlock()
		}
	}
	return false
}

// exitReason is the latest exit of a bootstrap RIE logged, if any.
func (p *process) exitReason() string {
	p.initMu.Lock()
	defer p.initMu.Unlock()
	return p.lastExit
}

// exitReasonWait bounds the wait for RIE's log line naming why a bootstrap
// exited: RIE answers the invocation and logs the exit on two paths, in
// either order.
const exitReasonWait = 500 * time.Millisecond

// awaitExitReason is exitReason, waiting up to wait for the log line.
func (p *process) awaitExitReason(wait time.Duration) string {
	deadline := time.Now().Add(wait)
	for {
		if r := p.exitReason(); r != "" || time.Now().After(deadline) {
			return r
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// takeInitDuration returns and clears the latest init duration RIE
// reported, waiting up to wait for its log line.
func (p *process) takeInitDuration(wait time.Duration) time.Duration {
	deadline := time.Now().Add(wait)
	for {
		p.initMu.Lock()
		d := p.initDuration
		p.initDuration = 0
		p.initMu.Unlock()
		if d > 0 || time.Now().After(deadline) {
			return d
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// pool runs the processes of one function the way Lambda runs execution
// environments: each process runs one invocation at a time; another
// process starts when an invocation waits and none is free.
type pool struct {
	cfg     functionConfig
	arn     string
	closing chan struct{}
	// ctx ends when the pool closes; invocations sent to RIE run under it,
	// not under their caller's context: a caller that leaves must not cut
	// RIE's request short while the function runs on.
	ctx    context.Context
	cancel context.CancelFunc
	client *http.Client
	wg     sync.WaitGroup

	mu       sync.Mutex
	closed   bool
	procs    map[*process]struct{}
	starting int
	idle     []*process    // ready and free, oldest first
	waiting  []*invocation // not yet sent to a process, oldest first
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
	ctx, cancel := context.WithCancel(context.Background())
	tr := &http.Transport{MaxIdleConnsPerHost: 1, IdleConnTimeout: time.Minute}
	return &pool{
		cfg:     cfg,
		arn:     functionARN(cfg.Name),
		closing: make(chan struct{}),
		ctx:     ctx,
		cancel:  cancel,
		client:  &http.Client{Transport: tr},
		procs:   map[*process]struct{}{},
	}
}

func functionARN(name string) string {
	return "arn:aws:lambda:" + localRegion + ":" + localAccountID + ":function:" + name
}

// timeoutSeconds is AWS_LAMBDA_FUNCTION_TIMEOUT for d: whole seconds, at
// least one, as RIE reads it.
func timeoutSeconds(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}

// warm starts one process ahead of the first invocation, so the first
// request does not wait for RIE to start (RIE starts the bootstrap itself at
// that first invocation).
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
	p.waiting = append(p.waiting, inv)
	p.dispatchLocked()
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

// dispatchLocked sends waiting invocations to free processes, then starts
// processes for those still waiting.
func (p *pool) dispatchLocked() {
	for !p.closed && len(p.waiting) > 0 && len(p.idle) > 0 {
		proc := p.idle[0]
		p.idle = p.idle[1:]
		inv := p.waiting[0]
		p.waiting = p.waiting[1:]
		proc.current = inv
		p.wg.Go(func() { p.run(proc, inv) })
	}
	p.scaleLocked()
}

// scaleLocked starts processes while invocations wait that no starting
// process will take, up to the function's maximum.
func (p *pool) scaleLocked() {
	for !p.closed && len(p.waiting) > p.starting && len(p.procs) < p.cfg.MaxProcesses {
		if err := p.spawnLocked(); err != nil {
			p.cfg.Logger.Error("function process did not start", "function", p.cfg.Name, "error", err.Error())
			inv := p.waiting[0]
			p.waiting = p.waiting[1:]
			inv.finish(nil, &FunctionError{Type: "Runtime.InvalidEntrypoint", Message: err.Error()})
		}
	}
}

func (p *pool) spawnLocked() error {
	st, err := os.Stat(p.cfg.Binary)
	if err != nil {
		return fmt.Errorf("the bootstrap of %s: %w", p.cfg.Name, err)
	}
	if st.IsDir() {
		return fmt.Errorf("the bootstrap of %s (%s) is a directory", p.cfg.Name, p.cfg.Binary)
	}
	addrs, err := freeLoopbackAddrs(2)
	if err != nil {
		return fmt.Errorf("ports for the aws-lambda-rie of %s: %w", p.cfg.Name, err)
	}
	proc := &process{done: make(chan struct{}), invokeURL: "http://" + addrs[0] + rieInvokePath}
	cmd := exec.Command(p.cfg.RIE, //nolint:gosec // G204: RIE and the bootstrap are what the stack built itself
		"--log-level", "info", // observe reads the INFO lines and keeps them out of the log
		"--runtime-interface-emulator-address", addrs[0],
		"--runtime-api-address", addrs[1],
		p.cfg.Binary)
	// RIE runs the bootstrap in its own working directory, as Lambda runs it
	// in LAMBDA_TASK_ROOT.
	cmd.Dir = filepath.Dir(p.cfg.Binary)
	cmd.Env = append(slices.Clone(p.cfg.Env), "AWS_LAMBDA_FUNCTION_TIMEOUT="+strconv.Itoa(timeoutSeconds(p.cfg.Timeout)))
	proc.out = p.cfg.Output.prefixer(p.cfg.Name)
	proc.out.onLine = proc.observe
	cmd.Stdout, cmd.Stderr = proc.out, proc.out
	// Its own process group; and it dies with the stack even when the stack
	// is killed outright (its bootstrap then exits at its next request for
	// work, which finds no Runtime API).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.WaitDelay = time.Second
	proc.started = time.Now()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s for %s: %w", p.cfg.RIE, p.cfg.Name, err)
	}
	proc.cmd = cmd
	p.procs[proc] = struct{}{}
	p.starting++
	p.wg.Go(func() { p.watch(proc) })
	p.wg.Go(func() { p.awaitListening(proc, addrs[0]) })
	return nil
}

// freeLoopbackAddrs picks n free ports on a loopback address of their own.
// RIE binds them a few milliseconds later, after they were closed here; a
// port on 127.0.0.1 could meanwhile be handed to another process starting
// at the same moment (another function's RIE), which would then answer this
// function's invocations. So each process gets a random address of
// 127.0.0.0/8 (Linux routes the whole block to loopback): two processes
// would need the same address and the same port to collide.
func freeLoopbackAddrs(n int) ([]string, error) {
	lns := make([]net.Listener, 0, n)
	defer func() {
		for _, ln := range lns {
			_ = ln.Close()
		}
	}()
	host := fmt.Sprintf("127.%d.%d.%d", 1+rand.IntN(254), rand.IntN(256), 1+rand.IntN(254)) //nolint:gosec // G404: an address, not a secret
	addrs := make([]string, 0, n)
	for range n {
		ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			return nil, err
		}
		lns = append(lns, ln)
		addrs = append(addrs, ln.Addr().String())
	}
	return addrs, nil
}

// awaitListening marks proc ready once RIE accepts connections.
func (p *pool) awaitListening(proc *process, addr string) {
	deadline := time.Now().Add(rieStartTimeout)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = conn.Close()
			break
		}
		select {
		case <-proc.done:
			return // watch settles it
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.cfg.Logger.Error("aws-lambda-rie did not listen in time; it is killed", "function", p.cfg.Name, "addr", addr, "timeout", rieStartTimeout.String())
			proc.kill()
			return
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, alive := p.procs[proc]; !alive || proc.ready {
		return
	}
	proc.ready = true
	p.starting--
	if !proc.retired {
		p.idle = append(p.idle, proc)
	}
	p.dispatchLocked()
}

// run sends inv to proc's RIE and settles it with RIE's answer.
func (p *pool) run(proc *process, inv *invocation) {
	result, err, retire := p.send(proc, inv)
	p.mu.Lock()
	proc.current = nil
	if retire {
		proc.retired = true
	}
	_, alive := p.procs[proc]
	if alive && !proc.retired && !p.closed {
		p.idle = append(p.idle, proc)
	}
	p.mu.Unlock()
	if retire {
		proc.kill()
	}
	inv.finish(result, err)
	p.mu.Lock()
	p.dispatchLocked()
	p.mu.Unlock()
}

// send posts one invocation to RIE. retire says the process cannot be
// trusted with another one (RIE hung or answered outside its contract).
func (p *pool) send(proc *process, inv *invocation) (result []byte, err error, retire bool) {
	ctx, cancel := context.WithTimeout(p.ctx, p.cfg.Timeout+timeoutGrace)
	defer cancel()
	req, reqErr := http.NewRequestWithContext(ctx, http.MethodPost, proc.invokeURL, bytes.NewReader(inv.payload))
	if reqErr != nil {
		return nil, reqErr, true
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Amzn-RequestId", inv.id)
	req.Header.Set("X-Amzn-Trace-Id", traceID())
	resp, doErr := p.client.Do(req)
	if doErr != nil {
		switch {
		case p.ctx.Err() != nil:
			return nil, errPoolClosed, true
		case ctx.Err() != nil:
			p.cfg.Logger.Warn("aws-lambda-rie did not answer past the function's timeout; the process is killed", "function", p.cfg.Name, "request_id", inv.id, "timeout", p.cfg.Timeout.String())
			return nil, timedOut(inv.id, p.cfg.Timeout), true
		default:
			return nil, &FunctionError{Type: "Runtime.ExitError", Message: "RequestId: " + inv.id + " Error: the function's aws-lambda-rie exited: " + doErr.Error()}, true
		}
	}
	defer func() { _ = resp.Body.Close() }()
	body, readErr := io.ReadAll(io.LimitReader(resp.Body, maxRuntimeBody))
	if readErr != nil {
		return nil, &FunctionError{Type: "Runtime.ExitError", Message: "RequestId: " + inv.id + " Error: reading aws-lambda-rie's answer: " + readErr.Error()}, true
	}
	result, fnErr, retire := rieAnswer(inv.id, resp.StatusCode, body)
	if fnErr != nil && fnErr.Message == "" {
		// A bootstrap that exits in its init leaves RIE's answer empty; its
		// log says why.
		fnErr.Message = "RequestId: " + inv.id + " Error: Runtime exited"
		if reason := proc.awaitExitReason(exitReasonWait); reason != "" {
			fnErr.Message += " with error: " + reason
		}
	}
	if fnErr != nil {
		if resp.StatusCode == http.StatusBadGateway {
			p.cfg.Logger.Info("function process exited", "function", p.cfg.Name, "request_id", inv.id, "reason", fnErr.Message, "restart", "aws-lambda-rie starts a new bootstrap at the next invocation")
		}
		if fnErr.Type == "Sandbox.Timedout" {
			p.cfg.Logger.Warn("function timed out; RIE killed its bootstrap", "function", p.cfg.Name, "request_id", inv.id, "timeout", p.cfg.Timeout.String())
		}
		return nil, fnErr, retire
	}
	return result, nil, retire
}

// rieAnswer reads RIE's answer to one invocation.
func rieAnswer(requestID string, status int, body []byte) ([]byte, *FunctionError, bool) {
	switch {
	case status == http.StatusOK && bytes.HasPrefix(body, []byte(rieTimedOut)):
		return nil, &FunctionError{Type: "Sandbox.Timedout", Message: "RequestId: " + requestID + " Error: " + string(body)}, false
	case status == http.StatusOK:
		if fnErr := functionErrorDocument(body); fnErr != nil {
			return nil, fnErr, false
		}
		return body, nil, false
	case status == http.StatusBadGateway:
		// A crash, a panic or a failed init: RIE restarts the bootstrap at
		// the next invocation.
		return nil, parseFunctionError(body, "Runtime.ExitError"), false
	default:
		return nil, &FunctionError{Type: "Runtime.Unknown", Message: fmt.Sprintf("RequestId: %s Error: aws-lambda-rie answered %d %s", requestID, status, strings.TrimSpace(string(body)))}, true
	}
}

// functionErrorDocument recognises the error document a runtime posts to
// the Runtime API's /error (errorType, errorMessage, maybe stackTrace), which
// RIE answers with 200 like a result. Only an object with a non-empty
// errorType, an errorMessage and no other field than a runtime's is one; a
// function's own result never has that shape here.
func functionErrorDocument(body []byte) *FunctionError {
	var doc map[string]json.RawMessage
	if json.Unmarshal(body, &doc) != nil {
		return nil
	}
	if _, ok := doc["errorMessage"]; !ok {
		return nil
	}
	var errType string
	if json.Unmarshal(doc["errorType"], &errType) != nil || errType == "" {
		return nil
	}
	for k := range doc {
		switch k {
		case "errorType", "errorMessage", "stackTrace", "requestId", "cause":
		default:
			return nil
		}
	}
	return parseFunctionError(body, errType)
}

func timedOut(requestID string, timeout time.Duration) *FunctionError {
	return &FunctionError{Type: "Sandbox.Timedout", Message: fmt.Sprintf("RequestId: %s Error: Task timed out after %d.00 seconds", requestID, timeoutSeconds(timeout))}
}

// watch waits for an RIE process to exit and settles what it leaves behind.
func (p *pool) watch(proc *process) {
	waitErr := proc.cmd.Wait()
	proc.out.flush()
	exit := "aws-lambda-rie exited"
	if waitErr != nil {
		exit = "aws-lambda-rie exited with error: " + waitErr.Error()
	}

	p.mu.Lock()
	delete(p.procs, proc)
	p.idle = slices.DeleteFunc(p.idle, func(q *process) bool { return q == proc })
	var failed *invocation
	if !proc.ready {
		// It died starting: the invocation it was started for gets the reason.
		p.starting--
		if len(p.waiting) > 0 && !p.closed {
			failed, p.waiting = p.waiting[0], p.waiting[1:]
		}
	}
	close(proc.done)
	p.scaleLocked()
	p.mu.Unlock()

	if failed != nil {
		failed.finish(nil, &FunctionError{Type: "Runtime.ExitError", Message: "RequestId: " + failed.id + " Error: " + exit})
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
		proc.retired = true
		procs = append(procs, proc)
	}
	p.mu.Unlock()
	p.cancel()
	for _, inv := range waiting {
		inv.finish(nil, errPoolClosed)
	}
	for _, proc := range procs {
		proc.kill()
	}
	p.wg.Wait()
	p.client.CloseIdleConnections()
}

// parseFunctionError reads the error document a runtime posts; a body that
// is not one still yields a usable error.
func parseFunctionError(body []byte, defaultType string) *FunctionError {
	var fnErr FunctionError
	if err := json.Unmarshal(body, &fnErr); err != nil || (fnErr.Type == "" && fnErr.Message == "") {
		fnErr = FunctionError{Message: string(body)}
	}
	if fnErr.Type == "" {
		fnErr.Type = defaultType
	}
	if fnErr.Type == "" {
		fnErr.Type = "Unhandled"
	}
	return &fnErr
}

// childPIDs lists the processes whose parent is ppid (from /proc).
func childPIDs(ppid int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...; comm may hold spaces and parentheses.
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 {
			continue
		}
		fields := strings.Fields(string(stat[i+1:]))
		if len(fields) >= 2 && fields[1] == strconv.Itoa(ppid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// traceID makes an X-Ray style trace header for one invocation.
func traceID() string {
	id := uuid.New()
	hex := fmt.Sprintf("%x", id[:])
	return fmt.Sprintf("Root=1-%08x-%s;Parent=%s;Sampled=0", time.Now().Unix(), hex[:24], hex[16:32])
}
