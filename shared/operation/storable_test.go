package operation

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
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

// TestRecordsThatNeverExpireKeepNoCustomer: a record with no TTL (an
// unknown outcome, a v1 success) keeps ids, amounts and states of Ottu's
// answer only; one that expires keeps it whole.
func TestRecordsThatNeverExpireKeepNoCustomer(t *testing.T) {
	body := json.RawMessage(`{"amount":"2.000","initiator":{"email":"ops@example.com"},"operation":"refund","pg_response":{"card":"4111"},"reference_number":"R1","result":"success","timestamp_utc":"2023-07-24 09:59:49","txn":{"amount":"2.000","currency_code":"KWD","customer_email":"buyer@example.com","extra":{"note":"x"},"order_no":"","session_id":"s1","state":"refunded"}}`)
	never := string(keptFor(body, time.Time{}))
	for _, leak := range []string{"buyer@example.com", "customer_email", "ops@example.com", "pg_response", "4111", "extra"} {
		if strings.Contains(never, leak) {
			t.Errorf("a record that never expires keeps %s: %s", leak, never)
		}
	}
	for _, want := range []string{`"amount":"2.000"`, `"reference_number":"R1"`, `"result":"success"`, `"state":"refunded"`, `"currency_code":"KWD"`, `"session_id":"s1"`} {
		if !strings.Contains(never, want) {
			t.Errorf("a record that never expires lost %s: %s", want, never)
		}
	}
	if got := keptFor(body, time.Now().Add(time.Hour)); string(got) != string(body) {
		t.Errorf("a record that expires changed Ottu's body: %s", got)
	}
	if got := string(keptFor(json.RawMessage(`{"result":"failed","unparsed_body":"<html>buyer@example.com</html>","truncated":false}`), time.Time{})); strings.Contains(got, "buyer") {
		t.Errorf("unparsed text kept: %s", got)
	}
}
