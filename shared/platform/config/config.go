// Package config reads a function's settings from the environment variables
// template.yaml sets. Every function loads all of them (defaults fill the
// gaps) and then Requires the few it cannot run without.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ottuops/ottu-lambda/shared/platform/baseurl"
)

// The environment variables Load reads.
const (
	EnvAPISecretID         = "OTTU_API_SECRET_ID"
	EnvWebhookSecretID     = "OTTU_WEBHOOK_SECRET_ID"
	EnvBaseURL             = "OTTU_BASE_URL"
	EnvAPIVersion          = "OTTU_API_VERSION"
	EnvTrackingKeysTable   = "TRACKING_KEYS_TABLE"
	EnvInquiriesTable      = "INQUIRIES_TABLE"
	EnvRecordRetentionDays = "RECORD_RETENTION_DAYS"
	EnvDeadlineMargin      = "OTTU_DEADLINE_MARGIN"
	EnvLeaseGrace          = "LEASE_GRACE"
	EnvSecretsCacheTTL     = "SECRETS_CACHE_TTL"
	EnvMaxBodyBytes        = "MAX_BODY_BYTES"
	EnvLogLevel            = "LOG_LEVEL"
	EnvMetricsNamespace    = "METRICS_NAMESPACE"
	EnvPublicBaseURL       = "PUBLIC_BASE_URL"
	// EnvDisclosureURLAllowList: comma-separated URLs, besides this
	// stack's own webhook, an inquiry may have Ottu disclose to.
	EnvDisclosureURLAllowList = "DISCLOSURE_URL_ALLOWLIST"
	// EnvRefundStateMachineARN is the refund workflow's state machine (the
	// refund-workflow and refund-approval functions).
	EnvRefundStateMachineARN = "REFUND_STATE_MACHINE_ARN"
	// EnvRefundApprovalsTable is the table of the workflow's approvals.
	EnvRefundApprovalsTable = "REFUND_APPROVALS_TABLE"
	// EnvRefundTotalsTable is the table of the refunded total per
	// transaction (the refund and refund-workflow functions).
	EnvRefundTotalsTable = "REFUND_TOTALS_TABLE"
	// EnvRefundApprovalThresholds are the approval thresholds per
	// currency, "KWD=500.000,USD=1500.00" (operation.ParseThresholds); a
	// currency without one always needs an approval.
	EnvRefundApprovalThresholds = "REFUND_APPROVAL_THRESHOLDS"
	// EnvDirectRefundApproval is "required" (the default: a direct refund
	// above the threshold is a 403 approval_required) or "off".
	EnvDirectRefundApproval = "DIRECT_REFUND_APPROVAL"
)

// Defaults for the settings that have one.
const (
	DefaultAPIVersion          = 2
	DefaultRecordRetentionDays = 30
	DefaultDeadlineMargin      = 3 * time.Second
	DefaultLeaseGrace          = 5 * time.Minute
	DefaultSecretsCacheTTL     = 5 * time.Minute
	DefaultMaxBodyBytes        = 64 << 10
	DefaultLogLevel            = slog.LevelInfo
	DefaultMetricsNamespace    = "OttuOperations"
)

