package strictjson

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ottuops/ottu-lambda/shared/platform/problem"
)

func TestCheckMembers(t *testing.T) {
	tests := []struct {
		name, body string
		wantCode   problem.Code
	}{
		{"an object with distinct members is accepted", `{"a":1,"b":{"a":2}}`, ""},
		{"a member named twice at the top is refused", `{"amount":"1","amount":"100"}`, problem.CodeInvalidRequest},
		{"a member named twice deep inside is refused", `{"extra":{"x":[{"k":1,"k":2}]}}`, problem.CodeInvalidRequest},
		{"the same name in sibling objects is accepted", `[{"k":1},{"k":2}]`, ""},
		{"a syntax error is left to the caller's decode", `{"a":`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := problem.CodeOf(CheckMembers([]byte(tt.body))); got != tt.wantCode {
				t.Fatalf("code %q, want %q", got, tt.wantCode)
			}
		})
	}
}

func TestFields(t *testing.T) {
	fields := map[string]json.RawMessage{"s": []byte(`"x"`), "n": []byte(`null`), "e": []byte(`""`), "i": []byte(`1`), "b": []byte(`true`)}
	t.Run("unknown members are all named", func(t *testing.T) {
		err := UnknownFields(fields, []string{"s", "n"})
		if problem.CodeOf(err) != problem.CodeUnknownField || !strings.Contains(err.Error(), `"b", "e", "i"`) {
			t.Fatalf("UnknownFields = %v", err)
		}
	})
	for _, tt := range []struct {
		name, field, want string
		wantCode          problem.Code
	}{
		{"a string is read", "s", "x", ""},
		{"null is absent", "n", "", ""},
		{"absent is absent", "missing", "", ""},
		{"an empty string is refused", "e", "", problem.CodeInvalidRequest},
		{"a number is refused", "i", "", problem.CodeInvalidRequest},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := StringField(fields, tt.field)
			if got != tt.want || problem.CodeOf(err) != tt.wantCode {
				t.Fatalf("StringField = %q, %v", got, err)
			}
		})
	}
	t.Run("a boolean is read and a string is not one", func(t *testing.T) {
		if b, err := BoolField(fields, "b"); !b || err != nil {
			t.Fatalf("BoolField(b) = %v, %v", b, err)
		}
		if _, err := BoolField(fields, "s"); err == nil {
			t.Fatal("a string was read as a boolean")
		}
	})
}
