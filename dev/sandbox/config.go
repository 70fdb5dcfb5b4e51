package sandbox

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// Environment defaults, shared with the local stack.
const (
	DefaultAddr       = "127.0.0.1:8081"
	DefaultAPIKey     = "sandbox-api-key"
	DefaultWebhookKey = "sandbox-webhook-key"
	DefaultUsers      = "operator:operator-pass:*"
)

// ConfigFromEnv reads the SANDBOX_* variables through getenv:
//
//	SANDBOX_ADDR [127.0.0.1:8081], SANDBOX_API_KEY [sandbox-api-key],
//	SANDBOX_WEBHOOK_KEY [sandbox-webhook-key],
//	SANDBOX_OPERATION_WEBHOOK_URL [none]: where operation notifications go,
//	SANDBOX_USERS [operator:operator-pass:*] as "user:pass:perm1,perm2;user2:pass2:payment.refund",
//	SANDBOX_CALLBACK_TIMEOUT, SANDBOX_CALLBACK_RETRY_DELAY, SANDBOX_QUEUE_SETTLE_DELAY (Go durations such as "15s"),
//	SANDBOX_CALLBACK_RETRIES (a whole number),
//	SANDBOX_INQUIRY_THROTTLE [on]: "off" lifts Ottu's inquiry throttle
//	(none in a transaction's first 10 minutes, then one per 30 minutes, at
//	most 3, 30 a minute overall).
//
// Errors name the variable and never repeat a password.
func ConfigFromEnv(getenv func(string) string) (Config, string, error) {
	get := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	var cfg Config
	addr := get("SANDBOX_ADDR", DefaultAddr)
	if _, port, err := net.SplitHostPort(addr); err != nil || port == "" {
		return Config{}, "", fmt.Errorf("SANDBOX_ADDR %q is not host:port, for example 127.0.0.1:8081", addr)
	}
	cfg.APIKey = get("SANDBOX_API_KEY", DefaultAPIKey)
	cfg.WebhookKey = get("SANDBOX_WEBHOOK_KEY", DefaultWebhookKey)
	cfg.OperationWebhookURL = get("SANDBOX_OPERATION_WEBHOOK_URL", "")
	users, err := ParseUsers(get("SANDBOX_USERS", DefaultUsers))
	if err != nil {
		return Config{}, "", fmt.Errorf("SANDBOX_USERS: %w", err)
	}
	cfg.Users = users

	for name, dst := range map[string]*time.Duration{
		"SANDBOX_CALLBACK_TIMEOUT":     &cfg.CallbackTimeout,
		"SANDBOX_CALLBACK_RETRY_DELAY": &cfg.CallbackRetryDelay,
		"SANDBOX_QUEUE_SETTLE_DELAY":   &cfg.QueueSettleDelay,
	} {
		v := get(name, "")
		if v == "" {
			continue
		}
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return Config{}, "", fmt.Errorf("%s %q is not a positive duration such as 15s or 500ms", name, v)
		}
		*dst = d
	}
	if v := get("SANDBOX_CALLBACK_RETRIES", ""); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return Config{}, "", fmt.Errorf("SANDBOX_CALLBACK_RETRIES %q is not a whole number of 0 or more", v)
		}
		cfg.CallbackRetries = n
		if n == 0 {
			cfg.CallbackRetries = -1 // Config reads 0 as "default"
		}
	}
	switch v := strings.ToLower(get("SANDBOX_INQUIRY_THROTTLE", "on")); v {
	case "on":
	case "off":
		cfg.InquiryLimits.Off = true
	default:
		return Config{}, "", fmt.Errorf("SANDBOX_INQUIRY_THROTTLE %q is not on or off", v)
	}
	return cfg, addr, nil
}

// ParseUsers reads "user:pass:perm1,perm2;user2:pass2:payment.refund". The
// password is everything between the first and the last colon, so it may
// contain colons. Errors name the entry and user, never the password.
func ParseUsers(spec string) (map[string]User, error) {
	users := map[string]User{}
	for i, entry := range strings.Split(spec, ";") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		name, rest, ok1 := strings.Cut(entry, ":")
		cut := strings.LastIndex(rest, ":")
		if !ok1 || cut < 0 {
			return nil, fmt.Errorf("entry %d is not user:password:permissions", i+1)
		}
		password, perms := rest[:cut], rest[cut+1:]
		name = strings.TrimSpace(name)
		switch {
		case name == "":
			return nil, fmt.Errorf("entry %d has no user name", i+1)
		case password == "":
			return nil, fmt.Errorf("entry %d (user %q) has an empty password", i+1, name)
		}
		if _, dup := users[name]; dup {
			return nil, fmt.Errorf("entry %d repeats user %q", i+1, name)
		}
		u := User{Password: password}
		for p := range strings.SplitSeq(perms, ",") {
			p = strings.TrimSpace(p)
			if !validPermission(p) {
				return nil, fmt.Errorf("entry %d (user %q) has permission %q; use * or any of %s", i+1, name, p, strings.Join(Permissions, ", "))
			}
			u.Permissions = append(u.Permissions, p)
		}
		users[name] = u
	}
	if len(users) == 0 {
		return nil, fmt.Errorf("no users given; write user:password:permissions, for example %s", DefaultUsers)
	}
	return users, nil
}
