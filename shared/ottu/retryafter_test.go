package ottu

import (
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		value string
		want  time.Duration
	}{
		{"seconds are read as a wait", "120", 2 * time.Minute},
		{"surrounding spaces are ignored", " 30 ", 30 * time.Second},
		{"an HTTP date is the wait until then", "Mon, 07 Dec 2026 10:05:00 GMT", 5 * time.Minute},
		{"an absent header is no wait", "", 0},
		{"an unreadable value is no wait", "soon", 0},
		{"a date in the past is no wait", "Mon, 07 Dec 2026 09:00:00 GMT", 0},
		{"zero or negative seconds are no wait", "-5", 0},
		{"a wait over a day is not believed", "86401", 0},
		{"a wait of exactly a day is believed", "86400", 24 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := parseRetryAfter(tt.value, now); got != tt.want {
				t.Errorf("parseRetryAfter(%q) = %v, want %v", tt.value, got, tt.want)
			}
		})
	}
}
