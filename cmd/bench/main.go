// Command bench measures the functions (make bench; BENCHMARKS.md): CPU
// per request beside the HTTP floor, warm latency through the local API
// split into own, Ottu and DynamoDB time, cold starts and init, resident
// memory, bootstrap sizes and AWS requests per path, and prints them as one
// report.
//
// Laptop tooling only: loopback, bounded in count and time; nothing in
// functions/ imports it.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"
)

type options struct {
	template, events string
	sections         []string
	rounds, n, warm  int
	starts           int
	loadScale        float64
	coldFunctions    string
	profileMode      string
	profilePath      string
	cpuProfile       string
	gomaxprocs       string
	out              string
}

func main() {
	if os.Getenv("BENCH_CHILD") != "" {
		if err := runChild(); err != nil {
			fmt.Fprintln(os.Stderr, "bench child:", err)
			os.Exit(1)
		}
		return
	}
	var o options
	var sections string
	flag.StringVar(&o.template, "template", "template.yaml", "SAM template")
	flag.StringVar(&o.events, "events", "events", "sample events (cold starts send <function>-apigw.json)")
	flag.StringVar(&sections, "sections", "cpu,latency,cold,size", "what to measure")
	flag.IntVar(&o.rounds, "rounds", 5, "CPU: rounds of each child (medians are reported)")
	flag.IntVar(&o.n, "n", 100, "CPU: measured requests per path per child")
	flag.IntVar(&o.warm, "warm", 20, "CPU: warm-up requests per path per child")
	flag.IntVar(&o.starts, "starts", 20, "cold starts per function")
	flag.StringVar(&o.coldFunctions, "cold-functions", "", "cold starts: only these functions (comma-separated logical ids; the floor runs with RefundFunction)")
	flag.Float64Var(&o.loadScale, "load-scale", 1, "latency: scale the requests of each step (1,000 at 1 client)")
	flag.StringVar(&o.cpuProfile, "cpuprofile", "", "only profile: write a CPU profile of one child's measured loops here")
	flag.StringVar(&o.profileMode, "profile-mode", "function", "with -cpuprofile: function or floor")
	flag.StringVar(&o.profilePath, "profile-path", "both", "with -cpuprofile: first, replay or both")
	flag.StringVar(&o.gomaxprocs, "gomaxprocs", "", "with -cpuprofile: the child's GOMAXPROCS")
	flag.StringVar(&o.out, "out", "", "also write the report to this file")
	flag.Parse()
	o.sections = strings.Split(sections, ",")
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, o)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
}

func run(ctx context.Context, o options) error {
	var r report
	r.Machine = machine()
	r.Started = time.Now()
	want := func(s string) bool { return slices.Contains(o.sections, s) }
	if want("size") && o.cpuProfile == "" {
		fmt.Fprintln(os.Stderr, "bench: building every bootstrap for linux/arm64…")
		var err error
		if r.Sizes, err = bootstrapSizes(ctx); err != nil {
			return err
		}
	}
	if !want("cpu") && !want("latency") && !want("cold") && o.cpuProfile == "" {
		return r.write(os.Stdout, o.out)
	}
	b, err := startBenchStack(ctx, o.template, prefixed{os.Stderr})
	if err != nil {
		return err
	}
	defer b.close()
	if o.cpuProfile != "" {
		t, err := newCPUTarget(ctx, b)
		if err != nil {
			return err
		}
		res, err := t.runChild(ctx, cpuRun{Mode: o.profileMode, GOMAXPROCS: o.gomaxprocs, N: o.n, Warm: o.warm, Profile: o.cpuProfile, ProfPath: o.profilePath})
		if err != nil {
			return err
		}
		fmt.Printf("%+v\n", res)
		return nil
	}
	if want("cpu") {
		fmt.Fprintln(os.Stderr, "bench: CPU per request beside the floor…")
		if r.CPU, err = measureCPU(ctx, b, o); err != nil {
			return err
		}
	}
	if want("latency") {
		fmt.Fprintln(os.Stderr, "bench: warm latency through the local API…")
		if r.Latency, r.RSS, err = measureLatency(ctx, b, o.loadScale); err != nil {
			return err
		}
	}
	if want("cold") {
		fmt.Fprintln(os.Stderr, "bench: cold starts…")
		if r.Cold, err = b.coldStarts(ctx, o.events, o.starts, o.coldFunctions); err != nil {
			return err
		}
	}
	r.Took = time.Since(r.Started)
	return r.write(os.Stdout, o.out)
}

// prefixed writes the stack's progress lines to stderr, marked as ours.
type prefixed struct{ w io.Writer }

func (p prefixed) Write(b []byte) (int, error) {
	_, err := fmt.Fprintf(p.w, "bench: stack: %s", b)
	return len(b), err
}
