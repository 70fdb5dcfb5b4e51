// Package ottu is the one client through which the project talks to Ottu's
// Operations API (v2, and v1 for older hosts), plus Ottu's callback signature.
package ottu

import (
	"encoding/json"

	"github.com/shopspring/decimal"

	"github.com/ottuops/ottu-lambda/shared/payment"
)

// PermissionInquiry is the Ottu permission needed for inquiry.
const PermissionInquiry = "payment.inquiry"

// OperationRequest is one call to Ottu's operation endpoint.
type OperationRequest struct {
	Operation payment.Operation
	SessionID string
	OrderNo   string
	// Amount is nil when Ottu should use the full or remaining amount.
	Amount *decimal.Decimal
	// Extra is passed to Ottu unchanged; nil sends nothing.
	Extra json.RawMessage
	// TrackingKey is sent as the Tracking-Key header on external operations.
	TrackingKey string
}

// OperationResponse is Ottu's answer to an accepted operation. Raw keeps
// Ottu's body byte for byte, for merchants who get it back unchanged.
type OperationResponse struct {
	Raw        json.RawMessage `json:"-"`
	StatusCode int             `json:"-"`

	Operation       string          `json:"operation"`
	Result          string          `json:"result"` // success, failed, queued, rejected
	Success         bool            `json:"success"`
	Amount          string          `json:"amount"`
	PGCode          string          `json:"pg_code"`
	ReferenceNumber string          `json:"reference_number"`
	TimestampUTC    string          `json:"timestamp_utc"` // "YYYY-MM-DD HH:MM:SS"
	Txn             *ChildTxn       `json:"txn"`
	Message         string          `json:"message"` // internal operations
	Detail          string          `json:"detail"`  // internal operations, some versions
	PGResponse      json.RawMessage `json:"pg_response"`
}

// ChildTxn is the child transaction an external operation created.
type ChildTxn struct {
	Amount       string `json:"amount"`
	CurrencyCode string `json:"currency_code"`
	OrderNo      string `json:"order_no"`
	SessionID    string `json:"session_id"`
	State        string `json:"state"`
}

// Results Ottu reports in an operation response.
const (
	ResultSuccess  = "success"
	ResultFailed   = "failed"
	ResultQueued   = "queued"
	ResultRejected = "rejected"
)

// InquiryRequest asks Ottu for a transaction's current state, optionally
// having Ottu disclose (POST) it to a URL.
type InquiryRequest struct {
	SessionID          string
	OrderNo            string
	DiscloseToMerchant bool
	DisclosureURL      string
}

// InquiryResponse is Ottu's inquiry answer; Raw keeps the body unchanged.
type InquiryResponse struct {
	Raw        json.RawMessage `json:"-"`
	StatusCode int             `json:"-"`

	SessionID    string `json:"session_id"`
	OrderNo      string `json:"order_no"`
	State        string `json:"state"`
	Result       string `json:"result"`
	Amount       string `json:"amount"`
	CurrencyCode string `json:"currency_code"`
	Signature    string `json:"signature"`
}
