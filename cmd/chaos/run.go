package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/ottuops/ottu-lambda/dev/localstack"
	"github.com/ottuops/ottu-lambda/dev/sandbox"
)

// config is one chaos run. Counts are per API version.
type config struct {
	Template     string
	Requests     int
	Transactions int
	Seed         uint64
	// MaxDuration bounds the whole run: no request is sent after it.
	MaxDuration time.Duration
	Versions    []int
	// Workers send keys concurrently (each key's copies on top).
	Workers      int
	MaxProcesses int

	// The functions' settings: timeout T, OTTU_DEADLINE_MARGIN and
	// LEASE_GRACE.
	Timeout    time.Duration
	Margin     time.Duration
	LeaseGrace time.Duration

	// Faults injected in the sandbox; Latency is the latency fault's delay.
	Faults  int
	Latency time.Duration
	// SettleAfter bounds when a queued refund settles.
	SettleAfter time.Duration
	// Kills of busy capture/refund processes; Pauses of moto, PauseFor each.
	Kills    int
	Pauses   int
	PauseFor time.Duration

	Client policy
	// LogDir, when set, keeps the functions', the stack's and the
	// sandbox's logs there, for chasing a violation.
	LogDir string
}

// validate refuses settings that would make the run prove nothing, or
// manufacture a double operation by configuration rather than find one.
func (c config) validate() error {
	var errs []error
	if c.Requests < 1 || c.Transactions < 1 || c.Workers < 1 {
		errs = append(errs, errors.New("requests, transactions and workers must be at least 1"))
	}
	if len(c.Versions) == 0 {
		errs = append(errs, errors.New("give at least one API version"))
	}
	for _, v := range c.Versions {
		if v != 1 && v != 2 {
			errs = append(errs, fmt.Errorf("API version %d: use 2 and/or 1", v))
		}
	}
	if c.Margin >= c.Timeout {
		errs = append(errs, fmt.Errorf("the deadline margin %s must be shorter than the function timeout %s", c.Margin, c.Timeout))
	}
	// Latency must pass the function's deadline (the point of the fault)
	// and stay under LEASE_GRACE: the lease after an unknown outcome runs
	// LEASE_GRACE from when the function gave up, which may be just after
	// it sent, and a retry once it ends would reach Ottu before a slower
	// first request commits. LEASE_GRACE must outlast Ottu's processing;
	// that is the deployment's assumption, not something to test here.
	if c.Latency <= c.Timeout || c.Latency >= c.LeaseGrace {
		errs = append(errs, fmt.Errorf("latency %s must be longer than the function timeout %s and shorter than LEASE_GRACE %s", c.Latency, c.Timeout, c.LeaseGrace))
	}
	if c.MaxDuration <= 0 || c.PauseFor < 0 || c.Faults < 0 || c.Kills < 0 || c.Pauses < 0 {
		errs = append(errs, errors.New("max duration must be positive; faults, kills, pauses and pause length not negative"))
	}
	return errors.Join(errs...)
}

// phase is one API version's run: what was done and what was seen.
type phase struct {
	Version  int
	Duration time.Duration
	Observed observed
	// Injected counts faults added, by kind; Unused were never met.
	Injected map[string]int
	Unused   int
	// Kills done, and kill events that found no busy process.
	Kills, KillsMissed int
	Pauses             int
	Paused             time.Duration
	// Timeouts and Exits are the stack's function time-outs and process
	// exits during the phase.
	Timeouts, Exits int
	Summary         planSummary
	Violations      []violation
	// Latency is the latency fault's delay (to spot delayed requests).
	Latency time.Duration
}

// outcome is the whole run.
type outcome struct {
	Config   config
	Phases   []*phase
	Duration time.Duration
	// Log scan: lines, lines not JSON, lines with a secret (first few).
	LogLines, NotJSON, Leaks int
	LeakLines                []string
	NotJSONLines             []string
	Violations               []violation
}

