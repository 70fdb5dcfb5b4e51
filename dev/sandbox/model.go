package sandbox

import (
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/ottuops/ottu-lambda/shared/amount"
	"github.com/ottuops/ottu-lambda/shared/payment"
)

// Parent transaction states, as Ottu names them.
const (
	StateCreated    = "created"
	StatePending    = "pending"
	StateAttempted  = "attempted"
	StateAuthorized = "authorized"
	StatePaid       = "paid"
	StateFailed     = "failed"
	StateCanceled   = "canceled"
	StateExpired    = "expired"
	StateInvalided  = "invalided"
	StateRefunded   = "refunded"
	StateCOD        = "cod"
)

// States lists every parent state in Ottu's order.
var States = []string{
	StateCreated, StatePending, StateAttempted, StateAuthorized, StatePaid, StateFailed,
	StateCanceled, StateExpired, StateInvalided, StateRefunded, StateCOD,
}

// Child transaction states: what an external operation produced.
const (
	ChildPaid           = "paid"
	ChildRefunded       = "refunded"
	ChildRefundQueued   = "refund_queued"
	ChildRefundRejected = "refund_rejected"
	ChildVoided         = "voided"
)

// allowedFrom lists, per internal operation, the parent states it may start
// from (Ottu's operation table).
var allowedFrom = map[payment.Operation][]string{
	payment.Cancel: {StateCreated, StatePending, StateAttempted, StateCOD},
	payment.Expire: {StateCreated, StatePending, StateAttempted},
}

// softDeleted are the states a delete only hides: money moved, so Ottu keeps
// the record.
var softDeleted = []string{StatePaid, StateAuthorized, StateCOD}

// inquiryAllowed are the states inquiry answers for.
var inquiryAllowed = []string{StatePending, StateAttempted, StateFailed, StateExpired, StatePaid, StateAuthorized}

// gateway is one payment gateway and the external operations it supports.
type gateway struct {
	name    string
	capture bool
	refund  bool
	void    bool
}

// gateways is keyed by Ottu's lower-case pg_code (seed 000's table).
var gateways = map[string]gateway{
	"benefit":    {name: "Benefit", refund: true},
	"fss":        {name: "FSS", refund: true},
	"kpay":       {name: "KNET", refund: true},
	"mpgs":       {name: "MPGS", capture: true, refund: true, void: true},
	"myfatoorah": {name: "MyFatoorah", refund: true},
	"ngenius":    {name: "NGenius", refund: true},
	"payuindia":  {name: "PayU India", refund: true},
	"qpay":       {name: "QPay", refund: true},
	"tabby":      {name: "Tabby", capture: true, refund: true},
	"ottu_pg":    {name: "Ottu PG", capture: true, refund: true, void: true},
}

