package localstack

// Hooks for the chaos run (cmd/chaos): reconfigure the functions after
// Start, kill a busy function process, and pause moto. Laptop tooling only;
// nothing in functions/ uses them.

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// FunctionSettings change how the stack runs every function from now on.
type FunctionSettings struct {
	// Env overrides (or adds) environment variables, such as LEASE_GRACE or
	// OTTU_API_VERSION, on top of what template.yaml sets.
	Env map[string]string
	// Timeout replaces the template's function timeout when positive; RIE
	// applies it in whole seconds (rounded up).
	Timeout time.Duration
}

// ReconfigureFunctions applies settings to every function: each running
// process is killed (an invocation it was running fails, as a crash would),
// the stack waits for them to exit, and one fresh process per function
// starts with the new settings. Call it while no request is in flight.
func (s *Stack) ReconfigureFunctions(ctx context.Context, settings FunctionSettings) error {
	for _, name := range slices.Sorted(maps.Keys(s.functions)) {
		p := s.functions[name]
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			return errPoolClosed
		}
		p.cfg.Env = overrideEnv(p.cfg.Env, settings.Env)
		if settings.Timeout > 0 {
			p.cfg.Timeout = settings.Timeout
		}
		procs := slices.Collect(maps.Keys(p.procs))
		p.mu.Unlock()
		for _, proc := range procs {
			proc.kill()
		}
		for _, proc := range procs {
			select {
			case <-proc.done:
			case <-ctx.Done():
				return fmt.Errorf("function %s: waiting for its old processes to exit: %w", name, ctx.Err())
			}
		}
		if err := p.warm(); err != nil {
			return err
		}
	}
	return nil
}

// overrideEnv returns env (KEY=VALUE) with the keys of set replaced or
// added, sorted by key.
func overrideEnv(env []string, set map[string]string) []string {
	vars := make(map[string]string, len(env)+len(set))
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	maps.Copy(vars, set)
	out := make([]string, 0, len(vars))
	for _, k := range slices.Sorted(maps.Keys(vars)) {
		out = append(out, k+"="+vars[k])
	}
	return out
}

// KillOne kills the bootstrap of one process of function that is running
// an invocation, chosen at random, as a crash of the execution environment
// would: aws-lambda-rie answers the invocation with Runtime.ExitError and
// starts a fresh bootstrap at the next one. It reports false when no
// process of it was busy (or its bootstrap had not started yet).
func (s *Stack) KillOne(function string) (bool, error) {
	p, ok := s.functions[function]
	if !ok {
		return false, fmt.Errorf("%w: %s", errFunctionNotFound, function)
	}
	p.mu.Lock()
	var busy []*process
	for proc := range p.procs {
		if proc.current != nil {
			busy = append(busy, proc)
		}
	}
	p.mu.Unlock()
	if len(busy) == 0 {
		return false, nil
	}
	return busy[rand.IntN(len(busy))].killBootstraps() > 0, nil //nolint:gosec // G404: which process dies needs no secure randomness
}

// PauseMoto holds every request to moto (DynamoDB and Secrets Manager) for
// d through the motoproxy in front of it, as a DynamoDB brown-out would,
// and returns once the pause is over, or early with ctx's error (the pause
// then ends at once).
func (s *Stack) PauseMoto(ctx context.Context, d time.Duration) error {
	if s.moto == nil || s.moto.Proxy == nil {
		return errors.New("moto is not running behind its proxy")
	}
	s.moto.Proxy.Pause(d)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		s.moto.Proxy.Resume()
		return ctx.Err()
	}
}
