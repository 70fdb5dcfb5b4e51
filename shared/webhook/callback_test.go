package webhook_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ottuops/ottu-lambda/shared/ottu"
	"github.com/ottuops/ottu-lambda/shared/platform/obs"
	"github.com/ottuops/ottu-lambda/shared/platform/problem"
	"github.com/ottuops/ottu-lambda/shared/txn"
	"github.com/ottuops/ottu-lambda/shared/webhook"
	"github.com/ottuops/ottu-lambda/shared/webhook/api"
)

// testKey signed every fixture in testdata.
const testKey = "test-webhook-key-5d1e"

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// memStore is txn.Store's rules in memory: one entry per digest, the
// current view by OrderKey, waiters claimed once.
type memStore struct {
	mu       sync.Mutex
	bindings map[string]txn.Identity
	entries  map[string]txn.Entry
	current  map[string]txn.Entry
	waiters  map[string]*memWaiter
	failPut  error
	// byChild holds the notifications filed under a child (txn.ChildKey).
	byChild map[string][]txn.Entry
	// failListing fails Waiters.
	failListing error
}

type memWaiter struct {
	w      txn.Waiter
	status txn.WaiterStatus
}

func newMemStore() *memStore {
	return &memStore{bindings: map[string]txn.Identity{}, entries: map[string]txn.Entry{}, current: map[string]txn.Entry{}, waiters: map[string]*memWaiter{}}
}

func (m *memStore) Put(_ context.Context, e txn.Entry) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failPut != nil {
		return false, m.failPut
	}
	if txn.IsNotificationKey(e.SessionID) && !strings.HasPrefix(e.SessionID, txn.RefKey("")) && !strings.HasPrefix(e.SessionID, txn.LegacyKey("")) {
		if m.byChild == nil {
			m.byChild = map[string][]txn.Entry{}
		}
		for _, had := range m.byChild[e.SessionID] {
			if had.Digest == e.Digest {
				return false, nil
			}
		}
		m.byChild[e.SessionID] = append(m.byChild[e.SessionID], e)
		return true, nil
	}
	_, dup := m.entries[e.Digest]
	if !dup {
		m.entries[e.Digest] = e
	}
	id := e.SessionID
	if id == "" {
		id = e.OrderNo
	}
	if e.Conflict != "" || e.Source == txn.SourceOperation {
		return !dup, nil // a conflict, or a notification: the history only
	}
	if cur, ok := m.current[id]; !ok || txn.OrderKey(cur) < txn.OrderKey(e) {
		m.current[id] = e
	}
	return !dup, nil
}

func (m *memStore) Bind(_ context.Context, session string, id txn.Identity, authoritative bool) (txn.Identity, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if bound, ok := m.bindings[session]; (ok && !authoritative) || id.IsZero() {
		return bound, nil
	}
	m.bindings[session] = id
	return id, nil
}

func (m *memStore) FirstReceived(_ context.Context, e txn.Entry) (time.Time, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if first, ok := m.entries[e.Digest]; ok {
		return first.ReceivedAt, nil
	}
	return time.Time{}, txn.ErrNotFound
}

func (m *memStore) Waiters(_ context.Context, id string) ([]txn.Waiter, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failListing != nil {
		return nil, m.failListing
	}
	var out []txn.Waiter
	for _, w := range m.waiters {
		if w.status == txn.WaiterPending && (w.w.SessionID == id || (w.w.SessionID == "" && w.w.OrderNo == id)) {
			out = append(out, w.w)
		}
	}
	return out, nil
}

func (m *memStore) ClaimWaiter(_ context.Context, w txn.Waiter, _ time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	mw, ok := m.waiters[w.ID()]
	if !ok || mw.status != txn.WaiterPending {
		return txn.ErrClaimed
	}
	mw.status = txn.WaiterResuming
	return nil
}

func (m *memStore) FinishWaiter(_ context.Context, w txn.Waiter, status txn.WaiterStatus, _ time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	mw, ok := m.waiters[w.ID()]
	if !ok || mw.status != txn.WaiterResuming {
		return txn.ErrClaimed
	}
	mw.status = status
	return nil
}

func (m *memStore) add(w txn.Waiter) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.waiters[w.ID()] = &memWaiter{w: w, status: txn.WaiterPending}
}

func (m *memStore) status(token string) txn.WaiterStatus {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.waiters[txn.Waiter{TaskToken: token}.ID()].status
}

func (m *memStore) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.entries)
}

// keys is a webhook secret: key is what a fresh read gives, cached what
// the cache holds; reads counts fresh reads.
type keys struct {
	mu            sync.Mutex
	key, cached   string
	err, freshErr error
	reads         int
}

