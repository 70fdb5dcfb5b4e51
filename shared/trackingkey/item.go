package trackingkey

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/ottuops/ottu-lambda/shared/operation"
)

// Attribute names of a Tracking-Key item. They are part of the table's
// contract (other tools may read the table), so they never change.
const (
	attrTrackingKey    = "tracking_key"
	attrOperation      = "operation"
	attrSessionID      = "session_id"
	attrOrderNo        = "order_no"
	attrAmount         = "amount"
	attrFingerprint    = "fingerprint"
	attrStatus         = "status"
	attrAttempts       = "attempts"
	attrLeaseID        = "lease_id"
	attrLeaseExpiresAt = "lease_expires_at"
	attrCreatedAt      = "created_at"
	attrUpdatedAt      = "updated_at"
	attrOttuStatus     = "ottu_status"
	attrOttuBody       = "ottu_body"
	attrErrorCode      = "error_code"
	attrExpiresAt      = "expires_at"
)

// timeLayout is RFC 3339 with milliseconds in UTC: it sorts as text and
// reads back with time.RFC3339Nano.
const timeLayout = "2006-01-02T15:04:05.000Z"

func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

// ceilMilli and ceilSecond round up, so a lease or a retention never ends
// earlier than the caller asked because of the stored precision.
func ceilMilli(t time.Time) int64 {
	ms := t.UnixMilli()
	if t.Sub(time.UnixMilli(ms)) > 0 {
		ms++
	}
	return ms
}

func ceilSecond(t time.Time) int64 {
	s := t.Unix()
	if t.Sub(time.Unix(s, 0)) > 0 {
		s++
	}
	return s
}

func stringValue(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }

func numberValue(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

// errCorruptItem marks an item this package cannot read back; it means the
// table was written by something else, never bad caller input.
var errCorruptItem = errors.New("stored tracking key item is malformed")

// decodeRecord turns a stored item into a Record. Ottu's body is copied
// byte for byte; the function never puts attribute values in its errors
// except names, so no body or secret leaks through an error.
func decodeRecord(item map[string]types.AttributeValue) (*operation.Record, error) {
	d := itemDecoder{item: item}
	r := &operation.Record{
		TrackingKey:    d.str(attrTrackingKey, true),
		Operation:      d.str(attrOperation, false),
		SessionID:      d.str(attrSessionID, false),
		OrderNo:        d.str(attrOrderNo, false),
		Amount:         d.str(attrAmount, false),
		Fingerprint:    d.str(attrFingerprint, false),
		Status:         operation.Status(d.str(attrStatus, true)),
		Attempts:       int(d.num(attrAttempts, false)),
		LeaseID:        d.str(attrLeaseID, false),
		LeaseExpiresAt: d.millis(attrLeaseExpiresAt),
		CreatedAt:      d.time(attrCreatedAt),
		UpdatedAt:      d.time(attrUpdatedAt),
		OttuStatus:     int(d.num(attrOttuStatus, false)),
		ErrorCode:      d.str(attrErrorCode, false),
		ExpiresAt:      d.seconds(attrExpiresAt),
	}
	if body := d.str(attrOttuBody, false); body != "" {
		r.OttuBody = json.RawMessage(body)
	}
	if d.err != nil {
		return nil, d.err
	}
	return r, nil
}

// itemDecoder keeps the first problem so decodeRecord reads as a list.
type itemDecoder struct {
	item map[string]types.AttributeValue
	err  error
}

func (d *itemDecoder) fail(attr, problem string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: attribute %s %s", errCorruptItem, attr, problem)
	}
}

func (d *itemDecoder) str(attr string, required bool) string {
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

func (d *itemDecoder) num(attr string, required bool) int64 {
	v, ok := d.item[attr]
	if !ok {
		if required {
			d.fail(attr, "is missing")
		}
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
		return 0
	}
	return i
}

func (d *itemDecoder) millis(attr string) time.Time {
	if _, ok := d.item[attr]; !ok {
		return time.Time{}
	}
	return time.UnixMilli(d.num(attr, true)).UTC()
}

func (d *itemDecoder) seconds(attr string) time.Time {
	if _, ok := d.item[attr]; !ok {
		return time.Time{}
	}
	return time.Unix(d.num(attr, true), 0).UTC()
}

func (d *itemDecoder) time(attr string) time.Time {
	s := d.str(attr, false)
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

// validBody reports whether body can be stored as a DynamoDB string and
// replayed as JSON later.
func validBody(body json.RawMessage) bool {
	return utf8.Valid(body) && json.Valid(body)
}
