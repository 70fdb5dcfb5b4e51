package txnstore

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/ottuops/ottu-lambda/shared/txnstate"
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

	attrTaskToken    = "task_token"
	attrStatus       = "status"
	attrCreatedAt    = "created_at"
	attrUpdatedAt    = "updated_at"
	attrClaimedUntil = "claimed_until"
)

// Sort keys.
const (
	skCurrent      = "current"
	skEntryPrefix  = "entry#"
	skWaiterPrefix = "waiter#"
)

// indexOrder is the global secondary index on attrOrderRef (keys only):
// it finds a transaction filed under its session_id by its order_no.
const indexOrder = "by_order"

// timeLayout is RFC 3339 with milliseconds in UTC: it sorts as text and
// reads back with time.RFC3339Nano.
const timeLayout = "2006-01-02T15:04:05.000Z"

func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

func str(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }

func num(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

// ceilSecond rounds a TTL up, so an item never expires earlier than asked.
func ceilSecond(t time.Time) int64 {
	s := t.Unix()
	if t.Sub(time.Unix(s, 0)) > 0 {
		s++
	}
	return s
}

// entryKey is where an entry is filed: its session_id, else its order_no.
func entryKey(sessionID, orderNo string) string {
	if sessionID != "" {
		return sessionID
	}
	return orderNo
}

func key(txn, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{attrTxn: str(txn), attrSK: str(sk)}
}

// entryAttrs are the attributes an entry item and the current view share.
func entryAttrs(e txnstate.Entry) map[string]types.AttributeValue {
	item := map[string]types.AttributeValue{
		attrSource:     str(string(e.Source)),
		attrReceivedAt: str(formatTime(e.ReceivedAt)),
		attrBody:       str(string(e.Body)),
		attrDigest:     str(e.Digest),
	}
	optional := map[string]string{
		attrSessionID: e.SessionID,
		attrOrderNo:   e.OrderNo,
		attrState:     e.State,
		attrResult:    e.Result,
	}
	if !e.OttuTimestamp.IsZero() {
		optional[attrOttuTimestamp] = formatTime(e.OttuTimestamp)
	}
	for k, v := range optional {
		if v != "" {
			item[k] = str(v)
		}
	}
	if !e.ExpiresAt.IsZero() {
		item[attrExpiresAt] = num(ceilSecond(e.ExpiresAt))
	}
	return item
}

// errCorruptItem marks an item this package cannot read back: the table
// was written by something else, never bad caller input. Its messages name
// attributes, never values, so no body leaks through an error.
var errCorruptItem = errors.New("stored transaction item is malformed")

type decoder struct {
	item map[string]types.AttributeValue
	err  error
}

func (d *decoder) fail(attr, problem string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: attribute %s %s", errCorruptItem, attr, problem)
	}
}

func (d *decoder) str(attr string, required bool) string {
	v, ok := d.item[attr]
	if !ok {
		if required {
			d.fail(attr, "is missing")
		}
		return ""
	}
	s, ok := v.(*types.AttributeValueMemberS)
	if !ok {
		d.fail(attr, "is not a string")
		return ""
	}
	return s.Value
}

func (d *decoder) num(attr string) int64 {
	v, ok := d.item[attr]
	if !ok {
		return 0
	}
	n, ok := v.(*types.AttributeValueMemberN)
	if !ok {
		d.fail(attr, "is not a number")
		return 0
	}
	i, err := strconv.ParseInt(n.Value, 10, 64)
	if err != nil {
		d.fail(attr, "is not a whole number")
	}
	return i
}

func (d *decoder) seconds(attr string) time.Time {
	if _, ok := d.item[attr]; !ok {
		return time.Time{}
	}
	return time.Unix(d.num(attr), 0).UTC()
}

func (d *decoder) time(attr string, required bool) time.Time {
	s := d.str(attr, required)
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		d.fail(attr, "is not an RFC 3339 time")
		return time.Time{}
	}
	return t.UTC()
}

func decodeEntry(item map[string]types.AttributeValue) (txnstate.Entry, error) {
	d := decoder{item: item}
	e := txnstate.Entry{
		SessionID:     d.str(attrSessionID, false),
		OrderNo:       d.str(attrOrderNo, false),
		Source:        txnstate.Source(d.str(attrSource, true)),
		ReceivedAt:    d.time(attrReceivedAt, true),
		OttuTimestamp: d.time(attrOttuTimestamp, false),
		State:         d.str(attrState, false),
		Result:        d.str(attrResult, false),
		Body:          json.RawMessage(d.str(attrBody, true)),
		Digest:        d.str(attrDigest, true),
		ExpiresAt:     d.seconds(attrExpiresAt),
	}
	if d.err == nil && !json.Valid(e.Body) {
		d.fail(attrBody, "is not JSON")
	}
	return e, d.err
}

func decodeWaiter(item map[string]types.AttributeValue) (txnstate.Waiter, error) {
	d := decoder{item: item}
	w := txnstate.Waiter{
		SessionID: d.str(attrSessionID, false),
		OrderNo:   d.str(attrOrderNo, false),
		TaskToken: d.str(attrTaskToken, true),
		CreatedAt: d.time(attrCreatedAt, false),
		ExpiresAt: d.seconds(attrExpiresAt),
	}
	return w, d.err
}
