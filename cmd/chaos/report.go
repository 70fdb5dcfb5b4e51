package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// phaseCounts derives the report's figures from one phase.
func phaseCounts(ph *phase) map[string]int {
	c := map[string]int{}
	o := ph.Observed
	rejectedRefund := map[string]bool{}
	for _, t := range o.Txns {
		for _, ch := range t.Children {
			if ch.State == "refund_rejected" {
				rejectedRefund[ch.TrackingKey] = true
			}
		}
	}
	c["transactions"] = len(o.Plan.Txns)
	c["Tracking-Keys"] = len(o.Plan.Keys)
	c["transactions planned past their refundable amount"] = ph.Summary.OverRefundTxns
	c["transactions planned past their authorized amount"] = ph.Summary.OverCaptureTxns
	for _, k := range o.Plan.Keys {
		for _, r := range o.Results[k.Key] {
			c["requests"]++
			if r.Copy > 0 && r.Copy < k.Copies {
				c["  sent concurrently with the same key"]++
			}
			if r.Copy == k.Copies {
				c["  re-sent with the same key after an answer"]++
			}
			c["HTTP attempts"] += len(r.Attempts)
			if len(r.Attempts) > 1 {
				c["client retries (same key, after Retry-After)"] += len(r.Attempts) - 1
			}
			c["final: "+r.final().label()]++
			if r.unknown() {
				c["requests left unknown (stopped on 409/502/503/504)"]++
			}
			for _, a := range r.Attempts {
				c["attempt: "+a.label()]++
			}
		}
		for _, req := range o.Ottu[k.Key] {
			c["Ottu: requests with a Tracking-Key"]++
			if req.Replayed {
				c["Ottu: answered from a stored key (replay)"]++
			}
			if req.Dropped {
				c["Ottu: connections dropped after commit"]++
			}
			if req.Status >= 500 {
				c["Ottu: 5xx answers"]++
			}
			if req.Duration >= ph.Latency {
				c["Ottu: answers delayed past the function's deadline"]++
			}
		}
		if rec, ok := o.Records[k.Key]; ok {
			c["records: "+rec.Status]++
			if rec.Status == "failed" && rejectedRefund[k.Key] {
				c["records: failed, key held at Ottu by a rejected queued refund"]++
			}
		} else {
			c["records: none"]++
		}
	}
	c["not sent (duration bound)"] = o.NotSent
	for _, t := range o.Txns {
		for _, ch := range t.Children {
			c["children: "+ch.Operation+" "+ch.State]++
		}
	}
	for kind, n := range ph.Injected {
		c["faults injected: "+kind] += n
		c["faults injected"] += n
	}
	c["faults never met (cleared at the end)"] = ph.Unused
	c["function processes killed mid-request"] = ph.Kills
	c["kills that found no busy process"] = ph.KillsMissed
	c["moto pauses"] = ph.Pauses
	c["function time-outs (process killed by the runtime)"] = ph.Timeouts
	c["function process exits"] = ph.Exits
	for _, v := range ph.Violations {
		c["violations: "+v.Check]++
		c["violations"]++
	}
	return c
}

