package secrets

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/ottuops/ottu-lambda/shared/ottu"
	"github.com/ottuops/ottu-lambda/shared/payment"
)

func TestProviderCredentials(t *testing.T) {
	client := newClient(t)
	tests := []struct {
		name       string
		fixture    string
		permission string
		want       ottu.Credentials
	}{
		{
			name: "an api key secret yields the api key", fixture: "api_key.json", permission: payment.Refund.Permission(),
			want: ottu.Credentials{APIKey: "sk_live_LEAK_apikey_7f3a"},
		},
		{
			name: "a basic secret yields its user", fixture: "basic.json", permission: payment.Capture.Permission(),
			want: ottu.Credentials{Username: "ops-bot", Password: "pw-LEAK-basic-91c2"},
		},
		{
			name: "the refund permission gets the refund user", fixture: "per_operation.json", permission: "payment.refund",
			want: ottu.Credentials{BaseURL: "https://merchant.ottu.net", Username: "refund-bot", Password: "pw-LEAK-refund-1"},
		},
		{
			name: "the inquiry permission gets the inquiry user", fixture: "per_operation.json", permission: ottu.PermissionInquiry,
			want: ottu.Credentials{BaseURL: "https://merchant.ottu.net", Username: "inquiry-bot", Password: "pw-LEAK-inquiry-2"},
		},
		{
			name: "a permission without its own user falls back to the top-level credentials", fixture: "per_operation.json", permission: "payment.capture",
			want: ottu.Credentials{BaseURL: "https://merchant.ottu.net", APIKey: "sk_live_LEAK_super_55"},
		},
		{
			name: "no permission at all gets the top-level credentials", fixture: "per_operation.json", permission: "",
			want: ottu.Credentials{BaseURL: "https://merchant.ottu.net", APIKey: "sk_live_LEAK_super_55"},
		},
		{
			name: "a secret with per-operation users only serves the operations it names", fixture: "operations_only.json", permission: "payment.capture",
			want: ottu.Credentials{Username: "capture-bot", Password: "pw-LEAK-capture-3"},
		},
		{
			name: "plain http to the loopback sandbox is accepted as base_url", fixture: "loopback_http.json", permission: "payment.void",
			want: ottu.Credentials{BaseURL: "http://127.0.0.1:8081", Username: "sandbox-bot", Password: "pw-LEAK-sandbox-4"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := createSecret(t, client, fixture(t, tt.fixture))
			p := NewProvider(client, id)
			got, err := p.Credentials(context.Background(), tt.permission, false)
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if got != tt.want {
				t.Errorf("credentials = %v base %q (api key matches: %v, password matches: %v), want %v base %q",
					got, got.BaseURL, got.APIKey == tt.want.APIKey, got.Password == tt.want.Password, tt.want, tt.want.BaseURL)
			}
			assertNoLeak(t, nil, got, p)
		})
	}
}

func TestProviderRejectsBadSecrets(t *testing.T) {
	client := newClient(t)
	tests := []struct {
		name       string
		fixture    string
		permission string
		wantErr    string
		extraLeaks []string
	}{
		{name: "a secret that is not JSON says so", fixture: "not_json.txt", wantErr: "is not JSON (syntax error at byte 1): store a JSON object such as"},
		{name: "a truncated JSON secret says it is not JSON", fixture: "truncated.txt", wantErr: "is not JSON"},
		{name: "a blank secret says it is empty", fixture: "blank.txt", wantErr: "is empty: store a JSON object such as"},
		{name: "a JSON array is not accepted as the secret", fixture: "array.json", wantErr: "is JSON but not an object"},
		{name: "a secret with neither api_key nor username and password says so", fixture: "neither.json", wantErr: "has neither api_key nor username and password"},
		{name: "a username without a password asks for the password", fixture: "username_no_password.json", wantErr: "has username but no password"},
		{name: "a password without a username asks for the username", fixture: "password_no_username.json", wantErr: "has password but no username"},
		{name: "plain http to a public host is refused as base_url", fixture: "base_url_http.json", wantErr: "field base_url must use https"},
		{name: "a base_url carrying a password is refused without quoting it", fixture: "base_url_userinfo.json", wantErr: "field base_url must not carry a user or password", extraLeaks: []string{"bot:"}},
		{name: "a base_url without a scheme is refused", fixture: "base_url_relative.json", wantErr: "field base_url must be an absolute URL"},
		{name: "an api_key that is a number is refused without quoting it", fixture: "api_key_number.json", wantErr: "field api_key must be a JSON string", extraLeaks: []string{"987654321"}},
		{name: "an unknown operation name lists the known ones", fixture: "unknown_operation.json", wantErr: `unknown operation "refunds": use capture, refund, void, cancel, expire, delete, inquiry`},
		{name: "a per-operation user without a password asks for it", fixture: "operation_without_password.json", wantErr: "has operations.refund.username but no operations.refund.password"},
		{name: "operations that is not an object is refused", fixture: "operations_not_object.json", wantErr: "field operations must be an object"},
		{name: "an operation the per-operation secret does not cover names what to add", fixture: "operations_only.json", permission: "payment.refund", wantErr: "has no credentials for payment.refund: add operations.refund"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := createSecret(t, client, fixture(t, tt.fixture))
			p := NewProvider(client, id)
			got, err := p.Credentials(context.Background(), tt.permission, false)
			if err == nil {
				t.Fatalf("no error; want one containing %q", tt.wantErr)
			}
			if got != (ottu.Credentials{}) {
				t.Errorf("credentials %v returned with an error", got)
			}
			wantPrefix := "secret " + id + " "
			if !strings.HasPrefix(err.Error(), wantPrefix) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error = %q, want %q…%q", err, wantPrefix, tt.wantErr)
			}
			var ise *InvalidSecretError
			if !errors.As(err, &ise) || ise.SecretID != id {
				t.Errorf("error %v is not an InvalidSecretError for %s", err, id)
			}
			assertNoLeak(t, tt.extraLeaks, err, got, p)
		})
	}
}

