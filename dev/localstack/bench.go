package localstack

// Hooks for the benchmarks (cmd/bench): cold starts of a function's real
// bootstrap under aws-lambda-rie, and the resident memory of its
// processes. Laptop tooling only; nothing in functions/ uses them.

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ColdStart is one on-demand start of a function's bootstrap under
// aws-lambda-rie.
type ColdStart struct {
	// Init is the bootstrap's start to its first request for an invocation
	// (Lambda's init phase), as RIE's REPORT line gives it (Init Duration).
	Init time.Duration
	// FirstAnswer is the first invocation sent to a listening RIE to its
	// answer: RIE starts the bootstrap then, so it holds the process start,
	// the init and the first request.
	FirstAnswer time.Duration
	// Answer is what the function answered (nil with Err).
	Answer []byte
	// Err is the function's error, if it failed.
	Err error
	// RSS is the bootstrap's resident memory (bytes) right after it answered.
	RSS int64
	// EmulatorRSS is aws-lambda-rie's own resident memory then (a laptop
	// cost only: in Lambda the emulator's place is taken by the service).
	EmulatorRSS int64
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
	if err := one.warm(); err != nil {
		return ColdStart{}, fmt.Errorf("function %s: %w", function, err)
	}
	proc, err := one.awaitReady(ctx)
	if err != nil {
		return ColdStart{}, fmt.Errorf("function %s: %w", function, err)
	}
	sent := time.Now()
	answer, err := one.Invoke(ctx, payload)
	answered := time.Now()
	if ctx.Err() != nil {
		return ColdStart{}, ctx.Err()
	}
	cs := ColdStart{Init: proc.takeInitDuration(time.Second), FirstAnswer: answered.Sub(sent), Answer: answer, Err: err}
	pids := proc.bootstrapPIDs()
	if len(pids) == 0 {
		return ColdStart{}, fmt.Errorf("function %s: no bootstrap is running under aws-lambda-rie after the first answer: %w", function, err)
	}
	if cs.RSS, err = residentMemory(pids[0]); err != nil {
		return ColdStart{}, fmt.Errorf("function %s: %w", function, err)
	}
	if cs.EmulatorRSS, err = residentMemory(proc.cmd.Process.Pid); err != nil {
		return ColdStart{}, fmt.Errorf("function %s: aws-lambda-rie: %w", function, err)
	}
	return cs, nil
}

// awaitReady waits until the pool has a listening process and returns it.
func (p *pool) awaitReady(ctx context.Context) (*process, error) {
	for {
		p.mu.Lock()
		for proc := range p.procs {
			if proc.ready {
				p.mu.Unlock()
				return proc, nil
			}
		}
		n := len(p.procs)
		p.mu.Unlock()
		if n == 0 {
			return nil, errors.New("its aws-lambda-rie exited before it listened")
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// ProcessMemory is the resident memory (VmRSS, bytes) of each running
// bootstrap of function (the processes beneath its aws-lambda-rie).
func (s *Stack) ProcessMemory(function string) ([]int64, error) {
	p, ok := s.functions[function]
	if !ok {
		return nil, fmt.Errorf("%w: %s", errFunctionNotFound, function)
	}
	p.mu.Lock()
	procs := slices.Collect(maps.Keys(p.procs))
	p.mu.Unlock()
	var pids []int
	for _, proc := range procs {
		pids = append(pids, proc.bootstrapPIDs()...)
	}
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
