package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// policy is how the merchant client follows the contract: retry with the
// same key after Retry-After on 409, 502, 503 and 504, stop on 200 and on
// any other 4xx, and give up after a bounded number of attempts.
type policy struct {
	// MaxAttempts bounds the HTTP attempts of one request.
	MaxAttempts int
	// DefaultWait is the wait when a retryable answer names no Retry-After.
	DefaultWait time.Duration
	// MaxWait caps one wait.
	MaxWait time.Duration
	// Horizon: a Retry-After longer than this is not waited for; the
	// answer is final ("unknown, not retried"), as on API v1 after an
	// unknown outcome.
	Horizon time.Duration
	// AttemptTimeout bounds one HTTP attempt; hitting it is a violation
	// (the stack must answer, if only with 503, within its integration
	// timeout).
	AttemptTimeout time.Duration
	// RequestBound bounds a request's attempts and waits together: no new
	// attempt starts after it.
	RequestBound time.Duration
}

// answer is one HTTP answer, reduced to what the run checks.
type answer struct {
	Status     int
	Code       string
	RetryAfter string
	Replayed   bool
	// Unrecorded: a 200 with Outcome-Recorded: false, Ottu did it but the
	// record could not be written; the record may say in_progress.
	Unrecorded bool
	Body       []byte
}

// label names an answer for the report: "200", "200 replayed", "409 in_progress".
func (a answer) label() string {
	switch {
	case a.Status == 0:
		return "no answer"
	case a.Replayed:
		return strconv.Itoa(a.Status) + " replayed"
	case a.Unrecorded:
		return strconv.Itoa(a.Status) + " outcome not recorded"
	case a.Code != "":
		return strconv.Itoa(a.Status) + " " + a.Code
	}
	return strconv.Itoa(a.Status)
}

// retryable reports whether the contract says to retry with the same key.
func retryable(status int) bool {
	switch status {
	case http.StatusConflict, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// next decides, after attempt number n (from 1) answered a, whether to
// retry and after how long.
func (p policy) next(a answer, n int) (retry bool, wait time.Duration) {
	if !retryable(a.Status) || n >= p.MaxAttempts {
		return false, 0
	}
	wait = p.DefaultWait
	if a.RetryAfter != "" {
		secs, err := strconv.Atoi(strings.TrimSpace(a.RetryAfter))
		if err != nil || secs < 0 {
			return true, p.DefaultWait
		}
		wait = time.Duration(secs) * time.Second
		if wait > p.Horizon {
			return false, 0
		}
	}
	return true, min(wait, p.MaxWait)
}

// result is what one merchant request (one copy of one key) saw.
type result struct {
	Key  string
	Copy int // 0.. for concurrent copies; Copies for the later resend
	// Attempts are every HTTP answer in order; the last is the final one.
	Attempts []answer
	// NoAnswer is set when an attempt got no HTTP answer within its bound
	// (time-out or transport error): Err says what happened.
	NoAnswer bool
	Err      string
	Elapsed  time.Duration
}

// final is the request's last answer (zero when none came).
func (r result) final() answer {
	if len(r.Attempts) == 0 || r.NoAnswer {
		return answer{}
	}
	return r.Attempts[len(r.Attempts)-1]
}

// unknown reports a request that ended on a retryable answer: its outcome
// was left unknown by the API and the client stopped retrying.
func (r result) unknown() bool {
	f := r.final()
	return f.Status != 0 && retryable(f.Status)
}

// client sends merchant requests to the local API.
type client struct {
	api    string
	http   *http.Client
	policy policy
}

// do sends one merchant request with key until a final answer, following
// the policy.
func (c *client) do(ctx context.Context, op, key string, body []byte, copyNo int) result {
	start := time.Now()
	res := result{Key: key, Copy: copyNo}
	for n := 1; ; n++ {
		a, err := c.attempt(ctx, op, key, body)
		if err != nil {
			res.NoAnswer, res.Err = true, err.Error()
			break
		}
		res.Attempts = append(res.Attempts, a)
		retry, wait := c.policy.next(a, n)
		if !retry || time.Since(start)+wait > c.policy.RequestBound {
			break
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			res.Elapsed = time.Since(start)
			return res
		}
	}
	res.Elapsed = time.Since(start)
	return res
}

func (c *client) attempt(ctx context.Context, op, key string, body []byte) (answer, error) {
	ctx, cancel := context.WithTimeout(ctx, c.policy.AttemptTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.api+"/operations/"+op, bytes.NewReader(body))
	if err != nil {
		return answer{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Tracking-Key", key)
	resp, err := c.http.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return answer{}, fmt.Errorf("read the answer: %w", err)
	}
	a := answer{
		Status:     resp.StatusCode,
		RetryAfter: resp.Header.Get("Retry-After"),
		Replayed:   resp.Header.Get("Idempotent-Replayed") == "true",
		Unrecorded: resp.Header.Get("Outcome-Recorded") == "false",
		Body:       b,
	}
	if resp.StatusCode != http.StatusOK {
		var p struct {
			Code string `json:"code"`
		}
		if json.Unmarshal(b, &p) == nil {
			a.Code = p.Code
		}
	}
	return a, nil
}

// record is GET /operations/{key}.
type record struct {
	TrackingKey string          `json:"tracking_key"`
	Operation   string          `json:"operation"`
	Amount      *string         `json:"amount"`
	Status      string          `json:"status"`
	Attempts    int             `json:"attempts"`
	Ottu        json.RawMessage `json:"ottu"`
}

// getRecord reads a key's record through the API; found is false on 404.
// A 5xx is retried a few times (moto may still be catching up).
func (c *client) getRecord(ctx context.Context, key string) (rec record, found bool, err error) {
	for n := 1; ; n++ {
		rec, found, err = c.getRecordOnce(ctx, key)
		if err == nil || n == 5 {
			return rec, found, err
		}
		select {
		case <-time.After(500 * time.Millisecond):
		case <-ctx.Done():
			return rec, false, ctx.Err()
		}
	}
}

func (c *client) getRecordOnce(ctx context.Context, key string) (record, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, c.policy.AttemptTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.api+"/operations/"+key, nil)
	if err != nil {
		return record{}, false, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return record{}, false, err
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	switch resp.StatusCode {
	case http.StatusOK:
		var rec record
		if err := json.Unmarshal(b, &rec); err != nil {
			return record{}, false, fmt.Errorf("record of %s is not JSON: %w", key, err)
		}
		return rec, true, nil
	case http.StatusNotFound:
		return record{}, false, nil
	}
	return record{}, false, fmt.Errorf("GET /operations/%s answered %d: %s", key, resp.StatusCode, b)
}