// randomSecret makes a distinctive value, so finding it in a log is proof.
func randomSecret(prefix string) string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// run starts the local stack, runs each API version's phase and checks
// everything. A non-nil error means the run could not be carried out; the
// outcome's Violations say whether it found anything.
func run(ctx context.Context, cfg config, logger *slog.Logger) (*outcome, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	start := time.Now()
	deadline := start.Add(cfg.MaxDuration)

	apiKey, webhookKey := randomSecret("chaos-api-key-"), randomSecret("chaos-webhook-key-")
	user, password := "chaos-operator", randomSecret("chaos-password-")
	basic := basicToken(user, password)
	scan := &secretScan{secrets: []secret{
		{"sandbox API key", apiKey}, {"webhook key", webhookKey},
		{"Ottu password", password}, {"Basic credentials", basic},
	}}
	sbLog := newSandboxLog()
	stLog := &stackLog{}
	fnOut, stackOut, sandboxOut := io.Writer(scan.functionWriter()), io.Writer(stLog.writer()), io.Writer(sbLog.writer())
	if cfg.LogDir != "" {
		files, err := openLogs(cfg.LogDir, "functions.log", "stack.log", "sandbox.log")
		if err != nil {
			return nil, err
		}
		defer closeAll(files)
		fnOut, stackOut, sandboxOut = io.MultiWriter(fnOut, files[0]), io.MultiWriter(stackOut, files[1]), io.MultiWriter(sandboxOut, files[2])
	}

	logger.Info("starting the local stack", "template", cfg.Template)
	stack, err := localstack.Start(ctx, localstack.Options{
		Template:    cfg.Template,
		APIAddr:     "127.0.0.1:0",
		SandboxAddr: "127.0.0.1:0",
		MotoAddr:    "127.0.0.1:0",
		Sandbox: sandbox.Config{
			APIKey:           apiKey,
			WebhookKey:       webhookKey,
			Users:            map[string]sandbox.User{user: {Password: password, Permissions: []string{"*"}}},
			QueueSettleDelay: cfg.SettleAfter,
			Logger:           slog.New(slog.NewJSONHandler(io.MultiWriter(sandboxOut, scan.writer()), nil)),
		},
		MaxProcesses:   cfg.MaxProcesses,
		Logger:         slog.New(slog.NewJSONHandler(io.MultiWriter(stackOut, scan.writer()), nil)),
		FunctionOutput: fnOut,
		// The run drives refunds of every size, currency and identifier
		// through faults: the direct route's approval threshold would refuse
		// most of them before Ottu, so it is off here (refunds are still
		// counted in their payments' totals, under the same faults).
		Parameters: map[string]string{"DirectRefundApproval": "off"},
	})
	if err != nil {
		return nil, fmt.Errorf("start the local stack: %w", err)
	}
	defer stack.Close()

	httpClient := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4 * cfg.Workers}}
	defer httpClient.CloseIdleConnections()
	env := &runEnv{
		cfg:      cfg,
		stack:    stack,
		client:   &client{api: stack.URLs().API, http: httpClient, policy: cfg.Client},
		admin:    &sandboxAdmin{base: stack.URLs().Sandbox, http: httpClient},
		sbLog:    sbLog,
		stLog:    stLog,
		logger:   logger,
		deadline: deadline,
		creds: map[int]map[string]string{
			2: {"base_url": stack.URLs().Sandbox, "api_key": apiKey},
			1: {"base_url": stack.URLs().Sandbox, "username": user, "password": password},
		},
	}
	rng := mrand.New(mrand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)) //nolint:gosec // G404: a reproducible workload, not a secret
	out := &outcome{Config: cfg}
	for _, v := range cfg.Versions {
		ph, err := env.phase(ctx, rng, v)
		if err != nil {
			return nil, fmt.Errorf("API v%d: %w", v, err)
		}
		out.Phases = append(out.Phases, ph)
		out.Violations = append(out.Violations, ph.Violations...)
	}
	out.Duration = time.Since(start)
	// Close the stack before the scan's last look, so every line is in.
	stack.Close()
	out.LogLines, out.NotJSON, out.Leaks, out.LeakLines = scan.counts()
	out.NotJSONLines = scan.notJSONLines()
	for _, l := range out.LeakLines {
		out.Violations = append(out.Violations, violation{Check: checkNoSecret, Detail: l})
	}
	if extra := out.Leaks - len(out.LeakLines); extra > 0 {
		out.Violations = append(out.Violations, violation{Check: checkNoSecret, Detail: fmt.Sprintf("and %d more lines", extra)})
	}
	return out, nil
}