// PGCodes lists the gateways the sandbox knows, sorted.
func PGCodes() []string {
	codes := make([]string, 0, len(gateways))
	for c := range gateways {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	return codes
}

// supports reports whether the gateway can carry out op; internal
// operations work on every gateway.
func (g gateway) supports(op payment.Operation) bool {
	switch op {
	case payment.Capture:
		return g.capture
	case payment.Refund:
		return g.refund
	case payment.Void:
		return g.void
	}
	return true
}

// currencyPlaces holds the currencies whose minor unit is not 2 digits.
var currencyPlaces = map[string]int32{
	"KWD": 3, "BHD": 3, "OMR": 3, "JOD": 3, "TND": 3, "IQD": 3, "LYD": 3,
	"JPY": 0, "KRW": 0, "VND": 0, "CLP": 0, "ISK": 0, "UGX": 0, "XAF": 0, "XOF": 0,
}

// places is the number of digits after the point amounts in cur carry.
func places(cur string) int32 {
	if p, ok := currencyPlaces[cur]; ok {
		return p
	}
	return 2
}

// formatIn writes d the way Ottu shows amounts in cur ("10.000" for KWD).
func formatIn(d decimal.Decimal, cur string) string {
	return amount.FormatPlaces(d, places(cur))
}

// fitsCurrency reports whether d has no more decimals than cur allows.
func fitsCurrency(d decimal.Decimal, cur string) bool {
	return d.Equal(d.Truncate(places(cur)))
}

// validCurrency reports whether s looks like an ISO 4217 code.
func validCurrency(s string) bool {
	if len(s) != 3 {
		return false
	}
	for i := 0; i < 3; i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

// txn is a parent payment transaction; guarded by Server.mu.
type txn struct {
	sessionID         string
	orderNo           string
	amount            decimal.Decimal
	currency          string
	paidCurrency      string
	state             string
	pgCode            string
	webhookURL        string
	customerEmail     string
	customerFirstName string
	customerLastName  string
	customerPhone     string
	referenceNumber   string
	createdAt         time.Time
	softDeleted       bool
	children          []*child
	callbacks         []*Callback
	// inquiredAt are the inquiries Ottu answered, oldest first: what the
	// per-transaction throttle counts.
	inquiredAt []time.Time
}

// child is what one accepted external operation created.
type child struct {
	parent          *txn
	operation       payment.Operation
	amount          decimal.Decimal
	state           string
	result          string
	trackingKey     string
	referenceNumber string
	sessionID       string
	extra           json.RawMessage
	// from is who made it (its notification's source and initiator).
	from      origin
	createdAt time.Time
	updatedAt time.Time
}

// captured is the total of the captures made so far.
func (t *txn) captured() decimal.Decimal {
	return t.sum(func(c *child) bool { return c.operation == payment.Capture })
}

// refundCommitted is what refunds hold against the balance: settled ones
// and queued ones not yet rejected.
func (t *txn) refundCommitted() decimal.Decimal {
	return t.sum(func(c *child) bool { return c.state == ChildRefunded || c.state == ChildRefundQueued })
}

func (t *txn) sum(match func(*child) bool) decimal.Decimal {
	total := decimal.Zero
	for _, c := range t.children {
		if match(c) {
			total = total.Add(c.amount)
		}
	}
	return total
}

func (t *txn) voided() bool {
	return slices.ContainsFunc(t.children, func(c *child) bool { return c.state == ChildVoided })
}

func (t *txn) gateway() gateway { return gateways[t.pgCode] }

// TransactionSpec describes a transaction to create through the admin API.
// Amount is a decimal string such as "10.000".
type TransactionSpec struct {
	SessionID         string `json:"session_id,omitempty"`
	OrderNo           string `json:"order_no,omitempty"`
	Amount            string `json:"amount"`
	CurrencyCode      string `json:"currency_code"`
	State             string `json:"state"`
	PGCode            string `json:"pg_code"`
	PaidCurrencyCode  string `json:"paid_currency_code,omitempty"`
	WebhookURL        string `json:"webhook_url,omitempty"`
	CustomerEmail     string `json:"customer_email,omitempty"`
	CustomerFirstName string `json:"customer_first_name,omitempty"`
	CustomerLastName  string `json:"customer_last_name,omitempty"`
	CustomerPhone     string `json:"customer_phone,omitempty"`
	// AgeMinutes creates the transaction as if made that many minutes ago,
	// so tests and demos need not wait out inquiry's first 10 minutes.
	AgeMinutes int `json:"age_minutes,omitempty"`
}

// Transaction is the admin view of a parent transaction, including what
// Ottu's API hides: soft deletion, children and callbacks sent.
type Transaction struct {
	SessionID         string    `json:"session_id"`
	OrderNo           string    `json:"order_no"`
	Amount            string    `json:"amount"`
	CurrencyCode      string    `json:"currency_code"`
	PaidCurrencyCode  string    `json:"paid_currency_code"`
	State             string    `json:"state"`
	PGCode            string    `json:"pg_code"`
	ReferenceNumber   string    `json:"reference_number"`
	WebhookURL        string    `json:"webhook_url,omitempty"`
	CustomerEmail     string    `json:"customer_email"`
	CustomerFirstName string    `json:"customer_first_name"`
	CustomerLastName  string    `json:"customer_last_name"`
	CustomerPhone     string    `json:"customer_phone"`
	CreatedAt         time.Time `json:"created_at"`
	// InquiredAt lists the inquiries Ottu answered for it, oldest first
	// (what the inquiry throttle counts).
	InquiredAt []time.Time `json:"inquired_at"`
	// Deleted is "soft" once a delete hid the transaction from Ottu's API.
	Deleted string `json:"deleted,omitempty"`
	// CapturedAmount, RefundedAmount (settled) and QueuedRefundAmount sum
	// the children; RefundableAmount is what a refund may still take.
	CapturedAmount     string     `json:"captured_amount"`
	RefundedAmount     string     `json:"refunded_amount"`
	QueuedRefundAmount string     `json:"queued_refund_amount"`
	RefundableAmount   string     `json:"refundable_amount"`
	Children           []Child    `json:"children"`
	Callbacks          []Callback `json:"callbacks"`
}

// Child is one child transaction made by capture, refund or void.
type Child struct {
	Operation       string    `json:"operation"`
	Amount          string    `json:"amount"`
	CurrencyCode    string    `json:"currency_code"`
	State           string    `json:"state"`
	Result          string    `json:"result"`
	TrackingKey     string    `json:"tracking_key"`
	ReferenceNumber string    `json:"reference_number"`
	SessionID       string    `json:"session_id"`
	CreatedAt       time.Time `json:"created_at"`
	UpdatedAt       time.Time `json:"updated_at"`
}

// Callback outcomes.
const (
	OutcomePending   = "pending"
	OutcomeDelivered = "delivered"
	OutcomeFailed    = "failed"
	OutcomeTimedOut  = "timed_out"
)

// Callback records one delivery of a disclosure callback. Fields change
// while it is pending; read copies through Server.Transaction.
type Callback struct {
	URL         string          `json:"url"`
	Payload     json.RawMessage `json:"payload"`
	Attempts    int             `json:"attempts"`
	StatusCodes []int           `json:"status_codes"`
	Outcome     string          `json:"outcome"`
	FirstSentAt *time.Time      `json:"first_sent_at,omitempty"`
	// Error says why a delivery failed without an HTTP status.
	Error string `json:"error,omitempty"`
}

// refundBase is what refunds may total: the paid amount, or what was
// captured of an authorization. ok is false when refunds are not allowed.
func (t *txn) refundBase() (decimal.Decimal, bool) {
	switch t.state {
	case StatePaid:
		return t.amount, true
	case StateAuthorized:
		c := t.captured()
		return c, c.IsPositive()
	}
	return decimal.Zero, false
}

// snapshot copies t for callers outside the lock.
func (t *txn) snapshot() Transaction {
	tr := Transaction{
		SessionID:          t.sessionID,
		OrderNo:            t.orderNo,
		Amount:             formatIn(t.amount, t.currency),
		CurrencyCode:       t.currency,
		PaidCurrencyCode:   t.paidCurrency,
		State:              t.state,
		PGCode:             t.pgCode,
		ReferenceNumber:    t.referenceNumber,
		WebhookURL:         t.webhookURL,
		CustomerEmail:      t.customerEmail,
		CustomerFirstName:  t.customerFirstName,
		CustomerLastName:   t.customerLastName,
		CustomerPhone:      t.customerPhone,
		CreatedAt:          t.createdAt,
		InquiredAt:         append([]time.Time{}, t.inquiredAt...),
		CapturedAmount:     formatIn(t.captured(), t.currency),
		RefundedAmount:     formatIn(t.sum(func(c *child) bool { return c.state == ChildRefunded }), t.currency),
		QueuedRefundAmount: formatIn(t.sum(func(c *child) bool { return c.state == ChildRefundQueued }), t.currency),
		RefundableAmount:   formatIn(decimal.Zero, t.currency),
		Children:           make([]Child, 0, len(t.children)),
		Callbacks:          make([]Callback, 0, len(t.callbacks)),
	}
	if t.softDeleted {
		tr.Deleted = "soft"
	}
	if base, ok := t.refundBase(); ok {
		if left := base.Sub(t.refundCommitted()); left.IsPositive() {
			tr.RefundableAmount = formatIn(left, t.currency)
		}
	}
	for _, c := range t.children {
		tr.Children = append(tr.Children, c.snapshot())
	}
	for _, cb := range t.callbacks {
		cp := *cb
		cp.StatusCodes = slices.Clone(cb.StatusCodes)
		if cp.StatusCodes == nil {
			cp.StatusCodes = []int{}
		}
		if cb.FirstSentAt != nil {
			at := *cb.FirstSentAt
			cp.FirstSentAt = &at
		}
		tr.Callbacks = append(tr.Callbacks, cp)
	}
	return tr
}

func (c *child) snapshot() Child {
	return Child{
		Operation:       string(c.operation),
		Amount:          formatIn(c.amount, c.parent.currency),
		CurrencyCode:    c.parent.currency,
		State:           c.state,
		Result:          c.result,
		TrackingKey:     c.trackingKey,
		ReferenceNumber: c.referenceNumber,
		SessionID:       c.sessionID,
		CreatedAt:       c.createdAt,
		UpdatedAt:       c.updatedAt,
	}
}

// inquiryResult maps a parent state to the result Ottu reports in a payment
// payload (pending|success|failed|canceled|error|cod).
func inquiryResult(state string) string {
	switch state {
	case StatePaid, StateAuthorized, StateRefunded:
		return "success"
	case StateFailed:
		return "failed"
	case StateCanceled, StateExpired:
		return "canceled"
	case StateInvalided:
		return "error"
	case StateCOD:
		return "cod"
	}
	return "pending"
}

// remainingToPay is what the customer still owes: nothing once the money
// was authorized or paid.
func (t *txn) remainingToPay() decimal.Decimal {
	switch t.state {
	case StatePaid, StateAuthorized, StateRefunded:
		return decimal.Zero
	}
	return t.amount
}

// joinStates writes a list for messages: "created, pending or cod".
func joinList(items []string) string {
	if len(items) <= 1 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " or " + items[len(items)-1]
}