// writeReport prints the table of counts and the violations.
func writeReport(w io.Writer, out *outcome) {
	cfg := out.Config
	per := make([]map[string]int, len(out.Phases))
	labels := map[string]bool{}
	for i, ph := range out.Phases {
		per[i] = phaseCounts(ph)
		for l := range per[i] {
			labels[l] = true
		}
	}
	// Fixed rows first, in reading order; then the per-status rows.
	fixed := []string{
		"transactions", "Tracking-Keys", "requests",
		"  sent concurrently with the same key", "  re-sent with the same key after an answer",
		"HTTP attempts", "client retries (same key, after Retry-After)", "not sent (duration bound)",
		"transactions planned past their refundable amount", "transactions planned past their authorized amount",
	}
	sections := []struct {
		title  string
		prefix string
		extra  []string
	}{
		{"final answer per request", "final: ", []string{"requests left unknown (stopped on 409/502/503/504)"}},
		{"every HTTP answer", "attempt: ", nil},
		{"chaos", "faults injected: ", []string{
			"faults injected", "faults never met (cleared at the end)",
			"Ottu: answers delayed past the function's deadline",
			"Ottu: 5xx answers", "Ottu: connections dropped after commit",
			"function processes killed mid-request", "kills that found no busy process",
			"moto pauses", "function time-outs (process killed by the runtime)", "function process exits",
		}},
		{"what Ottu and DynamoDB hold", "children: ", []string{
			"Ottu: requests with a Tracking-Key", "Ottu: answered from a stored key (replay)",
		}},
		{"", "records: ", nil},
	}

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight|tabwriter.Debug)
	header := "\t"
	for _, ph := range out.Phases {
		header += fmt.Sprintf("API v%d\t", ph.Version)
	}
	header += "total\t"
	_, _ = fmt.Fprintln(tw, header)
	line := func(label string) {
		s := label + "\t"
		total := 0
		for _, c := range per {
			s += strconv.Itoa(c[label]) + "\t"
			total += c[label]
		}
		s += strconv.Itoa(total) + "\t"
		_, _ = fmt.Fprintln(tw, s)
	}
	title := func(t string) {
		if t == "" {
			return
		}
		s := "— " + t + " —\t"
		for range len(out.Phases) + 1 {
			s += "\t"
		}
		_, _ = fmt.Fprintln(tw, s)
	}
	for _, l := range fixed {
		line(l)
	}
	for _, sec := range sections {
		title(sec.title)
		for _, l := range slices.Sorted(maps.Keys(labels)) {
			if strings.HasPrefix(l, sec.prefix) {
				line(l)
			}
		}
		for _, l := range sec.extra {
			line(l)
		}
	}
	title("violations")
	for _, check := range allChecks {
		label := "violations: " + check
		if check == checkNoSecret {
			s := label + "\t"
			for range out.Phases {
				s += "\t"
			}
			s += strconv.Itoa(out.Leaks) + "\t"
			_, _ = fmt.Fprintln(tw, s)
			continue
		}
		line(label)
	}
	s := "phase duration\t"
	for _, ph := range out.Phases {
		s += ph.Duration.Round(time.Second).String() + "\t"
	}
	s += out.Duration.Round(time.Second).String() + "\t"
	_, _ = fmt.Fprintln(tw, s)
	_ = tw.Flush()

	for _, ph := range out.Phases {
		var longest time.Duration
		for _, rs := range ph.Observed.Results {
			for _, r := range rs {
				longest = max(longest, r.Elapsed)
			}
		}
		_, _ = fmt.Fprintf(w, "\nAPI v%d: longest request %s, retries included (bound %s; one attempt %s)", ph.Version, longest.Round(10*time.Millisecond), cfg.Client.RequestBound, cfg.Client.AttemptTimeout)
	}
	_, _ = fmt.Fprintf(w, "\nlog lines scanned for secrets: %d (function lines not JSON: %d; lines with a secret: %d)\n", out.LogLines, out.NotJSON, out.Leaks)
	for _, l := range out.NotJSONLines {
		_, _ = fmt.Fprintf(w, "  not JSON: %s\n", l)
	}
	_, _ = fmt.Fprintf(w, "settings: function timeout %s, OTTU_DEADLINE_MARGIN %s, LEASE_GRACE %s, latency fault %s, queued refunds settle within %s, moto pauses of %s, %d workers, seed %d\n",
		cfg.Timeout, cfg.Margin, cfg.LeaseGrace, cfg.Latency, cfg.SettleAfter+200*time.Millisecond, cfg.PauseFor, cfg.Workers, cfg.Seed)
	_, _ = fmt.Fprintf(w, "client: up to %d attempts, waits Retry-After capped at %s (default %s), a Retry-After over %s is final\n",
		cfg.Client.MaxAttempts, cfg.Client.MaxWait, cfg.Client.DefaultWait, cfg.Client.Horizon)

	if len(out.Violations) == 0 {
		_, _ = fmt.Fprintln(w, "\nno violations")
		return
	}
	_, _ = fmt.Fprintf(w, "\n%d violations:\n", len(out.Violations))
	const show = 60
	for i, v := range out.Violations {
		if i == show {
			_, _ = fmt.Fprintf(w, "  … and %d more\n", len(out.Violations)-show)
			break
		}
		_, _ = fmt.Fprintln(w, "  "+v.String())
	}
}
