package config

import (
	"bufio"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// env turns a map into a getenv.
func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// envFile reads KEY=VALUE lines from testdata, skipping comments.
func envFile(t *testing.T, name string) map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("open fixture: %v", err)
	}
	defer func() { _ = f.Close() }()
	m := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("fixture line %q has no '='", line)
		}
		m[k] = v
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read fixture: %v", err)
	}
	return m
}

func defaults() Config {
	return Config{
		APIVersion:          2,
		RecordRetentionDays: 30,
		DeadlineMargin:      3 * time.Second,
		LeaseGrace:          5 * time.Minute,
		SecretsCacheTTL:     5 * time.Minute,
		MaxBodyBytes:        65536,
		LogLevel:            slog.LevelInfo,
		MetricsNamespace:    "OttuOperations",
	}
}

func TestLoad(t *testing.T) {
	fromTemplate := Config{
		APISecretID:         "arn:aws:secretsmanager:eu-west-1:123456789012:secret:ottu-api-AbCdEf",
		WebhookSecretID:     "ottu-webhook",
		BaseURL:             "https://merchant.ottu.net",
		APIVersion:          1,
		TrackingKeysTable:   "ottu-lambda-TrackingKeys-1A2B3C",
		InquiriesTable:      "arn:aws:dynamodb:eu-west-1:123456789012:table/ottu-lambda-Inquiries",
		RecordRetentionDays: 90,
		DeadlineMargin:      2500 * time.Millisecond,
		LeaseGrace:          time.Minute,
		SecretsCacheTTL:     10 * time.Minute,
		MaxBodyBytes:        131072,
		LogLevel:            slog.LevelDebug,
		MetricsNamespace:    "Merchant/Ottu",
		PublicBaseURL:       "https://abc123.execute-api.eu-west-1.amazonaws.com",
	}
	with := func(change func(*Config)) Config {
		c := defaults()
		change(&c)
		return c
	}
	tests := []struct {
		name string
		env  map[string]string
		want Config
	}{
		{"nothing set gives the documented defaults", map[string]string{}, defaults()},
		{"every variable template.yaml sets is read", envFile(t, "template.env"), fromTemplate},
		{"surrounding spaces are ignored", map[string]string{EnvAPIVersion: " 1 ", EnvTrackingKeysTable: " keys\n"},
			with(func(c *Config) { c.APIVersion = 1; c.TrackingKeysTable = "keys" })},
		{"log levels are read in any case", map[string]string{EnvLogLevel: "Warn"},
			with(func(c *Config) { c.LogLevel = slog.LevelWarn })},
		{"WARNING is read as WARN", map[string]string{EnvLogLevel: "WARNING"},
			with(func(c *Config) { c.LogLevel = slog.LevelWarn })},
		{"ERROR is read", map[string]string{EnvLogLevel: "error"},
			with(func(c *Config) { c.LogLevel = slog.LevelError })},
		{"plain http to localhost is accepted for the local stack", map[string]string{EnvBaseURL: "http://127.0.0.1:8081/", EnvPublicBaseURL: "http://localhost:3000"},
			with(func(c *Config) { c.BaseURL = "http://127.0.0.1:8081"; c.PublicBaseURL = "http://localhost:3000" })},
		{"the limits of each range are accepted", map[string]string{
			EnvRecordRetentionDays: "3650", EnvDeadlineMargin: "100ms", EnvLeaseGrace: "1h",
			EnvSecretsCacheTTL: "1s", EnvMaxBodyBytes: "1024",
		}, with(func(c *Config) {
			c.RecordRetentionDays, c.DeadlineMargin, c.LeaseGrace = 3650, 100*time.Millisecond, time.Hour
			c.SecretsCacheTTL, c.MaxBodyBytes = time.Second, 1024
		})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Load(env(tt.env))
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("config =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestDisclosureURLAllowList(t *testing.T) {
	c, err := Load(func(k string) string {
		if k == EnvDisclosureURLAllowList {
			return " https://shop.example.com/ottu?token=abc , https://crm.example.com/hook ,"
		}
		return ""
	})
	if err != nil || len(c.DisclosureURLAllowList) != 2 || c.DisclosureURLAllowList[0] != "https://shop.example.com/ottu?token=abc" {
		t.Fatalf("%q, %v", c.DisclosureURLAllowList, err)
	}
}

func TestLoadRejectsInvalidValues(t *testing.T) {
	tests := []struct {
		name     string
		env      map[string]string
		wantErr  []string
		mustHide string
	}{
		{name: "an API version other than 1 or 2 is refused", env: map[string]string{EnvAPIVersion: "3"},
			wantErr: []string{`OTTU_API_VERSION="3" is not an Ottu API version: use 1 or 2`}},
		{name: "an API version written v2 is refused", env: map[string]string{EnvAPIVersion: "v2"},
			wantErr: []string{`OTTU_API_VERSION="v2"`}},
		{name: "zero retention days are refused", env: map[string]string{EnvRecordRetentionDays: "0"},
			wantErr: []string{`RECORD_RETENTION_DAYS="0" is invalid: use a whole number of days from 1 to 3650`}},
		{name: "retention past ten years is refused", env: map[string]string{EnvRecordRetentionDays: "3651"},
			wantErr: []string{`RECORD_RETENTION_DAYS="3651"`}},
		{name: "retention written with a unit is refused", env: map[string]string{EnvRecordRetentionDays: "30d"},
			wantErr: []string{`RECORD_RETENTION_DAYS="30d"`}},
		{name: "a deadline margin without a unit is refused", env: map[string]string{EnvDeadlineMargin: "3"},
			wantErr: []string{`OTTU_DEADLINE_MARGIN="3" is invalid: use a Go duration from 100ms to 1m0s, such as 3s`}},
		{name: "a zero deadline margin is refused", env: map[string]string{EnvDeadlineMargin: "0s"},
			wantErr: []string{`OTTU_DEADLINE_MARGIN="0s"`}},
		{name: "a negative lease grace is refused", env: map[string]string{EnvLeaseGrace: "-1s"},
			wantErr: []string{`LEASE_GRACE="-1s" is invalid: use a Go duration from 1s to 1h0m0s, such as 5m0s`}},
		{name: "a secrets cache TTL that is no duration is refused", env: map[string]string{EnvSecretsCacheTTL: "forever"},
			wantErr: []string{`SECRETS_CACHE_TTL="forever" is invalid: use a Go duration from 1s to 24h0m0s, such as 5m0s`}},
		{name: "a body limit written with a unit is refused", env: map[string]string{EnvMaxBodyBytes: "64KiB"},
			wantErr: []string{`MAX_BODY_BYTES="64KiB" is invalid: use a whole number of bytes from 1024 to 6291456`}},
		{name: "a body limit past Lambda's payload limit is refused", env: map[string]string{EnvMaxBodyBytes: "10000000"},
			wantErr: []string{`MAX_BODY_BYTES="10000000"`}},
		{name: "an unknown log level is refused", env: map[string]string{EnvLogLevel: "verbose"},
			wantErr: []string{`LOG_LEVEL="verbose" is not a log level: use DEBUG, INFO, WARN or ERROR`}},
		{name: "a namespace reserved for AWS is refused", env: map[string]string{EnvMetricsNamespace: "AWS/Lambda"},
			wantErr: []string{`METRICS_NAMESPACE="AWS/Lambda" is not a CloudWatch namespace`}},
		{name: "a namespace with a forbidden character is refused", env: map[string]string{EnvMetricsNamespace: "Ottu|Ops"},
			wantErr: []string{`METRICS_NAMESPACE="Ottu|Ops"`}},
		{name: "plain http to a public Ottu host is refused", env: map[string]string{EnvBaseURL: "http://merchant.ottu.net"},
			wantErr: []string{"OTTU_BASE_URL must use https (plain http is accepted only for localhost)"}},
		{name: "an Ottu host without a scheme is refused", env: map[string]string{EnvBaseURL: "merchant.ottu.net"},
			wantErr: []string{"OTTU_BASE_URL must be an absolute URL"}},
		{name: "a base URL carrying a password is refused without quoting it", env: map[string]string{EnvBaseURL: "https://bot:hunter2@merchant.ottu.net"},
			wantErr: []string{"OTTU_BASE_URL must not carry a user or password"}, mustHide: "hunter2"},
		{name: "a public base URL with a query is refused", env: map[string]string{EnvPublicBaseURL: "https://api.example.com/?stage=prod"},
			wantErr: []string{"PUBLIC_BASE_URL must not have a query or fragment"}},
		{name: "a public base URL with another scheme is refused", env: map[string]string{EnvPublicBaseURL: "ftp://api.example.com"},
			wantErr: []string{"PUBLIC_BASE_URL must be an https URL"}},
		{name: "a disclosure allow-list entry over plain http is refused without quoting it", env: map[string]string{EnvDisclosureURLAllowList: "https://shop.example.com/a, http://shop.example.com/b?token=s3cret"},
			wantErr: []string{"DISCLOSURE_URL_ALLOWLIST entry 2 is not an absolute https URL"}, mustHide: "s3cret"},
		{name: "a table name that is too short is refused", env: map[string]string{EnvTrackingKeysTable: "ab"},
			wantErr: []string{`TRACKING_KEYS_TABLE="ab" is not a DynamoDB table name`}},
		{name: "a table name with a space is refused", env: map[string]string{EnvInquiriesTable: "my table"},
			wantErr: []string{`INQUIRIES_TABLE="my table" is not a DynamoDB table name`}},
		{name: "a secret id with a space is refused", env: map[string]string{EnvAPISecretID: "ottu api"},
			wantErr: []string{"OTTU_API_SECRET_ID must be a Secrets Manager secret name or ARN, without spaces"}},
		{name: "several invalid values are all reported at once",
			env:     map[string]string{EnvAPIVersion: "9", EnvLogLevel: "loud", EnvLeaseGrace: "soon"},
			wantErr: []string{"OTTU_API_VERSION=", "LOG_LEVEL=", "LEASE_GRACE="}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(env(tt.env))
			if err == nil {
				t.Fatalf("no error; want one containing %q", tt.wantErr)
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error = %q, want it to contain %q", err, want)
				}
			}
			if tt.mustHide != "" && strings.Contains(err.Error(), tt.mustHide) {
				t.Errorf("error %q quotes %q", err, tt.mustHide)
			}
		})
	}
}

func TestRequire(t *testing.T) {
	full, err := Load(env(envFile(t, "template.env")))
	if err != nil {
		t.Fatalf("load template.env: %v", err)
	}
	empty, err := Load(env(map[string]string{}))
	if err != nil {
		t.Fatalf("load nothing: %v", err)
	}
	tests := []struct {
		name    string
		cfg     Config
		names   []string
		wantErr string
	}{
		{"a function with everything it needs passes", full, []string{EnvAPISecretID, EnvTrackingKeysTable, EnvBaseURL, EnvPublicBaseURL}, ""},
		{"asking for nothing passes", empty, nil, ""},
		{"settings with defaults are always present", empty, []string{EnvAPIVersion, EnvLogLevel, EnvLeaseGrace, EnvMaxBodyBytes}, ""},
		{"one missing variable is named", empty, []string{EnvTrackingKeysTable},
			"missing environment variable TRACKING_KEYS_TABLE: set it in the function's Environment.Variables in template.yaml"},
		{"every missing variable is named in one error", empty, []string{EnvAPISecretID, EnvLogLevel, EnvInquiriesTable, EnvWebhookSecretID},
			"missing environment variables OTTU_API_SECRET_ID, INQUIRIES_TABLE, OTTU_WEBHOOK_SECRET_ID: set them"},
		{"a name this package does not read is reported as a caller's typo", full, []string{"TRACKING_TABLE"},
			"config.Require was asked for TRACKING_TABLE, which is not a setting this package reads"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Require(tt.names...)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestRecordRetention(t *testing.T) {
	tests := []struct {
		name string
		days int
		want time.Duration
	}{
		{"the default thirty days is 720 hours", 30, 720 * time.Hour},
		{"one day is 24 hours", 1, 24 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := (Config{RecordRetentionDays: tt.days}).RecordRetention(); got != tt.want {
				t.Errorf("RecordRetention() = %v, want %v", got, tt.want)
			}
		})
	}
}