// Config is every function's settings. Empty strings are settings that were
// not set and have no default; Require says which a function needs.
type Config struct {
	APISecretID     string
	WebhookSecretID string
	// BaseURL is the Ottu host used when the API secret names none.
	BaseURL string
	// APIVersion is Ottu's Operations API version: 1 (legacy) or 2.
	APIVersion          int
	TrackingKeysTable   string
	InquiriesTable      string
	RecordRetentionDays int
	// DeadlineMargin is kept back before the Lambda deadline so the outcome
	// can still be recorded after the call to Ottu is cut off.
	DeadlineMargin time.Duration
	// LeaseGrace is how long past the deadline (or an unknown outcome) a
	// Tracking-Key stays locked against a second caller.
	LeaseGrace       time.Duration
	SecretsCacheTTL  time.Duration
	MaxBodyBytes     int64
	LogLevel         slog.Level
	MetricsNamespace string
	// PublicBaseURL is the API's own public URL, for the webhook URL sent
	// to Ottu with disclose_to_merchant.
	PublicBaseURL string
	// DisclosureURLAllowList are the URLs besides this stack's own webhook
	// that Ottu may be asked to disclose a transaction to.
	DisclosureURLAllowList []string
	// RefundStateMachineARN and RefundApprovalsTable are the refund
	// workflow's state machine and approvals table.
	RefundStateMachineARN string
	RefundApprovalsTable  string
	// RefundTotalsTable keeps the refunded total per transaction;
	// RefundApprovalThresholds is EnvRefundApprovalThresholds as set (the
	// operation domain reads it); DirectRefundApprovalOff turns off the
	// direct refund route's threshold check.
	RefundTotalsTable        string
	RefundApprovalThresholds string
	DirectRefundApprovalOff  bool
}

// RecordRetention is RecordRetentionDays as a duration, for record expiry.
func (c Config) RecordRetention() time.Duration {
	return time.Duration(c.RecordRetentionDays) * 24 * time.Hour
}

// Load reads the settings through getenv (os.Getenv in a function, a map in
// tests). Every invalid value is reported in one error, each naming the
// variable and the form it accepts.
func Load(getenv func(string) string) (Config, error) {
	r := reader{getenv: getenv}
	c := Config{
		APISecretID:              r.secretID(EnvAPISecretID),
		WebhookSecretID:          r.secretID(EnvWebhookSecretID),
		BaseURL:                  r.baseURL(EnvBaseURL),
		APIVersion:               r.apiVersion(),
		TrackingKeysTable:        r.table(EnvTrackingKeysTable),
		InquiriesTable:           r.table(EnvInquiriesTable),
		RecordRetentionDays:      int(r.integer(EnvRecordRetentionDays, DefaultRecordRetentionDays, 1, 3650, "days")),
		DeadlineMargin:           r.duration(EnvDeadlineMargin, DefaultDeadlineMargin, 100*time.Millisecond, time.Minute),
		LeaseGrace:               r.duration(EnvLeaseGrace, DefaultLeaseGrace, time.Second, time.Hour),
		SecretsCacheTTL:          r.duration(EnvSecretsCacheTTL, DefaultSecretsCacheTTL, time.Second, 24*time.Hour),
		MaxBodyBytes:             r.integer(EnvMaxBodyBytes, DefaultMaxBodyBytes, 1<<10, 6<<20, "bytes"),
		LogLevel:                 r.logLevel(),
		MetricsNamespace:         r.namespace(),
		PublicBaseURL:            r.baseURL(EnvPublicBaseURL),
		DisclosureURLAllowList:   r.urlList(EnvDisclosureURLAllowList),
		RefundStateMachineARN:    r.stateMachineARN(EnvRefundStateMachineARN),
		RefundApprovalsTable:     r.table(EnvRefundApprovalsTable),
		RefundTotalsTable:        r.table(EnvRefundTotalsTable),
		RefundApprovalThresholds: strings.TrimSpace(r.get(EnvRefundApprovalThresholds)),
		DirectRefundApprovalOff:  r.directRefundApprovalOff(),
	}
	if len(r.problems) > 0 {
		return c, fmt.Errorf("invalid settings: %s", strings.Join(r.problems, "; "))
	}
	return c, nil
}

