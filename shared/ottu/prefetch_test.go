package ottu

import (
	"context"
	"testing"
)

type prefetchingCreds struct {
	StaticCredentials
	prefetched int
}

func (p *prefetchingCreds) Prefetch(context.Context) { p.prefetched++ }

func TestPrefetchAsksAProviderThatCan(t *testing.T) {
	p := &prefetchingCreds{StaticCredentials: StaticCredentials{APIKey: "k"}}
	c, err := New(Config{BaseURL: "https://merchant.example", Credentials: p})
	if err != nil {
		t.Fatal(err)
	}
	c.Prefetch(context.Background())
	if p.prefetched != 1 {
		t.Fatalf("prefetched %d times, want 1", p.prefetched)
	}
	plain, err := New(Config{BaseURL: "https://merchant.example", Credentials: StaticCredentials{APIKey: "k"}})
	if err != nil {
		t.Fatal(err)
	}
	plain.Prefetch(context.Background()) // a provider that cannot: nothing happens
}
