// Package secrets reads Ottu's API credentials and webhook key from AWS
// Secrets Manager. Values are cached per execution environment and fetched
// again when Ottu answers 401 (a rotated secret). No error, log or %v of
// anything here carries a value read from a secret.
package secrets

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// GetSecretValueAPI is the one Secrets Manager call this package makes;
// *secretsmanager.Client satisfies it.
type GetSecretValueAPI interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

const (
	// DefaultTTL is how long a fetched secret is used before it is read again.
	DefaultTTL = 5 * time.Minute
	// DefaultMinRefreshInterval is how recent a fetch must be for a refresh
	// request to reuse it instead of calling Secrets Manager again.
	DefaultMinRefreshInterval = time.Second
)

// Option changes how a provider caches.
type Option func(*settings)

type settings struct {
	ttl        time.Duration
	minRefresh time.Duration
	now        func() time.Time
}

func newSettings(opts []Option) settings {
	s := settings{ttl: DefaultTTL, minRefresh: DefaultMinRefreshInterval, now: time.Now}
	for _, o := range opts {
		o(&s)
	}
	return s
}

// WithTTL sets how long a fetched secret is served from the cache. A
// non-positive d keeps DefaultTTL.
func WithTTL(d time.Duration) Option {
	return func(s *settings) {
		if d > 0 {
			s.ttl = d
		}
	}
}

// WithMinRefreshInterval sets how recent the last fetch must be for a
// refresh to reuse it; 0 makes every refresh fetch (concurrent ones still
// share one call). A negative d keeps DefaultMinRefreshInterval.
func WithMinRefreshInterval(d time.Duration) Option {
	return func(s *settings) {
		if d >= 0 {
			s.minRefresh = d
		}
	}
}

// WithClock replaces time.Now, so tests can move time without sleeping.
func WithClock(now func() time.Time) Option {
	return func(s *settings) {
		if now != nil {
			s.now = now
		}
	}
}

// InvalidSecretError says what is wrong with a secret's shape. It holds the
// secret's id and a description, never a value read from the secret.
type InvalidSecretError struct {
	SecretID string
	Problem  string
}

func (e *InvalidSecretError) Error() string {
	return "secret " + e.SecretID + " " + e.Problem
}

// InvalidCredentials tells the Ottu client that fixing the secret, not
// retrying, is what helps.
func (e *InvalidSecretError) InvalidCredentials() bool { return true }

func invalid(id, format string, args ...any) error {
	return &InvalidSecretError{SecretID: id, Problem: fmt.Sprintf(format, args...)}
}

// fetchText reads the secret's current text value.
func fetchText(ctx context.Context, client GetSecretValueAPI, id string) (string, error) {
	if id == "" {
		return "", errors.New("no secret id is configured: set the secret's name or ARN")
	}
	out, err := client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
	if err != nil {
		return "", fmt.Errorf("read secret %s from Secrets Manager: %w", id, err)
	}
	if out.SecretString == nil {
		return "", invalid(id, "has no text value (SecretString): store the JSON as a text secret, not a binary one")
	}
	return *out.SecretString, nil
}

// parseObject reads a secret's text as a JSON object. json's own error text
// can quote the input, so it is never passed on: only positions and kinds.
func parseObject(id, text string, example string) (map[string]json.RawMessage, error) {
	if strings.TrimSpace(text) == "" {
		return nil, invalid(id, "is empty: store a JSON object such as %s", example)
	}
	var raw json.RawMessage
	if err := json.Unmarshal([]byte(text), &raw); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			return nil, invalid(id, "is not JSON (syntax error at byte %d): store a JSON object such as %s", syn.Offset, example)
		}
		return nil, invalid(id, "is not JSON: store a JSON object such as %s", example)
	}
	if !bytes.HasPrefix(bytes.TrimSpace(raw), []byte("{")) {
		return nil, invalid(id, "is JSON but not an object: store a JSON object such as %s", example)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, invalid(id, "is not a JSON object: store a JSON object such as %s", example)
	}
	return fields, nil
}

// stringField returns fields[name] as a string; absent or null is "".
// where names the field in messages, such as "operations.refund.password".
func stringField(id string, fields map[string]json.RawMessage, name, where string) (string, error) {
	raw, ok := fields[name]
	if !ok || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", invalid(id, "field %s must be a JSON string", where)
	}
	return s, nil
}
