package refundflow

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/ottuops/ottu-lambda/shared/amount"
	"github.com/ottuops/ottu-lambda/shared/platform/problem"
)

// Settings are the definition's deploy-time values (DefinitionSubstitutions:
// template.yaml's parameters, or the local stack's short waits), checked
// and turned into numbers by Prepare, so the definition reads them with
// paths.
type Settings struct {
	// ApprovalThreshold: a refund of more than this needs an approval.
	ApprovalThreshold string `json:"approval_threshold"`
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
	known := []string{"approval_threshold"}
	for _, f := range ints {
		known = append(known, f.name)
		n, err := strconv.Atoi(strings.TrimSpace(raw[f.name]))
		if err != nil || n < f.min || n > f.max {
			problems = append(problems, fmt.Sprintf("%s must be a whole number from %d to %d, got %q", f.name, f.min, f.max, raw[f.name]))
			continue
		}
		*f.dst = n
	}
	if t, err := amount.ParseSigned(strings.TrimSpace(raw["approval_threshold"])); err != nil || t.IsNegative() {
		problems = append(problems, fmt.Sprintf("approval_threshold must be a decimal of zero or more such as \"500.000\", got %q", raw["approval_threshold"]))
	} else {
		s.ApprovalThreshold = amount.Format(t)
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
	SessionID *string `json:"session_id"`
	OrderNo   *string `json:"order_no"`
	Amount    *string `json:"amount"`
	Reason    *string `json:"reason"`
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

// Prepare validates a workflow's input, derives its Tracking-Key and
// decides, in decimal, whether the refund needs an approval. Its errors are
// problems with code invalid_request: the definition fails the workflow
// with their detail, and nothing is refunded.
func Prepare(ev PrepareEvent) (*Prepared, error) {
	if !ValidWorkflowID(ev.WorkflowID) {
		return nil, problem.Invalid(problem.CodeInvalidRequest, "workflow_id",
			fmt.Sprintf("workflow_id %q is not a workflow id; the definition passes $$.Execution.Name.", ev.WorkflowID))
	}
	settings, err := parseSettings(ev.Settings)
	if err != nil {
		return nil, err
	}
	req, err := ParseRequest(ev.Input)
	if err != nil {
		return nil, err
	}
	p := &Prepared{
		WorkflowID:  ev.WorkflowID,
		RefundID:    nullable(req.RefundID),
		TrackingKey: TrackingKeyFor(ev.WorkflowID, req.RefundID),
		Request:     ViewOf(req),
		Settings:    settings,
	}
	p.Refund = map[string]string{"tracking_key": p.TrackingKey}
	for k, v := range map[string]string{"session_id": req.SessionID, "order_no": req.OrderNo, "amount": req.AmountText} {
		if v != "" {
			p.Refund[k] = v
		}
	}
	p.StatusRequest = StatusRequest{TrackingKey: p.TrackingKey, Refresh: true}
	threshold := decimal.RequireFromString(settings.ApprovalThreshold)
	p.Approval = assess(req, threshold)
	p.Approval.Threshold = settings.ApprovalThreshold
	p.Approval.Decision = json.RawMessage("null")
	return p, nil
}

// assess decides whether a person must approve: above the threshold, or
// with no amount (Ottu then refunds everything left, which this workflow
// cannot compare with the threshold before the refund).
func assess(req Request, threshold decimal.Decimal) ApprovalPlan {
	switch {
	case req.Amount == nil:
		return ApprovalPlan{Required: true, Why: "No amount was given, so Ottu would refund everything left, which cannot be compared with the approval threshold beforehand."}
	case req.Amount.GreaterThan(threshold):
		return ApprovalPlan{Required: true, Why: fmt.Sprintf("The amount %s is above the approval threshold %s.", req.AmountText, amount.Format(threshold))}
	}
	return ApprovalPlan{Why: fmt.Sprintf("The amount %s is not above the approval threshold %s.", req.AmountText, amount.Format(threshold))}
}

// ViewOf is the request as the workflow shows it.
func ViewOf(r Request) View {
	return View{SessionID: nullable(r.SessionID), OrderNo: nullable(r.OrderNo), Amount: nullable(r.AmountText), Reason: nullable(r.Reason)}
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
