package dynamo

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

var errTestMalformed = errors.New("stored test item is malformed")

func TestDecoderRoundTrip(t *testing.T) {
	at := time.Date(2023, 11, 14, 22, 13, 21, 456e6, time.UTC)
	item := map[string]types.AttributeValue{
		"name": String("n"), "count": Number(-7), "at": Time(at),
		"ttl": UnixSeconds(at), "lease": UnixMillis(at),
	}
	d := NewDecoder(item, errTestMalformed)
	if got := d.RequiredString("name"); got != "n" {
		t.Errorf("RequiredString = %q", got)
	}
	if got := d.Number("count"); got != -7 {
		t.Errorf("Number = %d", got)
	}
	if got := d.RequiredTime("at"); !got.Equal(at) || got.Location() != time.UTC {
		t.Errorf("RequiredTime = %s, want %s in UTC", got, at)
	}
	if got := d.UnixSeconds("ttl"); !got.Equal(at.Truncate(time.Second).Add(time.Second)) {
		t.Errorf("UnixSeconds = %s, want %s rounded up", got, at)
	}
	if got := d.UnixMillis("lease"); !got.Equal(at) {
		t.Errorf("UnixMillis = %s, want %s", got, at)
	}
	if d.String("absent") != "" || d.Number("absent") != 0 || !d.Time("absent").IsZero() || !d.UnixSeconds("absent").IsZero() || !d.UnixMillis("absent").IsZero() {
		t.Error("an absent optional attribute is not read as its zero value")
	}
	if err := d.Err(); err != nil {
		t.Errorf("Err = %v", err)
	}
}

func TestDecoderProblems(t *testing.T) {
	item := map[string]types.AttributeValue{
		"text":  String("s3cr3t"),
		"count": Number(1),
		"frac":  &types.AttributeValueMemberN{Value: "1.5"},
	}
	cases := []struct {
		name    string
		read    func(d *Decoder)
		wantErr string
	}{
		{name: "a required attribute that is absent", read: func(d *Decoder) { d.RequiredString("gone") }, wantErr: "attribute gone is missing"},
		{name: "a required time that is absent", read: func(d *Decoder) { d.RequiredTime("gone") }, wantErr: "attribute gone is missing"},
		{name: "a number where text belongs", read: func(d *Decoder) { d.String("count") }, wantErr: "attribute count is not a string"},
		{name: "text where a number belongs", read: func(d *Decoder) { d.Number("text") }, wantErr: "attribute text is not a number"},
		{name: "a fraction where a whole number belongs", read: func(d *Decoder) { d.UnixSeconds("frac") }, wantErr: "attribute frac is not a whole number"},
		{name: "text that is not a time", read: func(d *Decoder) { d.Time("text") }, wantErr: "attribute text is not an RFC 3339 time"},
		{name: "the first problem is kept", read: func(d *Decoder) { d.Number("text"); d.Fail("count", "is odd") }, wantErr: "attribute text is not a number"},
		{name: "the adapter's own problem", read: func(d *Decoder) { d.Fail("text", "is not JSON") }, wantErr: "attribute text is not JSON"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := NewDecoder(item, errTestMalformed)
			tc.read(d)
			err := d.Err()
			if !errors.Is(err, errTestMalformed) || !strings.HasSuffix(err.Error(), tc.wantErr) {
				t.Fatalf("Err = %v, want %q wrapping the adapter's error", err, tc.wantErr)
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("the error repeats a stored value: %v", err)
			}
		})
	}
}