func TestProviderCaches(t *testing.T) {
	client := newClient(t)
	id := createSecret(t, client, fixture(t, "api_key.json"))
	tests := []struct {
		name      string
		opts      []Option
		advance   time.Duration
		refresh   bool
		wantCalls int64
	}{
		{name: "a second call within the TTL is served from the cache", advance: DefaultTTL - time.Second, wantCalls: 1},
		{name: "a call once the TTL has passed reads the secret again", advance: DefaultTTL, wantCalls: 2},
		{name: "a shorter TTL makes the secret read again sooner", opts: []Option{WithTTL(time.Minute)}, advance: time.Minute, wantCalls: 2},
		{name: "a refresh within the minimum interval reuses the last read", advance: DefaultMinRefreshInterval - time.Millisecond, refresh: true, wantCalls: 1},
		{name: "a refresh after the minimum interval reads the secret again", advance: DefaultMinRefreshInterval, refresh: true, wantCalls: 2},
		{name: "a zero minimum interval makes every refresh read", opts: []Option{WithMinRefreshInterval(0)}, refresh: true, wantCalls: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			counting := newCounting(client)
			p := NewProvider(counting, id, append([]Option{WithClock(clock.Now)}, tt.opts...)...)
			ctx := context.Background()
			if _, err := p.Credentials(ctx, "payment.refund", false); err != nil {
				t.Fatalf("first call: %v", err)
			}
			clock.Advance(tt.advance)
			got, err := p.Credentials(ctx, "payment.refund", tt.refresh)
			if err != nil {
				t.Fatalf("second call: %v", err)
			}
			if got.APIKey != "sk_live_LEAK_apikey_7f3a" {
				t.Errorf("second call returned %v, want the stored api key", got)
			}
			if n := counting.calls.Load(); n != tt.wantCalls {
				t.Errorf("GetSecretValue called %d times, want %d", n, tt.wantCalls)
			}
		})
	}
}

func TestProviderFollowsRotation(t *testing.T) {
	client := newClient(t)
	id := createSecret(t, client, fixture(t, "api_key.json"))
	clock := newFakeClock()
	counting := newCounting(client)
	p := NewProvider(counting, id, WithClock(clock.Now))
	ctx := context.Background()
	const oldKey, newKey = "sk_live_LEAK_apikey_7f3a", "sk_live_LEAK_rotated_8e21"

	steps := []struct {
		name    string
		before  func()
		refresh bool
		want    string
	}{
		{name: "the first call reads the stored key", want: oldKey},
		{name: "after rotation a call within the TTL still has the old key", before: func() {
			putSecret(t, client, id, `{"api_key": "`+newKey+`"}`)
			clock.Advance(10 * time.Second)
		}, want: oldKey},
		{name: "a refresh after Ottu's 401 gets the rotated key", refresh: true, want: newKey},
		{name: "later calls keep the rotated key from the cache", before: func() { clock.Advance(time.Minute) }, want: newKey},
	}
	for _, s := range steps {
		if s.before != nil {
			s.before()
		}
		got, err := p.Credentials(ctx, "payment.refund", s.refresh)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if got.APIKey != s.want {
			t.Errorf("%s: got the %s key", s.name, map[bool]string{true: "old", false: "new or no"}[got.APIKey == oldKey])
		}
	}
	if n := counting.calls.Load(); n != 2 {
		t.Errorf("GetSecretValue called %d times, want 2 (first read and the refresh)", n)
	}
}

