package refundflow

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/ottuops/ottu-lambda/shared/amount"
	"github.com/ottuops/ottu-lambda/shared/operation"
	"github.com/ottuops/ottu-lambda/shared/platform/problem"
)

// Settings are the definition's deploy-time values (DefinitionSubstitutions:
// template.yaml's parameters, or the local stack's short waits), checked
// and turned into numbers by Prepare, so the definition reads them with
// paths.
type Settings struct {
	// ApprovalThresholds are the approval thresholds per currency
	// ("KWD=500.000,USD=1500.00", operation.ParseThresholds): a refund that
	// takes its payment's refunded total above its currency's threshold
	// needs an approval, and so does one in a currency without one.
	ApprovalThresholds string `json:"approval_thresholds"`
	thresholds         operation.Thresholds
	// ApprovalTimeoutSeconds ends an approval no one gave.
	ApprovalTimeoutSeconds int `json:"approval_timeout_seconds"`
	// QueuedPollSeconds and QueuedPollRounds: how often, and how many
	// times, a queued refund is looked at.
	QueuedPollSeconds int `json:"queued_poll_seconds"`
	QueuedPollRounds  int `json:"queued_poll_rounds"`
	// QueuedNotificationSeconds is how long a queued refund waits for
	// Ottu's operation notification before it is followed by inquiry.
	QueuedNotificationSeconds int `json:"queued_notification_seconds"`
	// RetryWaitSeconds is the wait before asking again when a failure
	// names none; MaxWaitRounds bounds the waits of one workflow.
	RetryWaitSeconds int `json:"retry_wait_seconds"`
	MaxWaitRounds    int `json:"max_wait_rounds"`
}

// maxSeconds is Step Functions' longest wait and task timeout (a year).
const maxSeconds = 31_536_000

// parseSettings reads the substituted settings, naming every bad one.
func parseSettings(raw map[string]string) (Settings, error) {
	var s Settings
	var problems []string
	ints := []struct {
		name     string
		dst      *int
		min, max int
	}{
		{"approval_timeout_seconds", &s.ApprovalTimeoutSeconds, 1, maxSeconds},
		{"queued_poll_seconds", &s.QueuedPollSeconds, 1, maxSeconds},
		{"queued_poll_rounds", &s.QueuedPollRounds, 1, 1000},
		{"queued_notification_seconds", &s.QueuedNotificationSeconds, 1, maxSeconds},
		{"retry_wait_seconds", &s.RetryWaitSeconds, 1, maxSeconds},
		{"max_wait_rounds", &s.MaxWaitRounds, 1, 1000},
	}
	known := []string{"approval_thresholds"}
	for _, f := range ints {
		known = append(known, f.name)
		n, err := strconv.Atoi(strings.TrimSpace(raw[f.name]))
		if err != nil || n < f.min || n > f.max {
			problems = append(problems, fmt.Sprintf("%s must be a whole number from %d to %d, got %q", f.name, f.min, f.max, raw[f.name]))
			continue
		}
		*f.dst = n
	}
	if t, err := operation.ParseThresholds(raw["approval_thresholds"]); err != nil {
		problems = append(problems, "approval_thresholds: "+err.Error())
	} else {
		s.ApprovalThresholds, s.thresholds = t.String(), t
	}
	for _, k := range slices.Sorted(maps.Keys(raw)) {
		if !slices.Contains(known, k) {
			problems = append(problems, fmt.Sprintf("%s is not a setting of this workflow", k))
		}
	}
	if len(problems) > 0 {
		return s, &problem.Error{Code: problem.CodeInvalidRequest,
			Detail: "The state machine's settings (its DefinitionSubstitutions) are invalid: " + strings.Join(problems, "; ") + ". Fix the template's parameters and deploy again."}
	}
	return s, nil
}

