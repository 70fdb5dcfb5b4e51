package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/ottuops/ottu-lambda/dev/sandbox"
)

// cleanRun is a small run that breaks nothing: a partial refund that
// succeeded, an over-refund Ottu rejected, a capture that succeeded.
func cleanRun(version int) observed {
	ten := decimal.RequireFromString("10.000")
	p := plan{
		Version: version,
		Txns: []txnPlan{
			{SessionID: "t0", OrderNo: "o0", State: "paid", Amount: ten, Currency: "KWD", Places: 3},
			{SessionID: "t1", OrderNo: "o1", State: "authorized", Amount: ten, Currency: "KWD", Places: 3},
		},
		Keys: []keyPlan{
			{Key: "k0", Op: "refund", Txn: 0, Amount: "4.000", Copies: 1},
			{Key: "k1", Op: "refund", Txn: 0, Amount: "7.000", Copies: 1},
			{Key: "k2", Op: "capture", Txn: 1, Amount: "5.000", Copies: 1},
		},
	}
	ok := func(op, amt string) []result {
		return []result{{Attempts: []answer{{Status: 200, Body: []byte(`{"operation":"` + op + `","amount":"` + amt + `","result":"success"}`)}}}}
	}
	return observed{
		Plan: p,
		Results: map[string][]result{
			"k0": ok("refund", "4.000"),
			"k1": {{Attempts: []answer{{Status: 422, Code: "operation_rejected"}}}},
			"k2": ok("capture", "5.000"),
		},
		Txns: map[string]sandbox.Transaction{
			"t0": {SessionID: "t0", Children: []sandbox.Child{{Operation: "refund", Amount: "4.000", State: "refunded", TrackingKey: "k0"}}},
			"t1": {SessionID: "t1", Children: []sandbox.Child{{Operation: "capture", Amount: "5.000", State: "paid", TrackingKey: "k2"}}},
		},
		Records: map[string]record{
			"k0": {TrackingKey: "k0", Status: "succeeded"},
			"k1": {TrackingKey: "k1", Status: "failed"},
			"k2": {TrackingKey: "k2", Status: "succeeded"},
		},
		RecordErrors: map[string]string{},
		Ottu:         map[string][]ottuRequest{"k0": {{Status: 200}}, "k1": {{Status: 400}}, "k2": {{Status: 200}}},
	}
}

func addChild(o *observed, txn string, c sandbox.Child) {
	t := o.Txns[txn]
	t.Children = append(t.Children, c)
	o.Txns[txn] = t
}