func (k *keys) WebhookKey(_ context.Context, refresh bool) (string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.err != nil {
		return "", k.err
	}
	if refresh || k.cached == "" {
		k.reads++
		if k.freshErr != nil {
			return "", k.freshErr
		}
		k.cached = k.key
	}
	return k.cached, nil
}

// resumer records SendTaskSuccess calls; errs answers by token.
type resumer struct {
	mu     sync.Mutex
	failed map[string]string
	sent   map[string][][]byte
	errs   map[string]error
	delay  time.Duration
}

func newResumer() *resumer {
	return &resumer{failed: map[string]string{}, sent: map[string][][]byte{}, errs: map[string]error{}}
}

func (r *resumer) SendTaskSuccess(_ context.Context, token string, output []byte) error {
	time.Sleep(r.delay)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.errs[token]; err != nil {
		return err
	}
	r.sent[token] = append(r.sent[token], output)
	return nil
}

func (r *resumer) SendTaskFailure(_ context.Context, token, errorName, _ string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failed[token] = errorName
	return nil
}

func (r *resumer) calls(token string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.sent[token])
}

type harness struct {
	svc   *webhook.Service
	store *memStore
	keys  *keys
	res   *resumer
	logs  *bytes.Buffer
}

func newHarness() *harness {
	h := &harness{store: newMemStore(), keys: &keys{key: testKey}, res: newResumer(), logs: &bytes.Buffer{}}
	h.svc = &webhook.Service{Keys: h.keys, Store: h.store, Resumer: h.res, Retention: 30 * 24 * time.Hour,
		Now: func() time.Time { return time.Date(2026, 11, 22, 10, 0, 6, 0, time.UTC) }}
	return h
}

func (h *harness) receive(body []byte, contentType string) (*webhook.Result, error) {
	ctx := obs.With(context.Background(), obs.NewLogger(h.logs, slog.LevelDebug, "webhook"))
	return h.svc.Receive(ctx, body, contentType)
}

func TestReceive(t *testing.T) {
	paid := fixture(t, "paid.json")
	tampered := bytes.Replace(paid, []byte(`"amount": "10.000"`), []byte(`"amount": "10.001"`), 1)
	unsigned := bytes.Replace(paid, []byte(`"signature"`), []byte(`"signed_by"`), 1)
	oversized := append(bytes.TrimSuffix(bytes.TrimSpace(paid), []byte("}")), []byte(`,"pad":"`+strings.Repeat("x", webhook.MaxBodyBytes)+`"}`)...)
	noIDs := func() []byte {
		f, _ := ottu.ParseCallback([]byte(`{"amount":"1.000","state":"paid"}`), "application/json")
		f["signature"] = ottu.Sign(f, testKey)
		b, _ := json.Marshal(f)
		return b
	}()
	cases := []struct {
		name        string
		body        []byte
		contentType string
		want        webhook.Outcome
		code        problem.Code
		scheme      ottu.Scheme
		stored      int
	}{
		{name: "a signed JSON callback is accepted and stored", body: paid, contentType: "application/json",
			want: webhook.Accepted, scheme: ottu.SchemeStandard, stored: 1},
		{name: "a signed form-encoded callback is accepted and stored", body: fixture(t, "paid.form"), contentType: "application/x-www-form-urlencoded; charset=utf-8",
			want: webhook.Accepted, scheme: ottu.SchemeStandard, stored: 1},
		{name: "a subscription callback signed by the subscription scheme is accepted", body: fixture(t, "subscription.json"), contentType: "application/json",
			want: webhook.Accepted, scheme: ottu.SchemeSubscription, stored: 1},
		{name: "a callback without a Content-Type is read as JSON", body: paid,
			want: webhook.Accepted, scheme: ottu.SchemeStandard, stored: 1},
		{name: "a tampered callback is rejected and nothing is stored", body: tampered, contentType: "application/json",
			want: webhook.RejectedSignature, code: webhook.CodeInvalidSignature},
		{name: "an unsigned callback is rejected and nothing is stored", body: unsigned, contentType: "application/json",
			want: webhook.RejectedSignature, code: webhook.CodeInvalidSignature},
		{name: "a body over 256 KiB is too large", body: oversized, contentType: "application/json",
			want: webhook.TooLarge, code: problem.CodeBodyTooLarge},
		{name: "a body that is not JSON is malformed", body: []byte("<html>"), contentType: "application/json",
			want: webhook.Malformed, code: webhook.CodeInvalidCallback},
		{name: "a JSON list is malformed", body: []byte(`[{"session_id":"x"}]`), contentType: "application/json",
			want: webhook.Malformed, code: webhook.CodeInvalidCallback},
		{name: "an empty body is malformed", body: []byte("  "), contentType: "application/json",
			want: webhook.Malformed, code: webhook.CodeInvalidCallback},
		{name: "a body that is not UTF-8 is malformed", body: []byte("{\"session_id\":\"\xff\"}"), contentType: "application/json",
			want: webhook.Malformed, code: webhook.CodeInvalidCallback},
		{name: "a form value that is not UTF-8 is malformed", body: []byte("session_id=%ff&signature=ab"), contentType: "application/x-www-form-urlencoded",
			want: webhook.Malformed, code: webhook.CodeInvalidCallback},
		{name: "a signed callback naming no transaction is malformed", body: noIDs, contentType: "application/json",
			want: webhook.Malformed, code: webhook.CodeInvalidCallback},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness()
			res, err := h.receive(tc.body, tc.contentType)
			if tc.code != "" {
				if problem.CodeOf(err) != tc.code || webhook.OutcomeOf(err) != tc.want {
					t.Fatalf("Receive = %v, %v; want code %s", res, err, tc.code)
				}
			} else if err != nil || res.Outcome != tc.want || res.Scheme != tc.scheme {
				t.Fatalf("Receive = %+v, %v; want %s by the %s scheme", res, err, tc.want, tc.scheme)
			}
			if n := h.store.count(); n != tc.stored {
				t.Errorf("%d entries stored, want %d", n, tc.stored)
			}
		})
	}
}

