// Package testkit starts the real parts tests run against: moto's server
// (DynamoDB, Secrets Manager, Step Functions) on a free loopback port,
// behind a motoproxy.Proxy so its DynamoDB applies conditional writes
// atomically, as DynamoDB does. A missing dependency fails the test loudly;
// nothing here skips.
package testkit

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/ottuops/ottu-lambda/dev/testkit/motoproxy"
)

// Moto is a running moto_server behind a motoproxy.Proxy, which gives its
// DynamoDB the atomic conditional writes real DynamoDB has.
type Moto struct {
	// Endpoint is the base URL every client uses, such as
	// http://127.0.0.1:41234: the proxy, so concurrent conditional writes
	// behave as in DynamoDB.
	Endpoint string
	// Proxy is the proxy at Endpoint; a test pauses it to simulate a hung
	// DynamoDB.
	Proxy *motoproxy.Proxy
	// Direct is moto_server's own base URL, bypassing the proxy. Only a
	// test about moto itself should use it.
	Direct string
	cmd    *exec.Cmd
	server *http.Server
	// patchDir holds sitecustomize.py while moto runs.
	patchDir string
}

// sitecustomize works around moto 5.2.1's bugs the local stack meets:
// getmoto/moto#10077 (every StartExecution after the first fails with a
// 500), and in its CloudFormation, IAM enforcement and Lambda what the
// deployed template needs (role policies stored as dicts, resource-named
// statements never matching, numbers in function environments, state
// machines without their DefinitionSubstitutions, in the backend that does
// not execute). moto_server loads it at start from its PYTHONPATH; see the
// file for what it changes.
//
//go:embed motopatch/sitecustomize.py
var sitecustomize []byte

// errPortTaken marks a start that failed because the port was in use.
var errPortTaken = errors.New("port taken")

// MotoOptions are StartMotoWith's settings.
type MotoOptions struct {
	// LambdaPort, when set, switches on moto's Step Functions engine
	// (execute_state_machine), whose Lambda tasks call the Lambda Invoke
	// API at http://localhost:<LambdaPort> (moto reads it from MOTO_PORT):
	// the local stack's API port, or a test's own Invoke endpoint. Zero
	// leaves the engine off: executions are recorded but never run.
	LambdaPort int
}

// StartMoto serves moto on addr ("127.0.0.1:0" picks a free port) and waits
// until it answers: the proxy listens on addr, moto_server itself on a free
// loopback port behind it. Both die with this process.
func StartMoto(ctx context.Context, addr string) (*Moto, error) {
	return StartMotoWith(ctx, addr, MotoOptions{})
}

// StartMotoWith is StartMoto with options.
func StartMotoWith(ctx context.Context, addr string, opts MotoOptions) (*Moto, error) {
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		return nil, errors.New(`moto_server is not on PATH: install it with pip install "moto[server]"`)
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("moto address %q: %w", addr, err)
	}
	// Holding the listener from here on means no other server can take
	// the address, or answer in place of ours.
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("moto address %s is taken: choose another (MOTO_ADDR) or stop what listens there: %w: %w", addr, errPortTaken, err)
	}
	m, err := startBehind(ctx, bin, opts)
	if err != nil {
		_ = ln.Close()
		return nil, err
	}
	if opts.LambdaPort > 0 {
		if err := m.executeStateMachines(ctx); err != nil {
			_ = ln.Close()
			m.Stop()
			return nil, err
		}
	}
	m.Proxy, err = motoproxy.New(m.Direct)
	if err != nil {
		_ = ln.Close()
		m.Stop()
		return nil, fmt.Errorf("proxy to moto: %w", err)
	}
	m.Endpoint = "http://" + net.JoinHostPort(host, strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
	m.server = &http.Server{Handler: m.Proxy, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = m.server.Serve(ln) }()
	return m, nil
}

// startBehind starts moto_server on a free loopback port, for the proxy to
// forward to. A free port can be taken by another process (parallel test
// packages) between asking and binding: it tries a few.
func startBehind(ctx context.Context, bin string, opts MotoOptions) (*Moto, error) {
	for attempt := 1; ; attempt++ {
		p, err := FreePort()
		if err != nil {
			return nil, fmt.Errorf("find a free port for moto_server: %w", err)
		}
		m, err := startMoto(ctx, bin, "127.0.0.1", strconv.Itoa(p), opts)
		if err == nil || !errors.Is(err, errPortTaken) || attempt == 5 {
			return m, err
		}
	}
}