// openLogs creates dir and the named files in it.
func openLogs(dir string, names ...string) ([]*os.File, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("log directory: %w", err)
	}
	var files []*os.File
	for _, n := range names {
		f, err := os.Create(filepath.Join(dir, n))
		if err != nil {
			closeAll(files)
			return nil, fmt.Errorf("log file: %w", err)
		}
		files = append(files, f)
	}
	return files, nil
}

func closeAll(files []*os.File) {
	for _, f := range files {
		_ = f.Close()
	}
}

// basicToken is what a Basic Authorization header would carry.
func basicToken(user, password string) string {
	return base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
}

// runEnv is what the phases share.
type runEnv struct {
	cfg      config
	stack    *localstack.Stack
	client   *client
	admin    *sandboxAdmin
	sbLog    *sandboxLog
	stLog    *stackLog
	logger   *slog.Logger
	deadline time.Time
	creds    map[int]map[string]string
}

// phase runs one API version: configure the functions, create the
// transactions, send the requests under chaos, then check.
func (e *runEnv) phase(ctx context.Context, rng *mrand.Rand, version int) (*phase, error) {
	cfg := e.cfg
	ph := &phase{Version: version, Injected: map[string]int{}, Latency: cfg.Latency}
	start := time.Now()

	// API v1 takes Basic authentication only: the secret holds a user.
	secretValue, _ := json.Marshal(e.creds[version])
	sm := secretsmanager.NewFromConfig(e.stack.AWSConfig())
	if _, err := sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{
		SecretId: aws.String(e.stack.Secrets().API), SecretString: aws.String(string(secretValue)),
	}); err != nil {
		return nil, fmt.Errorf("set the Ottu API secret: %w", err)
	}
	err := e.stack.ReconfigureFunctions(ctx, localstack.FunctionSettings{
		Env: map[string]string{
			"OTTU_API_VERSION":     strconv.Itoa(version),
			"LEASE_GRACE":          cfg.LeaseGrace.String(),
			"OTTU_DEADLINE_MARGIN": cfg.Margin.String(),
		},
		Timeout: cfg.Timeout,
	})
	if err != nil {
		return nil, fmt.Errorf("configure the functions: %w", err)
	}

	p, err := newPlan(rng, fmt.Sprintf("chaos%d", cfg.Seed), version, cfg.Transactions, cfg.Requests)
	if err != nil {
		return nil, err
	}
	ph.Summary = summarize(p)
	for _, t := range p.Txns {
		if err := e.admin.createTransaction(ctx, t); err != nil {
			return nil, err
		}
	}
	e.logger.Info("phase started", "api_version", version, "transactions", len(p.Txns), "keys", len(p.Keys), "requests", p.Requests())

	timeouts0, exits0 := e.stLog.counts()
	results, notSent := e.workload(ctx, rng, p, ph)
	timeouts1, exits1 := e.stLog.counts()
	ph.Timeouts, ph.Exits = timeouts1-timeouts0, exits1-exits0
	if cfg.LogDir != "" {
		if err := writeRequests(filepath.Join(cfg.LogDir, fmt.Sprintf("requests-v%d.jsonl", version)), p, results); err != nil {
			return nil, err
		}
	}

	// Let what is still moving settle: latency-delayed requests commit,
	// queued refunds settle. Then no fault may touch anything else.
	if err := sleepCtx(ctx, max(cfg.Latency, cfg.SettleAfter)+time.Second); err != nil {
		return nil, err
	}
	if ph.Unused, err = e.admin.clearFaults(ctx); err != nil {
		return nil, err
	}
	obs, err := e.observe(ctx, p, results, notSent)
	if err != nil {
		return nil, err
	}
	ph.Observed = obs
	ph.Violations = verify(obs)
	ph.Duration = time.Since(start)
	e.logger.Info("phase done", "api_version", version, "duration", ph.Duration.Round(time.Millisecond).String(), "violations", len(ph.Violations))
	return ph, nil
}