// Require fails, naming every one of names that is not set, when a function
// cannot run without them. Settings with a default are always set. A name
// Load does not know is reported too: it is a typo in the caller.
func (c Config) Require(names ...string) error {
	values := map[string]string{
		EnvAPISecretID:           c.APISecretID,
		EnvWebhookSecretID:       c.WebhookSecretID,
		EnvBaseURL:               c.BaseURL,
		EnvTrackingKeysTable:     c.TrackingKeysTable,
		EnvInquiriesTable:        c.InquiriesTable,
		EnvPublicBaseURL:         c.PublicBaseURL,
		EnvRefundStateMachineARN: c.RefundStateMachineARN,
		EnvRefundApprovalsTable:  c.RefundApprovalsTable,
		EnvRefundTotalsTable:     c.RefundTotalsTable,
	}
	defaulted := []string{
		EnvAPIVersion, EnvRecordRetentionDays, EnvDeadlineMargin, EnvLeaseGrace,
		EnvSecretsCacheTTL, EnvMaxBodyBytes, EnvLogLevel, EnvMetricsNamespace,
		EnvDisclosureURLAllowList,
		EnvRefundApprovalThresholds, EnvDirectRefundApproval,
	}
	var missing, unknown []string
	for _, name := range names {
		v, known := values[name]
		switch {
		case known && v == "":
			missing = append(missing, name)
		case !known && !slices.Contains(defaulted, name):
			unknown = append(unknown, name)
		}
	}
	var errs []error
	if len(missing) > 0 {
		noun, pronoun := "variable", "it"
		if len(missing) > 1 {
			noun, pronoun = "variables", "them"
		}
		errs = append(errs, fmt.Errorf("missing environment %s %s: set %s in the function's Environment.Variables in template.yaml",
			noun, strings.Join(missing, ", "), pronoun))
	}
	if len(unknown) > 0 {
		errs = append(errs, fmt.Errorf("config.Require was asked for %s, which is not a setting this package reads", strings.Join(unknown, ", ")))
	}
	return errors.Join(errs...)
}

// reader collects one problem per invalid variable instead of stopping at
// the first, so a deploy is fixed in one round.
type reader struct {
	getenv   func(string) string
	problems []string
}

func (r *reader) get(name string) string {
	return strings.TrimSpace(r.getenv(name))
}

// fail records a problem; format follows the name directly: "=%q is …" or
// " must …".
func (r *reader) fail(name, format string, args ...any) {
	r.problems = append(r.problems, name+fmt.Sprintf(format, args...))
}

// secretID accepts a Secrets Manager name or ARN.
func (r *reader) secretID(name string) string {
	v := r.get(name)
	if v != "" && (len(v) > 2048 || strings.ContainsFunc(v, isSpaceOrControl)) {
		r.fail(name, " must be a Secrets Manager secret name or ARN, without spaces")
		return ""
	}
	return v
}

var stateMachineARN = regexp.MustCompile(`^arn:aws[a-z-]*:states:[a-z0-9-]+:[0-9]{12}:stateMachine:[A-Za-z0-9_-]{1,80}$`)

// stateMachineARN accepts a Step Functions state machine ARN.
func (r *reader) stateMachineARN(name string) string {
	v := r.get(name)
	if v == "" || stateMachineARN.MatchString(v) {
		return v
	}
	r.fail(name, "=%q is not a state machine ARN such as arn:aws:states:me-south-1:123456789012:stateMachine:ottu-refund-workflow", v)
	return ""
}

// tableName tells a DynamoDB table name: 3 to 255 letters, digits, '_', '-'
// or '.'. A loop, not a regexp: `{3,255}` compiles to 255 copies of the
// class, which cost every cold start about 1.3 ms and 3,300 allocations.
func tableName(v string) bool {
	return len(v) >= 3 && len(v) <= 255 && onlyBytes(v, "_.-")
}

// onlyBytes reports whether s holds only ASCII letters, digits and the bytes
// of extra.
func onlyBytes(s, extra string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		letterOrDigit := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		if !letterOrDigit && strings.IndexByte(extra, c) < 0 {
			return false
		}
	}
	return true
}

// table accepts a DynamoDB table name or table ARN.
func (r *reader) table(name string) string {
	v := r.get(name)
	if v == "" || tableName(v) || (strings.HasPrefix(v, "arn:") && !strings.ContainsFunc(v, isSpaceOrControl)) {
		return v
	}
	r.fail(name, "=%q is not a DynamoDB table name: use 3 to 255 letters, digits, '_', '-' or '.', or the table's ARN", v)
	return ""
}

