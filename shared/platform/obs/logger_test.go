package obs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/ottuops/ottu-lambda/shared/ottu"
)

// Every secret value in these tests contains leakMarker.
const leakMarker = "LEAK"

// logLines parses each line written, failing on any that is not JSON.
func logLines(t *testing.T, out string) []map[string]any {
	t.Helper()
	var got []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON (%v): %s", err, line)
		}
		got = append(got, m)
	}
	return got
}

// lookup follows a dotted path through nested groups.
func lookup(m map[string]any, path string) any {
	var cur any = m
	for _, k := range strings.Split(path, ".") {
		obj, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = obj[k]
	}
	return cur
}

func TestLoggerContext(t *testing.T) {
	tests := []struct {
		name  string
		log   func(l *slog.Logger)
		lines int
		want  map[string]any
	}{
		{
			name: "a line carries the function and the attached request id, operation and tracking key",
			log: func(l *slog.Logger) {
				ctx := With(context.Background(), l, RequestID("req-1"), Operation("refund"), TrackingKey("tk-1"))
				Logger(ctx).Info("sent to Ottu", "amount", "2.500")
			},
			lines: 1,
			want: map[string]any{
				"function": "refund", "request_id": "req-1", "operation": "refund", "tracking_key": "tk-1",
				"msg": "sent to Ottu", "level": "INFO", "amount": "2.500",
			},
		},
		{
			name: "With on a nil logger extends the one the context carries",
			log: func(l *slog.Logger) {
				ctx := With(context.Background(), l, RequestID("req-2"))
				ctx = With(ctx, nil, TrackingKey("tk-2"))
				Logger(ctx).Warn("retrying")
			},
			lines: 1,
			want:  map[string]any{"function": "refund", "request_id": "req-2", "tracking_key": "tk-2", "level": "WARN"},
		},
		{
			name:  "lines below the level are not written",
			log:   func(l *slog.Logger) { l.Debug("noise") },
			lines: 0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			tt.log(NewLogger(&buf, slog.LevelInfo, "refund"))
			got := logLines(t, buf.String())
			if len(got) != tt.lines {
				t.Fatalf("%d lines, want %d: %s", len(got), tt.lines, buf.String())
			}
			for k, want := range tt.want {
				if got[0][k] != want {
					t.Errorf("%s = %v, want %v", k, got[0][k], want)
				}
			}
		})
	}
}

type otherKey struct{}

func TestLoggerFallsBackToDefault(t *testing.T) {
	tests := []struct {
		name string
		ctx  context.Context
	}{
		{"a context without a logger gives slog.Default", context.Background()},
		{"a context holding something else under another key gives slog.Default", context.WithValue(context.Background(), otherKey{}, "x")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Logger(tt.ctx); got != slog.Default() {
				t.Errorf("Logger = %p, want slog.Default %p", got, slog.Default())
			}
		})
	}
}

// credsValuer logs as a group, the way a careless LogValue might.
type credsValuer struct{}

func (credsValuer) LogValue() slog.Value {
	return slog.GroupValue(slog.String("user", "bot"), slog.String("password", "pw-LEAK-valuer"))
}

func TestRedaction(t *testing.T) {
	tests := []struct {
		name string
		attr slog.Attr
		path string
		want any
	}{
		{"an Authorization header is redacted", slog.String("Authorization", "Api-Key sk-LEAK-1"), "Authorization", Redacted},
		{"api_key is redacted", slog.String("api_key", "sk-LEAK-2"), "api_key", Redacted},
		{"an X-Api-Key header is redacted whatever its case", slog.String("X-API-KEY", "sk-LEAK-3"), "X-API-KEY", Redacted},
		{"a password is redacted", slog.String("Password", "pw-LEAK-4"), "Password", Redacted},
		{"a client secret is redacted", slog.String("client_secret", "cs-LEAK-5"), "client_secret", Redacted},
		{"the webhook key is redacted", slog.String("webhookKey", "whk-LEAK-6"), "webhookKey", Redacted},
		{"a callback signature is redacted", slog.String("signature", "sig-LEAK-7"), "signature", Redacted},
		{"an access token is redacted", slog.String("access_token", "tok-LEAK-8"), "access_token", Redacted},
		{"a non-string secret is redacted too", slog.Int("pin_token", 4242), "pin_token", Redacted},
		{"a secret inside a group is redacted", slog.Group("request", slog.Group("headers", slog.String("authorization", "Basic LEAK9"))), "request.headers.authorization", Redacted},
		{"everything in a group named like a secret is redacted", slog.Group("secret", slog.String("value", "LEAK-10")), "secret.value", Redacted},
		{"a LogValuer's secret member is redacted", slog.Any("creds", credsValuer{}), "creds.password", Redacted},
		{"a LogValuer's other members stay", slog.Any("creds", credsValuer{}), "creds.user", "bot"},
		{"ottu.Credentials are logged through their redacting String", slog.Any("ottu", ottu.Credentials{APIKey: "sk-LEAK-11", BaseURL: "https://m.ottu.net"}), "ottu", "ottu.Credentials{APIKey: [redacted]}"},
		{"the tracking key is not mistaken for a secret", slog.String("tracking_key", "tk-1"), "tracking_key", "tk-1"},
		{"a session id stays", slog.String("session_id", "abc"), "session_id", "abc"},
		{"an amount stays", slog.String("amount", "2.500"), "amount", "2.500"},
		{"an error keeps its message", slog.Any("error", errors.New("ottu: rejected")), "error", "ottu: rejected"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			l := NewLogger(&buf, slog.LevelDebug, "refund")
			l.Info("direct", tt.attr)
			l.With(tt.attr).Info("attached with With")
			Logger(With(context.Background(), l, tt.attr)).Info("attached to the context")
			if strings.Contains(buf.String(), leakMarker) {
				t.Errorf("a secret reached the log: %s", buf.String())
			}
			got := logLines(t, buf.String())
			if len(got) != 3 {
				t.Fatalf("%d lines, want 3", len(got))
			}
			for _, line := range got {
				if v := lookup(line, tt.path); v != tt.want {
					t.Errorf("%q line: %s = %v, want %v", line["msg"], tt.path, v, tt.want)
				}
			}
		})
	}
}

func TestLooksSecret(t *testing.T) {
	tests := []struct {
		key  string
		want bool
	}{
		{"authorization", true}, {"Proxy-Authorization", true}, {"apiKey", true}, {"API_KEY", true},
		{"password", true}, {"secret", true}, {"OTTU_WEBHOOK_SECRET_ID", true}, {"webhook_key", true},
		{"signature", true}, {"refresh_token", true}, {"credentials", true},
		{"tracking_key", false}, {"idempotency_key", false}, {"session_id", false}, {"order_no", false},
		{"function", false}, {"msg", false},
	}
	for _, tt := range tests {
		name := "key " + tt.key + " is not treated as a secret"
		if tt.want {
			name = "key " + tt.key + " is treated as a secret"
		}
		t.Run(name, func(t *testing.T) {
			if got := LooksSecret(tt.key); got != tt.want {
				t.Errorf("LooksSecret(%q) = %v, want %v", tt.key, got, tt.want)
			}
		})
	}
}
