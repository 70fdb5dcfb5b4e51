package payment

import (
	"strings"
	"testing"
)

func TestCheckTrackingKey(t *testing.T) {
	tests := []struct {
		name, key, wantErr string
	}{
		{"a key of visible ASCII is accepted", "refund-2026-12-07/A:1", ""},
		{"a key of exactly 255 characters is accepted", strings.Repeat("k", 255), ""},
		{"an empty key is refused", "", "empty"},
		{"a key over 255 characters is refused, naming its length", strings.Repeat("k", 256), "256 characters"},
		{"a space is refused", "a b", "visible ASCII"},
		{"a newline, which could inject a header, is refused", "a\nInjected: x", "visible ASCII"},
		{"a non-ASCII letter is refused", "clé", "visible ASCII"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckTrackingKey(tt.key)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("CheckTrackingKey = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestOperationRules(t *testing.T) {
	tests := []struct {
		op                    Operation
		external, takesAmount bool
	}{
		{Capture, true, true}, {Refund, true, true}, {Void, true, false},
		{Cancel, false, false}, {Expire, false, false}, {Delete, false, false},
	}
	for _, tt := range tests {
		t.Run(string(tt.op)+" is classified as Ottu documents it", func(t *testing.T) {
			if tt.op.External() != tt.external || tt.op.TakesAmount() != tt.takesAmount {
				t.Fatalf("External %v TakesAmount %v", tt.op.External(), tt.op.TakesAmount())
			}
			if got, err := ParseOperation(string(tt.op)); err != nil || got != tt.op {
				t.Fatalf("ParseOperation = %v, %v", got, err)
			}
		})
	}
	if _, err := ParseOperation("refunds"); err == nil {
		t.Fatal("an unknown name was parsed")
	}
}
