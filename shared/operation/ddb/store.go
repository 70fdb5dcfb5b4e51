// Package ddb keeps Tracking-Key records in DynamoDB: the
// operation.Store that lets a payment operation reach Ottu at most once per
// key, however often it is retried.
//
// It follows the shape of Powertools' idempotency utility (a conditional
// write on status and expiry, the lease's end stored on the record, a
// fingerprint of the request) and avoids its known failures:
//   - records are never deleted, so a rejected duplicate or a failed attempt
//     cannot erase the record of a request still running;
//   - the outcome write is fenced on the lease id, not on the clock: a caller
//     whose lease ran out still records its outcome unless another claim took
//     the key over, and then it is told so (operation.ErrLeaseLost);
//   - the caller chooses when the lease ends (Claim.LeaseUntil,
//     Outcome.LeaseUntil), so it may outlast the function's own deadline
//     while Ottu may still be working, instead of ending with the time-out.
package ddb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/ottuops/ottu-lambda/shared/operation"
	"github.com/ottuops/ottu-lambda/shared/platform/dynamo"
)

// DynamoAPI is the part of the DynamoDB client the store uses;
// *dynamodb.Client satisfies it, as does testkit.CountingClient.
type DynamoAPI interface {
	dynamo.UpdateItemAPI
	dynamo.GetItemAPI
}

// ErrInvalidInput marks a call the store refuses before sending anything:
// a programming error in the caller, never a DynamoDB problem.
var ErrInvalidInput = errors.New("invalid tracking key store input")

// Store is the DynamoDB operation.Store. Safe for concurrent use.
type Store struct {
	client DynamoAPI
	table  string
	// now is Get's clock (to hide items past their TTL); the other methods
	// take the time from their caller.
	now func() time.Time
}

var _ operation.Store = (*Store)(nil)

// New returns a store on table, which CreateTable (or the SAM template)
// made: hash key tracking_key (S), TTL on expires_at.
func New(client DynamoAPI, table string) *Store {
	return &Store{client: client, table: table, now: time.Now}
}

// claimRounds bounds the writes of one Claim. The happy path and a plain
// conflict take one; a record past its TTL takes two; more only when other
// claims keep changing the record in between.
const claimRounds = 4

// claimMode picks which conditional write a Claim round sends.
type claimMode int

const (
	// claimLive: a new key, or the same request again after its lease ended.
	claimLive claimMode = iota
	// claimFresh: the record is past its TTL but not yet swept; the claim
	// starts the record over (attempts 1, new created_at, no Ottu body).
	claimFresh
)

// Claim takes the lease on c.TrackingKey in one conditional UpdateItem, or
// returns the record that prevents it with operation.ErrClaimConflict.
//
// DynamoDB cannot pick "attempts + 1" or "attempts = 1" inside one update
// depending on whether the old record had expired, so the rare record that
// is past its TTL but not yet swept costs a second write: the first write's
// condition excludes expired records and its failure returns the old item,
// which shows it expired; the second write starts the record over,
// conditioned on it still being expired. The happy path stays one request.
//
// c.LeaseID must be unique per claim (a UUID): a conflict with a record
// holding this very lease id is taken as our own write sent twice.
func (s *Store) Claim(ctx context.Context, c operation.Claim) (*operation.Record, error) {
	if err := validateClaim(c); err != nil {
		return nil, fmt.Errorf("claim tracking key: %w", err)
	}
	mode := claimLive
	var existing *operation.Record
	for range claimRounds {
		applied, rec, err := s.tryClaim(ctx, c, mode)
		if err != nil {
			return nil, fmt.Errorf("claim tracking key %q: %w", c.TrackingKey, err)
		}
		switch {
		case applied:
			return nil, nil
		case rec == nil:
			// A fresh write found no item: the TTL sweep removed it meanwhile.
			mode = claimLive
			continue
		case rec.Status == "":
			return rec, fmt.Errorf("claim tracking key %q: %w", c.TrackingKey, operation.ErrClaimConflict)
		case ours(rec, c):
			// Our own write landed and was sent again (an SDK retry after a
			// lost response): the lease is ours.
			return nil, nil
		case expired(rec, c.Now):
			mode = claimFresh
		case claimable(rec, c):
			// The record seen is newer than the one the write was checked
			// against (a fresh write lost to another claim whose lease has
			// ended since, or the fallback read): try the ordinary re-claim.
			mode = claimLive
		default:
			return rec, fmt.Errorf("claim tracking key %q: %w", c.TrackingKey, operation.ErrClaimConflict)
		}
		existing = rec
	}
	if existing == nil {
		return nil, fmt.Errorf("claim tracking key %q: the record kept changing; try again", c.TrackingKey)
	}
	// Other claims kept changing the record: report what is there now; the
	// caller answers "in progress" and the client retries later.
	return existing, fmt.Errorf("claim tracking key %q: %w", c.TrackingKey, operation.ErrClaimConflict)
}

