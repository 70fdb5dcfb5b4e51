package ddb

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/ottuops/ottu-lambda/shared/operation"
	"github.com/ottuops/ottu-lambda/shared/platform/dynamo"
)

// fullItem is an item as Claim and Complete write it.
func fullItem() map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		attrTrackingKey:    dynamo.String("key-1"),
		attrOperation:      dynamo.String("refund"),
		attrSessionID:      dynamo.String("sess-1"),
		attrOrderNo:        dynamo.String("order-1"),
		attrAmount:         dynamo.String("2.500"),
		attrFingerprint:    dynamo.String("fp"),
		attrStatus:         dynamo.String("succeeded"),
		attrAttempts:       dynamo.Number(2),
		attrLeaseID:        dynamo.String("lease-1"),
		attrLeaseExpiresAt: dynamo.Number(1700000000123),
		attrCreatedAt:      dynamo.String("2023-11-14T22:13:20.000Z"),
		attrUpdatedAt:      dynamo.String("2023-11-14T22:13:21.456Z"),
		attrOttuStatus:     dynamo.Number(200),
		attrOttuBody:       dynamo.String(`{"secret_looking":"s3cr3t","amount":1.10}`),
		attrErrorCode:      dynamo.String("operation_rejected"),
		attrExpiresAt:      dynamo.Number(1700086400),
	}
}

func TestDecodeRecord(t *testing.T) {
	want := &operation.Record{
		TrackingKey: "key-1", Operation: "refund", SessionID: "sess-1", OrderNo: "order-1", Amount: "2.500",
		Fingerprint: "fp", Status: operation.StatusSucceeded, Attempts: 2, LeaseID: "lease-1",
		LeaseExpiresAt: time.UnixMilli(1700000000123).UTC(),
		CreatedAt:      time.Date(2023, 11, 14, 22, 13, 20, 0, time.UTC),
		UpdatedAt:      time.Date(2023, 11, 14, 22, 13, 21, 456e6, time.UTC),
		OttuStatus:     200, OttuBody: json.RawMessage(`{"secret_looking":"s3cr3t","amount":1.10}`),
		ErrorCode: "operation_rejected", ExpiresAt: time.Unix(1700086400, 0).UTC(),
	}
	cases := []struct {
		name    string
		change  func(item map[string]types.AttributeValue)
		want    *operation.Record
		wantErr string
	}{
		{name: "a full item reads back every field", change: func(map[string]types.AttributeValue) {}, want: want},
		{
			name: "absent optional attributes read as zero values",
			change: func(item map[string]types.AttributeValue) {
				for _, a := range []string{attrAmount, attrOrderNo, attrOttuStatus, attrOttuBody, attrErrorCode} {
					delete(item, a)
				}
			},
			want: func() *operation.Record {
				r := *want
				r.Amount, r.OrderNo, r.OttuStatus, r.OttuBody, r.ErrorCode = "", "", 0, nil, ""
				return &r
			}(),
		},
		{name: "an item without a tracking key is malformed", change: func(item map[string]types.AttributeValue) { delete(item, attrTrackingKey) }, wantErr: "tracking_key is missing"},
		{name: "an item without a status is malformed", change: func(item map[string]types.AttributeValue) { delete(item, attrStatus) }, wantErr: "status is missing"},
		{name: "attempts stored as text is malformed", change: func(item map[string]types.AttributeValue) { item[attrAttempts] = dynamo.String("2") }, wantErr: "attempts is not a number"},
		{name: "a fractional attempts count is malformed", change: func(item map[string]types.AttributeValue) {
			item[attrAttempts] = &types.AttributeValueMemberN{Value: "1.5"}
		}, wantErr: "attempts is not a whole number"},
		{name: "a body stored as a number is malformed", change: func(item map[string]types.AttributeValue) {
			item[attrOttuBody] = dynamo.Number(1)
		}, wantErr: "ottu_body is not a string"},
		{name: "a created_at that is not RFC 3339 is malformed", change: func(item map[string]types.AttributeValue) {
			item[attrCreatedAt] = dynamo.String("yesterday s3cr3t")
		}, wantErr: "created_at is not an RFC 3339 time"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			item := fullItem()
			tc.change(item)
			got, err := decodeRecord(item)
			if tc.wantErr != "" {
				if !errors.Is(err, errCorruptItem) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "s3cr3t") {
					t.Errorf("the error repeats a stored value: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("decoded\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestValidBody(t *testing.T) {
	cases := []struct {
		name string
		body string
		want bool
	}{
		{"a JSON object is storable", `{"a":1.10}`, true},
		{"JSON with unicode is storable", `{"n":"فاطمة ☕"}`, true},
		{"HTML is not JSON", `<html></html>`, false},
		{"bytes that are not UTF-8 cannot be a DynamoDB string", "\"\xff\"", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := validBody(json.RawMessage(tc.body)); got != tc.want {
				t.Errorf("validBody(%q) = %v, want %v", tc.body, got, tc.want)
			}
		})
	}
}
