package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

func testPolicy() policy {
	return policy{
		MaxAttempts:    4,
		DefaultWait:    time.Second,
		MaxWait:        8 * time.Second,
		Horizon:        time.Minute,
		AttemptTimeout: 5 * time.Second,
		RequestBound:   time.Minute,
	}
}

func TestPolicyNext(t *testing.T) {
	cases := []struct {
		name    string
		answer  answer
		attempt int
		retry   bool
		wait    time.Duration
	}{
		{"a 200 is final", answer{Status: 200}, 1, false, 0},
		{"a 422 is final", answer{Status: 422, Code: "operation_rejected"}, 1, false, 0},
		{"a 400 is final", answer{Status: 400, Code: "invalid_amount"}, 1, false, 0},
		{"a 500 is final", answer{Status: 500}, 1, false, 0},
		{"a 409 waits its Retry-After", answer{Status: 409, Code: "in_progress", RetryAfter: "2"}, 1, true, 2 * time.Second},
		{"a 504 without Retry-After waits the default", answer{Status: 504, Code: "outcome_unknown"}, 1, true, time.Second},
		{"a 502 from the gateway waits the default", answer{Status: 502}, 2, true, time.Second},
		{"a 503 waits its Retry-After", answer{Status: 503, Code: "store_unavailable", RetryAfter: "1"}, 1, true, time.Second},
		{"a long Retry-After is capped", answer{Status: 409, Code: "outcome_pending", RetryAfter: "30"}, 1, true, 8 * time.Second},
		{"a Retry-After past the horizon is final", answer{Status: 409, Code: "outcome_pending", RetryAfter: "2592000"}, 1, false, 0},
		{"an unreadable Retry-After waits the default", answer{Status: 409, RetryAfter: "soon"}, 1, true, time.Second},
		{"the last attempt is final even when retryable", answer{Status: 504, Code: "outcome_unknown"}, 4, false, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			retry, wait := testPolicy().next(c.answer, c.attempt)
			if retry != c.retry || wait != c.wait {
				t.Fatalf("next = (%v, %s), want (%v, %s)", retry, wait, c.retry, c.wait)
			}
		})
	}
}

func TestClientDo(t *testing.T) {
	cases := []struct {
		name     string
		statuses []int
		attempts int
		final    string
		unknown  bool
	}{
		{"a 409 is retried with the same key until the 200", []int{409, 409, 200}, 3, "200", false},
		{"a 422 stops at once", []int{422}, 1, "422 operation_rejected", false},
		{"a request still 504 after its attempts ends unknown", []int{504, 504, 504, 504, 504}, 4, "504 outcome_unknown", true},
	}
	codes := map[int]string{409: "in_progress", 422: "operation_rejected", 504: "outcome_unknown"}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var mu sync.Mutex
			var keys []string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				n := len(keys)
				keys = append(keys, r.Header.Get("Tracking-Key"))
				mu.Unlock()
				_, _ = io.Copy(io.Discard, r.Body)
				status := c.statuses[min(n, len(c.statuses)-1)]
				if status != 200 {
					w.Header().Set("Content-Type", "application/problem+json")
					w.Header().Set("Retry-After", "0")
					w.WriteHeader(status)
					_, _ = io.WriteString(w, `{"code":"`+codes[status]+`"}`)
					return
				}
				_, _ = io.WriteString(w, `{"result":"success"}`)
			}))
			defer srv.Close()
			p := testPolicy()
			p.DefaultWait = time.Millisecond
			cl := &client{api: srv.URL, http: srv.Client(), policy: p}
			res := cl.do(context.Background(), "refund", "key-1", []byte(`{}`), 0)
			if res.NoAnswer {
				t.Fatalf("no answer: %s", res.Err)
			}
			if len(res.Attempts) != c.attempts || res.final().label() != c.final || res.unknown() != c.unknown {
				t.Fatalf("%d attempts ending %q (unknown %v), want %d ending %q (unknown %v)",
					len(res.Attempts), res.final().label(), res.unknown(), c.attempts, c.final, c.unknown)
			}
			for i, k := range keys {
				if k != "key-1" {
					t.Fatalf("attempt %d sent Tracking-Key %q, want key-1", i+1, k)
				}
			}
		})
	}
}

func TestClientDoWithoutAnswer(t *testing.T) {
	t.Run("an attempt past its bound is reported as no answer", func(t *testing.T) {
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-release }))
		defer srv.Close()
		defer close(release)
		p := testPolicy()
		p.AttemptTimeout = 50 * time.Millisecond
		cl := &client{api: srv.URL, http: srv.Client(), policy: p}
		res := cl.do(context.Background(), "capture", "key-2", []byte(`{}`), 0)
		if !res.NoAnswer || res.final().Status != 0 {
			t.Fatalf("got %+v, want no answer", res)
		}
	})
}