// tryClaim sends one conditional write. It reports whether the write
// applied; if not, the record that failed the condition, or nil when a
// fresh write found no item at all.
func (s *Store) tryClaim(ctx context.Context, c operation.Claim, mode claimMode) (bool, *operation.Record, error) {
	_, err := s.client.UpdateItem(ctx, claimInput(s.table, c, mode))
	if err == nil {
		return true, nil, nil
	}
	var failed *types.ConditionalCheckFailedException
	if !errors.As(err, &failed) {
		return false, nil, fmt.Errorf("conditional write: %w", err)
	}
	if len(failed.Item) > 0 {
		rec, err := decodeRecord(failed.Item)
		if err != nil || rec.Status == "" {
			// Only a write caught half-way looks like this (moto's server
			// can show one; DynamoDB applies an update atomically): report
			// the key as held, with no status, so the caller retries.
			return false, &operation.Record{TrackingKey: c.TrackingKey}, nil
		}
		return false, rec, nil
	}
	if mode == claimFresh {
		// The fresh condition needs an item; none was there.
		return false, nil, nil
	}
	// The live condition holds for a missing item, so a failure without the
	// old item means the server ignored ReturnValuesOnConditionCheckFailure.
	// DynamoDB and moto honour it; this consistent read is only a fallback
	// for servers that do not, and costs a request only in that case.
	rec, err := s.read(ctx, c.TrackingKey)
	if errors.Is(err, operation.ErrRecordNotFound) {
		return false, nil, nil
	}
	if err != nil {
		return false, nil, err
	}
	return false, rec, nil
}

// claimInput builds the conditional write of one claim round.
func claimInput(table string, c operation.Claim, mode claimMode) *dynamodb.UpdateItemInput {
	u := dynamo.NewUpdate()
	now := dynamo.Time(c.Now)
	nowS := u.Value("nows", dynamo.Number(c.Now.Unix()))

	u.SetString(attrOperation, c.Operation)
	u.SetString(attrSessionID, c.SessionID)
	u.SetString(attrOrderNo, c.OrderNo)
	u.SetString(attrAmount, c.Amount)
	u.SetString(attrFingerprint, c.Fingerprint)
	u.SetExpr(attrStatus, u.Value("inprogress", dynamo.String(string(operation.StatusInProgress))))
	u.SetString(attrLeaseID, c.LeaseID)
	u.SetExpr(attrLeaseExpiresAt, u.Value("leaseuntil", dynamo.UnixMillis(c.LeaseUntil)))
	u.SetExpr(attrUpdatedAt, u.Value("now", now))
	setExpiry(u, c.ExpiresAt)
	one := u.Value("one", dynamo.Number(1))

	var cond string
	switch mode {
	case claimFresh:
		u.SetExpr(attrAttempts, one)
		u.SetExpr(attrCreatedAt, u.Value("now", now))
		u.Remove(attrOttuStatus)
		u.Remove(attrOttuBody)
		u.Remove(attrErrorCode)
		// Still expired: any claim in between set a future expires_at.
		cond = u.Name(attrExpiresAt) + " < " + nowS
	default:
		// The Ottu body and error code of the last attempt stay until the
		// outcome of this one overwrites them.
		u.SetExpr(attrAttempts, "if_not_exists("+u.Name(attrAttempts)+", "+u.Value("zero", dynamo.Number(0))+") + "+one)
		u.SetExpr(attrCreatedAt, "if_not_exists("+u.Name(attrCreatedAt)+", "+u.Value("now", now)+")")
		// A record without expires_at never expires (an unknown outcome).
		var statusCond string
		if c.ReclaimOnlyFailed {
			statusCond = u.Name(attrStatus) + " = " + u.Value("failed", dynamo.String(string(operation.StatusFailed)))
		} else {
			statusCond = u.Name(attrStatus) + " <> " + u.Value("succeeded", dynamo.String(string(operation.StatusSucceeded)))
		}
		cond = "attribute_not_exists(" + u.Name(attrTrackingKey) + ") OR (" +
			"(attribute_not_exists(" + u.Name(attrExpiresAt) + ") OR " + u.Name(attrExpiresAt) + " >= " + nowS + ") AND " +
			u.Name(attrFingerprint) + " = " + u.Value("fingerprint", dynamo.String(c.Fingerprint)) + " AND " +
			statusCond + " AND " +
			u.Name(attrLeaseExpiresAt) + " <= " + u.Value("nowms", dynamo.Number(c.Now.UnixMilli())) + ")"
	}
	in := u.Input(table, itemKey(c.TrackingKey), cond)
	in.ReturnValuesOnConditionCheckFailure = types.ReturnValuesOnConditionCheckFailureAllOld
	return in
}

