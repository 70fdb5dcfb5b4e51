package sandbox

import (
	"encoding/json"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/ottuops/ottu-lambda/shared/ottu"
	"github.com/ottuops/ottu-lambda/shared/payment"
)

// Operation notifications (reference "Operation notifications"): Ottu
// posts one to the operations webhook URL for every capture, refund and
// void that succeeded, whoever started it; none for a failure (so none for
// a rejected queued refund). The sandbox sends them to
// Config.OperationWebhookURL, signed like disclosures, through the same
// delivery (time-outs retried, duplicate and reorder faults apply), and
// records each among the transaction's callbacks.

// Where an operation came from: through Ottu (its API or dashboard), or
// the payment gateway's own dashboard.
const (
	SourceInput = "input"
	SourcePG    = "pg"
)

// origin is who made an operation: source, and the initiator Ottu names
// (set for dashboard and Basic-auth operations, empty for Api-Key ones).
type origin struct {
	source    string
	initiator map[string]any
}

// apiOrigin is an operation through Ottu's API with the API key.
var apiOrigin = origin{source: SourceInput}

// dashboardUser is the initiator of a sandbox "dashboard" operation.
var dashboardUser = map[string]any{"email": "dashboard@sandbox.example", "id": 1, "username": "dashboard"}

// notifyLocked sends c's operation notification, unless no operations
// webhook URL is configured or a drop_notification fault eats it.
func (s *Server) notifyLocked(c *child, from origin) {
	target := s.cfg.OperationWebhookURL
	if target == "" {
		return
	}
	if _, drop := s.takeFaultLocked(FaultDropNotification, string(c.operation)); drop {
		s.cfg.Logger.Info("operation notification dropped by a fault", "operation", string(c.operation), "child_reference_number", c.referenceNumber)
		return
	}
	s.produceCallbackLocked(c.parent, target, s.notificationPayload(c, from))
}

// notificationPayload is Ottu's notification of c: the parent's
// reference_number at the top, the child summarised in txn, signed over
// whichever of the 18 signed fields are present (amount,
// reference_number, result).
func (s *Server) notificationPayload(c *child, from origin) []byte {
	t := c.parent
	extra := json.RawMessage(`{}`)
	if len(c.extra) > 0 {
		extra = c.extra
	}
	initiator := from.initiator
	if initiator == nil {
		initiator = map[string]any{}
	}
	amount := formatIn(c.amount, t.currency)
	f := ottu.Fields{
		"amount":           amount,
		"initiator":        initiator,
		"is_sandbox":       true,
		"operation":        string(c.operation),
		"pg_code":          t.pgCode,
		"pg_response":      map[string]any{},
		"reference_number": t.referenceNumber,
		"result":           ottu.ResultSuccess,
		"source":           from.source,
		"success":          true,
		"timestamp_utc":    c.updatedAt.Format(timestampLayout),
		"txn": map[string]any{
			"amount":           amount,
			"currency_code":    t.currency,
			"customer_email":   t.customerEmail,
			"extra":            extra,
			"order_no":         t.orderNo,
			"reference_number": c.referenceNumber,
			"state":            c.state,
		},
	}
	f["signature"] = ottu.Sign(f, s.cfg.WebhookKey)
	b, _ := json.Marshal(f)
	return b
}

// ExternalOperation is an operation made outside the stack, as from Ottu's
// dashboard (source input) or the gateway's (source pg).
type ExternalOperation struct {
	Operation string `json:"operation"`
	// Amount is a decimal string; empty takes Ottu's default (the full or
	// remaining amount).
	Amount string `json:"amount,omitempty"`
	Source string `json:"source"`
}

// External makes op on the transaction as a dashboard would: it moves
// money in the sandbox and notifies like Ottu. The error is what Ottu
// would refuse (ErrInvalid, not found, or the operation's rejection).
func (s *Server) External(sessionID string, op ExternalOperation) (Child, error) {
	operation, err := payment.ParseOperation(op.Operation)
	if err != nil || !operation.External() {
		return Child{}, invalidf("operation must be capture, refund or void (got %q)", op.Operation)
	}
	from := origin{source: op.Source}
	switch op.Source {
	case SourceInput:
		from.initiator = dashboardUser
	case SourcePG:
	default:
		return Child{}, invalidf("source must be %q (Ottu's dashboard) or %q (the gateway's dashboard) (got %q)", SourceInput, SourcePG, op.Source)
	}
	req := opRequest{operation: operation, sessionID: sessionID}
	if strings.TrimSpace(op.Amount) != "" {
		d, err := decimal.NewFromString(strings.TrimSpace(op.Amount))
		if err != nil || !d.IsPositive() {
			return Child{}, invalidf("amount must be a positive decimal string such as \"1.000\" (got %q)", op.Amount)
		}
		req.amount = &d
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.lookupLocked(sessionID, "")
	if t == nil {
		return Child{}, notFoundf("no transaction has session_id %q", sessionID)
	}
	status, body := s.externalFromLocked(t, req, "", from)
	if status != 200 {
		m, _ := body.(map[string]string)
		return Child{}, conflictf("%s", m["detail"])
	}
	return t.children[len(t.children)-1].snapshot(), nil
}