func TestVerify(t *testing.T) {
	cases := []struct {
		name    string
		version int
		spoil   func(o *observed)
		want    []string // checks that must fire; none for a clean run
	}{
		{"a clean run has no violation", 2, func(*observed) {}, nil},
		{"a clean v1 run has no violation", 1, func(*observed) {}, nil},
		{"two children with one key are caught", 2, func(o *observed) {
			addChild(o, "t0", sandbox.Child{Operation: "refund", Amount: "4.000", State: "refunded", TrackingKey: "k0"})
		}, []string{checkOneChild, checkChildFor200, checkRecord}},
		{"a 200 without a child is caught", 2, func(o *observed) {
			t0 := o.Txns["t0"]
			t0.Children = nil
			o.Txns["t0"] = t0
		}, []string{checkChildFor200, checkRecord}},
		{"a 200 whose child has another amount is caught", 2, func(o *observed) {
			o.Txns["t0"].Children[0].Amount = "3.000"
		}, []string{checkChildFor200, checkRecord}},
		{"refunds past the paid amount are caught", 2, func(o *observed) {
			addChild(o, "t0", sandbox.Child{Operation: "refund", Amount: "7.000", State: "refunded", TrackingKey: "k1"})
		}, []string{checkRefundBalance, checkRecord}},
		{"a queued refund counts against the balance", 2, func(o *observed) {
			addChild(o, "t0", sandbox.Child{Operation: "refund", Amount: "7.000", State: "refund_queued", TrackingKey: "k1"})
		}, []string{checkRefundBalance, checkRecord}},
		{"a rejected queued refund does not count against the balance", 2, func(o *observed) {
			addChild(o, "t0", sandbox.Child{Operation: "refund", Amount: "7.000", State: "refund_rejected", TrackingKey: "k1"})
			o.Records["k1"] = record{Status: "unknown"}
		}, nil},
		{"refunds past what was captured are caught", 2, func(o *observed) {
			addChild(o, "t1", sandbox.Child{Operation: "refund", Amount: "6.000", State: "refunded", TrackingKey: "k1"})
			o.Records["k1"] = record{Status: "unknown"}
		}, []string{checkRefundBalance}},
		{"captures past the authorized amount are caught", 2, func(o *observed) {
			addChild(o, "t1", sandbox.Child{Operation: "capture", Amount: "6.000", State: "paid", TrackingKey: "k1"})
			o.Records["k1"] = record{Status: "unknown"}
		}, []string{checkCaptureLimit}},
		{"a request with no answer is caught", 2, func(o *observed) {
			o.Results["k1"] = []result{{NoAnswer: true, Err: "timeout"}}
		}, []string{checkFinalAnswer}},
		{"requests left unsent are caught", 2, func(o *observed) { o.NotSent = 3 }, []string{checkFinalAnswer}},
		{"a failed record with a child is caught", 2, func(o *observed) {
			o.Records["k0"] = record{Status: "failed"}
			o.Results["k0"] = []result{{Attempts: []answer{{Status: 504, Code: "outcome_unknown"}}}}
		}, []string{checkRecord}},
		{"a failed record with a rejected queued refund agrees with the sandbox", 2, func(o *observed) {
			addChild(o, "t0", sandbox.Child{Operation: "refund", Amount: "7.000", State: "refund_rejected", TrackingKey: "k1"})
		}, nil},
		{"a succeeded record without a child is caught", 2, func(o *observed) {
			o.Records["k1"] = record{Status: "succeeded"}
		}, []string{checkRecord}},
		{"a child without a record is caught", 2, func(o *observed) {
			delete(o.Records, "k0")
			o.Results["k0"] = []result{{Attempts: []answer{{Status: 503, Code: "store_unavailable"}}}}
		}, []string{checkRecord}},
		{"an unknown record with a child is no violation", 2, func(o *observed) {
			o.Records["k0"] = record{Status: "unknown"}
			o.Results["k0"] = []result{{Attempts: []answer{{Status: 504, Code: "outcome_unknown"}}}}
		}, nil},
		{"a 200 with a failed record is caught", 2, func(o *observed) {
			o.Records["k0"] = record{Status: "failed"}
		}, []string{checkRecord}},
		{"a 200 whose record stayed in progress is caught", 2, func(o *observed) {
			o.Records["k0"] = record{Status: "in_progress"}
		}, []string{checkRecord}},
		{"a 200 saying its outcome was not recorded may leave the record in progress", 1, func(o *observed) {
			o.Results["k0"][0].Attempts[0].Unrecorded = true
			o.Records["k0"] = record{Status: "in_progress"}
		}, nil},
		{"a 200 saying its outcome was not recorded never leaves it failed", 1, func(o *observed) {
			o.Results["k0"][0].Attempts[0].Unrecorded = true
			o.Records["k0"] = record{Status: "failed"}
		}, []string{checkRecord}},
		{"a repeated key reaching Ottu after its commit is caught on v1", 1, func(o *observed) {
			o.Ottu["k0"] = []ottuRequest{{Status: 200}, {Status: 200, Replayed: true}}
		}, []string{checkV1NoResend}},
		{"a repeated key reaching Ottu after its commit is how v2 works", 2, func(o *observed) {
			o.Ottu["k0"] = []ottuRequest{{Status: 200}, {Status: 200, Replayed: true}}
		}, nil},
		{"a tracking_key_reused answer to an unchanged request is caught", 2, func(o *observed) {
			o.Results["k1"] = []result{{Attempts: []answer{{Status: 422, Code: "tracking_key_reused"}}}}
		}, []string{checkNoReuse}},
		{"a child the run never asked for is caught", 2, func(o *observed) {
			addChild(o, "t0", sandbox.Child{Operation: "refund", Amount: "1.000", State: "refunded", TrackingKey: "stranger"})
		}, []string{checkUnplanned}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := cleanRun(c.version)
			c.spoil(&o)
			var got []string
			for _, v := range verify(o) {
				if !slices.Contains(got, v.Check) {
					got = append(got, v.Check)
				}
			}
			slices.Sort(got)
			want := slices.Clone(c.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				var all []string
				for _, v := range verify(o) {
					all = append(all, v.String())
				}
				t.Fatalf("checks fired %q, want %q:\n%s", got, want, strings.Join(all, "\n"))
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	cases := []struct {
		name   string
		change func(c *config)
		ok     bool
	}{
		{"the full run's settings are valid", func(*config) {}, true},
		{"latency within the function timeout is refused", func(c *config) { c.Latency = c.Timeout }, false},
		{"latency as long as LEASE_GRACE is refused", func(c *config) { c.Latency = c.LeaseGrace }, false},
		{"a margin as long as the timeout is refused", func(c *config) { c.Margin = c.Timeout }, false},
		{"an unknown API version is refused", func(c *config) { c.Versions = []int{3} }, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := defaultConfig()
			c.change(&cfg)
			if err := cfg.validate(); (err == nil) != c.ok {
				t.Fatalf("validate() = %v, want ok %v", err, c.ok)
			}
		})
	}
}
