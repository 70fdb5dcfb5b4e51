package localstack

// Hooks for the benchmarks (cmd/bench): cold starts of a function's real
// bootstrap through the Runtime API, and the resident memory of its
// processes. Laptop tooling only; nothing in functions/ uses them.

import (
	"context"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ColdStart is one start of a function's bootstrap, timed by the Runtime
// API emulator.
type ColdStart struct {
	// Init is process start to its first request for an invocation
	// (Lambda's init phase).
	Init time.Duration
	// FirstAnswer is process start to its answer to the first invocation.
	FirstAnswer time.Duration
	// Answer is what the function answered (nil with Err).
	Answer []byte
	// Err is the function's error, if it failed.
	Err error
	// RSS is the process's resident memory (bytes) right after it answered.
	RSS int64
}

// ColdStart starts a fresh process of function outside its pool, hands it
// payload as its first invocation, and kills it once it has answered: one
// on-demand cold start. The pool's own processes are left alone.
func (s *Stack) ColdStart(ctx context.Context, function string, payload []byte) (ColdStart, error) {
	return s.ColdStartBinary(ctx, function, "", nil, payload)
}

// ColdStartBinary is ColdStart with another binary in the function's place
// (a floor to compare with), given the function's environment plus env.
// An empty binary is the function's own.
func (s *Stack) ColdStartBinary(ctx context.Context, function, binary string, env []string, payload []byte) (ColdStart, error) {
	p, ok := s.functions[function]
	if !ok {
		return ColdStart{}, fmt.Errorf("%w: %s", errFunctionNotFound, function)
	}
	p.mu.Lock()
	cfg := p.cfg
	cfg.Env = append(slices.Clone(p.cfg.Env), env...)
	cfg.MaxProcesses = 1
	p.mu.Unlock()
	if binary != "" {
		cfg.Binary = binary
	}
	one := newPool(cfg)
	defer one.Close()
	answer, err := one.Invoke(ctx, payload)
	answered := time.Now()
	if ctx.Err() != nil {
		return ColdStart{}, ctx.Err()
	}
	one.mu.Lock()
	defer one.mu.Unlock()
	for proc := range one.procs {
		if proc.started.IsZero() || proc.readyAt.IsZero() || proc.cmd.Process == nil {
			break
		}
		rss, rssErr := residentMemory(proc.cmd.Process.Pid)
		if rssErr != nil {
			return ColdStart{}, fmt.Errorf("function %s: %w", function, rssErr)
		}
		return ColdStart{Init: proc.readyAt.Sub(proc.started), FirstAnswer: answered.Sub(proc.started), Answer: answer, Err: err, RSS: rss}, nil
	}
	return ColdStart{}, fmt.Errorf("function %s: its process did not start: %w", function, err)
}

// ProcessMemory is the resident memory (VmRSS, bytes) of each running
// process of function.
func (s *Stack) ProcessMemory(function string) ([]int64, error) {
	p, ok := s.functions[function]
	if !ok {
		return nil, fmt.Errorf("%w: %s", errFunctionNotFound, function)
	}
	p.mu.Lock()
	var pids []int
	for proc := range p.procs {
		if proc.cmd.Process != nil {
			pids = append(pids, proc.cmd.Process.Pid)
		}
	}
	p.mu.Unlock()
	rss := make([]int64, 0, len(pids))
	for _, pid := range pids {
		r, err := residentMemory(pid)
		if err != nil {
			return nil, fmt.Errorf("function %s: %w", function, err)
		}
		rss = append(rss, r)
	}
	return rss, nil
}

// residentMemory reads VmRSS of a process, in bytes.
func residentMemory(pid int) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, fmt.Errorf("resident memory of pid %d: %w", pid, err)
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("resident memory of pid %d: %q: %w", pid, v, err)
			}
			return kb * 1024, nil
		}
	}
	return 0, fmt.Errorf("resident memory of pid %d: no VmRSS", pid)
}

// Functions returns the functions' logical ids, sorted.
func (s *Stack) Functions() []string { return slices.Sorted(maps.Keys(s.functions)) }
