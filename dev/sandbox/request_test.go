package sandbox

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

// invalidRequest is one case of testdata/invalid_requests.json.
type invalidRequest struct {
	Name         string         `json:"name"`
	Path         string         `json:"path"`
	Body         string         `json:"body"`
	Basic        bool           `json:"basic"`
	Want         map[string]any `json:"want"`
	DetailPrefix string         `json:"detail_prefix"`
}

func TestInvalidRequestsGetDRFStyleErrors(t *testing.T) {
	var cases []invalidRequest
	readFixture(t, "invalid_requests.json", &cases)
	h := newHarness(t)
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			auth := apiKey()
			if tc.Basic {
				auth = basic("admin", testPassword)
			}
			r := h.do(http.MethodPost, tc.Path, auth, tc.Body)
			wantStatus(t, r, http.StatusBadRequest)
			if tc.DetailPrefix != "" {
				if !strings.HasPrefix(r.str("detail"), tc.DetailPrefix) {
					t.Fatalf("detail %q, want it to start %q", r.str("detail"), tc.DetailPrefix)
				}
				return
			}
			if !reflect.DeepEqual(r.body, tc.Want) {
				t.Fatalf("body %s, want %v", r.raw, tc.Want)
			}
		})
	}
}

func TestPermissionIsCheckedBeforeOtherFieldErrors(t *testing.T) {
	h := newHarness(t)
	r := h.do(http.MethodPost, "/b/pbl/v2/operation/", basic("inquirer", testPassword), `{"operation":"refund","amount":"bad"}`)
	wantDetail(t, r, http.StatusForbidden, "You do not have permission to perform this action.")
}

func TestBodyOverOneMebibyteIsTooLarge(t *testing.T) {
	h := newHarness(t)
	big := `{"operation":"refund","session_id":"` + strings.Repeat("a", maxBodyBytes) + `"}`
	for _, path := range []string{"/b/pbl/v2/operation/", "/b/pbl/v2/inquiry/", "/sandbox/transactions", "/sandbox/faults"} {
		t.Run("a huge body to "+path+" is refused with 413", func(t *testing.T) {
			r := h.do(http.MethodPost, path, apiKey(), big)
			wantStatus(t, r, http.StatusRequestEntityTooLarge)
			if !strings.Contains(r.str("detail"), "1 MiB") {
				t.Fatalf("detail %q does not say the limit", r.str("detail"))
			}
		})
	}
}

func TestFieldReaders(t *testing.T) {
	t.Run("amounts are read from their text, never a float", func(t *testing.T) {
		tests := []struct {
			raw, want string
		}{
			{`"2.500"`, "2.5"}, {`2.5`, "2.5"}, {`" 7 "`, "7"}, {`0.001`, "0.001"}, {`9999999999999.999`, "9999999999999.999"},
		}
		for _, tc := range tests {
			d, msg := amountField(json.RawMessage(tc.raw))
			if msg != "" || d == nil || d.String() != tc.want {
				t.Fatalf("amountField(%s) = %v %q, want %s", tc.raw, d, msg, tc.want)
			}
		}
	})
	t.Run("null and empty amounts mean the default", func(t *testing.T) {
		for _, raw := range []string{`null`, `""`, `"  "`, ``} {
			if d, msg := amountField(json.RawMessage(raw)); d != nil || msg != "" {
				t.Fatalf("amountField(%q) = %v %q, want absent", raw, d, msg)
			}
		}
	})
	t.Run("DRF's boolean spellings are accepted", func(t *testing.T) {
		tests := map[string]bool{`true`: true, `"True"`: true, `1`: true, `"1"`: true, `false`: false, `"false"`: false, `0`: false, `null`: false}
		for raw, want := range tests {
			if got, msg := boolField(json.RawMessage(raw)); got != want || msg != "" {
				t.Fatalf("boolField(%s) = %v %q, want %v", raw, got, msg, want)
			}
		}
		if _, msg := boolField(json.RawMessage(`"yes please"`)); msg != msgNotBool {
			t.Fatalf("boolField accepted a sentence: %q", msg)
		}
	})
	t.Run("numbers are accepted as ids like DRF's CharField does", func(t *testing.T) {
		if s, msg := stringField(json.RawMessage(`12345`)); s != "12345" || msg != "" {
			t.Fatalf("stringField(12345) = %q %q", s, msg)
		}
	})
}
