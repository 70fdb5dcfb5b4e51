package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ottuops/ottu-lambda/dev/localstack"
)

// walkAnswer is one HTTP answer of the walk.
type walkAnswer struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func walkDo(ctx context.Context, t *testing.T, method, url, body string) walkAnswer {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	a := walkAnswer{status: resp.StatusCode, header: resp.Header, raw: string(b)}
	_ = json.Unmarshal(b, &a.body)
	return a
}

// inquiryWalk does what the README's Inquiry section tells a new user to
// do, with curl's requests, on a stack started as `make local` starts it
// (the sandbox enforcing Ottu's inquiry throttle): create an attempted
// payment 15 minutes old, POST /inquiry with disclose_to_merchant, and
// within a second GET /transactions/{id}/inquiry shows the disclosure the
// sandbox posted to the local webhook; asking again at once is answered
// from the store, and ?fresh=true passes on Ottu's refusal.
func inquiryWalk(ctx context.Context, t *testing.T, stack *localstack.Stack) {
	api, sb := stack.URLs().API, stack.URLs().Sandbox
	steps := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"an attempted payment made 15 minutes ago is created in the sandbox", func(t *testing.T) {
			a := walkDo(ctx, t, http.MethodPost, sb+"/sandbox/transactions",
				`{"session_id":"walk-1","order_no":"walk-order-1","amount":"5.000","currency_code":"KWD","state":"attempted","pg_code":"kpay","age_minutes":15}`)
			if a.status != http.StatusCreated {
				t.Fatalf("%d %s", a.status, a.raw)
			}
		}},
		{"POST /inquiry with disclose_to_merchant answers Ottu's body", func(t *testing.T) {
			a := walkDo(ctx, t, http.MethodPost, api+"/inquiry", `{"session_id":"walk-1","disclose_to_merchant":true}`)
			if a.status != http.StatusOK || a.header.Get("Inquiry-Source") != "inquiry" || a.body["state"] != "attempted" || a.body["session_id"] != "walk-1" {
				t.Fatalf("%d %v %s", a.status, a.header, a.raw)
			}
		}},
		{"within a second GET /transactions/walk-1/inquiry shows the disclosure the sandbox posted to the local webhook", func(t *testing.T) {
			deadline := time.Now().Add(time.Second)
			var a walkAnswer
			for {
				a = walkDo(ctx, t, http.MethodGet, api+"/transactions/walk-1/inquiry", "")
				if a.status == http.StatusOK && a.body["source"] == "disclosure" {
					break
				}
				if time.Now().After(deadline) {
					tx, _ := stack.Sandbox().Transaction("walk-1")
					t.Fatalf("no disclosure within a second: %d %s; the sandbox's callbacks: %+v", a.status, a.raw, tx.Callbacks)
				}
				time.Sleep(50 * time.Millisecond)
			}
			if a.body["state"] != "attempted" || a.body["order_no"] != "walk-order-1" || a.body["received_at"] == nil || a.body["ottu"] == nil {
				t.Fatalf("view %s", a.raw)
			}
		}},
		{"the history by order_no lists the disclosure and the inquiry, newest first", func(t *testing.T) {
			a := walkDo(ctx, t, http.MethodGet, api+"/transactions/walk-order-1/inquiry?history=true", "")
			h, _ := a.body["history"].([]any)
			if a.status != http.StatusOK || len(h) != 2 {
				t.Fatalf("%d %s", a.status, a.raw)
			}
			first, _ := h[0].(map[string]any)
			second, _ := h[1].(map[string]any)
			// Which is stored first is a race (Ottu may disclose before the
			// inquiry's answer is written); the order must follow received_at.
			sources := map[any]bool{first["source"]: true, second["source"]: true}
			newerText, _ := first["received_at"].(string)
			olderText, _ := second["received_at"].(string)
			newer, err1 := time.Parse(time.RFC3339Nano, newerText)
			older, err2 := time.Parse(time.RFC3339Nano, olderText)
			if !sources["disclosure"] || !sources["inquiry"] || err1 != nil || err2 != nil || newer.Before(older) {
				t.Fatalf("history %s", a.raw)
			}
		}},
		{"asking again at once is answered from the store, saying when Ottu will answer again", func(t *testing.T) {
			a := walkDo(ctx, t, http.MethodPost, api+"/inquiry", `{"session_id":"walk-1"}`)
			if a.status != http.StatusOK || a.body["source"] != "stored" || a.body["fresh_after"] == nil || a.header.Get("Inquiry-Source") != "stored" {
				t.Fatalf("%d %s", a.status, a.raw)
			}
		}},
		{"with ?fresh=true Ottu is asked anyway, and its refusal is a 429 with Retry-After", func(t *testing.T) {
			a := walkDo(ctx, t, http.MethodPost, api+"/inquiry?fresh=true", `{"session_id":"walk-1"}`)
			if a.status != http.StatusTooManyRequests || a.body["code"] != "inquiry_throttled" || a.header.Get("Retry-After") == "" {
				t.Fatalf("%d %v %s", a.status, a.header, a.raw)
			}
		}},
		{"a payment made just now, with nothing stored, is a 429 until its first 10 minutes pass", func(t *testing.T) {
			if a := walkDo(ctx, t, http.MethodPost, sb+"/sandbox/transactions",
				`{"session_id":"walk-2","amount":"5.000","currency_code":"KWD","state":"pending","pg_code":"kpay"}`); a.status != http.StatusCreated {
				t.Fatalf("%d %s", a.status, a.raw)
			}
			a := walkDo(ctx, t, http.MethodPost, api+"/inquiry", `{"session_id":"walk-2"}`)
			if a.status != http.StatusTooManyRequests || a.body["code"] != "inquiry_throttled" || a.header.Get("Retry-After") != "600" {
				t.Fatalf("%d %v %s", a.status, a.header, a.raw)
			}
		}},
		{"a transaction with nothing stored is a 404", func(t *testing.T) {
			a := walkDo(ctx, t, http.MethodGet, api+"/transactions/walk-2/inquiry", "")
			if a.status != http.StatusNotFound || a.body["code"] != "not_found" {
				t.Fatalf("%d %s", a.status, a.raw)
			}
		}},
	}
	for _, st := range steps {
		if !t.Run(st.name, st.run) {
			return // each step needs the one before
		}
	}
}
