package inquiry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ottuops/ottu-lambda/dev/testkit"
	"github.com/ottuops/ottu-lambda/shared/ottu"
	"github.com/ottuops/ottu-lambda/shared/platform/problem"
	"github.com/ottuops/ottu-lambda/shared/txn"
)

// memStore is an in-memory txn.Store: entries by digest, the current
// view by txn.OrderKey, found by session_id or order_no.
type memStore struct {
	mu       sync.Mutex
	entries  []txn.Entry
	waiters  []txn.Waiter
	bindings map[string]txn.Identity
	// fail makes the named method fail.
	fail map[string]error
}

var _ txn.Store = (*memStore)(nil)

func (m *memStore) failing(method string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.fail[method]
}

func matches(id, sessionID, orderNo string) bool {
	return id != "" && (id == sessionID || id == orderNo)
}

func (m *memStore) Put(_ context.Context, e txn.Entry) (bool, error) {
	if err := m.failing("Put"); err != nil {
		return false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, x := range m.entries {
		if x.Digest == e.Digest {
			return false, nil
		}
	}
	m.entries = append(m.entries, e)
	return true, nil
}

func (m *memStore) History(_ context.Context, id string, limit int) ([]txn.Entry, error) {
	if err := m.failing("History"); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []txn.Entry
	for _, e := range m.entries {
		if matches(id, e.SessionID, e.OrderNo) {
			out = append(out, e)
		}
	}
	if len(out) == 0 {
		return nil, txn.ErrNotFound
	}
	slices.SortFunc(out, func(a, b txn.Entry) int { return b.ReceivedAt.Compare(a.ReceivedAt) })
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func (m *memStore) Current(ctx context.Context, id string) (*txn.Entry, error) {
	if err := m.failing("Current"); err != nil {
		return nil, err
	}
	h, err := m.History(ctx, id, 0)
	if err != nil {
		return nil, err
	}
	best := h[len(h)-1] // the oldest wins ties, as a conditional "greater than" write does
	for i := len(h) - 2; i >= 0; i-- {
		if txn.OrderKey(h[i]) > txn.OrderKey(best) {
			best = h[i]
		}
	}
	return &best, nil
}

func (m *memStore) Bind(_ context.Context, session string, id txn.Identity, _ bool) (txn.Identity, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.bindings == nil {
		m.bindings = map[string]txn.Identity{}
	}
	if id.IsZero() {
		return m.bindings[session], nil
	}
	m.bindings[session] = id
	return id, nil
}

func (m *memStore) FirstReceived(_ context.Context, e txn.Entry) (time.Time, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, x := range m.entries {
		if x.Digest == e.Digest {
			return x.ReceivedAt, nil
		}
	}
	return time.Time{}, txn.ErrNotFound
}

func (m *memStore) AddWaiter(_ context.Context, w txn.Waiter) error {
	if err := m.failing("AddWaiter"); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.waiters = append(m.waiters, w)
	return nil
}

func (m *memStore) Waiters(_ context.Context, id string) ([]txn.Waiter, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []txn.Waiter
	for _, w := range m.waiters {
		if matches(id, w.SessionID, w.OrderNo) {
			out = append(out, w)
		}
	}
	return out, nil
}

func (m *memStore) ClaimWaiter(context.Context, txn.Waiter, time.Time) error { return nil }

func (m *memStore) FinishWaiter(context.Context, txn.Waiter, txn.WaiterStatus, time.Time) error {
	return nil
}

// fakeOttu answers inquiries from a script; before runs at each call.
type fakeOttu struct {
	mu     sync.Mutex
	calls  []ottu.InquiryRequest
	answer func(ottu.InquiryRequest) (*ottu.InquiryResponse, error)
	before func()
}

func (f *fakeOttu) Inquiry(_ context.Context, req ottu.InquiryRequest) (*ottu.InquiryResponse, error) {
	f.mu.Lock()
	f.calls = append(f.calls, req)
	f.mu.Unlock()
	if f.before != nil {
		f.before()
	}
	return f.answer(req)
}

func (f *fakeOttu) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

// attempted is Ottu's answer for an attempted payment at ts.
func attempted(ts time.Time) func(ottu.InquiryRequest) (*ottu.InquiryResponse, error) {
	return func(req ottu.InquiryRequest) (*ottu.InquiryResponse, error) {
		raw := fmt.Sprintf(`{"session_id":"sess-1","order_no":"order-1","state":"attempted","result":"pending","amount":"5.000","timestamp_utc":%q}`, ts.UTC().Format(timestampLayout))
		return &ottu.InquiryResponse{Raw: json.RawMessage(raw), StatusCode: 200, SessionID: "sess-1", OrderNo: "order-1", State: "attempted", Result: "pending", Amount: "5.000"}, nil
	}
}

func refusedBy(e *ottu.Error) func(ottu.InquiryRequest) (*ottu.InquiryResponse, error) {
	return func(ottu.InquiryRequest) (*ottu.InquiryResponse, error) { return nil, e }
}

type fixture struct {
	svc   *Service
	store *memStore
	ottu  *fakeOttu
	clock *testkit.Clock
}

func newFixture() *fixture {
	c := testkit.NewClock(time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC))
	f := &fixture{store: &memStore{fail: map[string]error{}}, clock: c}
	f.ottu = &fakeOttu{answer: attempted(c.Now())}
	n := 0
	f.svc = &Service{Ottu: f.ottu, Store: f.store, Retention: 7 * 24 * time.Hour, Now: c.Now,
		NewDigest: func() string { n++; return fmt.Sprintf("digest-%d", n) }}
	return f
}

// wantCode fails the test unless err is the problem code with a detail
// sentence. What a code means on the wire is the adapter's (inquiry/api).
func wantCode(t *testing.T, err error, code problem.Code) {
	t.Helper()
	_ = problemOf(t, err, code)
}

// problemOf is wantCode returning the problem, for further checks.
func problemOf(t *testing.T, err error, code problem.Code) *problem.Error {
	t.Helper()
	var p *problem.Error
	if !errors.As(err, &p) || p.Code != code {
		t.Fatalf("error %v, want %s", err, code)
	}
	if p.Detail == "" || !strings.HasSuffix(p.Detail, ".") {
		t.Fatalf("detail %q is not a sentence", p.Detail)
	}
	return p
}

func TestAFreshInquiryIsStoredAndAnswered(t *testing.T) {
	f := newFixture()
	ottuTime := f.clock.Now().Add(-2 * time.Second)
	f.ottu.answer = attempted(ottuTime)
	res, err := f.svc.Inquire(context.Background(), Request{OrderNo: "order-1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("the answer is Ottu's, from a fresh inquiry", func(t *testing.T) {
		if res.Source != txn.SourceInquiry || res.Unstored || !strings.Contains(string(res.Entry.Body), `"state":"attempted"`) {
			t.Fatalf("result %+v", res)
		}
	})
	t.Run("the stored entry carries both ids, Ottu's timestamp and the retention", func(t *testing.T) {
		e := f.store.entries[0]
		want := txn.Entry{SessionID: "sess-1", OrderNo: "order-1", Source: txn.SourceInquiry,
			ReceivedAt: f.clock.Now(), OttuTimestamp: ottuTime.Truncate(time.Second), State: "attempted", Result: "pending",
			Digest: "digest-1", ExpiresAt: f.clock.Now().Add(7 * 24 * time.Hour)}
		e.Body = nil
		if fmt.Sprint(e) != fmt.Sprint(want) {
			t.Fatalf("entry %+v\nwant  %+v", e, want)
		}
	})
	t.Run("Ottu is asked read-only, with no disclosure", func(t *testing.T) {
		if c := f.ottu.calls[0]; c.OrderNo != "order-1" || c.DiscloseToMerchant || c.DisclosureURL != "" {
			t.Fatalf("call %+v", c)
		}
	})
}

func TestTheThrottleIsAnsweredFromTheStore(t *testing.T) {
	f := newFixture()
	ctx := context.Background()
	ask := func(req Request) *Result {
		t.Helper()
		res, err := f.svc.Inquire(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	first := ask(Request{SessionID: "sess-1"})

	t.Run("a second inquiry within 30 minutes answers the stored result without asking Ottu", func(t *testing.T) {
		f.clock.Advance(10 * time.Minute)
		res := ask(Request{OrderNo: "order-1"})
		if res.Source != txn.SourceStored || res.Entry.Digest != first.Entry.Digest || f.ottu.count() != 1 {
			t.Fatalf("result %+v after %d calls", res, f.ottu.count())
		}
		if want := first.Entry.ReceivedAt.Add(Interval); !res.FreshAfter.Equal(want) {
			t.Fatalf("fresh after %s, want %s", res.FreshAfter, want)
		}
		if !strings.Contains(res.Reason, "?fresh=true") {
			t.Fatalf("reason %q does not say how to ask anyway", res.Reason)
		}
	})
	t.Run("fresh asks Ottu anyway", func(t *testing.T) {
		res := ask(Request{SessionID: "sess-1", Fresh: true})
		if res.Source != txn.SourceInquiry || f.ottu.count() != 2 {
			t.Fatalf("result %+v after %d calls", res, f.ottu.count())
		}
	})
	t.Run("30 minutes after the last inquiry Ottu is asked again", func(t *testing.T) {
		f.clock.Advance(Interval)
		if res := ask(Request{SessionID: "sess-1"}); res.Source != txn.SourceInquiry || f.ottu.count() != 3 {
			t.Fatalf("result %+v after %d calls", res, f.ottu.count())
		}
	})
	t.Run("after 3 inquiries the stored result stands for good", func(t *testing.T) {
		f.clock.Advance(24 * time.Hour)
		res := ask(Request{SessionID: "sess-1"})
		if res.Source != txn.SourceStored || !res.FreshAfter.IsZero() || f.ottu.count() != 3 {
			t.Fatalf("result %+v after %d calls", res, f.ottu.count())
		}
	})
	t.Run("a newer disclosure is what a stored answer shows", func(t *testing.T) {
		d := txn.Entry{SessionID: "sess-1", OrderNo: "order-1", Source: txn.SourceDisclosure, ReceivedAt: f.clock.Now(),
			OttuTimestamp: f.clock.Now(), State: "paid", Result: "success", Body: json.RawMessage(`{"state":"paid"}`), Digest: "disclosed"}
		if _, err := f.store.Put(ctx, d); err != nil {
			t.Fatal(err)
		}
		if res := ask(Request{SessionID: "sess-1"}); res.Source != txn.SourceStored || res.Entry.Digest != "disclosed" {
			t.Fatalf("result %+v", res)
		}
	})
}

func TestOttusThrottleRefusal(t *testing.T) {
	refusal := &ottu.Error{Kind: ottu.KindUnavailable, StatusCode: http.StatusTooManyRequests, RetryAfter: 1200 * time.Second,
		Body: json.RawMessage(`{"detail":"Request was throttled. Expected available in 1200 seconds."}`), Detail: "Ottu is throttling requests (HTTP 429): try again later"}
	ctx := context.Background()

	t.Run("with nothing stored it is a 429 inquiry_throttled with Retry-After", func(t *testing.T) {
		f := newFixture()
		f.ottu.answer = refusedBy(refusal)
		_, err := f.svc.Inquire(ctx, Request{SessionID: "sess-1"})
		p := problemOf(t, err, CodeThrottled)
		if p.RetryAfter != 1200*time.Second || len(p.Ottu) == 0 {
			t.Fatalf("problem %+v", p)
		}
	})
	t.Run("with a stored result it answers that, fresh after Ottu's Retry-After", func(t *testing.T) {
		f := newFixture()
		if _, err := f.svc.Inquire(ctx, Request{SessionID: "sess-1"}); err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(Interval) // our own history would allow it; Ottu still refuses
		f.ottu.answer = refusedBy(refusal)
		res, err := f.svc.Inquire(ctx, Request{SessionID: "sess-1"})
		if err != nil || res.Source != txn.SourceStored || !res.FreshAfter.Equal(f.clock.Now().Add(1200*time.Second)) {
			t.Fatalf("result %+v, %v", res, err)
		}
	})
	t.Run("with fresh it passes Ottu's refusal on even when something is stored", func(t *testing.T) {
		f := newFixture()
		if _, err := f.svc.Inquire(ctx, Request{SessionID: "sess-1"}); err != nil {
			t.Fatal(err)
		}
		f.ottu.answer = refusedBy(refusal)
		_, err := f.svc.Inquire(ctx, Request{SessionID: "sess-1", Fresh: true})
		wantCode(t, err, CodeThrottled)
	})
	t.Run("without Retry-After the problem says no time was named", func(t *testing.T) {
		f := newFixture()
		f.ottu.answer = refusedBy(&ottu.Error{Kind: ottu.KindUnavailable, StatusCode: http.StatusTooManyRequests})
		_, err := f.svc.Inquire(ctx, Request{SessionID: "sess-1"})
		if p := problemOf(t, err, CodeThrottled); p.RetryAfter != 0 || !strings.Contains(p.Detail, "named no time") {
			t.Fatalf("problem %+v", p)
		}
	})
}

func TestOttusMessagesBecomeProblems(t *testing.T) {
	tests := []struct {
		name string
		err  *ottu.Error
		code problem.Code
	}{
		{"an unknown transaction is a 404 not_found",
			&ottu.Error{Kind: ottu.KindNotFound, StatusCode: 404, Detail: "No payment attempts found for this Lookup"}, problem.CodeNotFound},
		{"a state inquiry does not answer is a 422 inquiry_not_allowed",
			&ottu.Error{Kind: ottu.KindRejected, StatusCode: 400, Detail: "Operation is not allowed"}, CodeNotAllowed},
		{"a payment with no attempt yet is a 422 inquiry_not_allowed",
			&ottu.Error{Kind: ottu.KindRejected, StatusCode: 400, Detail: "payment attempts for order order-1"}, CodeNotAllowed},
		{"Ottu knowing no disclosure URL is a 400 disclosure_url_missing",
			&ottu.Error{Kind: ottu.KindRejected, StatusCode: 400, Detail: "No disclosure url found for order order-1"}, CodeDisclosureURLMissing},
		{"Ottu's field errors are a 400 invalid_request",
			&ottu.Error{Kind: ottu.KindRejected, StatusCode: 400, FieldErrors: map[string][]string{"disclosure_url": {"Enter a valid URL."}}}, problem.CodeInvalidRequest},
		{"another refusal of Ottu's is a 422 inquiry_not_allowed",
			&ottu.Error{Kind: ottu.KindRejected, StatusCode: 405, Detail: "Method not allowed"}, CodeNotAllowed},
		{"Ottu down is a 502 ottu_unavailable",
			&ottu.Error{Kind: ottu.KindUnavailable, StatusCode: 503, Detail: "Ottu is unavailable (HTTP 503): try again later"}, problem.CodeOttuUnavailable},
		{"Ottu silent is a 502 ottu_unavailable",
			&ottu.Error{Kind: ottu.KindOutcomeUnknown, Sent: true, TimedOut: true, Detail: "no answer came before the deadline"}, problem.CodeOttuUnavailable},
		{"refused credentials are a 502 ottu_auth",
			&ottu.Error{Kind: ottu.KindAuth, StatusCode: 403, Detail: "Ottu refused the permission (HTTP 403)"}, problem.CodeOttuAuth},
		{"a request the client cannot send is a 400 invalid_request",
			&ottu.Error{Kind: ottu.KindInvalid, Detail: "order_no is required: Ottu's API v1 identifies the transaction by order_no only"}, problem.CodeInvalidRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture()
			f.svc.AllowedDisclosureURLs = []string{"https://shop.example.com/hook"}
			f.ottu.answer = refusedBy(tc.err)
			res, err := f.svc.Inquire(context.Background(), Request{SessionID: "sess-1", Disclose: true, DisclosureURL: "https://shop.example.com/hook"})
			if res != nil {
				t.Fatalf("result %+v, want an error", res)
			}
			wantCode(t, err, tc.code)
			if len(f.store.entries) != 0 {
				t.Fatalf("%d entries stored after a refusal", len(f.store.entries))
			}
		})
	}
	t.Run("an error from outside the client is an internal_error revealing nothing", func(t *testing.T) {
		f := newFixture()
		f.ottu.answer = func(ottu.InquiryRequest) (*ottu.InquiryResponse, error) {
			return nil, errors.New("secret-ish internals")
		}
		_, err := f.svc.Inquire(context.Background(), Request{SessionID: "sess-1"})
		if p := problemOf(t, err, problem.CodeInternal); strings.Contains(p.Detail, "secret-ish") {
			t.Fatalf("detail %q", p.Detail)
		}
	})
}

func TestDisclosureURL(t *testing.T) {
	tests := []struct {
		name       string
		webhookURL string
		allowed    []string
		req        Request
		sent       string
		code       problem.Code
	}{
		{"the configured webhook is sent when no URL is given", "https://api.example.com/webhooks/ottu", nil,
			Request{SessionID: "s", Disclose: true}, "https://api.example.com/webhooks/ottu", ""},
		{"without configuration the API the request came through is used", "", nil,
			Request{SessionID: "s", Disclose: true, APIBaseURL: "https://abc.execute-api.me-south-1.amazonaws.com/prod/"}, "https://abc.execute-api.me-south-1.amazonaws.com/prod/webhooks/ottu", ""},
		{"a URL on the allow-list is sent", "https://api.example.com/webhooks/ottu", []string{"https://shop.example.com/ottu?token=abc"},
			Request{SessionID: "s", Disclose: true, DisclosureURL: "https://shop.example.com/ottu?token=abc"}, "https://shop.example.com/ottu?token=abc", ""},
		{"this stack's own webhook named explicitly is sent", "https://api.example.com/webhooks/ottu", nil,
			Request{SessionID: "s", Disclose: true, DisclosureURL: "https://api.example.com/webhooks/ottu"}, "https://api.example.com/webhooks/ottu", ""},
		{"the webhook of the API the request came through is this stack's own", "", nil,
			Request{SessionID: "s", Disclose: true, DisclosureURL: "http://127.0.0.1:3000/webhooks/ottu", APIBaseURL: "http://127.0.0.1:3000"}, "http://127.0.0.1:3000/webhooks/ottu", ""},
		{"any other URL is a 400 disclosure_url_not_allowed", "https://api.example.com/webhooks/ottu", []string{"https://shop.example.com/ottu"},
			Request{SessionID: "s", Disclose: true, DisclosureURL: "https://attacker.example.net/collect"}, "", CodeDisclosureURLNotAllowed},
		{"an allow-listed URL with another query is another URL", "", []string{"https://shop.example.com/ottu?token=abc"},
			Request{SessionID: "s", Disclose: true, DisclosureURL: "https://shop.example.com/ottu?token=abc&x=1"}, "", CodeDisclosureURLNotAllowed},
		{"with neither a URL nor a webhook of our own it is a 400 disclosure_url_missing", "", nil,
			Request{SessionID: "s", Disclose: true}, "", CodeDisclosureURLMissing},
		{"plain http elsewhere is a 400", "", nil,
			Request{SessionID: "s", Disclose: true, DisclosureURL: "http://shop.example.com/hook"}, "", problem.CodeInvalidRequest},
		{"a URL with a password is a 400", "", nil,
			Request{SessionID: "s", Disclose: true, DisclosureURL: "https://user:hunter2@shop.example.com/hook"}, "", problem.CodeInvalidRequest},
		{"a host that only starts like a loopback address is not one", "", nil,
			Request{SessionID: "s", Disclose: true, DisclosureURL: "http://127.evil.example/hook"}, "", problem.CodeInvalidRequest},
		{"a relative URL is a 400", "", nil,
			Request{SessionID: "s", Disclose: true, DisclosureURL: "/webhooks/ottu"}, "", problem.CodeInvalidRequest},
		{"a URL without disclose_to_merchant is a 400", "", nil,
			Request{SessionID: "s", DisclosureURL: "https://shop.example.com/hook"}, "", problem.CodeInvalidRequest},
		{"no URL is sent without disclosure", "https://api.example.com/webhooks/ottu", nil,
			Request{SessionID: "s"}, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture()
			f.svc.WebhookURL = tc.webhookURL
			f.svc.AllowedDisclosureURLs = tc.allowed
			_, err := f.svc.Inquire(context.Background(), tc.req)
			if tc.code != "" {
				p := problemOf(t, err, tc.code)
				if f.ottu.count() != 0 {
					t.Fatal("Ottu was asked")
				}
				if strings.Contains(p.Detail, "hunter2") {
					t.Fatalf("the detail repeats the URL's password: %s", p.Detail)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := f.ottu.calls[0].DisclosureURL; got != tc.sent {
				t.Fatalf("sent %q, want %q", got, tc.sent)
			}
		})
	}
}

func TestTaskTokens(t *testing.T) {
	ctx := context.Background()
	const own = "https://api.example.com/webhooks/ottu"
	t.Run("the waiter is stored before Ottu is asked to disclose", func(t *testing.T) {
		f := newFixture()
		f.svc.WebhookURL = own
		var waitersAtCall []txn.Waiter
		f.ottu.before = func() { waitersAtCall, _ = f.store.Waiters(ctx, "sess-1") }
		res, err := f.svc.Inquire(ctx, Request{SessionID: "sess-1", Disclose: true, TaskToken: "token-1"})
		if err != nil || !res.Waiting {
			t.Fatalf("result %+v, %v", res, err)
		}
		if len(waitersAtCall) != 1 || waitersAtCall[0].TaskToken != "token-1" || !waitersAtCall[0].ExpiresAt.Equal(f.clock.Now().Add(7*24*time.Hour)) {
			t.Fatalf("waiters when Ottu was asked: %+v", waitersAtCall)
		}
		if c := f.ottu.calls[0]; !c.DiscloseToMerchant || c.DisclosureURL != own {
			t.Fatalf("call %+v", c)
		}
	})
	t.Run("a task token asks Ottu even when a stored answer would do", func(t *testing.T) {
		f := newFixture()
		f.svc.WebhookURL = own
		if _, err := f.svc.Inquire(ctx, Request{SessionID: "sess-1"}); err != nil {
			t.Fatal(err)
		}
		res, err := f.svc.Inquire(ctx, Request{SessionID: "sess-1", Disclose: true, TaskToken: "token-2"})
		if err != nil || res.Source != txn.SourceInquiry || f.ottu.count() != 2 {
			t.Fatalf("result %+v, %v after %d calls", res, err, f.ottu.count())
		}
	})
	t.Run("a waiter that cannot be stored is a 503 and Ottu is not asked", func(t *testing.T) {
		f := newFixture()
		f.svc.WebhookURL = own
		f.store.fail["AddWaiter"] = errors.New("throttled by DynamoDB")
		_, err := f.svc.Inquire(ctx, Request{SessionID: "sess-1", Disclose: true, TaskToken: "token-3"})
		wantCode(t, err, problem.CodeStoreUnavailable)
		if f.ottu.count() != 0 {
			t.Fatal("Ottu was asked")
		}
	})
	for name, req := range map[string]Request{
		"a task token without disclosure is a 400":             {SessionID: "sess-1", TaskToken: "t"},
		"a task token with another disclosure URL is a 400":    {SessionID: "sess-1", TaskToken: "t", Disclose: true, DisclosureURL: "https://elsewhere.example.com/hook"},
		"a task token with no webhook of our own is a 400 too": {SessionID: "sess-1", TaskToken: "t", Disclose: true},
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture()
			if name != "a task token with no webhook of our own is a 400 too" {
				f.svc.WebhookURL = own
			}
			_, err := f.svc.Inquire(ctx, req)
			var p *problem.Error
			if !errors.As(err, &p) || !slices.Contains([]problem.Code{problem.CodeInvalidRequest, CodeDisclosureURLMissing, CodeDisclosureURLNotAllowed}, p.Code) || f.ottu.count() != 0 || len(f.store.waiters) != 0 {
				t.Fatalf("error %v after %d calls and %d waiters", err, f.ottu.count(), len(f.store.waiters))
			}
		})
	}
}

func TestStoreFailures(t *testing.T) {
	ctx := context.Background()
	t.Run("an answer that cannot be stored is still answered, marked unstored", func(t *testing.T) {
		f := newFixture()
		f.store.fail["Put"] = errors.New("DynamoDB down")
		res, err := f.svc.Inquire(ctx, Request{SessionID: "sess-1"})
		if err != nil || !res.Unstored || res.Source != txn.SourceInquiry {
			t.Fatalf("result %+v, %v", res, err)
		}
	})
	t.Run("a history that cannot be read means Ottu is asked", func(t *testing.T) {
		f := newFixture()
		f.store.fail["History"] = errors.New("DynamoDB down")
		res, err := f.svc.Inquire(ctx, Request{SessionID: "sess-1"})
		if err != nil || res.Source != txn.SourceInquiry || f.ottu.count() != 1 {
			t.Fatalf("result %+v, %v", res, err)
		}
	})
}

func TestRequestsNamingNoTransactionAreRefused(t *testing.T) {
	for name, req := range map[string]Request{
		"no id at all":                 {},
		"a session_id with a newline":  {SessionID: "a\nb"},
		"an order_no with a space pad": {OrderNo: " order-1"},
		"a session_id of 256 bytes":    {SessionID: strings.Repeat("s", 256)},
	} {
		t.Run(name+" is a 400 invalid_request", func(t *testing.T) {
			f := newFixture()
			_, err := f.svc.Inquire(context.Background(), req)
			wantCode(t, err, problem.CodeInvalidRequest)
		})
	}
}

func TestEachOutcomeIsObserved(t *testing.T) {
	f := newFixture()
	var outcomes []string
	f.svc.Observe = func(_ context.Context, outcome string, _ time.Duration) { outcomes = append(outcomes, outcome) }
	ctx := context.Background()
	_, _ = f.svc.Inquire(ctx, Request{SessionID: "sess-1"})
	_, _ = f.svc.Inquire(ctx, Request{SessionID: "sess-1"})
	_, _ = f.svc.Inquire(ctx, Request{})
	if want := []string{"inquiry", "stored", "invalid_request"}; !slices.Equal(outcomes, want) {
		t.Fatalf("outcomes %v, want %v", outcomes, want)
	}
}

func TestResults(t *testing.T) {
	ctx := context.Background()
	f := newFixture()
	r := &Results{Store: f.store}
	t.Run("nothing stored is a 404 not_found", func(t *testing.T) {
		_, err := r.Read(ctx, "sess-1", false)
		wantCode(t, err, problem.CodeNotFound)
	})
	if _, err := f.svc.Inquire(ctx, Request{SessionID: "sess-1"}); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Minute)
	d := txn.Entry{SessionID: "sess-1", OrderNo: "order-1", Source: txn.SourceDisclosure, ReceivedAt: f.clock.Now(),
		OttuTimestamp: f.clock.Now(), State: "attempted", Body: json.RawMessage(`{}`), Digest: "d1"}
	if _, err := f.store.Put(ctx, d); err != nil {
		t.Fatal(err)
	}
	t.Run("the current view is found by session_id and by order_no", func(t *testing.T) {
		for _, id := range []string{"sess-1", "order-1"} {
			st, err := r.Read(ctx, id, false)
			if err != nil || st.Current.Digest != "d1" || st.History != nil {
				t.Fatalf("%s: %+v, %v", id, st, err)
			}
		}
	})
	t.Run("the history lists every entry newest first", func(t *testing.T) {
		st, err := r.Read(ctx, "order-1", true)
		if err != nil || len(st.History) != 2 || st.History[0].Digest != "d1" || st.History[1].Source != txn.SourceInquiry {
			t.Fatalf("%+v, %v", st, err)
		}
	})
	t.Run("a store that cannot be read is a 503 store_unavailable", func(t *testing.T) {
		f.store.fail["Current"] = errors.New("down")
		defer delete(f.store.fail, "Current")
		_, err := r.Read(ctx, "sess-1", false)
		wantCode(t, err, problem.CodeStoreUnavailable)
	})
	t.Run("an id with a control character is a 400", func(t *testing.T) {
		_, err := r.Read(ctx, "a\x00b", false)
		wantCode(t, err, problem.CodeInvalidRequest)
	})
}
