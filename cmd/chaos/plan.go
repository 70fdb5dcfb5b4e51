package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"

	"github.com/shopspring/decimal"

	"github.com/ottuops/ottu-lambda/shared/amount"
)

// txnPlan is one parent transaction created in the sandbox before the run.
type txnPlan struct {
	SessionID string
	OrderNo   string
	// State is paid (refunds only) or authorized (captures, then refunds
	// of what was captured).
	State    string
	Amount   decimal.Decimal
	Currency string
	Places   int32
	PGCode   string
}

// keyPlan is one Tracking-Key: one operation the merchant wants done once,
// sent Copies times at once and, with Resend, once more after those answered.
type keyPlan struct {
	Key string
	Op  string // capture or refund
	Txn int    // index into plan.Txns
	// Amount is the decimal text sent; "" lets Ottu choose (the full or
	// remaining amount).
	Amount string
	// ByOrderNo sends order_no instead of session_id (always on API v1).
	ByOrderNo bool
	// Copies are sent concurrently with the same key and body (1 to 3).
	Copies int
	// Resend sends the same key and body again once the copies answered.
	Resend bool
}

// Requests is how many merchant requests the key makes.
func (k keyPlan) Requests() int {
	if k.Resend {
		return k.Copies + 1
	}
	return k.Copies
}

// Body is the request body: API v1 names the transaction by order_no only.
func (k keyPlan) Body(t txnPlan) []byte {
	m := map[string]string{}
	if k.ByOrderNo {
		m["order_no"] = t.OrderNo
	} else {
		m["session_id"] = t.SessionID
	}
	if k.Amount != "" {
		m["amount"] = k.Amount
	}
	b, _ := json.Marshal(m)
	return b
}

// plan is the whole workload of one API version.
type plan struct {
	Version int
	Txns    []txnPlan
	// Keys in the order they are sent: transactions shuffled, each
	// transaction's keys together (captures before refunds), so keys of one
	// transaction race each other.
	Keys []keyPlan
}

// Requests counts the merchant requests of the plan.
func (p plan) Requests() int {
	n := 0
	for _, k := range p.Keys {
		n += k.Requests()
	}
	return n
}

// maxKeysPerTxn bounds the operations planned on one transaction.
const maxKeysPerTxn = 12

// newPlan makes at least requests merchant requests over txns transactions
// for API version, drawn from rng. Amounts are chosen so that the refunds
// (and captures) planned on a transaction usually add up to more than it
// allows: Ottu must reject the excess, never over-refund.
func newPlan(rng *rand.Rand, prefix string, version, txns, requests int) (plan, error) {
	if txns < 1 || requests < 1 {
		return plan{}, fmt.Errorf("need at least one transaction and one request (got %d and %d)", txns, requests)
	}
	if requests > txns*maxKeysPerTxn {
		return plan{}, fmt.Errorf("%d requests over %d transactions is more than %d keys per transaction: give more transactions", requests, txns, maxKeysPerTxn)
	}
	p := plan{Version: version}
	ops := make([][]keyPlan, txns)
	for i := range txns {
		t := newTxn(rng, prefix, version, i)
		p.Txns = append(p.Txns, t)
		ops[i] = txnOps(rng, t, i)
	}
	// Round robin over the transactions until the requests are planned.
	keys := make([][]keyPlan, txns)
	total := 0
	for round := 0; total < requests; round++ {
		if round == maxKeysPerTxn {
			return plan{}, fmt.Errorf("could not plan %d requests over %d transactions", requests, txns)
		}
		for i := range txns {
			if total >= requests {
				break
			}
			if round >= len(ops[i]) {
				continue
			}
			k := ops[i][round]
			k.Key = fmt.Sprintf("%s-v%d-t%03d-k%02d", prefix, version, i, round)
			k.ByOrderNo = version == 1 || rng.IntN(5) == 0
			switch r := rng.IntN(20); {
			case r < 3:
				k.Copies = 3
			case r < 6:
				k.Copies = 2
			default:
				k.Copies = 1
			}
			k.Resend = rng.IntN(7) == 0
			keys[i] = append(keys[i], k)
			total += k.Requests()
		}
	}
	order := rng.Perm(txns)
	for _, i := range order {
		p.Keys = append(p.Keys, keys[i]...)
	}
	return p, nil
}

