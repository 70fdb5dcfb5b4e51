package dynamo

import (
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// timeLayout is RFC 3339 with milliseconds in UTC: it sorts as text and
// reads back with time.RFC3339Nano (Decoder.Time).
const timeLayout = "2006-01-02T15:04:05.000Z"

// String is a string attribute value.
func String(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }

// Number is a whole-number attribute value.
func Number(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

// Time is t as a string attribute in timeLayout, which Decoder.Time reads.
func Time(t time.Time) types.AttributeValue { return String(t.UTC().Format(timeLayout)) }

// UnixSeconds is t in Unix seconds, rounded up, as DynamoDB's TTL reads
// it: an item never expires earlier than asked because of the precision.
// Decoder.UnixSeconds reads it back.
func UnixSeconds(t time.Time) types.AttributeValue {
	s := t.Unix()
	if t.Sub(time.Unix(s, 0)) > 0 {
		s++
	}
	return Number(s)
}

// UnixMillis is t in Unix milliseconds, rounded up, so a lease stored this
// way never ends earlier than asked. Decoder.UnixMillis reads it back.
func UnixMillis(t time.Time) types.AttributeValue {
	ms := t.UnixMilli()
	if t.Sub(time.UnixMilli(ms)) > 0 {
		ms++
	}
	return Number(ms)
}
