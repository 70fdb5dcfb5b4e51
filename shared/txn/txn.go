// Package txn is what the project knows of a payment transaction's
// state from Ottu: the answers of inquiries and the disclosures Ottu posts,
// kept as a history and a current view, and the workflows waiting for the
// next disclosure. It is the vocabulary shared by the inquiry and callback
// domains and the one DynamoDB table that stores both (shared/txn/ddb); it
// knows nothing of AWS.
package txn

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Source says where an entry came from.
type Source string

// The sources of the contract's GET /transactions/{id}/inquiry.
const (
	// SourceInquiry: our own call to Ottu's inquiry endpoint.
	SourceInquiry Source = "inquiry"
	// SourceDisclosure: a signed callback Ottu posted to the webhook.
	SourceDisclosure Source = "disclosure"
	// SourceStored: an answer given from the store instead of asking Ottu
	// (the inquiry throttle); never stored as such.
	SourceStored Source = "stored"
	// SourceOperation: a signed operation notification Ottu posted to the
	// webhook (a capture, refund or void that succeeded). It joins the
	// history but never the current view: it describes a child
	// transaction, not the payment's own state.
	SourceOperation Source = "operation_notification"
)

// Entry is one answer of Ottu's about a transaction.
type Entry struct {
	SessionID string
	OrderNo   string
	Source    Source
	// ReceivedAt is when we received it (our clock).
	ReceivedAt time.Time
	// OttuTimestamp is Ottu's timestamp_utc; zero when absent.
	OttuTimestamp time.Time
	// State and Result are Ottu's "state" and "result".
	State  string
	Result string
	// Body is Ottu's payload as a JSON object (a form-encoded callback is
	// stored as the JSON object of its fields).
	Body json.RawMessage
	// Digest identifies a delivery, so Ottu's repeated deliveries of one
	// callback are stored once; every inquiry answer is distinct.
	Digest string
	// ExpiresAt is the entry's TTL (retention after it was received).
	ExpiresAt time.Time
}

// Waiter is a Step Functions task waiting (.waitForTaskToken) for the next
// disclosure of a transaction, registered by the inquiry that asked Ottu
// to disclose.
type Waiter struct {
	SessionID string
	OrderNo   string
	TaskToken string
	CreatedAt time.Time
	ExpiresAt time.Time
	// Amount, when set, is the amount a waiter for an operation
	// notification expects (filed under ChildKey): a notification whose
	// signed amount differs does not resume it.
	Amount string
	// Payment, when set, is the session_id (or order_no) of the payment
	// such a waiter's operation was made on: a notification whose signed
	// reference_number is not that payment's (when known) does not resume
	// it.
	Payment string
}

// ID is the identity of a waiter's token (tokens are long; this is a
// digest), used to claim it exactly once.
func (w Waiter) ID() string { return Digest([]byte(w.TaskToken)) }

// WaiterStatus is where a waiter stands.
type WaiterStatus string

// The statuses of a waiter.
const (
	WaiterPending  WaiterStatus = "pending"
	WaiterResuming WaiterStatus = "resuming"
	WaiterResumed  WaiterStatus = "resumed"
	// WaiterGone: the token had expired or was already used; logged, never
	// an error for Ottu.
	WaiterGone WaiterStatus = "gone"
)

// Errors a Store returns; match them with errors.Is.
var (
	ErrNotFound = errors.New("nothing stored for this transaction")
	// ErrClaimed: another delivery claimed the waiter first.
	ErrClaimed = errors.New("waiter already claimed")
)

// Store keeps entries and waiters, found by session_id or order_no.
//
// Put stores e once per Digest (one conditional write; false when that
// delivery was stored before) and moves the transaction's current view to e
// only when OrderKey(e) is greater than the current one's, so a late, older
// delivery is kept in the history but never replaces a newer state.
//
// Current returns the current view; History the entries newest first (by
// ReceivedAt), at most limit. Both find a transaction by session_id or by
// order_no, and answer ErrNotFound when nothing is stored.
//
// AddWaiter registers a waiter as pending; Waiters lists the pending ones of
// a transaction (by session_id or order_no). ClaimWaiter moves a pending
// waiter to resuming in one conditional write (ErrClaimed when it is not
// pending); FinishWaiter sets its final status (or back to pending, so a
// later delivery retries after a transient failure).
type Store interface {
	Put(ctx context.Context, e Entry) (stored bool, err error)
	Current(ctx context.Context, id string) (*Entry, error)
	History(ctx context.Context, id string, limit int) ([]Entry, error)
	AddWaiter(ctx context.Context, w Waiter) error
	Waiters(ctx context.Context, id string) ([]Waiter, error)
	ClaimWaiter(ctx context.Context, w Waiter, now time.Time) error
	FinishWaiter(ctx context.Context, w Waiter, status WaiterStatus, now time.Time) error
}

// finalStates are states a payment does not leave by itself; a disclosure
// carrying one outranks a non-final one at the same Ottu timestamp.
var finalStates = map[string]bool{
	"paid": true, "authorized": true, "refunded": true, "canceled": true,
	"invalided": true, "cod": true, "voided": true,
}

// OrderKey orders entries for the current view: Ottu's timestamp first
// (ReceivedAt when Ottu sent none), then final states over the others, then
// a disclosure over an inquiry answer. The last rule settles the common
// tie: Ottu discloses the very payload its inquiry answer carries (same
// timestamp_utc), and the signed push is what the merchant asked to see,
// whichever of the two is stored first. The store compares these strings
// in its conditional write, so the rule lives here once.
//
// Ottu's signature does not cover timestamp_utc, so a timestamp later than
// when the entry arrived (beyond MaxClockSkew) is not believed: a replayed
// old callback with a far-future timestamp must not pin the current view.
func OrderKey(e Entry) string {
	t := e.OttuTimestamp
	if t.IsZero() || (!e.ReceivedAt.IsZero() && t.After(e.ReceivedAt.Add(MaxClockSkew))) {
		t = e.ReceivedAt
	}
	rank := 0
	if finalStates[e.State] {
		rank = 2
	}
	if e.Source == SourceDisclosure {
		rank++
	}
	return fmt.Sprintf("%020d#%d", t.UTC().UnixMilli(), rank)
}

// MaxClockSkew is how far Ottu's clock may run ahead of ours before its
// timestamp is not believed.
const MaxClockSkew = 5 * time.Minute

// Digest is the hex SHA-256 of b.
func Digest(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
