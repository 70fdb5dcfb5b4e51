package dynamo

import (
	"reflect"
	"testing"
	"time"
)

func TestTimeEncoding(t *testing.T) {
	base := time.Date(2024, 2, 29, 23, 59, 59, 0, time.UTC)
	cases := []struct {
		name       string
		t          time.Time
		wantMilli  int64
		wantSecond int64
		wantText   string
	}{
		{"a whole second stays as it is", base, base.UnixMilli(), base.Unix(), "2024-02-29T23:59:59.000Z"},
		{"a partial millisecond rounds the lease up", base.Add(time.Microsecond), base.UnixMilli() + 1, base.Unix() + 1, "2024-02-29T23:59:59.000Z"},
		{"a partial second rounds the TTL up", base.Add(500 * time.Millisecond), base.UnixMilli() + 500, base.Unix() + 1, "2024-02-29T23:59:59.500Z"},
		{"another zone is written in UTC", base.In(time.FixedZone("KWT", 3*3600)), base.UnixMilli(), base.Unix(), "2024-02-29T23:59:59.000Z"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got, want := UnixMillis(tc.t), Number(tc.wantMilli); !reflect.DeepEqual(got, want) {
				t.Errorf("UnixMillis = %v, want %v", got, want)
			}
			if got, want := UnixSeconds(tc.t), Number(tc.wantSecond); !reflect.DeepEqual(got, want) {
				t.Errorf("UnixSeconds = %v, want %v", got, want)
			}
			if got, want := Time(tc.t), String(tc.wantText); !reflect.DeepEqual(got, want) {
				t.Errorf("Time = %v, want %v", got, want)
			}
		})
	}
}