// PrepareEvent is what the definition's first state sends.
type PrepareEvent struct {
	WorkflowID string            `json:"workflow_id"`
	Input      json.RawMessage   `json:"input"`
	Settings   map[string]string `json:"settings"`
}

// Prepared is the workflow's working data: everything later states read,
// with no member missing (a missing path fails a state), and the events
// of the functions it calls, ready to send.
type Prepared struct {
	WorkflowID  string  `json:"workflow_id"`
	RefundID    *string `json:"refund_id"`
	TrackingKey string  `json:"tracking_key"`
	Request     View    `json:"request"`
	// RequestedBy is the IAM principal that started the workflow; null
	// when it was started in Step Functions directly.
	RequestedBy *string `json:"requested_by"`
	// Refund is the refund function's direct event.
	Refund map[string]string `json:"refund"`
	// StatusRequest is the operation-status function's direct event, a
	// read-only refresh.
	StatusRequest StatusRequest `json:"status_request"`
	Approval      ApprovalPlan  `json:"approval"`
	Settings      Settings      `json:"settings"`
	Rounds        Rounds        `json:"rounds"`
}

// View is a request as the workflow shows it: every member, null when
// not given.
type View struct {
	SessionID    *string `json:"session_id"`
	OrderNo      *string `json:"order_no"`
	Amount       *string `json:"amount"`
	CurrencyCode *string `json:"currency_code"`
	Reason       *string `json:"reason"`
}

// StatusRequest asks the operation-status function for the record of a
// key, refreshed through Ottu's inquiry.
type StatusRequest struct {
	TrackingKey string `json:"tracking_key"`
	Refresh     bool   `json:"refresh"`
}

// ApprovalPlan says whether a person must approve, and why; Decision is
// where the definition puts the approver's decision (null until then).
type ApprovalPlan struct {
	Required  bool            `json:"required"`
	Threshold string          `json:"threshold"`
	Why       string          `json:"why"`
	Decision  json.RawMessage `json:"decision"`
}

// Rounds count the workflow's bounded loops.
type Rounds struct {
	Waits int `json:"waits"`
	Polls int `json:"polls"`
}

// Refunded reads a payment's refunded total (operation.RefundTotals'
// Total, by operation.TransactionOf(session_id)).
type Refunded func(ctx context.Context, transaction string) (operation.RefundTotal, error)

// Prepare validates a workflow's input, derives its Tracking-Key and
// decides, in decimal, whether the refund needs an approval: with what was
// refunded on the payment before (refunded; nil counts nothing). Its
// errors are problems with code invalid_request: the definition fails the
// workflow with their detail, and nothing is refunded.
func Prepare(ctx context.Context, ev PrepareEvent, refunded Refunded) (*Prepared, error) {
	if !ValidWorkflowID(ev.WorkflowID) {
		return nil, problem.Invalid(problem.CodeInvalidRequest, "workflow_id",
			fmt.Sprintf("workflow_id %q is not a workflow id; the definition passes $$.Execution.Name.", ev.WorkflowID))
	}
	settings, err := parseSettings(ev.Settings)
	if err != nil {
		return nil, err
	}
	req, err := ParseInput(ev.Input)
	if err != nil {
		return nil, err
	}
	p := &Prepared{
		WorkflowID:  ev.WorkflowID,
		RefundID:    nullable(req.RefundID),
		TrackingKey: TrackingKeyFor(ev.WorkflowID, req.RefundID),
		Request:     ViewOf(req),
		RequestedBy: nullable(req.RequestedBy),
		Settings:    settings,
	}
	p.Refund = map[string]string{"tracking_key": p.TrackingKey}
	for k, v := range map[string]string{"session_id": req.SessionID, "order_no": req.OrderNo, "amount": req.AmountText, "currency_code": req.CurrencyCode} {
		if v != "" {
			p.Refund[k] = v
		}
	}
	p.StatusRequest = StatusRequest{TrackingKey: p.TrackingKey, Refresh: true}
	p.Approval = assess(ctx, req, settings.thresholds, refunded)
	p.Approval.Decision = json.RawMessage("null")
	// The refund function reserves the amount in the payment's total: an
	// approved refund (it reaches Refund only through VerifyApproval) is
	// counted, one that needed none is checked against the threshold
	// again, atomically, so two workflows at once cannot pass it together.
	p.Refund["approval"] = string(operation.RefundWithinThreshold)
	if p.Approval.Required {
		p.Refund["approval"] = string(operation.RefundApproved)
	}
	return p, nil
}

