package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
)

// sizeLimit is the bootstrap size target (linux/arm64, stripped).
const sizeLimit = 8 * 1000 * 1000

// lambdaTags are the Makefile's LAMBDA_TAGS: the bootstraps are measured as
// sam build makes them.
const lambdaTags = "lambda.norpc,nethttpomithttp2"

type cpuRow struct {
	GOMAXPROCS           string
	Rounds               int
	Function, Floor      [2]float64 // first, replay: median ms of CPU per request
	SDK                  [2]float64 // the floor's round trips with DynamoDB through the SDK
	SDKRatio             [2]float64 // median of the rounds' sdk/floor
	Ratio                [2]float64 // median of the rounds' function/floor
	FunctionAllocs       [2]float64
	FunctionWall, Floorw [2]float64
}

type sizeRow struct {
	Function string
	Bytes    int64
}

type report struct {
	Machine string
	Started time.Time
	Took    time.Duration
	CPU     []cpuRow
	Latency []latencyRow
	RSS     []int64 // refund function processes after the concurrency-1 run
	Cold    []coldRow
	Sizes   []sizeRow
}

// cpuSettings are the scheduler settings compared: one P, and the Go
// default on a 2-vCPU Lambda (GOMAXPROCS 2).
var cpuSettings = []string{"1", "2"}