func TestReceiveBuildsTheEntry(t *testing.T) {
	cases := []struct {
		name, fixture, contentType string
		want                       txn.Entry
	}{
		{name: "a JSON callback is filed under its session_id with Ottu's timestamp", fixture: "paid.json", contentType: "application/json",
			want: txn.Entry{SessionID: "cb-session-7", OrderNo: "ORD-7", State: "paid", Result: "success",
				OttuTimestamp: time.Date(2026, 11, 22, 10, 0, 5, 0, time.UTC)}},
		{name: "a form callback becomes the JSON object of its fields", fixture: "paid.form", contentType: "application/x-www-form-urlencoded",
			want: txn.Entry{SessionID: "cb-form-1", OrderNo: "ORD-FORM-1", State: "paid", Result: "success",
				OttuTimestamp: time.Date(2026, 11, 22, 11, 0, 0, 0, time.UTC)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness()
			res, err := h.receive(fixture(t, tc.fixture), tc.contentType)
			if err != nil {
				t.Fatal(err)
			}
			e := res.Entry
			if e.SessionID != tc.want.SessionID || e.OrderNo != tc.want.OrderNo || e.State != tc.want.State ||
				e.Result != tc.want.Result || !e.OttuTimestamp.Equal(tc.want.OttuTimestamp) || e.Source != txn.SourceDisclosure {
				t.Errorf("entry %+v", e)
			}
			var body map[string]any
			if err := json.Unmarshal(e.Body, &body); err != nil || body["session_id"] != tc.want.SessionID {
				t.Errorf("body %s is not the callback as a JSON object: %v", e.Body, err)
			}
			if e.Digest != txn.Digest(e.Body) || e.ExpiresAt.Sub(e.ReceivedAt) != 30*24*time.Hour {
				t.Errorf("digest %s, expiry %s after receipt", e.Digest, e.ExpiresAt.Sub(e.ReceivedAt))
			}
		})
	}
	t.Run("numbers keep the text Ottu sent", func(t *testing.T) {
		h := newHarness()
		res, err := h.receive(fixture(t, "paid.json"), "application/json")
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(res.Entry.Body, []byte(`"remaining_amount":10.000`)) {
			t.Errorf("body %s", res.Entry.Body)
		}
	})
	t.Run("a timestamp Ottu did not write as YYYY-MM-DD HH:MM:SS is left out, not refused", func(t *testing.T) {
		f, _ := ottu.ParseCallback([]byte(`{"session_id":"cb-ts","state":"paid","timestamp_utc":"yesterday"}`), "application/json")
		f["signature"] = ottu.Sign(f, testKey)
		b, _ := json.Marshal(f)
		res, err := newHarness().receive(b, "application/json")
		if err != nil || !res.Entry.OttuTimestamp.IsZero() {
			t.Fatalf("%+v, %v", res, err)
		}
	})
}

