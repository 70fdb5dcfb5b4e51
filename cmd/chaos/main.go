// Command chaos is the proof run (make chaos; RELIABILITY.md): it starts
// the local stack, sends captures and refunds with duplicate Tracking-Keys,
// concurrent and retried, on Ottu API v2 and v1, while the sandbox injects
// latency past the function's deadline, 5xx, dropped connections after
// commit and queued refunds, moto is paused and function processes are
// killed mid-request. Then it checks that no key made two children, no
// transaction was over-refunded or over-captured, every request got a final
// answer, every 200 and every record agree with the sandbox, and no log
// line holds a secret. It prints a table of counts and exits 1 on any
// violation.
//
// Laptop tooling only: loopback, bounded in count and time; nothing in
// functions/ imports it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		logger.Error("bad flags", "error", err.Error())
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	out, err := run(ctx, cfg, logger)
	stop()
	if err != nil {
		logger.Error("the chaos run could not be carried out", "error", err.Error())
		os.Exit(2)
	}
	writeReport(os.Stdout, out)
	if len(out.Violations) > 0 {
		os.Exit(1)
	}
}

// defaultConfig is the full run of make chaos.
func defaultConfig() config {
	c := config{
		Template:     "template.yaml",
		Requests:     1200,
		Transactions: 200,
		Seed:         1,
		MaxDuration:  20 * time.Minute,
		Versions:     []int{2, 1},
		Workers:      12,
		MaxProcesses: 10,
		Timeout:      3 * time.Second,
		Margin:       time.Second,
		LeaseGrace:   5 * time.Second,
		Latency:      4 * time.Second,
		SettleAfter:  time.Second,
		Kills:        8,
		Pauses:       4,
		PauseFor:     3 * time.Second,
	}
	c.Faults = c.Requests / 8
	c.Client = clientPolicy(c)
	return c
}

// clientPolicy is the merchant client for cfg: a wait may cover a whole
// lease, and one attempt may take API Gateway's whole integration time-out.
func clientPolicy(c config) policy {
	return policy{
		MaxAttempts:    6,
		DefaultWait:    time.Second,
		MaxWait:        c.LeaseGrace + c.Timeout,
		Horizon:        time.Minute,
		AttemptTimeout: 45 * time.Second,
		RequestBound:   2 * time.Minute,
	}
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	c := defaultConfig()
	fs := flag.NewFlagSet("chaos", flag.ContinueOnError)
	fs.SetOutput(stderr)
	versions := fs.String("versions", "2,1", "Ottu API versions to run, in order (2, 1 or both)")
	faults := fs.Int("faults", -1, "sandbox faults injected per API version (default requests/8)")
	fs.StringVar(&c.Template, "template", c.Template, "the SAM template; functions are built from its directory")
	fs.IntVar(&c.Requests, "requests", c.Requests, "capture and refund requests per API version (at least)")
	fs.IntVar(&c.Transactions, "transactions", c.Transactions, "transactions per API version")
	fs.Uint64Var(&c.Seed, "seed", c.Seed, "seed of the workload and of the chaos")
	fs.DurationVar(&c.MaxDuration, "max-duration", c.MaxDuration, "bound of the whole run: no request is sent after it")
	fs.IntVar(&c.Workers, "workers", c.Workers, "Tracking-Keys in flight at once (each with its concurrent copies)")
	fs.IntVar(&c.MaxProcesses, "max-processes", c.MaxProcesses, "processes per function")
	fs.DurationVar(&c.Timeout, "timeout", c.Timeout, "function timeout")
	fs.DurationVar(&c.Margin, "margin", c.Margin, "OTTU_DEADLINE_MARGIN")
	fs.DurationVar(&c.LeaseGrace, "lease-grace", c.LeaseGrace, "LEASE_GRACE")
	fs.DurationVar(&c.Latency, "latency", c.Latency, "delay of the latency fault: past the timeout, under LEASE_GRACE")
	fs.DurationVar(&c.SettleAfter, "settle-after", c.SettleAfter, "queued refunds settle within this (plus 200ms)")
	fs.IntVar(&c.Kills, "kills", c.Kills, "busy capture/refund processes killed per API version")
	fs.IntVar(&c.Pauses, "pauses", c.Pauses, "moto pauses per API version")
	fs.DurationVar(&c.PauseFor, "pause-for", c.PauseFor, "length of each moto pause")
	fs.StringVar(&c.LogDir, "logs", "", "keep the functions', stack's and sandbox's logs in this directory")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	c.Versions = nil
	for _, v := range strings.Split(*versions, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			return c, fmt.Errorf("-versions %q: give a comma-separated list of 2 and 1", *versions)
		}
		c.Versions = append(c.Versions, n)
	}
	c.Faults = *faults
	if c.Faults < 0 {
		c.Faults = c.Requests / 8
	}
	c.Client = clientPolicy(c)
	return c, c.validate()
}
