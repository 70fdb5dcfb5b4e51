package dynamo

import (
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Decoder reads the attributes of one stored item and keeps the first
// problem, so that an adapter's decode function reads as a list of fields
// with one error check at the end. Its problems name attributes, never
// values, so no stored body or token leaks through an error.
type Decoder struct {
	item      map[string]types.AttributeValue
	malformed error
	err       error
}

// NewDecoder reads item. Every problem wraps malformed: the adapter's own
// error for an item it cannot read back, which means the table was written
// by something else, never bad caller input.
func NewDecoder(item map[string]types.AttributeValue, malformed error) *Decoder {
	return &Decoder{item: item, malformed: malformed}
}

// Err is the first problem met, or nil.
func (d *Decoder) Err() error { return d.err }

// Fail records a problem the adapter finds itself (a body that is not
// JSON, say), unless an earlier one was recorded.
func (d *Decoder) Fail(attr, problem string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: attribute %s %s", d.malformed, attr, problem)
	}
}

// String is a string attribute, "" when absent.
func (d *Decoder) String(attr string) string { return d.str(attr, false) }

// RequiredString is a string attribute that must be present.
func (d *Decoder) RequiredString(attr string) string { return d.str(attr, true) }

// Number is a whole-number attribute, 0 when absent.
func (d *Decoder) Number(attr string) int64 { return d.num(attr, false) }

// Time is an RFC 3339 string attribute (as Time writes it) in UTC, the
// zero time when absent.
func (d *Decoder) Time(attr string) time.Time { return d.time(attr, false) }

// RequiredTime is Time for an attribute that must be present.
func (d *Decoder) RequiredTime(attr string) time.Time { return d.time(attr, true) }

// UnixSeconds is a number attribute of Unix seconds (as UnixSeconds writes
// it) in UTC, the zero time when absent.
func (d *Decoder) UnixSeconds(attr string) time.Time {
	if _, ok := d.item[attr]; !ok {
		return time.Time{}
	}
	return time.Unix(d.num(attr, true), 0).UTC()
}

// UnixMillis is a number attribute of Unix milliseconds (as UnixMillis
// writes it) in UTC, the zero time when absent.
func (d *Decoder) UnixMillis(attr string) time.Time {
	if _, ok := d.item[attr]; !ok {
		return time.Time{}
	}
	return time.UnixMilli(d.num(attr, true)).UTC()
}

func (d *Decoder) str(attr string, required bool) string {
	v, ok := d.item[attr]
	if !ok {
		if required {
			d.Fail(attr, "is missing")
		}
		return ""
	}
	s, ok := v.(*types.AttributeValueMemberS)
	if !ok {
		d.Fail(attr, "is not a string")
		return ""
	}
	return s.Value
}

func (d *Decoder) num(attr string, required bool) int64 {
	v, ok := d.item[attr]
	if !ok {
		if required {
			d.Fail(attr, "is missing")
		}
		return 0
	}
	n, ok := v.(*types.AttributeValueMemberN)
	if !ok {
		d.Fail(attr, "is not a number")
		return 0
	}
	i, err := strconv.ParseInt(n.Value, 10, 64)
	if err != nil {
		d.Fail(attr, "is not a whole number")
		return 0
	}
	return i
}

func (d *Decoder) time(attr string, required bool) time.Time {
	s := d.str(attr, required)
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		d.Fail(attr, "is not an RFC 3339 time")
		return time.Time{}
	}
	return t.UTC()
}
