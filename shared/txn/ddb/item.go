package ddb

import (
	"encoding/json"
	"errors"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/ottuops/ottu-lambda/shared/platform/dynamo"
	"github.com/ottuops/ottu-lambda/shared/txn"
)

// Attribute names of the table's items. They are part of the table's
// contract (other tools may read the table), so they never change.
const (
	// attrTxn is the partition key: the transaction's session_id, or its
	// order_no when the entry or waiter carries no session_id.
	attrTxn = "txn"
	// attrSK is the sort key: skCurrent, skEntryPrefix+digest or
	// skWaiterPrefix+waiter id.
	attrSK = "sk"
	// attrOrderRef is set on a current view filed under its session_id
	// whose transaction has an order_no; indexOrder finds it by that.
	attrOrderRef = "order_ref"

	attrSessionID     = "session_id"
	attrOrderNo       = "order_no"
	attrSource        = "source"
	attrReceivedAt    = "received_at"
	attrOttuTimestamp = "ottu_timestamp"
	attrState         = "state"
	attrResult        = "result"
	attrBody          = "body"
	attrDigest        = "digest"
	attrOrderKey      = "order_key"
	attrExpiresAt     = "expires_at"
	// attrReference is an entry's signed reference_number; attrConflict
	// flags an entry whose signed identity disagrees with its session's.
	attrReference = "reference_number"
	attrConflict  = "conflict"
	// attrAuthoritative marks a binding made from Ottu's own answer.
	attrAuthoritative = "authoritative"

	attrTaskToken    = "task_token"
	attrStatus       = "status"
	attrCreatedAt    = "created_at"
	attrUpdatedAt    = "updated_at"
	attrClaimedUntil = "claimed_until"
	attrAmount       = "amount"
	attrPayment      = "payment"
)

// Sort keys.
const (
	skCurrent      = "current"
	skEntryPrefix  = "entry#"
	skWaiterPrefix = "waiter#"
	// skBinding is a session_id's binding to one signed identity
	// (txn.File): order_no and reference_number, ids only.
	skBinding = "binding"
	// skSessionPrefix files, in a notification partition (txn.RefKey), a
	// session_id bound to that reference_number (Store.SessionsOf).
	skSessionPrefix = "session#"
)

// indexOrder is the global secondary index on attrOrderRef (keys only):
// it finds a transaction filed under its session_id by its order_no.
const indexOrder = "by_order"

// entryKey is where an entry is filed: its session_id, else its order_no.
func entryKey(sessionID, orderNo string) string {
	if sessionID != "" {
		return sessionID
	}
	return orderNo
}

func key(txn, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{attrTxn: dynamo.String(txn), attrSK: dynamo.String(sk)}
}

// entryAttrs are the attributes an entry item and the current view share.
func entryAttrs(e txn.Entry) map[string]types.AttributeValue {
	item := map[string]types.AttributeValue{
		attrSource:     dynamo.String(string(e.Source)),
		attrReceivedAt: dynamo.Time(e.ReceivedAt),
		attrBody:       dynamo.String(string(e.Body)),
		attrDigest:     dynamo.String(e.Digest),
	}
	optional := map[string]string{
		attrSessionID: e.SessionID,
		attrOrderNo:   e.OrderNo,
		attrState:     e.State,
		attrResult:    e.Result,
		attrReference: e.ReferenceNumber,
		attrConflict:  e.Conflict,
	}
	for k, v := range optional {
		if v != "" {
			item[k] = dynamo.String(v)
		}
	}
	if !e.OttuTimestamp.IsZero() {
		item[attrOttuTimestamp] = dynamo.Time(e.OttuTimestamp)
	}
	if !e.ExpiresAt.IsZero() {
		item[attrExpiresAt] = dynamo.UnixSeconds(e.ExpiresAt)
	}
	return item
}

// errCorruptItem marks an item this package cannot read back: the table
// was written by something else, never bad caller input. Its messages name
// attributes, never values (dynamo.Decoder), so no body leaks through an
// error.
var errCorruptItem = errors.New("stored transaction item is malformed")

func decodeEntry(item map[string]types.AttributeValue) (txn.Entry, error) {
	d := dynamo.NewDecoder(item, errCorruptItem)
	e := txn.Entry{
		SessionID:       d.String(attrSessionID),
		OrderNo:         d.String(attrOrderNo),
		ReferenceNumber: d.String(attrReference),
		Conflict:        d.String(attrConflict),
		Source:          txn.Source(d.RequiredString(attrSource)),
		ReceivedAt:      d.RequiredTime(attrReceivedAt),
		OttuTimestamp:   d.Time(attrOttuTimestamp),
		State:           d.String(attrState),
		Result:          d.String(attrResult),
		Body:            json.RawMessage(d.RequiredString(attrBody)),
		Digest:          d.RequiredString(attrDigest),
		ExpiresAt:       d.UnixSeconds(attrExpiresAt),
	}
	if d.Err() == nil && !json.Valid(e.Body) {
		d.Fail(attrBody, "is not JSON")
	}
	return e, d.Err()
}

func decodeWaiter(item map[string]types.AttributeValue) (txn.Waiter, error) {
	d := dynamo.NewDecoder(item, errCorruptItem)
	w := txn.Waiter{
		SessionID: d.String(attrSessionID),
		OrderNo:   d.String(attrOrderNo),
		TaskToken: d.RequiredString(attrTaskToken),
		CreatedAt: d.Time(attrCreatedAt),
		ExpiresAt: d.UnixSeconds(attrExpiresAt),
		Amount:    d.String(attrAmount),
		Payment:   d.String(attrPayment),
	}
	return w, d.Err()
}