// baseURL applies baseurl.Check; the value is never quoted back, as a
// URL can carry a password.
func (r *reader) baseURL(name string) string {
	v := r.get(name)
	if v == "" {
		return ""
	}
	clean, err := baseurl.Check(v)
	if err != nil {
		r.fail(name, " %s", err)
		return ""
	}
	return clean
}

// urlList reads comma-separated absolute https URLs (at most 20); the
// values are never quoted back, as a URL can carry a token.
func (r *reader) urlList(name string) []string {
	v := r.get(name)
	if v == "" {
		return nil
	}
	var out []string
	for i, raw := range strings.Split(v, ",") {
		raw = strings.TrimSpace(raw)
		if raw == "" {
			continue
		}
		u, err := url.Parse(raw)
		if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.Fragment != "" || len(raw) > 2048 {
			r.fail(name, " entry %d is not an absolute https URL without a user or fragment, such as https://shop.example.com/webhooks/ottu", i+1)
			return nil
		}
		out = append(out, raw)
	}
	if len(out) > 20 {
		r.fail(name, " names %d URLs; at most 20 are accepted", len(out))
		return nil
	}
	return out
}

func (r *reader) apiVersion() int {
	switch v := r.get(EnvAPIVersion); v {
	case "":
		return DefaultAPIVersion
	case "1", "2":
		return int(v[0] - '0')
	default:
		r.fail(EnvAPIVersion, "=%q is not an Ottu API version: use 1 or 2", v)
		return DefaultAPIVersion
	}
}

func (r *reader) integer(name string, def, lo, hi int64, unit string) int64 {
	v := r.get(name)
	if v == "" {
		return def
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < lo || n > hi {
		r.fail(name, "=%q is invalid: use a whole number of %s from %d to %d", v, unit, lo, hi)
		return def
	}
	return n
}

func (r *reader) duration(name string, def, lo, hi time.Duration) time.Duration {
	v := r.get(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < lo || d > hi {
		r.fail(name, "=%q is invalid: use a Go duration from %s to %s, such as %s", v, lo, hi, def)
		return def
	}
	return d
}

func (r *reader) logLevel() slog.Level {
	switch v := strings.ToUpper(r.get(EnvLogLevel)); v {
	case "":
		return DefaultLogLevel
	case "DEBUG":
		return slog.LevelDebug
	case "INFO":
		return slog.LevelInfo
	case "WARN", "WARNING":
		return slog.LevelWarn
	case "ERROR":
		return slog.LevelError
	default:
		r.fail(EnvLogLevel, "=%q is not a log level: use DEBUG, INFO, WARN or ERROR", r.get(EnvLogLevel))
		return DefaultLogLevel
	}
}

// namespace follows CloudWatch's rules: 1 to 255 characters from a limited
// set, and not starting with "AWS/", which is reserved for AWS services.
func (r *reader) namespace() string {
	v := r.get(EnvMetricsNamespace)
	if v == "" {
		return DefaultMetricsNamespace
	}
	if len(v) > 255 || !onlyBytes(v, ".-_/#: ") || strings.HasPrefix(v, "AWS/") {
		r.fail(EnvMetricsNamespace, "=%q is not a CloudWatch namespace: use up to 255 letters, digits, spaces or . - _ / # :, not starting with AWS/", v)
		return DefaultMetricsNamespace
	}
	return v
}

func isSpaceOrControl(r rune) bool {
	return r <= ' ' || r == 0x7f
}

func (r *reader) directRefundApprovalOff() bool {
	switch v := strings.ToLower(strings.TrimSpace(r.get(EnvDirectRefundApproval))); v {
	case "", "required":
		return false
	case "off":
		return true
	default:
		r.fail(EnvDirectRefundApproval, "=%q is not a setting: use required (the default) or off", v)
		return false
	}
}