func measureCPU(ctx context.Context, b *benchStack, o options) ([]cpuRow, error) {
	t, err := newCPUTarget(ctx, b)
	if err != nil {
		return nil, err
	}
	var rows []cpuRow
	type acc struct{ fn, fl, sdk, ratio, sdkRatio, allocs, fnWall, flWall [2][]float64 }
	accs := map[string]*acc{}
	for _, p := range cpuSettings {
		accs[p] = &acc{}
	}
	for round := range o.rounds {
		for _, p := range cpuSettings {
			fn, err := t.runChild(ctx, cpuRun{Mode: "function", GOMAXPROCS: p, N: o.n, Warm: o.warm})
			if err != nil {
				return nil, err
			}
			fl, err := t.runChild(ctx, cpuRun{Mode: "floor", GOMAXPROCS: p, N: o.n, Warm: o.warm})
			if err != nil {
				return nil, err
			}
			sdk, err := t.runChild(ctx, cpuRun{Mode: "sdk", GOMAXPROCS: p, N: o.n, Warm: o.warm})
			if err != nil {
				return nil, err
			}
			a := accs[p]
			for i, v := range [][3]float64{{fn.FirstCPUNs, fl.FirstCPUNs, sdk.FirstCPUNs}, {fn.ReplayCPUNs, fl.ReplayCPUNs, sdk.ReplayCPUNs}} {
				a.fn[i] = append(a.fn[i], v[0])
				a.fl[i] = append(a.fl[i], v[1])
				a.sdk[i] = append(a.sdk[i], v[2])
				a.ratio[i] = append(a.ratio[i], v[0]/v[1])
				a.sdkRatio[i] = append(a.sdkRatio[i], v[2]/v[1])
			}
			a.allocs[0] = append(a.allocs[0], fn.FirstAllocs)
			a.allocs[1] = append(a.allocs[1], fn.ReplayAllocs)
			a.fnWall[0] = append(a.fnWall[0], fn.FirstWallNs)
			a.fnWall[1] = append(a.fnWall[1], fn.ReplayWallNs)
			a.flWall[0] = append(a.flWall[0], fl.FirstWallNs)
			a.flWall[1] = append(a.flWall[1], fl.ReplayWallNs)
			fmt.Fprintf(os.Stderr, "bench: cpu round %d GOMAXPROCS=%s: function %.3f/%.3f ms, SDK only %.3f/%.3f ms, floor %.3f/%.3f ms (first/replay)\n",
				round+1, p, ms(fn.FirstCPUNs), ms(fn.ReplayCPUNs), ms(sdk.FirstCPUNs), ms(sdk.ReplayCPUNs), ms(fl.FirstCPUNs), ms(fl.ReplayCPUNs))
		}
	}
	for _, p := range cpuSettings {
		a := accs[p]
		row := cpuRow{GOMAXPROCS: p, Rounds: o.rounds}
		for i := range 2 {
			row.Function[i], row.Floor[i] = ms(median(a.fn[i])), ms(median(a.fl[i]))
			row.Ratio[i] = median(a.ratio[i])
			row.SDK[i], row.SDKRatio[i] = ms(median(a.sdk[i])), median(a.sdkRatio[i])
			row.FunctionAllocs[i] = median(a.allocs[i])
			row.FunctionWall[i], row.Floorw[i] = ms(median(a.fnWall[i])), ms(median(a.flWall[i]))
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// loadPlan is the latency section: concurrency, path, requests.
var loadPlan = []struct {
	c    int
	path string
	n    int
}{
	{1, "first", 1000}, {1, "replay", 300},
	{8, "first", 400}, {8, "replay", 400},
	{32, "first", 640}, {32, "replay", 640},
}

func measureLatency(ctx context.Context, b *benchStack, scale float64) ([]latencyRow, []int64, error) {
	var rows []latencyRow
	var rss []int64
	for _, step := range loadPlan {
		// Warm-up: enough requests at this concurrency that every process
		// the measured run needs is running and has served.
		if _, err := b.runLoad(ctx, "first", step.c, 2*step.c); err != nil {
			return nil, nil, err
		}
		row, err := b.runLoad(ctx, step.path, step.c, max(step.c, int(float64(step.n)*scale)))
		if err != nil {
			return nil, nil, err
		}
		rows = append(rows, row)
		fmt.Fprintf(os.Stderr, "bench: %d clients %s: p50 %.1f ms, p99 %.1f ms\n", step.c, step.path, row.Total[0], row.Total[1])
		if step.c == 1 && step.path == "first" {
			if rss, err = b.st.ProcessMemory("RefundFunction"); err != nil {
				return nil, nil, err
			}
		}
	}
	return rows, rss, nil
}

// bootstrapSizes builds every function as SAM does.
func bootstrapSizes(ctx context.Context) ([]sizeRow, error) {
	dirs, err := filepath.Glob("functions/*")
	if err != nil {
		return nil, err
	}
	out, err := os.MkdirTemp("", "ottu-bench-build-*")
	if err != nil {
		return nil, err
	}
	defer func() { _ = os.RemoveAll(out) }()
	rows := make([]sizeRow, len(dirs))
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	sem := make(chan struct{}, 2)
	for i, dir := range dirs {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			name := filepath.Base(dir)
			bin := filepath.Join(out, name)
			cmd := exec.CommandContext(ctx, "go", "build", "-tags", lambdaTags, "-trimpath", "-ldflags", "-s -w", "-o", bin, "./"+dir)
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=arm64")
			if msg, err := cmd.CombinedOutput(); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("build %s: %w\n%s", name, err, msg))
				mu.Unlock()
				return
			}
			st, err := os.Stat(bin)
			if err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
				return
			}
			rows[i] = sizeRow{Function: name, Bytes: st.Size()}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		return nil, errs[0]
	}
	return rows, nil
}

func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if v, ok := strings.CutPrefix(line, "model name"); ok {
				model = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	load := ""
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		load = strings.Join(strings.Fields(string(b))[:3], " ")
	}
	return fmt.Sprintf("%s, %d CPUs, %s %s/%s, load average at start %s", model, runtime.NumCPU(), runtime.Version(), runtime.GOOS, runtime.GOARCH, load)
}

func (r *report) write(stdout io.Writer, file string) error {
	var sb strings.Builder
	r.render(&sb)
	if _, err := io.WriteString(stdout, sb.String()); err != nil {
		return err
	}
	if file != "" {
		return os.WriteFile(file, []byte(sb.String()), 0o600)
	}
	return nil
}

