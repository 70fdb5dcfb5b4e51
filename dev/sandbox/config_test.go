package sandbox

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func envFrom(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestConfigFromEnvDefaults(t *testing.T) {
	cfg, addr, err := ConfigFromEnv(envFrom(nil))
	if err != nil {
		t.Fatal(err)
	}
	if addr != "127.0.0.1:8081" || cfg.APIKey != "sandbox-api-key" || cfg.WebhookKey != "sandbox-webhook-key" {
		t.Fatalf("addr %q key %q webhook %q, want the documented defaults", addr, cfg.APIKey, cfg.WebhookKey)
	}
	want := map[string]User{"operator": {Password: "operator-pass", Permissions: []string{"*"}}}
	if !reflect.DeepEqual(cfg.Users, want) {
		t.Fatalf("users %+v, want %+v", cfg.Users, want)
	}
	if cfg.CallbackTimeout != 0 || cfg.CallbackRetries != 0 {
		t.Fatal("unset durations must stay zero so New applies its defaults")
	}
	if cfg.InquiryLimits != (InquiryLimits{}) {
		t.Fatalf("inquiry limits %+v, want Ottu's throttle (the zero value)", cfg.InquiryLimits)
	}
	got := cfg.withDefaults()
	if got.CallbackTimeout != 15*time.Second || got.CallbackRetries != 3 || got.CallbackRetryDelay != 5*time.Second || got.QueueSettleDelay != 2*time.Second {
		t.Fatalf("defaults %+v, want Ottu's 15s, 3 retries, 5s and a 2s settle", got)
	}
}

func TestConfigFromEnvReadsEveryVariable(t *testing.T) {
	cfg, addr, err := ConfigFromEnv(envFrom(map[string]string{
		"SANDBOX_ADDR":                 "0.0.0.0:9999",
		"SANDBOX_API_KEY":              "k",
		"SANDBOX_WEBHOOK_KEY":          "w",
		"SANDBOX_USERS":                "ops:pa:ss:word:payment.refund, payment.inquiry; viewer:v:payment.inquiry;",
		"SANDBOX_CALLBACK_TIMEOUT":     "2s",
		"SANDBOX_CALLBACK_RETRY_DELAY": "10ms",
		"SANDBOX_QUEUE_SETTLE_DELAY":   "1m",
		"SANDBOX_CALLBACK_RETRIES":     "0",
		"SANDBOX_INQUIRY_THROTTLE":     "OFF",
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]User{
		"ops":    {Password: "pa:ss:word", Permissions: []string{"payment.refund", "payment.inquiry"}},
		"viewer": {Password: "v", Permissions: []string{"payment.inquiry"}},
	}
	if addr != "0.0.0.0:9999" || cfg.APIKey != "k" || cfg.WebhookKey != "w" || !reflect.DeepEqual(cfg.Users, want) {
		t.Fatalf("got %q %+v", addr, cfg)
	}
	if cfg.CallbackTimeout != 2*time.Second || cfg.CallbackRetryDelay != 10*time.Millisecond || cfg.QueueSettleDelay != time.Minute {
		t.Fatalf("durations %+v", cfg)
	}
	if cfg.withDefaults().CallbackRetries != 0 {
		t.Fatal("SANDBOX_CALLBACK_RETRIES=0 must mean no retries, not the default")
	}
	if !cfg.InquiryLimits.Off {
		t.Fatal("SANDBOX_INQUIRY_THROTTLE=off must lift the inquiry throttle")
	}
}

func TestConfigFromEnvRejectsMalformedValues(t *testing.T) {
	tests := []struct {
		name, key, value, want string
	}{
		{"an address without a port is refused", "SANDBOX_ADDR", "localhost", "SANDBOX_ADDR"},
		{"a user without permissions is refused", "SANDBOX_USERS", "bob:secretpw", "entry 1 is not user:password:permissions"},
		{"a user without a name is refused", "SANDBOX_USERS", ":secretpw:*", "entry 1 has no user name"},
		{"a user without a password is refused", "SANDBOX_USERS", "bob::*", `(user "bob") has an empty password`},
		{"an unknown permission is refused", "SANDBOX_USERS", "bob:secretpw:payment.approve", `permission "payment.approve"`},
		{"an empty permission is refused", "SANDBOX_USERS", "bob:secretpw:", `permission ""`},
		{"a repeated user is refused", "SANDBOX_USERS", "bob:secretpw:*;bob:secretpw2:*", `entry 2 repeats user "bob"`},
		{"only separators give no users", "SANDBOX_USERS", " ; ;", "no users given"},
		{"a bad duration is refused", "SANDBOX_CALLBACK_TIMEOUT", "fast", "SANDBOX_CALLBACK_TIMEOUT"},
		{"a negative duration is refused", "SANDBOX_QUEUE_SETTLE_DELAY", "-1s", "positive duration"},
		{"a fractional retry count is refused", "SANDBOX_CALLBACK_RETRIES", "1.5", "whole number"},
		{"a throttle setting other than on or off is refused", "SANDBOX_INQUIRY_THROTTLE", "maybe", "SANDBOX_INQUIRY_THROTTLE \"maybe\" is not on or off"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := ConfigFromEnv(envFrom(map[string]string{tc.key: tc.value}))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to say %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "secretpw") {
				t.Fatalf("the error repeats a password: %v", err)
			}
		})
	}
}
