package secrets

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
)

func TestPrefetch(t *testing.T) {
	t.Run("a caller during the prefetch waits for it and nothing is fetched twice", func(t *testing.T) {
		var calls atomic.Int32
		release := make(chan struct{})
		c := newTestCache(func(context.Context) (string, error) {
			calls.Add(1)
			<-release
			return "value", nil
		})
		joined := make(chan struct{})
		c.onJoin = func() { close(joined) }
		c.prefetch(context.Background())
		c.prefetch(context.Background()) // under way: no second fetch
		got := make(chan string)
		go func() {
			v, _ := c.get(context.Background(), false)
			got <- v
		}()
		<-joined
		close(release)
		if v := <-got; v != "value" {
			t.Fatalf("got %q", v)
		}
		c.prefetch(context.Background()) // cached: no fetch
		if n := calls.Load(); n != 1 {
			t.Fatalf("%d fetches, want 1", n)
		}
	})
	t.Run("a failed prefetch is never a caller's answer: the caller fetches itself", func(t *testing.T) {
		var calls atomic.Int32
		release := make(chan struct{})
		c := newTestCache(func(context.Context) (string, error) {
			if calls.Add(1) == 1 {
				<-release
				return "", errors.New("cut off by a freeze")
			}
			return "value", nil
		})
		joined := make(chan struct{})
		c.onJoin = func() { close(joined) }
		c.prefetch(context.Background())
		got := make(chan error)
		go func() {
			v, err := c.get(context.Background(), false)
			if err == nil && v != "value" {
				err = errors.New("wrong value " + v)
			}
			got <- err
		}()
		<-joined
		c.onJoin = nil
		close(release)
		if err := <-got; err != nil {
			t.Fatalf("the caller got %v", err)
		}
		if n := calls.Load(); n != 2 {
			t.Fatalf("%d fetches, want 2", n)
		}
	})
}