// expired mirrors the TTL test of the conditions: expires_at < now in
// whole seconds. A record without expires_at never expires.
func expired(r *operation.Record, now time.Time) bool {
	return !r.ExpiresAt.IsZero() && r.ExpiresAt.Unix() < now.Unix()
}

// ours tells a record our own claim wrote (lease ids are unique per claim).
func ours(r *operation.Record, c operation.Claim) bool {
	return r.LeaseID == c.LeaseID && r.Fingerprint == c.Fingerprint &&
		r.Status == operation.StatusInProgress
}

// claimable mirrors the live claim condition for an existing record.
func claimable(r *operation.Record, c operation.Claim) bool {
	statusOK := r.Status != operation.StatusSucceeded
	if c.ReclaimOnlyFailed {
		statusOK = r.Status == operation.StatusFailed
	}
	return r.Fingerprint == c.Fingerprint && statusOK &&
		r.LeaseExpiresAt.UnixMilli() <= c.Now.UnixMilli()
}

// setExpiry sets the record's TTL, or removes it when t is zero: the record
// then stays until an outcome gives it one.
func setExpiry(u *dynamo.Update, t time.Time) {
	if t.IsZero() {
		u.Remove(attrExpiresAt)
		return
	}
	u.SetValue(attrExpiresAt, dynamo.UnixSeconds(t))
}

func validateClaim(c operation.Claim) error {
	var problem string
	switch {
	case c.TrackingKey == "":
		problem = "the tracking key is empty"
	case c.Fingerprint == "":
		problem = "the fingerprint is empty"
	case c.LeaseID == "":
		problem = "the lease id is empty"
	case c.Now.IsZero():
		problem = "Now is not set"
	case !c.LeaseUntil.After(c.Now):
		problem = "LeaseUntil is not after Now"
	case !c.ExpiresAt.IsZero() && c.ExpiresAt.Before(c.LeaseUntil):
		problem = "ExpiresAt is before LeaseUntil, so the record could vanish while leased"
	default:
		return nil
	}
	return fmt.Errorf("%w: %s", ErrInvalidInput, problem)
}

// Complete records Ottu's answer while the record's lease id is still
// o.LeaseID, whatever the clock says: a lease that ran out with nobody
// taking the key over still records its outcome. Otherwise
// operation.ErrLeaseLost and nothing is written. It never deletes.
//
// An outcome with neither OttuStatus nor OttuBody (Ottu never answered)
// leaves the last stored Ottu answer in place. The TTL moves to
// o.ExpiresAt (retention after this outcome), or is removed when that is
// zero, so that an unknown outcome never expires silently.
func (s *Store) Complete(ctx context.Context, o operation.Outcome) error {
	if err := validateOutcome(o); err != nil {
		return fmt.Errorf("complete tracking key: %w", err)
	}
	leaseUntil := o.LeaseUntil
	if leaseUntil.IsZero() {
		leaseUntil = o.Now
	}
	u := dynamo.NewUpdate()
	u.SetValue(attrStatus, dynamo.String(string(o.Status)))
	if o.OttuStatus != 0 || len(o.OttuBody) > 0 {
		setOttuAnswer(u, o.OttuStatus, o.OttuBody)
	}
	u.SetString(attrErrorCode, o.ErrorCode)
	u.SetExpr(attrUpdatedAt, u.Value("now", dynamo.Time(o.Now)))
	u.SetExpr(attrLeaseExpiresAt, u.Value("leaseuntil", dynamo.UnixMillis(leaseUntil)))
	setExpiry(u, o.ExpiresAt)
	cond := u.Name(attrLeaseID) + " = " + u.Value("lease", dynamo.String(o.LeaseID))

	_, err := s.client.UpdateItem(ctx, u.Input(s.table, itemKey(o.TrackingKey), cond))
	switch {
	case dynamo.IsConditionFailed(err):
		return fmt.Errorf("complete tracking key %q: %w", o.TrackingKey, operation.ErrLeaseLost)
	case err != nil:
		return fmt.Errorf("complete tracking key %q: %w", o.TrackingKey, err)
	}
	return nil
}

// setOttuAnswer stores one Ottu answer; a missing part is removed so the
// status and body stored always belong to the same answer.
func setOttuAnswer(u *dynamo.Update, status int, body json.RawMessage) {
	if status != 0 {
		u.SetValue(attrOttuStatus, dynamo.Number(int64(status)))
	} else {
		u.Remove(attrOttuStatus)
	}
	u.SetString(attrOttuBody, string(body))
}

func validateOutcome(o operation.Outcome) error {
	if o.LeaseID == "" && o.TrackingKey != "" {
		return fmt.Errorf("%w: the lease id is empty", ErrInvalidInput)
	}
	return validateAnswer(o.TrackingKey, o.Status, o.OttuBody, o.Now)
}

