package timefmt

import (
	"testing"
	"time"
)

func TestFormat(t *testing.T) {
	kuwait := time.FixedZone("AST", 3*60*60)
	tests := []struct {
		name string
		in   time.Time
		want string
	}{
		{"a whole second still has three fractional digits", time.Date(2026, 12, 7, 4, 30, 13, 0, time.UTC), "2026-12-07T04:30:13.000Z"},
		{"nanoseconds are cut to milliseconds, never rounded up", time.Date(2026, 12, 7, 4, 30, 13, 999_999_999, time.UTC), "2026-12-07T04:30:13.999Z"},
		{"another zone is written in UTC", time.Date(2026, 12, 7, 7, 30, 13, 322_000_000, kuwait), "2026-12-07T04:30:13.322Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Format(tt.in); got != tt.want {
				t.Fatalf("Format = %s, want %s", got, tt.want)
			}
			if _, err := time.Parse(time.RFC3339, Format(tt.in)); err != nil {
				t.Fatalf("not RFC 3339: %v", err)
			}
		})
	}
}
