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
		{"a body that is not JSON is kept as text", `<html>oops</html>`, false, ""},
		{"a body too deep to decode is kept as text", `{"result":"success","extra":` + strings.Repeat(`[`, 20000) + strings.Repeat(`]`, 20000) + `}`, false, ""},
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
			if json.Valid([]byte(strings.ToValidUTF8(tt.body, "\uFFFD"))) && len(tt.body) <= maxStoredBody {
				return // repaired JSON, stored as JSON
			}
			// Ottu's answer is never lost: its text (or its start) is kept.
			var marker struct {
				Text string `json:"unparsed_body"`
			}
			if json.Unmarshal(got, &marker) != nil || (!strings.HasPrefix(tt.body, marker.Text) && utf8.ValidString(tt.body)) || marker.Text == "" {
				t.Fatalf("the stored marker does not keep Ottu's text: %.120s", got)
			}
		})
	}
}