// currencies the plan draws from: three decimals (KWD) and two (USD).
var currencies = []struct {
	code    string
	places  int32
	amounts []string
}{
	{"KWD", 3, []string{"10.000", "7.500", "20.000", "3.250"}},
	{"USD", 2, []string{"100.00", "55.50", "12.00"}},
}

func newTxn(rng *rand.Rand, prefix string, version, i int) txnPlan {
	c := currencies[rng.IntN(len(currencies))]
	state := "paid"
	if rng.IntN(5) < 2 {
		state = "authorized"
	}
	a, _ := decimal.NewFromString(c.amounts[rng.IntN(len(c.amounts))])
	return txnPlan{
		SessionID: fmt.Sprintf("%s-v%d-t%03d", prefix, version, i),
		OrderNo:   fmt.Sprintf("%s-order-v%d-t%03d", prefix, version, i),
		State:     state,
		Amount:    a,
		Currency:  c.code,
		Places:    c.places,
		PGCode:    "mpgs", // captures, refunds and voids
	}
}

// txnOps is the sequence of operations planned on one transaction, longer
// than any run takes; newPlan takes a prefix of it.
func txnOps(rng *rand.Rand, t txnPlan, i int) []keyPlan {
	var out []keyPlan
	add := func(op string, lo, hi float64, fullChance int) {
		k := keyPlan{Op: op, Txn: i}
		if rng.IntN(fullChance) != 0 {
			k.Amount = fraction(rng, t, lo, hi)
		}
		out = append(out, k)
	}
	if t.State == "authorized" {
		// Two or three captures of 30-60 %: usually more than authorized.
		for range 2 + rng.IntN(2) {
			add("capture", 0.30, 0.60, 10)
		}
	}
	// Refunds of 20-45 % (of the paid amount; of what was captured for an
	// authorization): four of them pass the total.
	for len(out) < maxKeysPerTxn {
		add("refund", 0.20, 0.45, 12)
	}
	return out
}

// fraction is a random share between lo and hi of t's amount, in t's
// currency's decimals, at least one minor unit.
func fraction(rng *rand.Rand, t txnPlan, lo, hi float64) string {
	f := lo + rng.Float64()*(hi-lo)
	a := t.Amount.Mul(decimal.NewFromFloat(f)).Truncate(t.Places)
	minUnit := decimal.New(1, -t.Places)
	a = decimal.Max(a, minUnit)
	return amount.FormatPlaces(a, t.Places)
}

// planSummary counts what a plan sets up to test.
type planSummary struct {
	// OverRefundTxns and OverCaptureTxns are the transactions whose planned
	// refunds (captures) with an amount sum to more than the transaction
	// allows.
	OverRefundTxns  int
	OverCaptureTxns int
}

func summarize(p plan) planSummary {
	refunds := make([]decimal.Decimal, len(p.Txns))
	captures := make([]decimal.Decimal, len(p.Txns))
	for _, k := range p.Keys {
		a, err := decimal.NewFromString(k.Amount)
		if err != nil {
			a = p.Txns[k.Txn].Amount // no amount: the whole remaining amount
		}
		if k.Op == "refund" {
			refunds[k.Txn] = refunds[k.Txn].Add(a)
		} else {
			captures[k.Txn] = captures[k.Txn].Add(a)
		}
	}
	var s planSummary
	for i, t := range p.Txns {
		if refunds[i].GreaterThan(t.Amount) {
			s.OverRefundTxns++
		}
		if captures[i].GreaterThan(t.Amount) {
			s.OverCaptureTxns++
		}
	}
	return s
}