func TestProviderFailedRefreshKeepsNothingStale(t *testing.T) {
	client := newClient(t)
	tests := []struct {
		name    string
		breakIt func(t *testing.T, id string)
		wantErr string
	}{
		{
			name:    "a rotated secret that is no longer valid JSON fails the refresh and later calls",
			breakIt: func(t *testing.T, id string) { putSecret(t, client, id, "sk-LEAK-broken") },
			wantErr: "is not JSON",
		},
		{
			name: "a deleted secret fails the refresh and later calls",
			breakIt: func(t *testing.T, id string) {
				_, err := client.DeleteSecret(context.Background(), &secretsmanager.DeleteSecretInput{
					SecretId: aws.String(id), ForceDeleteWithoutRecovery: aws.Bool(true),
				})
				if err != nil {
					t.Fatalf("delete secret: %v", err)
				}
			},
			wantErr: "from Secrets Manager",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := createSecret(t, client, fixture(t, "api_key.json"))
			clock := newFakeClock()
			p := NewProvider(client, id, WithClock(clock.Now))
			ctx := context.Background()
			if _, err := p.Credentials(ctx, "payment.refund", false); err != nil {
				t.Fatalf("first call: %v", err)
			}
			tt.breakIt(t, id)
			clock.Advance(DefaultMinRefreshInterval)
			for _, refresh := range []bool{true, false} {
				got, err := p.Credentials(ctx, "payment.refund", refresh)
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("call with refresh=%v: error = %v, want one containing %q", refresh, err, tt.wantErr)
				}
				if got != (ottu.Credentials{}) {
					t.Errorf("call with refresh=%v returned the stale credentials %v", refresh, got)
				}
				assertNoLeak(t, nil, err)
			}
		})
	}
}

func TestProviderCoalescesConcurrentReads(t *testing.T) {
	client := newClient(t)
	const callers = 8
	const newKey = "sk_live_LEAK_coalesced_31"
	tests := []struct {
		name      string
		primed    bool
		refresh   bool
		wantCalls int64
	}{
		{name: "concurrent refreshes after a rotation share one read", primed: true, refresh: true, wantCalls: 2},
		{name: "concurrent first calls share one read", wantCalls: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := createSecret(t, client, fixture(t, "api_key.json"))
			clock := newFakeClock()
			counting := newCounting(client)
			p := NewProvider(counting, id, WithClock(clock.Now))
			ctx := context.Background()
			if tt.primed {
				if _, err := p.Credentials(ctx, "payment.refund", false); err != nil {
					t.Fatalf("priming call: %v", err)
				}
				clock.Advance(DefaultMinRefreshInterval)
			}
			putSecret(t, client, id, `{"api_key": "`+newKey+`"}`)

			counting.gate = make(chan struct{})
			joined, allJoined := 0, make(chan struct{})
			p.cache.onJoin = func() { // runs under the cache's lock
				if joined++; joined == callers-1 {
					close(allJoined)
				}
			}
			results := make([]ottu.Credentials, callers)
			errs := make([]error, callers)
			var wg sync.WaitGroup
			for i := range callers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					results[i], errs[i] = p.Credentials(ctx, "payment.refund", tt.refresh)
				}()
			}
			finished := make(chan struct{})
			go func() { wg.Wait(); close(finished) }()
			select {
			case <-allJoined:
			case <-counting.overlap:
				t.Error("two GetSecretValue calls ran at the same time")
			case <-finished:
				t.Error("every caller returned before any read finished")
			}
			close(counting.gate)
			<-finished

			for i := range callers {
				if errs[i] != nil || results[i].APIKey != newKey {
					t.Errorf("caller %d: err %v, got the new key: %v", i, errs[i], results[i].APIKey == newKey)
				}
			}
			if n := counting.calls.Load(); n != tt.wantCalls {
				t.Errorf("GetSecretValue called %d times, want %d", n, tt.wantCalls)
			}
		})
	}
}
