package ddb

import (
	"encoding/json"
	"errors"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/ottuops/ottu-lambda/shared/operation"
	"github.com/ottuops/ottu-lambda/shared/platform/dynamo"
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

// errCorruptItem marks an item this package cannot read back; it means the
// table was written by something else, never bad caller input.
var errCorruptItem = errors.New("stored tracking key item is malformed")

// decodeRecord turns a stored item into a Record. Ottu's body is copied
// byte for byte; errors name attributes, never values (dynamo.Decoder), so
// no body or secret leaks through an error.
func decodeRecord(item map[string]types.AttributeValue) (*operation.Record, error) {
	d := dynamo.NewDecoder(item, errCorruptItem)
	r := &operation.Record{
		TrackingKey:    d.RequiredString(attrTrackingKey),
		Operation:      d.String(attrOperation),
		SessionID:      d.String(attrSessionID),
		OrderNo:        d.String(attrOrderNo),
		Amount:         d.String(attrAmount),
		Fingerprint:    d.String(attrFingerprint),
		Status:         operation.Status(d.RequiredString(attrStatus)),
		Attempts:       int(d.Number(attrAttempts)),
		LeaseID:        d.String(attrLeaseID),
		LeaseExpiresAt: d.UnixMillis(attrLeaseExpiresAt),
		CreatedAt:      d.Time(attrCreatedAt),
		UpdatedAt:      d.Time(attrUpdatedAt),
		OttuStatus:     int(d.Number(attrOttuStatus)),
		ErrorCode:      d.String(attrErrorCode),
		ExpiresAt:      d.UnixSeconds(attrExpiresAt),
	}
	if body := d.String(attrOttuBody); body != "" {
		r.OttuBody = json.RawMessage(body)
	}
	if err := d.Err(); err != nil {
		return nil, err
	}
	return r, nil
}

// validBody reports whether body can be stored as a DynamoDB string and
// replayed as JSON later.
func validBody(body json.RawMessage) bool {
	return utf8.Valid(body) && json.Valid(body)
}