func startMoto(ctx context.Context, bin, host, port string, opts MotoOptions) (*Moto, error) {
	// A server already on the port would answer the readiness check in
	// place of ours: refuse a taken port up front.
	l, err := net.Listen("tcp", net.JoinHostPort(host, port))
	if err != nil {
		return nil, fmt.Errorf("moto_server port %s is taken: %w: %w", port, errPortTaken, err)
	}
	_ = l.Close()
	cmd := exec.Command(bin, "-H", host, "-p", port)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Env = append(os.Environ(), "MOTO_ALLOW_NONEXISTENT_REGION=true")
	var patchDir string
	if opts.LambdaPort > 0 {
		// moto_server's own port is -p; MOTO_PORT is only where its Step
		// Functions engine sends Lambda invocations.
		cmd.Env = append(cmd.Env, "MOTO_PORT="+strconv.Itoa(opts.LambdaPort))
		var err error
		if patchDir, err = writePatch(); err != nil {
			return nil, err
		}
		path := patchDir
		if prev := os.Getenv("PYTHONPATH"); prev != "" {
			path += string(os.PathListSeparator) + prev
		}
		cmd.Env = append(cmd.Env, "PYTHONPATH="+path)
	}
	if os.Getenv("TESTENV_VERBOSE") != "" {
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	}
	if err := cmd.Start(); err != nil {
		_ = os.RemoveAll(patchDir)
		return nil, fmt.Errorf("start moto_server: %w", err)
	}
	m := &Moto{Direct: "http://" + net.JoinHostPort(host, port), cmd: cmd, patchDir: patchDir}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(m.Direct + "/moto-api/")
		if err == nil {
			_ = resp.Body.Close()
			return m, nil
		}
		select {
		case err := <-exited:
			_ = os.RemoveAll(patchDir)
			return nil, fmt.Errorf("moto_server exited before it answered (is port %s free?): %w: %w", port, errPortTaken, err)
		case <-ctx.Done():
			m.Stop()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			m.Stop()
			return nil, errors.New("moto_server did not answer within 30s")
		}
	}
}

// executeStateMachines switches on moto's ASL interpreter, so executions
// really run their states (reference/local-stepfunctions.md).
func (m *Moto) executeStateMachines(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.Direct+"/moto-api/config",
		strings.NewReader(`{"stepfunctions": {"execute_state_machine": true}}`))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("switch on moto's Step Functions engine: %w", err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("switch on moto's Step Functions engine: moto answered %d", resp.StatusCode)
	}
	return nil
}

// Stop closes the proxy and kills the server and its process group.
func (m *Moto) Stop() {
	if m.server != nil {
		_ = m.server.Close()
	}
	if m.cmd != nil && m.cmd.Process != nil {
		_ = syscall.Kill(-m.cmd.Process.Pid, syscall.SIGKILL)
	}
	if m.patchDir != "" {
		_ = os.RemoveAll(m.patchDir)
	}
}

// writePatch writes sitecustomize.py into a directory of its own for
// moto_server's PYTHONPATH.
func writePatch() (string, error) {
	dir, err := os.MkdirTemp("", "testenv-moto-*")
	if err != nil {
		return "", fmt.Errorf("make a directory for moto's Step Functions patch: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "sitecustomize.py"), sitecustomize, 0o600); err != nil {
		_ = os.RemoveAll(dir)
		return "", fmt.Errorf("write moto's Step Functions patch: %w", err)
	}
	return dir, nil
}

// AWSConfig is an SDK configuration that talks to this server with dummy
// credentials, whatever the environment says.
func (m *Moto) AWSConfig() aws.Config {
	return aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("testing", "testing", ""),
		BaseEndpoint: aws.String(m.Endpoint),
	}
}

var (
	sharedOnce sync.Once
	shared     *Moto
	sharedErr  error
)

// TB is the part of testing.TB the helpers here use. It is an interface of
// its own so that the local stack and the commands, which use this package
// too, do not link package testing.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
}

// SharedMoto returns one moto_server for the whole test binary, started on
// first use. Tests isolate themselves by naming their own tables and secrets.
func SharedMoto(tb TB) *Moto {
	tb.Helper()
	sharedOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		shared, sharedErr = StartMoto(ctx, "127.0.0.1:0")
	})
	if sharedErr != nil {
		tb.Fatalf("moto_server is needed for this test and could not start: %v", sharedErr)
	}
	return shared
}

// FreePort asks the kernel for a free loopback port.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// UniqueName returns prefix plus a suffix unique within this process run.
func UniqueName(prefix string) string {
	n := counter.Add(1)
	return fmt.Sprintf("%s-%d-%d", prefix, os.Getpid(), n)
}

var counter atomic.Int64
