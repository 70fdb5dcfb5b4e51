package tasktoken

import (
	"strings"
	"testing"
)

func TestTooLong(t *testing.T) {
	tests := []struct {
		name string
		n    int
		want bool
	}{
		{"a token of 1,024 characters is accepted", 1024, false},
		{"a token of 2,048 characters, Step Functions' limit, is accepted", 2048, false},
		{"a token of 2,049 characters is too long", 2049, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := TooLong(strings.Repeat("A", tt.n)); got != tt.want {
				t.Fatalf("TooLong(%d characters) = %v, want %v", tt.n, got, tt.want)
			}
		})
	}
}
