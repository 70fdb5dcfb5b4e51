package operation

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestStorable(t *testing.T) {
	big := `{"result":"success","pad":"` + strings.Repeat("x", maxStoredBody) + `"}`
	tests := []struct {
		name       string
		body       string
		wantSame   bool
		wantResult string
	}{
		{"an ordinary body is stored as it came", `{"result":"success","amount":"2.500"}`, true, "success"},
		{"an empty body stays empty", ``, true, ""},
		{"invalid UTF-8 is replaced, keeping the JSON", "{\"result\":\"success\",\"name\":\"caf\xe9\"}", false, "success"},
		{"a body over the limit becomes a marker keeping the result", big, false, "success"},
		{"a body that is not JSON becomes a marker", `<html>oops</html>`, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := storable(json.RawMessage(tt.body))
			if tt.wantSame {
				if string(got) != tt.body {
					t.Fatalf("changed to %s", got)
				}
				return
			}
			if !utf8.Valid(got) || !json.Valid(got) || len(got) > maxStoredBody {
				t.Fatalf("not storable: %.80s", got)
			}
			if resultOf(got) != tt.wantResult {
				t.Fatalf("result %q, want %q", resultOf(got), tt.wantResult)
			}
		})
	}
}
