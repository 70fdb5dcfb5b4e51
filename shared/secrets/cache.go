package secrets

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// cache holds one fetched value per process (one Lambda execution
// environment). It is written by hand rather than with singleflight so the
// module needs nothing new.
type cache[T any] struct {
	fetch      func(context.Context) (T, error)
	ttl        time.Duration
	minRefresh time.Duration
	now        func() time.Time
	// onJoin runs (under mu) when a caller joins a fetch already under way;
	// tests use it to know every caller is waiting before the fetch ends.
	onJoin func()

	mu        sync.Mutex
	value     T
	have      bool
	fetchedAt time.Time
	inflight  *flight[T]
}

// flight is one GetSecretValue under way; every caller that arrives while it
// runs waits for it instead of starting another.
type flight[T any] struct {
	done  chan struct{}
	value T
	err   error
	// background marks a Prefetch: a caller that waited for it fetches
	// again itself when it failed.
	background bool
}

// get returns the cached value while it is younger than the TTL. refresh
// asks for a new fetch, unless the last one finished less than minRefresh
// ago: a refresh storm (many 401s at once, or a key that is simply wrong)
// then costs one call, not one per caller.
// newCache caches what fetch returns, with the options' TTL and clock.
func newCache[T any](opts []Option, fetch func(context.Context) (T, error)) *cache[T] {
	s := newSettings(opts)
	return &cache[T]{fetch: fetch, ttl: s.ttl, minRefresh: s.minRefresh, now: s.now}
}

func (c *cache[T]) get(ctx context.Context, refresh bool) (T, error) {
	c.mu.Lock()
	if c.have {
		age := c.now().Sub(c.fetchedAt)
		if (!refresh && age < c.ttl) || (refresh && age < c.minRefresh) {
			v := c.value
			c.mu.Unlock()
			return v, nil
		}
	}
	if f := c.inflight; f != nil {
		if c.onJoin != nil {
			c.onJoin()
		}
		c.mu.Unlock()
		select {
		case <-f.done:
			if f.err != nil && f.background {
				// The prefetch failed (and dropped its value): fetch now.
				return c.get(ctx, refresh)
			}
			return f.value, f.err
		case <-ctx.Done():
			var zero T
			return zero, fmt.Errorf("waiting for the secret fetch under way: %w", ctx.Err())
		}
	}
	f := &flight[T]{done: make(chan struct{})}
	c.inflight = f
	c.mu.Unlock()
	c.run(ctx, f)
	return f.value, f.err
}

// run fetches and publishes the result. A failed fetch drops the cached
// value: after a 401 or an expired TTL the old value is not trusted, and
// serving it silently would hide the failure.
func (c *cache[T]) run(ctx context.Context, f *flight[T]) {
	panicked := true
	defer func() {
		c.mu.Lock()
		if panicked {
			f.err = errors.New("secret fetch panicked")
		}
		c.inflight = nil
		if f.err != nil {
			var zero T
			c.value, c.have = zero, false
		} else {
			c.value, c.have, c.fetchedAt = f.value, true, c.now()
		}
		c.mu.Unlock()
		close(f.done)
	}()
	f.value, f.err = c.fetch(ctx)
	panicked = false
}
