// Package obs is the functions' observability: JSON logs through log/slog
// with secret-looking attributes redacted, and CloudWatch metrics written as
// Embedded Metric Format lines (no API calls; CloudWatch reads the log).
package obs

import (
	"context"
	"encoding"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// Attribute keys the functions share, so every log line names things alike.
const (
	KeyFunction    = "function"
	KeyRequestID   = "request_id"
	KeyOperation   = "operation"
	KeyTrackingKey = "tracking_key"
)

// Redacted replaces the value of a secret-looking attribute.
const Redacted = "[redacted]"

// NewLogger writes JSON lines at level and above to w; every line carries
// "function".
func NewLogger(w io.Writer, level slog.Level, function string) *slog.Logger {
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level, ReplaceAttr: RedactAttr})
	return slog.New(h).With(slog.String(KeyFunction, function))
}

// RequestID is the request id attribute (API Gateway's or Lambda's).
func RequestID(id string) slog.Attr { return slog.String(KeyRequestID, id) }

// Operation is the Ottu operation attribute ("refund", "inquiry").
func Operation(op string) slog.Attr { return slog.String(KeyOperation, op) }

// TrackingKey is the Tracking-Key attribute.
func TrackingKey(key string) slog.Attr { return slog.String(KeyTrackingKey, key) }

type loggerKey struct{}

// With returns ctx carrying l with attrs attached, so code further down logs
// with the request's id, operation and key without passing them along. A
// nil l extends the logger ctx already carries.
func With(ctx context.Context, l *slog.Logger, attrs ...slog.Attr) context.Context {
	if l == nil {
		l = Logger(ctx)
	}
	if len(attrs) > 0 {
		args := make([]any, len(attrs))
		for i, a := range attrs {
			args[i] = a
		}
		l = l.With(args...)
	}
	return context.WithValue(ctx, loggerKey{}, l)
}

// Logger returns the logger ctx carries, or slog.Default.
func Logger(ctx context.Context) *slog.Logger {
	if ctx != nil {
		if l, ok := ctx.Value(loggerKey{}).(*slog.Logger); ok && l != nil {
			return l
		}
	}
	return slog.Default()
}

// secretWords are matched against keys lowercased with '-' and '_' removed,
// so "API-Key", "api_key" and "apiKey" all match.
var secretWords = []string{"authorization", "apikey", "password", "secret", "webhookkey", "signature", "token", "credential"}

// keyFolder folds separators out of keys; built once, used on every line.
var keyFolder = strings.NewReplacer("-", "", "_", "")

// LooksSecret reports whether an attribute key names something secret.
func LooksSecret(key string) bool {
	k := keyFolder.Replace(strings.ToLower(key))
	for _, w := range secretWords {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

// RedactAttr is a slog ReplaceAttr: an attribute whose key looks secret, or
// that sits in a group whose name does, gets the value "[redacted]". A value
// that is a fmt.Stringer with no JSON or text form of its own (such as
// ottu.Credentials) is logged through String, which redacts, instead of
// having its fields marshalled.
func RedactAttr(groups []string, a slog.Attr) slog.Attr {
	if LooksSecret(a.Key) {
		return slog.String(a.Key, Redacted)
	}
	for _, g := range groups {
		if LooksSecret(g) {
			return slog.String(a.Key, Redacted)
		}
	}
	if a.Value.Kind() == slog.KindAny {
		switch v := a.Value.Any().(type) {
		case error, json.Marshaler, encoding.TextMarshaler:
		case fmt.Stringer:
			return slog.String(a.Key, v.String())
		}
	}
	return a
}