// assess decides whether a person must approve: when the refund would
// take the payment's refunded total above its currency's threshold, and
// whenever it cannot be compared with one (no amount: Ottu then refunds
// everything left; no currency_code, or one without a threshold; named by
// order_no only, since totals are kept per session_id; a total that could
// not be read).
func assess(ctx context.Context, req Request, thresholds operation.Thresholds, refunded Refunded) ApprovalPlan {
	threshold, ok := thresholds[req.CurrencyCode]
	plan := ApprovalPlan{Required: true}
	if ok {
		plan.Threshold = amount.Format(threshold)
	}
	switch {
	case req.Amount == nil:
		plan.Why = "No amount was given, so Ottu would refund everything left, which cannot be compared with the approval threshold beforehand."
		return plan
	case req.CurrencyCode == "":
		plan.Why = "No currency_code was given, so the amount cannot be compared with an approval threshold (they are set per currency)."
		return plan
	case !ok:
		plan.Why = fmt.Sprintf("No approval threshold is set for %s, so every refund in it needs an approval.", req.CurrencyCode)
		return plan
	case req.SessionID == "":
		plan.Why = "The refunded total is kept per session_id and this refund names its payment by order_no only, so it cannot be compared with the threshold."
		return plan
	case req.Amount.GreaterThan(threshold):
		plan.Why = fmt.Sprintf("The amount %s %s is above the approval threshold %s %s.", req.AmountText, req.CurrencyCode, plan.Threshold, req.CurrencyCode)
		return plan
	}
	before := operation.RefundTotal{Amount: decimal.Zero}
	if refunded != nil {
		var err error
		if before, err = refunded(ctx, operation.TransactionOf(req.SessionID)); err != nil {
			plan.Why = "The payment's refunded total could not be read, so the refund is not taken as within the threshold."
			return plan
		}
	}
	if after := before.Amount.Add(*req.Amount); after.GreaterThan(threshold) {
		plan.Why = fmt.Sprintf("%s %s was refunded on this payment before, so %s more (%s in all) is above the approval threshold %s %s.",
			amount.Format(before.Amount), req.CurrencyCode, req.AmountText, amount.Format(after), plan.Threshold, req.CurrencyCode)
		return plan
	}
	plan.Required = false
	plan.Why = fmt.Sprintf("The amount %s %s, with %s refunded on this payment before, is not above the approval threshold %s %s.",
		req.AmountText, req.CurrencyCode, amount.Format(before.Amount), plan.Threshold, req.CurrencyCode)
	return plan
}

// ViewOf is the request as the workflow shows it.
func ViewOf(r Request) View {
	return View{SessionID: nullable(r.SessionID), OrderNo: nullable(r.OrderNo), Amount: nullable(r.AmountText), CurrencyCode: nullable(r.CurrencyCode), Reason: nullable(r.Reason)}
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// DecodePrepareEvent reads the first state's event strictly.
func DecodePrepareEvent(payload []byte) (PrepareEvent, error) {
	var ev PrepareEvent
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ev); err != nil || dec.More() || len(ev.Input) == 0 {
		return ev, problem.Invalid(problem.CodeInvalidRequest, "",
			`The event must be {"workflow_id": "…", "input": {…}, "settings": {…}}, as the refund workflow's Prepare state sends it.`)
	}
	return ev, nil
}