func (r *report) render(w io.Writer) {
	p := func(format string, a ...any) { fmt.Fprintf(w, format, a...) }
	p("Machine: %s. Run %s", r.Machine, r.Started.UTC().Format("2006-01-02 15:04 UTC"))
	if r.Took > 0 {
		p(", took %s", r.Took.Round(time.Second))
	}
	p(".\n\n")
	if len(r.CPU) > 0 {
		p("| CPU per warm request (ms, user+system, median of %d rounds) | GOMAXPROCS | function | floor | function / floor | SDK only | SDK only / floor | function allocations | wall: function, floor |\n", r.CPU[0].Rounds)
		p("|---|---|---|---|---|---|---|---|---|\n")
		for _, c := range r.CPU {
			for i, path := range []string{"first refund (2 DynamoDB + 1 Ottu round trips)", "replay (1 DynamoDB round trip)"} {
				p("| %s | %s | %.3f | %.3f | %.2f× | %.3f | %.2f× | %.0f | %.1f, %.1f |\n", path, c.GOMAXPROCS, c.Function[i], c.Floor[i], c.Ratio[i], c.SDK[i], c.SDKRatio[i], c.FunctionAllocs[i], c.FunctionWall[i], c.Floorw[i])
			}
		}
		p("\n")
	}
	if len(r.Latency) > 0 {
		p("| warm latency through the local API (ms, p50 / p99) | clients | requests | total | own | Ottu | DynamoDB |\n")
		p("|---|---|---|---|---|---|---|\n")
		for _, l := range r.Latency {
			p("| %s | %d | %d | %.1f / %.1f | %.1f / %.1f | %.1f / %.1f | %.1f / %.1f |\n", pathName(l.Path), l.Concurrency, l.Requests,
				l.Total[0], l.Total[1], l.Own[0], l.Own[1], l.Ottu[0], l.Ottu[1], l.DynamoDB[0], l.DynamoDB[1])
		}
		p("\n| AWS and Ottu requests per request (at the proxies, warm) | clients | DynamoDB writes | DynamoDB reads | Ottu calls | Secrets Manager calls in the run |\n")
		p("|---|---|---|---|---|---|\n")
		for _, l := range r.Latency {
			p("| %s | %d | %.2f | %.2f | %.2f | %d |\n", pathName(l.Path), l.Concurrency, l.DynamoWrites, l.DynamoReads, l.OttuCalls, l.SecretsCalls)
		}
		p("\n")
	}
	if len(r.Cold) > 0 {
		p("| cold start under aws-lambda-rie (ms; %d starts each) | init: bootstrap start → first `next`, RIE's INIT REPORT (median / p90) | first answer: invocation sent → answer, bootstrap start included (median / p90) | bootstrap resident memory after it (MB) | aws-lambda-rie's own (MB) | Secrets Manager calls per start | first answer |\n", r.Cold[0].Starts)
		p("|---|---|---|---|---|---|---|\n")
		for _, c := range r.Cold {
			p("| %s | %.1f / %.1f | %.1f / %.1f | %.1f | %.1f | %.0f | %s |\n", c.Function, c.Init[0], c.Init[1], c.FirstAnswer[0], c.FirstAnswer[1], c.RSS/1e6, c.EmulatorRSS/1e6, c.SecretsPerInit, c.Answer)
		}
		p("\n")
	}
	if len(r.RSS) > 0 {
		var mb []string
		for _, v := range r.RSS {
			mb = append(mb, fmt.Sprintf("%.1f MB", float64(v)/1e6))
		}
		p("Resident memory of the RefundFunction process after the 1,000 requests at 1 client: %s.\n\n", strings.Join(mb, ", "))
	}
	if len(r.Sizes) > 0 {
		p("| bootstrap (linux/arm64, -s -w, tags %s) | bytes | MB | target 8 MB |\n|---|---|---|---|\n", lambdaTags)
		for _, s := range slices.Clone(r.Sizes) {
			ok := "ok"
			if s.Bytes > sizeLimit {
				ok = "over"
			}
			p("| %s | %d | %.2f | %s |\n", s.Function, s.Bytes, float64(s.Bytes)/1e6, ok)
		}
		p("\n")
	}
}

func pathName(p string) string {
	if p == "first" {
		return "first refund"
	}
	return "replay"
}
