package secrets

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestLoadWebhookKey(t *testing.T) {
	client := newClient(t)
	tests := []struct {
		name    string
		fixture string
		want    string
		wantErr string
	}{
		{name: "a webhook secret yields its key", fixture: "webhook.json", want: "whk-LEAK-5b1e0c"},
		{name: "a webhook secret without webhook_key says what to store", fixture: "webhook_missing.json", wantErr: `has no webhook_key: store {"webhook_key": "…"}`},
		{name: "a webhook secret that is not JSON says so", fixture: "not_json.txt", wantErr: `is not JSON (syntax error at byte 1): store a JSON object such as {"webhook_key": "…"}`},
		{name: "a blank webhook secret says it is empty", fixture: "blank.txt", wantErr: "is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := createSecret(t, client, fixture(t, tt.fixture))
			got, err := LoadWebhookKey(context.Background(), client, id)
			if got != tt.want {
				t.Errorf("key matches the stored one: %v; want %v", got == tt.want, tt.want != "")
			}
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), "secret "+id+" ") || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want one naming the secret and containing %q", err, tt.wantErr)
			}
			var ise *InvalidSecretError
			if !errors.As(err, &ise) {
				t.Errorf("error %v is not an InvalidSecretError", err)
			}
			assertNoLeak(t, nil, err)
		})
	}
}

func TestWebhookKeyProvider(t *testing.T) {
	client := newClient(t)
	const oldKey, newKey = "whk-LEAK-5b1e0c", "whk-LEAK-rotated-77"
	tests := []struct {
		name      string
		advance   time.Duration
		refresh   bool
		want      string
		wantCalls int64
	}{
		{name: "a second call within the TTL is served from the cache", advance: time.Minute, want: oldKey, wantCalls: 1},
		{name: "a call after the TTL reads the rotated key", advance: DefaultTTL, want: newKey, wantCalls: 2},
		{name: "a refresh after a failed signature reads the rotated key", advance: DefaultMinRefreshInterval, refresh: true, want: newKey, wantCalls: 2},
		{name: "a refresh right after a read reuses it", refresh: true, want: oldKey, wantCalls: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := createSecret(t, client, fixture(t, "webhook.json"))
			clock := newFakeClock()
			counting := newCounting(client)
			p := NewWebhookKeyProvider(counting, id, WithClock(clock.Now))
			ctx := context.Background()
			first, err := p.WebhookKey(ctx, false)
			if err != nil || first != oldKey {
				t.Fatalf("first call: err %v, got the stored key: %v", err, first == oldKey)
			}
			putSecret(t, client, id, `{"webhook_key": "`+newKey+`"}`)
			clock.Advance(tt.advance)
			got, err := p.WebhookKey(ctx, tt.refresh)
			if err != nil {
				t.Fatalf("second call: %v", err)
			}
			if got != tt.want {
				t.Errorf("second call got the rotated key: %v; want rotated: %v", got == newKey, tt.want == newKey)
			}
			if n := counting.calls.Load(); n != tt.wantCalls {
				t.Errorf("GetSecretValue called %d times, want %d", n, tt.wantCalls)
			}
			assertNoLeak(t, nil, p)
		})
	}
}