// workload sends every planned request with cfg.Workers keys in flight,
// while the chaos controller injects faults, kills processes and pauses
// moto as the requests progress. It returns the results by key and how
// many requests the duration bound left unsent.
func (e *runEnv) workload(ctx context.Context, rng *mrand.Rand, p plan, ph *phase) (map[string][]result, int) {
	var (
		mu       sync.Mutex
		results  = map[string][]result{}
		progress atomic.Int64
		notSent  atomic.Int64
	)
	// In-flight requests finish within their own bounds; the run's bound
	// only stops new ones.
	reqCtx := context.WithoutCancel(ctx)
	send := func(k keyPlan, copyNo int) {
		r := e.client.do(reqCtx, k.Op, k.Key, k.Body(p.Txns[k.Txn]), copyNo)
		mu.Lock()
		results[k.Key] = append(results[k.Key], r)
		mu.Unlock()
		progress.Add(1)
	}
	jobs := make(chan keyPlan)
	var workers sync.WaitGroup
	for range e.cfg.Workers {
		workers.Go(func() {
			for k := range jobs {
				var copies sync.WaitGroup
				for c := range k.Copies {
					copies.Go(func() { send(k, c) })
				}
				copies.Wait()
				if k.Resend {
					send(k, k.Copies)
				}
			}
		})
	}
	done := make(chan struct{})
	chaosDone := make(chan struct{})
	go func() {
		defer close(chaosDone)
		e.chaos(ctx, rng, p.Requests(), &progress, done, ph)
	}()
	for i, k := range p.Keys {
		if time.Now().After(e.deadline) || ctx.Err() != nil {
			for _, rest := range p.Keys[i:] {
				notSent.Add(int64(rest.Requests()))
			}
			break
		}
		jobs <- k
	}
	close(jobs)
	workers.Wait()
	close(done)
	<-chaosDone
	return results, int(notSent.Load())
}

// chaosEvent is one thing the controller does once progress reaches At.
type chaosEvent struct {
	At   int64
	Kind string // a fault kind, "kill" or "pause"
}

