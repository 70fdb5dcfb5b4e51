package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/ottuops/ottu-lambda/dev/sandbox"
)

// The checks, as the report names them.
const (
	checkOneChild      = "at most one child per Tracking-Key"
	checkChildFor200   = "a 200 has exactly its one child"
	checkRefundBalance = "refunded <= paid (or captured)"
	checkCaptureLimit  = "captured <= authorized"
	checkFinalAnswer   = "every request got a final answer"
	checkRecord        = "every record agrees with the sandbox"
	checkNoReuse       = "no tracking_key_reused for a repeated request"
	checkV1NoResend    = "v1 never re-sends a committed operation"
	checkNoSecret      = "no secret in any log line"
	checkUnplanned     = "no child the run did not ask for"
	checkNotifyAccept  = "every operation notification is accepted (signed, well-formed)"
	checkNotifyOnce    = "each delivered notification is stored once, for its child"
)

// allChecks lists the checks in report order.
var allChecks = []string{
	checkOneChild, checkChildFor200, checkRefundBalance, checkCaptureLimit, checkFinalAnswer,
	checkRecord, checkNoReuse, checkV1NoResend, checkNoSecret, checkUnplanned,
	checkNotifyAccept, checkNotifyOnce,
}

// violation is one broken check, precise enough to chase: the key, the
// transaction and what happened.
type violation struct {
	Check   string
	Version int
	Key     string
	Txn     string
	Detail  string
}

func (v violation) String() string {
	var where []string
	if v.Version != 0 {
		where = append(where, fmt.Sprintf("v%d", v.Version))
	}
	if v.Key != "" {
		where = append(where, "key "+v.Key)
	}
	if v.Txn != "" {
		where = append(where, "txn "+v.Txn)
	}
	return fmt.Sprintf("[%s] %s: %s", v.Check, strings.Join(where, " "), v.Detail)
}

// observed is what one API version's run saw, for the checks.
type observed struct {
	Plan plan
	// Results are the merchant requests per key, copies and resend.
	Results map[string][]result
	// NotSent counts planned requests never sent (the run's time bound).
	NotSent int
	// Txns are the sandbox's transactions after the run, by session id.
	Txns map[string]sandbox.Transaction
	// Records are GET /operations/{key}; a missing entry is a 404.
	Records map[string]record
	// RecordErrors are keys whose record could not be read.
	RecordErrors map[string]string
	// Ottu is what reached the sandbox per key (its request log).
	Ottu map[string][]ottuRequest
	// Notified are the child reference_numbers whose operation
	// notification the webhook stored, by parent session id, one entry per
	// stored item (notifications.go).
	Notified map[string][]string
}

// childRef is a child transaction with the parent it belongs to.
type childRef struct {
	Parent string
	Child  sandbox.Child
}

// verify runs every check but the log scan on one API version's run.
func verify(o observed) []violation {
	var out []violation
	add := func(check, key, txn, format string, a ...any) {
		out = append(out, violation{Check: check, Version: o.Plan.Version, Key: key, Txn: txn, Detail: fmt.Sprintf(format, a...)})
	}
	planned := map[string]bool{}
	for _, k := range o.Plan.Keys {
		planned[k.Key] = true
	}
	children := map[string][]childRef{}
	for _, t := range o.Plan.Txns {
		st, ok := o.Txns[t.SessionID]
		if !ok {
			add(checkRecord, "", t.SessionID, "the sandbox has no such transaction after the run")
			continue
		}
		for _, c := range st.Children {
			if !planned[c.TrackingKey] {
				add(checkUnplanned, c.TrackingKey, t.SessionID, "a %s child of %s (%s) carries a Tracking-Key the run never sent", c.Operation, c.Amount, c.State)
				continue
			}
			children[c.TrackingKey] = append(children[c.TrackingKey], childRef{Parent: t.SessionID, Child: c})
		}
		verifyBalances(t, st, add)
		verifyNotifications(t, st, o.Notified[t.SessionID], add)
	}
	if o.NotSent > 0 {
		add(checkFinalAnswer, "", "", "%d planned requests were never sent: the run hit its duration bound", o.NotSent)
	}
	for _, k := range o.Plan.Keys {
		t := o.Plan.Txns[k.Txn]
		kids := children[k.Key]
		if len(kids) > 1 {
			add(checkOneChild, k.Key, t.SessionID, "%d children: %s", len(kids), describeChildren(kids))
		}
		for _, r := range o.Results[k.Key] {
			if r.NoAnswer {
				add(checkFinalAnswer, k.Key, t.SessionID, "copy %d got no answer after %d answered attempts (%s)", r.Copy, len(r.Attempts), r.Err)
				continue
			}
			f := r.final()
			if f.Code == "tracking_key_reused" {
				add(checkNoReuse, k.Key, t.SessionID, "copy %d of an unchanged request was answered tracking_key_reused: %s", r.Copy, truncate(string(f.Body), 300))
			}
			if f.Status == http.StatusOK {
				if msg := okMatches(k, t, f.Body, kids); msg != "" {
					add(checkChildFor200, k.Key, t.SessionID, "copy %d answered 200 but %s", r.Copy, msg)
				}
			}
		}
		verifyRecord(o, k, t, kids, add)
		if o.Plan.Version == 1 {
			for _, req := range o.Ottu[k.Key] {
				if req.Replayed {
					add(checkV1NoResend, k.Key, t.SessionID, "the key reached Ottu again after Ottu had committed it (%d requests reached Ottu with it): Ottu v1 is not known to recognise a repeated key, so a real v1 host could have done the %s twice", len(o.Ottu[k.Key]), k.Op)
					break
				}
			}
		}
	}
	return out
}

