// Package motoproxy is a reverse proxy in front of moto's server that gives
// the local DynamoDB the atomicity real DynamoDB promises. moto's threaded
// server applies a conditional write in steps, so two overlapping
// conditional UpdateItem calls on one key can both pass their condition;
// the Tracking-Key lease, and with it the promise that Ottu is called once,
// rests on exactly one of them winning. The proxy sends DynamoDB requests to
// moto one at a time and passes everything else (Secrets Manager, Step
// Functions, /moto-api/) straight through, concurrently.
//
// It is for laptops and tests only (dev/testkit and the local stack use
// it) and is never linked into a Lambda binary: nothing under functions/ may
// import it.
package motoproxy

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// dynamoDBTargetPrefix starts the X-Amz-Target header of every DynamoDB
// API call (the awsJson1_0 protocol); DynamoDB Streams uses another prefix.
const dynamoDBTargetPrefix = "DynamoDB_20120810."

// Proxy is an http.Handler that forwards to one moto server.
type Proxy struct {
	proxy *httputil.ReverseProxy
	// dynamo is a one-slot semaphore rather than a mutex so that a request
	// whose client gave up stops waiting for its turn.
	dynamo chan struct{}

	mu sync.Mutex
	// paused is closed when the current pause ends; nil when not paused.
	paused chan struct{}
	// pauseGen tells a pause's timer whether a later Pause or Resume has
	// replaced it.
	pauseGen uint64
	// observe, when set, sees every request before it is forwarded.
	observe atomic.Pointer[func(*http.Request)]
}

// Observe has fn see every request before it goes to moto (the local
// stack records the functions' AWS calls with it). fn may read the body if
// it puts an equal one back. A nil fn stops observing.
func (p *Proxy) Observe(fn func(*http.Request)) {
	if fn == nil {
		p.observe.Store(nil)
		return
	}
	p.observe.Store(&fn)
}

// New returns a proxy to the moto server at target, such as
// http://127.0.0.1:41234.
func New(target string) (*Proxy, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("moto proxy target %q: %w", target, err)
	}
	if u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("moto proxy target %q: want a base URL such as http://127.0.0.1:5000", target)
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	// Many tests share one moto: keep their connections instead of opening
	// a new one per request.
	transport.MaxIdleConnsPerHost = 64
	p := &Proxy{dynamo: make(chan struct{}, 1)}
	p.proxy = &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(u)
			// moto builds URLs it returns (queue URLs, presigned URLs) from
			// Host: they must name the proxy, which callers reach.
			r.Out.Host = r.In.Host
		},
		Transport:    transport,
		ErrorHandler: proxyError,
	}
	return p, nil
}

// proxyError answers 502 when moto cannot be reached; a client that left
// gets nothing, and nothing is logged, since tests cancel requests on purpose.
func proxyError(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil {
		return
	}
	http.Error(w, "moto proxy: "+err.Error(), http.StatusBadGateway)
}

// ServeHTTP forwards r to moto: a DynamoDB request once no other DynamoDB
// request is in flight, anything else at once; either only after a pause.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if fn := p.observe.Load(); fn != nil {
		(*fn)(r)
	}
	if strings.HasPrefix(r.Header.Get("X-Amz-Target"), dynamoDBTargetPrefix) {
		select {
		case p.dynamo <- struct{}{}:
		case <-ctx.Done():
			return
		}
		defer func() { <-p.dynamo }()
	}
	// Waiting for a pause after taking the DynamoDB turn keeps the queued
	// DynamoDB requests behind the held one, so none slips through.
	if err := p.waitPause(ctx); err != nil {
		return
	}
	p.proxy.ServeHTTP(w, r)
}

// Pause holds every request not yet forwarded to moto for d, as a hung
// DynamoDB would; requests already at moto finish. A Pause during a pause
// replaces it: requests are held until d from now.
func (p *Proxy) Pause(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.paused == nil {
		p.paused = make(chan struct{})
	}
	p.pauseGen++
	gen := p.pauseGen
	time.AfterFunc(d, func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.pauseGen == gen {
			p.resumeLocked()
		}
	})
}

// Resume ends a pause at once; held requests go on.
func (p *Proxy) Resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pauseGen++
	p.resumeLocked()
}

func (p *Proxy) resumeLocked() {
	if p.paused != nil {
		close(p.paused)
		p.paused = nil
	}
}

// waitPause returns when no pause is on, or ctx's error if ctx ends first.
func (p *Proxy) waitPause(ctx context.Context) error {
	for {
		p.mu.Lock()
		paused := p.paused
		p.mu.Unlock()
		if paused == nil {
			return nil
		}
		select {
		case <-paused:
			// A new pause may have begun meanwhile: look again.
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
