// Package testenv starts the real parts tests run against: moto's server
// (DynamoDB, Secrets Manager, Step Functions) on a free loopback port. A
// missing dependency fails the test loudly; nothing here skips.
package testenv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Moto is a running moto_server.
type Moto struct {
	// Endpoint is the base URL, such as http://127.0.0.1:41234.
	Endpoint string
	cmd      *exec.Cmd
}

// errPortTaken marks a start that failed because the port was in use.
var errPortTaken = errors.New("port taken")

// StartMoto starts moto_server on addr ("127.0.0.1:0" picks a free port) and
// waits until it answers. The server dies with this process.
func StartMoto(ctx context.Context, addr string) (*Moto, error) {
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		return nil, errors.New(`moto_server is not on PATH: install it with pip install "moto[server]"`)
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("moto address %q: %w", addr, err)
	}
	if port != "0" {
		return startMoto(ctx, bin, host, port)
	}
	// A free port can be taken by another process (parallel test packages)
	// between asking and binding: try a few.
	for attempt := 1; ; attempt++ {
		p, err := FreePort()
		if err != nil {
			return nil, err
		}
		m, err := startMoto(ctx, bin, host, strconv.Itoa(p))
		if err == nil || !errors.Is(err, errPortTaken) || attempt == 5 {
			return m, err
		}
	}
}

func startMoto(ctx context.Context, bin, host, port string) (*Moto, error) {
	// A server already on the port would answer the readiness check in
	// place of ours: refuse a taken port up front.
	l, err := net.Listen("tcp", net.JoinHostPort(host, port))
	if err != nil {
		return nil, fmt.Errorf("moto address %s is taken: choose another (MOTO_ADDR) or stop what listens there: %w: %w", net.JoinHostPort(host, port), errPortTaken, err)
	}
	_ = l.Close()
	cmd := exec.Command(bin, "-H", host, "-p", port)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Env = append(os.Environ(), "MOTO_ALLOW_NONEXISTENT_REGION=true")
	if os.Getenv("TESTENV_VERBOSE") != "" {
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start moto_server: %w", err)
	}
	m := &Moto{Endpoint: "http://" + net.JoinHostPort(host, port), cmd: cmd}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(m.Endpoint + "/moto-api/")
		if err == nil {
			_ = resp.Body.Close()
			return m, nil
		}
		select {
		case err := <-exited:
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

// Stop kills the server and its process group.
func (m *Moto) Stop() {
	if m.cmd != nil && m.cmd.Process != nil {
		_ = syscall.Kill(-m.cmd.Process.Pid, syscall.SIGKILL)
	}
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

// SharedMoto returns one moto_server for the whole test binary, started on
// first use. Tests isolate themselves by naming their own tables and secrets.
func SharedMoto(tb testing.TB) *Moto {
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