// verifyBalances checks that the children of t never exceed what the
// parent allows, recomputed from the children themselves.
func verifyBalances(t txnPlan, st sandbox.Transaction, add func(check, key, txn, format string, a ...any)) {
	captured, refunded := decimal.Zero, decimal.Zero
	for _, c := range st.Children {
		a, err := decimal.NewFromString(c.Amount)
		if err != nil {
			continue
		}
		switch {
		case c.Operation == "capture":
			captured = captured.Add(a)
		case c.Operation == "refund" && (c.State == sandbox.ChildRefunded || c.State == sandbox.ChildRefundQueued):
			refunded = refunded.Add(a)
		}
	}
	base := t.Amount
	if t.State == sandbox.StateAuthorized {
		base = captured
		if captured.GreaterThan(t.Amount) {
			add(checkCaptureLimit, "", t.SessionID, "captured %s of an authorization of %s %s", captured, t.Amount, t.Currency)
		}
	}
	if refunded.GreaterThan(base) {
		add(checkRefundBalance, "", t.SessionID, "refunded %s but the refundable base is %s %s (%s)", refunded, base, t.Currency, t.State)
	}
}

// okMatches says what is wrong with a 200 for k, "" when it agrees with
// the sandbox: one child, this operation, this amount.
func okMatches(k keyPlan, t txnPlan, body []byte, kids []childRef) string {
	if len(kids) != 1 {
		return fmt.Sprintf("the sandbox has %d children with the key", len(kids))
	}
	c := kids[0]
	if c.Parent != t.SessionID {
		return fmt.Sprintf("the child belongs to transaction %s", c.Parent)
	}
	if c.Child.Operation != k.Op {
		return fmt.Sprintf("the child is a %s, not a %s", c.Child.Operation, k.Op)
	}
	var b struct {
		Operation string `json:"operation"`
		Amount    string `json:"amount"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		return "the body is not JSON: " + truncate(string(body), 200)
	}
	if b.Operation != k.Op {
		return fmt.Sprintf("the body names operation %q", b.Operation)
	}
	if !sameAmount(b.Amount, c.Child.Amount) {
		return fmt.Sprintf("the body says amount %s and the child %s", b.Amount, c.Child.Amount)
	}
	if k.Amount != "" && !sameAmount(k.Amount, c.Child.Amount) {
		return fmt.Sprintf("%s was asked and the child is of %s", k.Amount, c.Child.Amount)
	}
	return ""
}

// verifyRecord checks the key's Tracking-Key record against the sandbox:
// succeeded has its child, failed has none, a 200 has a succeeded record,
// and money never moved without a record.
func verifyRecord(o observed, k keyPlan, t txnPlan, kids []childRef, add func(check, key, txn, format string, a ...any)) {
	if msg, bad := o.RecordErrors[k.Key]; bad {
		add(checkRecord, k.Key, t.SessionID, "the record could not be read: %s", msg)
		return
	}
	rec, found := o.Records[k.Key]
	// A 200 was recorded as succeeded unless it said Outcome-Recorded:
	// false; then the record may still say in_progress or unknown, never
	// failed.
	answered200, recorded200 := false, false
	for _, r := range o.Results[k.Key] {
		if f := r.final(); f.Status == http.StatusOK {
			answered200 = true
			recorded200 = recorded200 || !f.Unrecorded
		}
	}
	switch {
	case !found && len(kids) > 0:
		add(checkRecord, k.Key, t.SessionID, "no record, but the sandbox holds %s", describeChildren(kids))
	case !found && answered200:
		add(checkRecord, k.Key, t.SessionID, "answered 200 but no record is stored")
	case !found:
	case recorded200 && rec.Status != "succeeded":
		add(checkRecord, k.Key, t.SessionID, "answered 200 (recorded) but the record says %s", rec.Status)
	case answered200 && rec.Status == "failed":
		add(checkRecord, k.Key, t.SessionID, "answered 200 (Outcome-Recorded: false) but the record says failed")
	case rec.Status == "succeeded" && len(kids) != 1:
		add(checkRecord, k.Key, t.SessionID, "the record says succeeded but the sandbox has %d children with the key", len(kids))
	case rec.Status == "succeeded" && (kids[0].Child.Operation != k.Op || (k.Amount != "" && !sameAmount(k.Amount, kids[0].Child.Amount))):
		add(checkRecord, k.Key, t.SessionID, "the record says a succeeded %s of %q but the child is %s", k.Op, k.Amount, describeChildren(kids))
	case rec.Status == "failed" && slices.ContainsFunc(kids, holdsMoney):
		add(checkRecord, k.Key, t.SessionID, "the record says failed but the sandbox holds %s", describeChildren(kids))
	}
}

// holdsMoney reports whether a child moved (or holds) money: every child
// but a queued refund the gateway later rejected. Such a refund leaves a
// child with the key at Ottu, which answers "rejected" for it from then on,
// so a record saying failed agrees with it.
func holdsMoney(c childRef) bool {
	return c.Child.State != sandbox.ChildRefundRejected
}

func sameAmount(a, b string) bool {
	x, err1 := decimal.NewFromString(a)
	y, err2 := decimal.NewFromString(b)
	return err1 == nil && err2 == nil && x.Equal(y)
}

func describeChildren(kids []childRef) string {
	parts := make([]string, 0, len(kids))
	for _, k := range kids {
		parts = append(parts, fmt.Sprintf("%s of %s (%s, on %s)", k.Child.Operation, k.Child.Amount, k.Child.State, k.Parent))
	}
	return strings.Join(parts, "; ")
}
