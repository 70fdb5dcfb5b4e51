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
	// ExpiresAt is when DynamoDB's TTL may delete the record; zero: never.
	ExpiresAt time.Time
	// Inquiry is Ottu's read-only view of this operation (the child
	// transaction in an inquiry answer) when the record was read with
	// refresh; it is not stored.
	Inquiry json.RawMessage
	// InquiryThrottled is set, instead of Inquiry, when a refresh was
	// asked for and Ottu's inquiry throttle refused it; not stored.
	InquiryThrottled *InquiryThrottle
}

// InquiryThrottle is a refresh Ottu's inquiry throttle refused.
type InquiryThrottle struct {
	// Detail is a sentence saying so; RetryAfter is Ottu's Retry-After
	// (zero when it named none).
	Detail     string
	RetryAfter time.Duration
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
	// ExpiresAt is the record's TTL (Now + retention); zero: the record
	// never expires until an outcome is written (API v1, where an attempt
	// with no known outcome must hold its key for good).
	ExpiresAt time.Time
	// ReclaimOnlyFailed lets the claim take over an existing record only
	// when Ottu is known to have refused it (status failed): without Ottu's
	// Tracking-Key replay (API v1), a record left in progress or unknown may
	// have moved money, so it is never sent again by itself.
	ReclaimOnlyFailed bool
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
	// ExpiresAt moves the record's TTL to retention after this outcome;
	// zero removes it, so a key whose outcome is unknown never expires
	// silently.
	ExpiresAt time.Time
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
// Settle records what a read-only check found (GET ?refresh=true): the
// status, Ottu's body when one is given, and the TTL; only while the record
// is not in progress under a live lease.
type Store interface {
	Claim(ctx context.Context, c Claim) (existing *Record, err error)
	Complete(ctx context.Context, o Outcome) error
	Get(ctx context.Context, trackingKey string) (*Record, error)
	Settle(ctx context.Context, s Settlement) error
}

// Settlement is what a read-only check of Ottu settled about a record.
type Settlement struct {
	TrackingKey string
	Status      Status
	// OttuStatus and OttuBody replace the stored answer when OttuBody is set.
	OttuStatus int
	OttuBody   json.RawMessage
	Now        time.Time
	// ExpiresAt is the record's new TTL.
	ExpiresAt time.Time
}
