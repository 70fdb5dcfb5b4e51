package secrets

import (
	"context"
	"time"
)

// prefetchTimeout bounds a prefetch. Lambda may freeze the environment
// while a prefetch started in init is under way (provisioned concurrency);
// a fetch cut off that way fails, and the first caller then fetches itself.
const prefetchTimeout = 10 * time.Second

// Prefetch starts reading the secret in the background, so that the read
// overlaps whatever runs before the credentials are first needed (the rest
// of the function's init, the Tracking-Key claim) instead of following it.
// A caller that needs the credentials meanwhile waits for the prefetch; if
// the prefetch failed, that caller fetches again itself: a prefetch's
// failure is never anyone's answer. It does nothing when the value is
// cached or a fetch is under way.
func (p *Provider) Prefetch(ctx context.Context) {
	p.cache.prefetch(context.WithoutCancel(ctx))
}

func (c *cache[T]) prefetch(ctx context.Context) {
	c.mu.Lock()
	if c.have || c.inflight != nil {
		c.mu.Unlock()
		return
	}
	f := &flight[T]{done: make(chan struct{}), background: true}
	c.inflight = f
	c.mu.Unlock()
	go func() {
		ctx, cancel := context.WithTimeout(ctx, prefetchTimeout)
		defer cancel()
		c.run(ctx, f)
	}()
}