// chaos injects faults, kills and pauses spread evenly over the requests'
// progress, each once, until the workload is done. Every loop is bounded:
// by the events' count, and a kill's search for a busy process by time.
func (e *runEnv) chaos(ctx context.Context, rng *mrand.Rand, total int, progress *atomic.Int64, done <-chan struct{}, ph *phase) {
	cfg := e.cfg
	kinds := []string{sandbox.FaultLatency, sandbox.FaultError5xx, sandbox.FaultDropAfterCommit, sandbox.FaultQueueRefund,
		sandbox.FaultDropNotification, sandbox.FaultDuplicateCallback}
	var events []chaosEvent
	spread := func(n int, kind func(i int) string) {
		for i := range n {
			events = append(events, chaosEvent{At: int64((i + 1) * total / (n + 1)), Kind: kind(i)})
		}
	}
	spread(cfg.Faults, func(i int) string { return kinds[i%len(kinds)] })
	spread(cfg.Kills, func(int) string { return "kill" })
	spread(cfg.Pauses, func(int) string { return "pause" })
	slices.SortStableFunc(events, func(a, b chaosEvent) int { return int(a.At - b.At) })

	var side sync.WaitGroup
	defer side.Wait()
	var mu sync.Mutex // guards ph's counters written by side goroutines
	pausing := atomic.Bool{}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for len(events) > 0 {
		select {
		case <-done:
			return
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		for len(events) > 0 && events[0].At <= progress.Load() {
			ev := events[0]
			events = events[1:]
			switch ev.Kind {
			case "kill":
				captureFirst := rng.IntN(2) == 0
				side.Go(func() {
					ok := e.killBusy(ctx, captureFirst, done)
					mu.Lock()
					defer mu.Unlock()
					if ok {
						ph.Kills++
					} else {
						ph.KillsMissed++
					}
				})
			case "pause":
				if !pausing.CompareAndSwap(false, true) {
					continue // one pause at a time; this one is dropped
				}
				side.Go(func() {
					defer pausing.Store(false)
					d := cfg.PauseFor
					err := e.stack.PauseMoto(ctx, d)
					mu.Lock()
					defer mu.Unlock()
					if err != nil {
						e.logger.Error("moto pause failed", "error", err.Error())
						return
					}
					ph.Pauses++
					ph.Paused += d
				})
			default:
				f := e.fault(rng, ev.Kind)
				if err := e.admin.addFault(ctx, f); err != nil {
					e.logger.Error("fault not injected", "kind", f.Kind, "error", err.Error())
					continue
				}
				mu.Lock()
				ph.Injected[f.Kind] += max(f.Count, 1)
				mu.Unlock()
			}
		}
	}
}

// fault builds a sandbox fault of kind with random details.
func (e *runEnv) fault(rng *mrand.Rand, kind string) sandbox.Fault {
	f := sandbox.Fault{Kind: kind, Count: 1 + rng.IntN(2)}
	if kind == sandbox.FaultQueueRefund {
		f.Settle = sandbox.SettleSuccess
		if rng.IntN(10) < 3 {
			f.Settle = sandbox.SettleRejected
		}
		f.SettleAfterMS = 200 + rng.IntN(int(e.cfg.SettleAfter.Milliseconds())+1)
		return f
	}
	if kind == sandbox.FaultDuplicateCallback {
		// The next operation notifications (or disclosures) are delivered
		// twice or three times: the webhook must store each once.
		f.Copies = 2 + rng.IntN(2)
		return f
	}
	switch rng.IntN(4) {
	case 0:
		f.Operation = "capture"
	case 1:
		f.Operation = "refund"
	}
	switch kind {
	case sandbox.FaultLatency:
		f.LatencyMS = int(e.cfg.Latency.Milliseconds())
	case sandbox.FaultError5xx:
		f.Status = []int{500, 502, 503}[rng.IntN(3)]
	}
	return f
}

// killBusy kills a busy capture or refund process, trying for up to 3 s
// for one to be busy. It reports whether it killed one.
func (e *runEnv) killBusy(ctx context.Context, captureFirst bool, done <-chan struct{}) bool {
	order := []string{"RefundFunction", "CaptureFunction"}
	if captureFirst {
		order[0], order[1] = order[1], order[0]
	}
	until := time.Now().Add(3 * time.Second)
	for time.Now().Before(until) {
		for _, fn := range order {
			ok, err := e.stack.KillOne(fn)
			if err != nil {
				e.logger.Error("kill failed", "function", fn, "error", err.Error())
				return false
			}
			if ok {
				e.logger.Info("killed a busy function process", "function", fn)
				return true
			}
		}
		select {
		case <-done:
			return false
		case <-ctx.Done():
			return false
		case <-time.After(10 * time.Millisecond):
		}
	}
	return false
}

// observe reads back the sandbox's transactions and every key's record.
func (e *runEnv) observe(ctx context.Context, p plan, results map[string][]result, notSent int) (observed, error) {
	o := observed{
		Plan: p, Results: results, NotSent: notSent,
		Txns: map[string]sandbox.Transaction{}, Records: map[string]record{},
		RecordErrors: map[string]string{}, Ottu: map[string][]ottuRequest{},
	}
	for _, t := range p.Txns {
		st, err := e.admin.transaction(ctx, t.SessionID)
		if err != nil {
			return o, err
		}
		o.Txns[t.SessionID] = st
	}
	var mu sync.Mutex
	keys := make(chan string)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for key := range keys {
				rec, found, err := e.client.getRecord(ctx, key)
				mu.Lock()
				switch {
				case err != nil:
					o.RecordErrors[key] = err.Error()
				case found:
					o.Records[key] = rec
				}
				mu.Unlock()
			}
		})
	}
	if err := e.observeNotifications(ctx, &o); err != nil {
		return o, err
	}
	for _, k := range p.Keys {
		o.Ottu[k.Key] = e.sbLog.requests(k.Key)
		keys <- k.Key
	}
	close(keys)
	wg.Wait()
	return o, nil
}

// writeRequests keeps every request's answers, one JSON line per request.
func writeRequests(path string, p plan, results map[string][]result) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("requests log: %w", err)
	}
	enc := json.NewEncoder(f)
	for _, k := range p.Keys {
		for _, r := range results[k.Key] {
			answers := make([]string, 0, len(r.Attempts))
			for _, a := range r.Attempts {
				answers = append(answers, a.label())
			}
			_ = enc.Encode(map[string]any{
				"key": k.Key, "op": k.Op, "amount": k.Amount, "copy": r.Copy, "answers": answers,
				"elapsed_ms": r.Elapsed.Milliseconds(), "no_answer": r.NoAnswer, "error": r.Err,
			})
		}
	}
	return f.Close()
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