func TestDeliveredAgain(t *testing.T) {
	t.Run("a repeated delivery is a duplicate and stored once", func(t *testing.T) {
		h := newHarness()
		for i, want := range []webhook.Outcome{webhook.Accepted, webhook.Duplicate, webhook.Duplicate} {
			res, err := h.receive(fixture(t, "paid.json"), "application/json")
			if err != nil || res.Outcome != want {
				t.Fatalf("delivery %d: %+v, %v; want %s", i+1, res, err, want)
			}
		}
		if n := h.store.count(); n != 1 {
			t.Errorf("%d entries, want 1", n)
		}
	})
	t.Run("the same callback re-indented is the same delivery", func(t *testing.T) {
		h := newHarness()
		var compact bytes.Buffer
		_ = json.Compact(&compact, fixture(t, "paid.json"))
		if _, err := h.receive(fixture(t, "paid.json"), "application/json"); err != nil {
			t.Fatal(err)
		}
		res, err := h.receive(compact.Bytes(), "application/json")
		if err != nil || res.Outcome != webhook.Duplicate {
			t.Fatalf("%+v, %v", res, err)
		}
	})
	t.Run("an older callback arriving after a newer one is stored but the current view keeps the newer", func(t *testing.T) {
		h := newHarness()
		for _, name := range []string{"paid.json", "attempted.json"} {
			if res, err := h.receive(fixture(t, name), "application/json"); err != nil || res.Outcome != webhook.Accepted {
				t.Fatalf("%s: %+v, %v", name, res, err)
			}
		}
		if cur := h.store.current["cb-session-7"]; cur.State != "paid" || h.store.count() != 2 {
			t.Errorf("current %s with %d entries; want paid with 2", cur.State, h.store.count())
		}
	})
}

func TestWebhookKey(t *testing.T) {
	paid := fixture(t, "paid.json")
	cases := []struct {
		name  string
		keys  *keys
		want  problem.Code // "" : accepted
		reads int
	}{
		{name: "a callback signed with a rotated key is accepted after one fresh read of the secret",
			keys: &keys{key: testKey, cached: "the-old-key"}, reads: 1},
		{name: "a wrong signature reads the secret once more and is then rejected",
			keys: &keys{key: "another-key"}, want: webhook.CodeInvalidSignature, reads: 2},
		{name: "a secret that cannot be read answers key unavailable, never a bad signature",
			keys: &keys{err: errors.New("AccessDeniedException: not authorized")}, want: webhook.CodeWebhookKeyUnavailable},
		{name: "a secret that cannot be read again after a failed signature answers key unavailable",
			keys: &keys{cached: "the-old-key", freshErr: errors.New("ResourceNotFoundException")}, want: webhook.CodeWebhookKeyUnavailable, reads: 1},
		{name: "an empty key answers key unavailable", keys: &keys{key: ""}, want: webhook.CodeWebhookKeyUnavailable, reads: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness()
			h.keys = tc.keys
			h.svc.Keys = h.keys
			res, err := h.receive(paid, "application/json")
			if problem.CodeOf(err) != tc.want {
				t.Fatalf("Receive = %+v, %v; want code %q", res, err, tc.want)
			}
			if tc.want != "" && h.store.count() != 0 {
				t.Errorf("stored %d entries", h.store.count())
			}
			if h.keys.reads != tc.reads {
				t.Errorf("%d fresh reads of the secret, want %d", h.keys.reads, tc.reads)
			}
			if tc.want != "" && api.Codes.StatusOf(tc.want) >= 500 && api.Codes.StatusOf(tc.want) != 503 {
				t.Errorf("status %d", api.Codes.StatusOf(tc.want))
			}
		})
	}
}

func TestStoreFailure(t *testing.T) {
	h := newHarness()
	h.store.failPut = errors.New("RequestTimeout")
	_, err := h.receive(fixture(t, "paid.json"), "application/json")
	if problem.CodeOf(err) != webhook.CodeCallbackNotStored || api.Codes.StatusOf(webhook.CodeCallbackNotStored) != 503 {
		t.Fatalf("Receive: %v", err)
	}
}

