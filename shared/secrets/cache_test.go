package secrets

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func newTestCache(fetch func(context.Context) (string, error)) *cache[string] {
	clock := newFakeClock()
	return &cache[string]{fetch: fetch, ttl: time.Minute, minRefresh: time.Second, now: clock.Now}
}

func TestCacheFailures(t *testing.T) {
	errBoom := errors.New("boom")
	tests := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"a failed fetch is not cached and the next call tries again", func(t *testing.T) {
			calls := 0
			c := newTestCache(func(context.Context) (string, error) {
				calls++
				if calls == 1 {
					return "", errBoom
				}
				return "value", nil
			})
			if _, err := c.get(context.Background(), false); !errors.Is(err, errBoom) {
				t.Fatalf("first call: error = %v, want %v", err, errBoom)
			}
			if v, err := c.get(context.Background(), false); err != nil || v != "value" {
				t.Fatalf("second call: %q, %v; want the value", v, err)
			}
		}},
		{"a fetch that panics does not block later callers", func(t *testing.T) {
			calls := 0
			c := newTestCache(func(context.Context) (string, error) {
				calls++
				if calls == 1 {
					panic("fetch exploded")
				}
				return "value", nil
			})
			func() {
				defer func() {
					if recover() == nil {
						t.Error("the panic did not reach the caller")
					}
				}()
				_, _ = c.get(context.Background(), false)
			}()
			if v, err := c.get(context.Background(), false); err != nil || v != "value" {
				t.Fatalf("call after the panic: %q, %v; want the value", v, err)
			}
		}},
		{"a caller whose context ends stops waiting for another's fetch", func(t *testing.T) {
			entered, release := make(chan struct{}), make(chan struct{})
			c := newTestCache(func(context.Context) (string, error) {
				close(entered)
				<-release
				return "value", nil
			})
			leader := make(chan error)
			go func() {
				_, err := c.get(context.Background(), false)
				leader <- err
			}()
			<-entered
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			_, err := c.get(ctx, false)
			if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "waiting for the secret fetch") {
				t.Errorf("error = %v, want a cancellation while waiting", err)
			}
			close(release)
			if err := <-leader; err != nil {
				t.Errorf("the fetching caller failed: %v", err)
			}
		}},
		{"the fetching caller's error reaches every waiter", func(t *testing.T) {
			entered, release := make(chan struct{}), make(chan struct{})
			c := newTestCache(func(context.Context) (string, error) {
				close(entered)
				<-release
				return "", errBoom
			})
			joined := make(chan struct{})
			c.onJoin = func() { close(joined) }
			leader := make(chan error)
			go func() {
				_, err := c.get(context.Background(), false)
				leader <- err
			}()
			<-entered
			waiter := make(chan error)
			go func() {
				_, err := c.get(context.Background(), true)
				waiter <- err
			}()
			<-joined
			close(release)
			for who, ch := range map[string]chan error{"fetching caller": leader, "waiter": waiter} {
				if err := <-ch; !errors.Is(err, errBoom) {
					t.Errorf("%s: error = %v, want %v", who, err, errBoom)
				}
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, tt.run)
	}
}
