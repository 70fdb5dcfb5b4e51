package ottu

import "context"

// Prefetcher is a CredentialsProvider that can start loading the
// credentials before the first call needs them (secrets.Provider).
type Prefetcher interface {
	Prefetch(ctx context.Context)
}

// Prefetch asks the credentials provider, when it is a Prefetcher, to start
// loading the credentials now, in the background; the first call then waits
// at most for what is left of that load. It sends nothing to Ottu.
func (c *Client) Prefetch(ctx context.Context) {
	if p, ok := c.creds.(Prefetcher); ok {
		p.Prefetch(ctx)
	}
}