func TestWaitingWorkflows(t *testing.T) {
	paid := fixture(t, "paid.json")
	waiter := func(session, order, token string) txn.Waiter {
		return txn.Waiter{SessionID: session, OrderNo: order, TaskToken: token}
	}
	t.Run("a waiting workflow is resumed once with the callback as output, however often it is delivered", func(t *testing.T) {
		h := newHarness()
		h.store.add(waiter("cb-session-7", "ORD-7", "tok-a"))
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() {
				if _, err := h.receive(paid, "application/json"); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if n := h.res.calls("tok-a"); n != 1 {
			t.Fatalf("%d SendTaskSuccess calls, want 1", n)
		}
		var out map[string]any
		if err := json.Unmarshal(h.res.sent["tok-a"][0], &out); err != nil || out["state"] != "paid" || out["session_id"] != "cb-session-7" {
			t.Errorf("output %s", h.res.sent["tok-a"][0])
		}
		if s := h.store.status("tok-a"); s != txn.WaiterResumed {
			t.Errorf("status %s", s)
		}
	})
	t.Run("a workflow waiting by order_no alone is resumed", func(t *testing.T) {
		h := newHarness()
		h.store.add(waiter("", "ORD-7", "tok-order"))
		res, err := h.receive(paid, "application/json")
		if err != nil || res.Resumed != 1 || h.res.calls("tok-order") != 1 {
			t.Fatalf("%+v, %v", res, err)
		}
	})
	t.Run("an expired or used token is recorded as gone and the callback is still accepted", func(t *testing.T) {
		h := newHarness()
		h.store.add(waiter("cb-session-7", "", "tok-gone"))
		h.res.errs["tok-gone"] = fmt.Errorf("%w: TaskTimedOut", webhook.ErrTaskGone)
		res, err := h.receive(paid, "application/json")
		if err != nil || res.Outcome != webhook.Accepted || res.Gone != 1 {
			t.Fatalf("%+v, %v", res, err)
		}
		if s := h.store.status("tok-gone"); s != txn.WaiterGone {
			t.Errorf("status %s", s)
		}
		if !strings.Contains(h.logs.String(), "expired or was already used") {
			t.Errorf("no log line about the gone token:\n%s", h.logs)
		}
	})
	t.Run("a transient failure leaves the workflow pending and a repeated delivery resumes it", func(t *testing.T) {
		h := newHarness()
		h.store.add(waiter("cb-session-7", "", "tok-retry"))
		h.res.errs["tok-retry"] = errors.New("ThrottlingException")
		res, err := h.receive(paid, "application/json")
		if err != nil || res.Outcome != webhook.Accepted || res.Retry != 1 {
			t.Fatalf("first: %+v, %v", res, err)
		}
		if s := h.store.status("tok-retry"); s != txn.WaiterPending {
			t.Fatalf("status %s after a transient failure, want pending", s)
		}
		delete(h.res.errs, "tok-retry")
		res, err = h.receive(paid, "application/json")
		if err != nil || res.Outcome != webhook.Duplicate || res.Resumed != 1 || h.store.status("tok-retry") != txn.WaiterResumed {
			t.Fatalf("repeat: %+v, %v", res, err)
		}
	})
	t.Run("waiters that cannot be listed do not fail the delivery", func(t *testing.T) {
		h := newHarness()
		h.store.failListing = errors.New("ProvisionedThroughputExceededException")
		res, err := h.receive(paid, "application/json")
		if err != nil || res.Outcome != webhook.Accepted || res.Retry == 0 {
			t.Fatalf("%+v, %v", res, err)
		}
	})
	t.Run("a rejected callback resumes nothing", func(t *testing.T) {
		h := newHarness()
		h.store.add(waiter("cb-session-7", "", "tok-forged"))
		forged := bytes.Replace(paid, []byte(`"state": "paid"`), []byte(`"state": "refunded"`), 1)
		if _, err := h.receive(forged, "application/json"); problem.CodeOf(err) != webhook.CodeInvalidSignature {
			t.Fatal(err)
		}
		if n := h.res.calls("tok-forged"); n != 0 {
			t.Errorf("%d resumes", n)
		}
	})
}

// TestNothingSecretLeaks: neither the webhook key nor a task token appears
// in an error, a problem detail or a log line.
func TestNothingSecretLeaks(t *testing.T) {
	h := newHarness()
	h.store.add(txn.Waiter{SessionID: "cb-session-7", TaskToken: "tok-SECRET-7f3a"})
	h.res.errs["tok-SECRET-7f3a"] = errors.New("ServiceUnavailable")
	var answers []string
	for _, keys := range []*keys{{key: testKey}, {key: "whk-SECRET-other"}, {err: errors.New("denied")}} {
		h.keys, h.svc.Keys = keys, keys
		_, err := h.receive(fixture(t, "paid.json"), "application/json")
		if err != nil {
			doc, _ := api.Codes.Document(err)
			answers = append(answers, err.Error(), doc.Detail)
		}
	}
	all := h.logs.String() + strings.Join(answers, "\n")
	for _, secret := range []string{testKey, "whk-SECRET-other", "tok-SECRET-7f3a"} {
		if strings.Contains(all, secret) {
			t.Errorf("%q leaked:\n%s", secret[:6], all)
		}
	}
}
