package sandbox

import (
	"net/http"
	"strings"
	"testing"
)

func TestAuthentication(t *testing.T) {
	h := newHarness(t)
	tr := h.create(TransactionSpec{OrderNo: "auth-order", Amount: "50.000", CurrencyCode: "KWD", State: "paid", PGCode: "mpgs"})
	refund := `{"operation":"refund","session_id":"` + tr.SessionID + `","amount":"0.010"}`
	inquiry := `{"session_id":"` + tr.SessionID + `"}`
	capture := `{"operation":"capture","session_id":"` + tr.SessionID + `"}`
	tests := []struct {
		name   string
		path   string
		auth   string
		body   string
		status int
		detail string
	}{
		{"a request without credentials is not authenticated", "/b/pbl/v2/operation/", "", refund, 401, "Authentication credentials were not provided."},
		{"a Bearer token is not a credential Ottu reads", "/b/pbl/v2/operation/", "Bearer abc", refund, 401, "Authentication credentials were not provided."},
		{"a wrong API key is refused", "/b/pbl/v2/operation/", "Api-Key wrong-key", refund, 401, "Invalid API key."},
		{"an API key that only starts right is refused", "/b/pbl/v2/operation/", "Api-Key " + testAPIKey[:5], refund, 401, "Invalid API key."},
		{"a wrong password is refused", "/b/pbl/v2/operation/", basic("admin", "nope"), refund, 401, "Invalid username/password."},
		{"an unknown user is refused", "/b/pbl/v2/operation/", basic("mallory", testPassword), refund, 401, "Invalid username/password."},
		{"a Basic header without credentials is refused", "/b/pbl/v2/operation/", "Basic", refund, 401, "Invalid basic header. No credentials provided."},
		{"a Basic header with spaces is refused", "/b/pbl/v2/operation/", "Basic abc def", refund, 401, "Invalid basic header. Credentials string should not contain spaces."},
		{"a Basic header that is not base64 is refused", "/b/pbl/v2/operation/", "Basic !!!", refund, 401, "Invalid basic header. Credentials not correctly base64 encoded."},
		{"the API key is refused on v1", "/b/pbl/v1/operation/auth-order", apiKey(), `{"operation":"refund","amount":"0.010"}`, 401, "API v1 accepts Basic authentication only; send Authorization: Basic with a user holding the operation's permission."},
		{"a user without the refund permission is forbidden to refund", "/b/pbl/v2/operation/", basic("inquirer", testPassword), refund, 403, "You do not have permission to perform this action."},
		{"a user without any permission is forbidden", "/b/pbl/v2/operation/", basic("nobody", testPassword), refund, 403, "You do not have permission to perform this action."},
		{"a refunder is forbidden to capture", "/b/pbl/v2/operation/", basic("refunder", testPassword), capture, 403, "You do not have permission to perform this action."},
		{"a refunder is forbidden to inquire", "/b/pbl/v2/inquiry/", basic("refunder", testPassword), inquiry, 403, "You do not have permission to perform this action."},
		{"a refunder is forbidden to inquire on v1", "/b/pbl/v1/inquiry/auth-order", basic("refunder", testPassword), "", 403, "You do not have permission to perform this action."},
		{"a refunder may refund", "/b/pbl/v2/operation/", basic("refunder", testPassword), refund, 200, ""},
		{"an inquirer may inquire", "/b/pbl/v2/inquiry/", basic("inquirer", testPassword), inquiry, 200, ""},
		{"a user with every permission may refund", "/b/pbl/v2/operation/", basic("admin", testPassword), refund, 200, ""},
		{"the API key may refund", "/b/pbl/v2/operation/", apiKey(), refund, 200, ""},
		{"the scheme name is case-insensitive", "/b/pbl/v2/operation/", "api-key " + testAPIKey, refund, 200, ""},
		{"a user may refund on v1 with Basic", "/b/pbl/v1/operation/auth-order", basic("refunder", testPassword), `{"operation":"refund","amount":"0.010"}`, 200, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := h.do(http.MethodPost, tc.path, tc.auth, tc.body)
			if tc.status == http.StatusOK {
				wantStatus(t, r, http.StatusOK)
				return
			}
			wantDetail(t, r, tc.status, tc.detail)
			if tc.status == http.StatusUnauthorized && r.header.Get("WWW-Authenticate") == "" {
				t.Fatal("a 401 without WWW-Authenticate")
			}
		})
	}
	t.Run("failed authentication changes nothing", func(t *testing.T) {
		if got := h.get(tr.SessionID).RefundedAmount; got != "0.050" {
			t.Fatalf("refunded %s, want only the five allowed refunds (0.050)", got)
		}
	})
	t.Run("no credential reaches the log", func(t *testing.T) {
		logs := h.logs.String()
		for _, secret := range []string{testAPIKey, testPassword, basic("admin", testPassword)[6:]} {
			if strings.Contains(logs, secret) {
				t.Fatalf("the log holds a credential: %s", logs)
			}
		}
	})
}

func TestAPIKeyIsDisabledWhenNotConfigured(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.APIKey = "" })
	tr := h.txn("paid", "1.000", "KWD", "mpgs")
	body := `{"operation":"refund","session_id":"` + tr.SessionID + `"}`
	for _, auth := range []string{"Api-Key ", "Api-Key  "} {
		t.Run("an empty key "+`"`+auth+`"`+" is refused", func(t *testing.T) {
			wantDetail(t, h.do(http.MethodPost, "/b/pbl/v2/operation/", auth, body), http.StatusUnauthorized, "Invalid API key.")
		})
	}
}

func TestPermissionsMatchOttuCodes(t *testing.T) {
	want := []string{"payment.capture", "payment.refund", "payment.void", "payment.cancel", "payment.expire", "payment.delete", "payment.inquiry"}
	tests := []struct {
		name string
		perm string
		ok   bool
	}{
		{"the wildcard is valid", "*", true},
		{"an unknown code is invalid", "payment.approve", false},
		{"an empty code is invalid", "", false},
	}
	for _, p := range want {
		tests = append(tests, struct {
			name string
			perm string
			ok   bool
		}{"Ottu's " + p + " is valid", p, true})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := validPermission(tc.perm); got != tc.ok {
				t.Fatalf("validPermission(%q) = %v, want %v", tc.perm, got, tc.ok)
			}
		})
	}
}

func TestSetAPIKeyRotatesAtOnce(t *testing.T) {
	h := newHarness(t)
	tr := h.txn(StatePaid, "10.000", "KWD", "mpgs")
	body := map[string]any{"operation": "refund", "session_id": tr.SessionID, "amount": "1.000"}
	h.srv.SetAPIKey("rotated-key")
	t.Run("the old key is refused after rotation", func(t *testing.T) {
		wantDetail(t, h.op(body, ""), http.StatusUnauthorized, msgBadAPIKey)
	})
	t.Run("the new key is accepted after rotation", func(t *testing.T) {
		r := h.do(http.MethodPost, "/b/pbl/v2/operation/", "Api-Key rotated-key", mustJSON(t, body))
		wantStatus(t, r, http.StatusOK)
	})
}
