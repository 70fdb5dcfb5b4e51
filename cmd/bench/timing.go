package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"
)

// timingProxy sits between the functions and moto, or the functions and
// the sandbox, and adds up per Tracking-Key how long each request took
// there (the dependency's time as the function sees it, less the loopback
// hop) and how many requests of each kind were made.
type timingProxy struct {
	proxy *httputil.ReverseProxy
	ottu  bool

	mu     sync.Mutex
	perKey map[string]*keyTiming
	counts map[string]int // by X-Amz-Target or "ottu"
}

type keyTiming struct {
	d      time.Duration
	counts map[string]int
}

func newTimingProxy(target string, ottu bool) *timingProxy {
	u, _ := url.Parse(target)
	t := &timingProxy{ottu: ottu, perKey: map[string]*keyTiming{}, counts: map[string]int{}}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 128
	t.proxy = &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(u); r.Out.Host = r.In.Host }, Transport: tr}
	return t
}

// dynamoKey finds the Tracking-Key in a DynamoDB request's Key.
func dynamoKey(body []byte) string {
	const marker = `"tracking_key":{"S":"`
	i := bytes.Index(body, []byte(marker))
	if i < 0 {
		return ""
	}
	rest := body[i+len(marker):]
	if j := bytes.IndexByte(rest, '"'); j >= 0 {
		return string(rest[:j])
	}
	return ""
}

func (t *timingProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	var key, kind string
	if t.ottu {
		key, kind = r.Header.Get("Tracking-Key"), "ottu"
	} else {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		kind = r.Header.Get("X-Amz-Target")
		if strings.HasPrefix(kind, "DynamoDB_") {
			key = dynamoKey(body)
		}
	}
	t.proxy.ServeHTTP(w, r)
	d := time.Since(start)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.counts[kind]++
	if key == "" {
		return
	}
	kt := t.perKey[key]
	if kt == nil {
		kt = &keyTiming{counts: map[string]int{}}
		t.perKey[key] = kt
	}
	kt.d += d
	kt.counts[kind]++
}

// take returns and forgets what was recorded for key.
func (t *timingProxy) take(key string) keyTiming {
	t.mu.Lock()
	defer t.mu.Unlock()
	kt := t.perKey[key]
	delete(t.perKey, key)
	if kt == nil {
		return keyTiming{counts: map[string]int{}}
	}
	return *kt
}

// snapshot returns the counts by kind so far.
func (t *timingProxy) snapshot() map[string]int {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make(map[string]int, len(t.counts))
	for k, v := range t.counts {
		out[k] = v
	}
	return out
}
