// Package operation is the domain: one payment operation sent to Ottu at
// most once per Tracking-Key, however often it is retried. It knows nothing
// of API Gateway, Lambda or DynamoDB; adapters translate at the edges.
package operation

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// Status is where a Tracking-Key record stands.
type Status string

// The statuses of a Tracking-Key record (the contract's GET /operations/{key}).
const (
	// StatusInProgress: a caller holds the lease and is talking to Ottu.
	StatusInProgress Status = "in_progress"
	// StatusSucceeded: Ottu accepted; the stored body is replayed from now on.
	StatusSucceeded Status = "succeeded"
	// StatusFailed: Ottu said no, or was never reached; a retry may try again.
	StatusFailed Status = "failed"
	// StatusUnknown: the request may have reached Ottu but no answer came; a
	// retry goes to Ottu with the same key, which stops a second operation.
	StatusUnknown Status = "unknown"
)

// Record is what the store keeps per Tracking-Key.
type Record struct {
	TrackingKey string
	Operation   string
	SessionID   string
	OrderNo     string
	// Amount is the decimal text requested, "" when Ottu chose the amount.
	Amount string
	// Fingerprint identifies the request (operation, transaction, amount,
	// extra); the same key with another fingerprint is a reuse.
	Fingerprint string
	Status      Status
	Attempts    int
	// LeaseID names the claim that may record the outcome (fencing token).
	LeaseID string
	// LeaseExpiresAt: until then no other caller may claim the key.
	LeaseExpiresAt time.Time
	CreatedAt      time.Time
	UpdatedAt      time.Time
	// OttuStatus and OttuBody are Ottu's last HTTP status and body.
	OttuStatus int
	OttuBody   json.RawMessage
	// ErrorCode is the problem code of the last failure ("" on success).
	ErrorCode string
	// ExpiresAt is when DynamoDB's TTL may delete the record.
	ExpiresAt time.Time
}

// Claim asks for the lease on a Tracking-Key before calling Ottu.
type Claim struct {
	TrackingKey string
	Operation   string
	SessionID   string
	OrderNo     string
	Amount      string
	Fingerprint string
	LeaseID     string
	LeaseUntil  time.Time
	Now         time.Time
	// ExpiresAt is the record's TTL (Now + retention).
	ExpiresAt time.Time
}

// Outcome records what Ottu answered, fenced on the claim's LeaseID.
type Outcome struct {
	TrackingKey string
	LeaseID     string
	Status      Status
	OttuStatus  int
	OttuBody    json.RawMessage
	ErrorCode   string
	Now         time.Time
	// LeaseUntil keeps others off the key until then (used after an unknown
	// outcome, while Ottu may still be working); zero ends the lease now.
	LeaseUntil time.Time
}

// Errors a Store returns; match them with errors.Is.
var (
	// ErrClaimConflict: the key exists and may not be claimed now. The store
	// returns the existing record alongside it.
	ErrClaimConflict = errors.New("tracking key is held or already used")
	// ErrLeaseLost: the outcome was not recorded because another claim took
	// the key over (our lease had ended).
	ErrLeaseLost = errors.New("tracking key lease was lost to another claim")
	// ErrRecordNotFound: no record for this key.
	ErrRecordNotFound = errors.New("tracking key record not found")
)

// Store keeps Tracking-Key records.
//
// Claim succeeds, in one conditional write, when no live record exists for
// the key (none, or past its ExpiresAt), or when the existing record has the
// same Fingerprint, is not StatusSucceeded, and its lease has ended
// (LeaseExpiresAt <= Now). It then sets Status in_progress, the lease,
// Attempts+1, UpdatedAt, and CreatedAt if new. Otherwise it returns the
// existing record and ErrClaimConflict, without a second request.
//
// Complete writes the outcome only while the record's LeaseID is still the
// claim's; otherwise ErrLeaseLost and nothing is written.
//
// Refresh replaces the stored Ottu body and status of a record that is not
// in progress under a live lease (GET ?refresh=true).
type Store interface {
	Claim(ctx context.Context, c Claim) (existing *Record, err error)
	Complete(ctx context.Context, o Outcome) error
	Get(ctx context.Context, trackingKey string) (*Record, error)
	Refresh(ctx context.Context, trackingKey string, status Status, ottuStatus int, body json.RawMessage, now time.Time) error
}