// validateAnswer checks what Complete and Refresh both write: a key, a
// time, a final status and a storable body.
func validateAnswer(trackingKey string, status operation.Status, body json.RawMessage, now time.Time) error {
	var problem string
	switch {
	case trackingKey == "":
		problem = "the tracking key is empty"
	case now.IsZero():
		problem = "Now is not set"
	case !finalStatus(status):
		problem = fmt.Sprintf("status %q is not succeeded, failed or unknown", status)
	case len(body) > 0 && !validBody(body):
		problem = "Ottu's body is not valid UTF-8 JSON"
	default:
		return nil
	}
	return fmt.Errorf("%w: %s", ErrInvalidInput, problem)
}

func finalStatus(st operation.Status) bool {
	switch st {
	case operation.StatusSucceeded, operation.StatusFailed, operation.StatusUnknown:
		return true
	}
	return false
}

// Get reads the record with a consistent read. A record past its TTL that
// DynamoDB has not swept yet counts as gone.
func (s *Store) Get(ctx context.Context, trackingKey string) (*operation.Record, error) {
	if trackingKey == "" {
		return nil, fmt.Errorf("get tracking key: %w: the tracking key is empty", ErrInvalidInput)
	}
	rec, err := s.read(ctx, trackingKey)
	if err == nil && expired(rec, s.now()) {
		err = operation.ErrRecordNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get tracking key %q: %w", trackingKey, err)
	}
	return rec, nil
}

// read is one consistent GetItem, expired or not.
func (s *Store) read(ctx context.Context, trackingKey string) (*operation.Record, error) {
	item, err := dynamo.ReadItem(ctx, s.client, s.table, itemKey(trackingKey))
	if err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	if item == nil {
		return nil, operation.ErrRecordNotFound
	}
	return decodeRecord(item)
}

// Settle stores what a read-only check of Ottu found (GET ?refresh=true):
// it fails with operation.ErrLeaseLost while the record is in progress under
// a live lease, and operation.ErrRecordNotFound when there is no live
// record. Ottu's answer is replaced only when st.OttuBody is set; the error
// code is cleared when the status becomes succeeded; the TTL moves to
// st.ExpiresAt; attempts and lease are left alone.
func (s *Store) Settle(ctx context.Context, st operation.Settlement) error {
	if err := validateAnswer(st.TrackingKey, st.Status, st.OttuBody, st.Now); err != nil {
		return fmt.Errorf("settle tracking key: %w", err)
	}
	now := st.Now
	u := dynamo.NewUpdate()
	u.SetValue(attrStatus, dynamo.String(string(st.Status)))
	if len(st.OttuBody) > 0 {
		setOttuAnswer(u, st.OttuStatus, st.OttuBody)
	}
	if st.Status == operation.StatusSucceeded {
		u.Remove(attrErrorCode)
	}
	u.SetExpr(attrUpdatedAt, u.Value("now", dynamo.Time(now)))
	setExpiry(u, st.ExpiresAt)
	cond := "attribute_exists(" + u.Name(attrTrackingKey) + ") AND " +
		"(attribute_not_exists(" + u.Name(attrExpiresAt) + ") OR " + u.Name(attrExpiresAt) + " >= " + u.Value("nows", dynamo.Number(now.Unix())) + ") AND NOT (" +
		u.Name(attrStatus) + " = " + u.Value("inprogress", dynamo.String(string(operation.StatusInProgress))) + " AND " +
		u.Name(attrLeaseExpiresAt) + " > " + u.Value("nowms", dynamo.Number(now.UnixMilli())) + ")"

	in := u.Input(s.table, itemKey(st.TrackingKey), cond)
	in.ReturnValuesOnConditionCheckFailure = types.ReturnValuesOnConditionCheckFailureAllOld
	_, err := s.client.UpdateItem(ctx, in)
	var failed *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &failed):
		return fmt.Errorf("settle tracking key %q: %w", st.TrackingKey, refreshConflict(failed.Item, now))
	case err != nil:
		return fmt.Errorf("settle tracking key %q: %w", st.TrackingKey, err)
	}
	return nil
}

// refreshConflict names why Refresh's condition failed from the old item:
// none, or past its TTL, is not found; otherwise the key is held.
func refreshConflict(item map[string]types.AttributeValue, now time.Time) error {
	if len(item) == 0 {
		return operation.ErrRecordNotFound
	}
	rec, err := decodeRecord(item)
	if err != nil {
		return err
	}
	if expired(rec, now) {
		return operation.ErrRecordNotFound
	}
	return operation.ErrLeaseLost
}

func itemKey(trackingKey string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{attrTrackingKey: dynamo.String(trackingKey)}
}
