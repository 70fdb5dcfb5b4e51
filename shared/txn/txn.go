// Package txn is what the project knows of a payment transaction's
// state from Ottu: the answers of inquiries and the disclosures Ottu posts,
// kept as a history and a current view, and the workflows waiting for the
// next disclosure. It is the vocabulary shared by the inquiry and callback
// domains and the one DynamoDB table that stores both (shared/txn/ddb); it
// knows nothing of AWS.
package txn

import (
	"bytes"
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
	// SessionID is Ottu's session_id: signed in an inquiry answer, a hint
	// in a callback (Ottu's standard signature leaves it out).
	SessionID string
	// OrderNo and ReferenceNumber are the entry's signed identity.
	OrderNo         string
	ReferenceNumber string
	Source          Source
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
	// Conflict is set on a callback whose signed identity disagrees with
	// the one its session_id is bound to: it says which identity the
	// session_id is bound to. Such an entry is kept in the history,
	// flagged, and changes nothing else (not the current view, no waiter).
	Conflict string
}

// Identity is what Ottu's signature says an entry is about: its order_no
// and reference_number (either may be empty).
type Identity struct {
	OrderNo         string
	ReferenceNumber string
}

// IdentityOf is e's signed identity.
func IdentityOf(e Entry) Identity {
	return Identity{OrderNo: e.OrderNo, ReferenceNumber: e.ReferenceNumber}
}

// Admits reports whether a callback signed for id may be filed under a
// session bound to a: the same order_no, and, when a has a
// reference_number, the same one (a binding made without one, from an
// answer that named none, admits any).
func (a Identity) Admits(id Identity) bool {
	if a.OrderNo != id.OrderNo {
		return false
	}
	return a.ReferenceNumber == "" || a.ReferenceNumber == id.ReferenceNumber
}

// IsZero reports whether the identity names nothing.
func (a Identity) IsZero() bool { return a.OrderNo == "" && a.ReferenceNumber == "" }

func (a Identity) String() string {
	return fmt.Sprintf("order_no %q, reference_number %q", a.OrderNo, a.ReferenceNumber)
}

// Binder binds a session_id to one signed identity. Bind records id as
// the session's identity when none is recorded yet, or, with
// authoritative (Ottu's own authenticated answer: an inquiry or
// operation), over whatever is recorded; it returns the identity the
// session is bound to afterwards (zero when none). A zero id is never
// recorded: Bind then only reads.
type Binder interface {
	Bind(ctx context.Context, sessionID string, id Identity, authoritative bool) (Identity, error)
}

// File decides how a verified callback is filed, the one rule every
// receiver of Ottu's signed posts (payment callbacks, operation
// notifications) applies before storing: its session_id is only a hint,
// bound on first use to one signed identity. When e names a session_id,
// it is bound to e's identity unless it is bound already; an entry whose
// identity disagrees with the bound one gets Conflict set, and is then
// stored flagged and changes nothing. An entry with no session_id is filed
// by its signed order_no alone.
func File(ctx context.Context, b Binder, e *Entry) error {
	if e.SessionID == "" {
		return nil
	}
	id := IdentityOf(*e)
	bound, err := b.Bind(ctx, e.SessionID, id, false)
	if err != nil {
		return err
	}
	if id.IsZero() {
		// A callback naming no signed identity binds nothing, and is filed
		// under a session_id only while none is bound.
		if !bound.IsZero() {
			e.Conflict = "session_id " + e.SessionID + " is bound to " + bound.String() + "; this callback is signed for no order_no or reference_number"
		}
		return nil
	}
	if !bound.Admits(id) {
		e.Conflict = "session_id " + e.SessionID + " is bound to " + bound.String() + "; this callback is signed for " + id.String()
	}
	return nil
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
// An entry with Conflict set is stored in the history only: the current
// view never moves to it.
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
	Binder
	Put(ctx context.Context, e Entry) (stored bool, err error)
	// FirstReceived is when the delivery with e's digest was first stored
	// (ErrNotFound when it is not).
	FirstReceived(ctx context.Context, e Entry) (time.Time, error)
	Current(ctx context.Context, id string) (*Entry, error)
	History(ctx context.Context, id string, limit int) ([]Entry, error)
	AddWaiter(ctx context.Context, w Waiter) error
	Waiters(ctx context.Context, id string) ([]Waiter, error)
	ClaimWaiter(ctx context.Context, w Waiter, now time.Time) error
	FinishWaiter(ctx context.Context, w Waiter, status WaiterStatus, now time.Time) error
}

// finalStates are states a payment does not leave by itself; an entry
// carrying one is never replaced in the current view by a non-final one.
var finalStates = map[string]bool{
	"paid": true, "authorized": true, "refunded": true, "canceled": true,
	"invalided": true, "cod": true, "voided": true,
}

// OrderKey orders entries for the current view: a final state first (a
// final state is never replaced by a non-final one, whatever the
// timestamps say), then Ottu's timestamp (ReceivedAt when Ottu sent none),
// then a disclosure over an inquiry answer. The last rule settles the
// common tie: Ottu discloses the very payload its inquiry answer carries
// (same timestamp_utc), and the signed push is what the merchant asked to
// see, whichever of the two is stored first. The store compares these
// strings in its conditional write, so the rule lives here once.
//
// Ottu's signature does not cover timestamp_utc, so a timestamp later than
// when the entry arrived is never believed: the time of arrival stands in
// for it, and a replayed old callback with a future timestamp cannot
// outrank a newer one.
//
// The key starts with "v2#", which sorts after every key of the earlier
// format (a digit), so a current view written before this rule is replaced
// by the next entry rather than pinned.
func OrderKey(e Entry) string {
	t := e.OttuTimestamp
	if t.IsZero() || (!e.ReceivedAt.IsZero() && t.After(e.ReceivedAt)) {
		t = e.ReceivedAt
	}
	final := 0
	if Final(e.State) {
		final = 1
	}
	rank := 0
	if e.Source == SourceDisclosure {
		rank = 1
	}
	return fmt.Sprintf("v2#%d#%020d#%d", final, t.UTC().UnixMilli(), rank)
}

// Final reports whether state is one a payment does not leave by itself.
func Final(state string) bool { return finalStates[state] }

// WithoutSignature is body (a JSON object) without its top-level
// "signature": a signature is what lets a holder of the body re-post it,
// so none is stored, answered or sent on. A body that is not a JSON
// object is returned as is.
func WithoutSignature(body json.RawMessage) json.RawMessage {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil || m == nil {
		return body
	}
	if _, ok := m["signature"]; !ok {
		return body
	}
	delete(m, "signature")
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if enc.Encode(m) != nil {
		return body
	}
	return json.RawMessage(bytes.TrimRight(buf.Bytes(), "\n"))
}

// Digest is the hex SHA-256 of b.
func Digest(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
