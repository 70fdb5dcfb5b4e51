package webhook_test

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ottuops/ottu-lambda/shared/ottu"
	"github.com/ottuops/ottu-lambda/shared/platform/problem"
	"github.com/ottuops/ottu-lambda/shared/txn"
	"github.com/ottuops/ottu-lambda/shared/webhook"
)

func TestOperationNotificationsAreToldApartByShape(t *testing.T) {
	cases := []struct {
		name string
		body string
		want bool
	}{
		{"a notification naming its operation and child is one", `{"operation":"refund","amount":"1.000","txn":{"state":"refunded"}}`, true},
		{"a notification whose operation is null is one", `{"operation":null,"amount":"1.000","reference_number":"R"}`, true},
		{"Ottu's older shape with pymt_txn_pk is one", `{"amount":"1.000","pymt_txn_pk":12,"source":"pg"}`, true},
		{"a payment callback with a session_id is not", `{"session_id":"s","operation":"refund","state":"paid"}`, false},
		{"a payment callback with a state is not", `{"order_no":"o","state":"paid","txn":{}}`, false},
		{"a body naming no operation is not", `{"amount":"1.000","reference_number":"R"}`, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, err := ottu.ParseCallback([]byte(tc.body), "application/json")
			if err != nil {
				t.Fatal(err)
			}
			if got := webhook.IsOperationNotification(f); got != tc.want {
				t.Errorf("IsOperationNotification = %v, want %v", got, tc.want)
			}
		})
	}
}

// signedNotification re-signs a fixture after edit changed its fields.
func signedNotification(t *testing.T, name string, edit func(ottu.Fields)) []byte {
	t.Helper()
	f, err := ottu.ParseCallback(fixture(t, name), "application/json")
	if err != nil {
		t.Fatal(err)
	}
	edit(f)
	f["signature"] = ottu.Sign(f, testKey)
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestReceiveOperationNotification(t *testing.T) {
	refund := fixture(t, "operation-refund.json")
	tamperedAmount := bytes.Replace(refund, []byte(`"amount": "2.000"`), []byte(`"amount": "20.000"`), 1)
	unsigned := bytes.Replace(refund, []byte(`"signature"`), []byte(`"signed_by"`), 1)
	noRef := signedNotification(t, "operation-refund.json", func(f ottu.Fields) { delete(f, "reference_number") })
	cases := []struct {
		name   string
		body   []byte
		want   webhook.Outcome
		code   problem.Code
		key    string
		stored int
	}{
		{name: "a signed refund notification is stored under its payment's reference_number", body: refund,
			want: webhook.Accepted, key: txn.RefKey("PARENTREF0001"), stored: 1},
		{name: "a signed notification of the older shape is stored under its pymt_txn_pk", body: fixture(t, "operation-legacy.json"),
			want: webhook.Accepted, key: txn.LegacyKey("4411"), stored: 1},
		{name: "a notification whose signed amount was changed is refused and nothing is stored", body: tamperedAmount,
			want: webhook.RejectedSignature, code: webhook.CodeInvalidSignature},
		{name: "an unsigned notification is refused and nothing is stored", body: unsigned,
			want: webhook.RejectedSignature, code: webhook.CodeInvalidSignature},
		{name: "a signed notification naming no payment is malformed", body: noRef,
			want: webhook.Malformed, code: webhook.CodeInvalidCallback},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness()
			res, err := h.receive(tc.body, "application/json")
			if tc.code != "" {
				if problem.CodeOf(err) != tc.code || webhook.OutcomeOf(err) != tc.want {
					t.Fatalf("Receive = %v, %v; want code %s", res, err, tc.code)
				}
			} else {
				if err != nil || res.Outcome != tc.want || res.Kind != webhook.KindOperation {
					t.Fatalf("Receive = %+v, %v; want %s operation", res, err, tc.want)
				}
				if res.Entry.SessionID != tc.key || res.Entry.Source != txn.SourceOperation {
					t.Errorf("filed under %q as %s, want %q as %s", res.Entry.SessionID, res.Entry.Source, tc.key, txn.SourceOperation)
				}
				if strings.Contains(string(res.Entry.Body), "signature") {
					t.Errorf("the stored body keeps the signature: %s", res.Entry.Body)
				}
			}
			if n := h.store.count(); n != tc.stored {
				t.Errorf("%d entries stored, want %d", n, tc.stored)
			}
			if len(h.store.current) != 0 {
				t.Errorf("a notification moved a current view: %v", h.store.current)
			}
		})
	}
}

func TestOperationNotificationShowsWhatTheTimelineNeeds(t *testing.T) {
	h := newHarness()
	res, err := h.receive(fixture(t, "operation-refund.json"), "application/json")
	if err != nil {
		t.Fatal(err)
	}
	op, ok := txn.OperationOf(res.Entry.Body)
	if !ok {
		t.Fatal("the stored body is not a notification")
	}
	want := txn.Operation{Operation: "refund", Amount: "2.000", ReferenceNumber: "PARENTREF0001", Result: "success",
		Source: "input", ChildReferenceNumber: "CHILDREF0001", ChildState: "refunded", CurrencyCode: "KWD"}
	got := op
	got.Initiator = nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("operation = %+v\nwant %+v", got, want)
	}
	if !strings.Contains(string(op.Initiator), `"username":"ops"`) {
		t.Errorf("initiator = %s, want the dashboard user", op.Initiator)
	}
	if !res.Entry.OttuTimestamp.Equal(time.Date(2026, 11, 22, 10, 0, 5, 0, time.UTC)) {
		t.Errorf("Ottu's timestamp = %v", res.Entry.OttuTimestamp)
	}
}

func TestOperationNotificationDeliveredTwiceIsStoredOnce(t *testing.T) {
	h := newHarness()
	first, err := h.receive(fixture(t, "operation-refund.json"), "application/json")
	if err != nil || first.Outcome != webhook.Accepted {
		t.Fatalf("first delivery = %+v, %v", first, err)
	}
	again, err := h.receive(fixture(t, "operation-refund.json"), "application/json")
	if err != nil || again.Outcome != webhook.Duplicate {
		t.Fatalf("second delivery = %+v, %v; want duplicate", again, err)
	}
	if n := h.store.count(); n != 1 {
		t.Errorf("%d entries stored, want 1", n)
	}
}

func TestOperationNotificationResumesTheWorkflowWaitingForIt(t *testing.T) {
	cases := []struct {
		name        string
		waiter      txn.Waiter
		edit        func(ottu.Fields)
		wantResumes int
	}{
		{name: "a waiter for the child with the signed amount is resumed",
			waiter: txn.Waiter{SessionID: txn.ChildKey("CHILDREF0001"), Amount: "2", TaskToken: "tok"}, wantResumes: 1},
		{name: "a waiter expecting another amount is not resumed",
			waiter: txn.Waiter{SessionID: txn.ChildKey("CHILDREF0001"), Amount: "1.000", TaskToken: "tok"}},
		{name: "a waiter for another child is not resumed",
			waiter: txn.Waiter{SessionID: txn.ChildKey("CHILDREF0002"), Amount: "2.000", TaskToken: "tok"}},
		{name: "a notification whose signed result is not success resumes nothing",
			waiter: txn.Waiter{SessionID: txn.ChildKey("CHILDREF0001"), Amount: "2.000", TaskToken: "tok"},
			edit:   func(f ottu.Fields) { f["result"] = "failed" }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness()
			h.store.add(tc.waiter)
			body := fixture(t, "operation-refund.json")
			if tc.edit != nil {
				body = signedNotification(t, "operation-refund.json", tc.edit)
			}
			res, err := h.receive(body, "application/json")
			if err != nil {
				t.Fatal(err)
			}
			if n := h.res.calls("tok"); n != tc.wantResumes || res.Resumed != tc.wantResumes {
				t.Fatalf("resumed %d times (result says %d), want %d", n, res.Resumed, tc.wantResumes)
			}
			if tc.wantResumes == 0 {
				return
			}
			var out webhook.NotificationOutput
			if err := json.Unmarshal(h.res.sent["tok"][0], &out); err != nil {
				t.Fatal(err)
			}
			if !out.Notification || out.Result != "success" || out.Amount != "2.000" || out.ChildReferenceNumber != "CHILDREF0001" {
				t.Errorf("output = %+v", out)
			}
			if _, err := h.receive(body, "application/json"); err != nil || h.res.calls("tok") != 1 {
				t.Errorf("a repeated delivery resumed the workflow again (%d calls, %v)", h.res.calls("tok"), err)
			}
		})
	}
}

type nudges struct {
	mu   sync.Mutex
	refs []string
}

func (n *nudges) Nudge(_ context.Context, ref string, _ time.Time) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.refs = append(n.refs, ref)
	return nil
}

func TestOperationNotificationNudgesTheReconciler(t *testing.T) {
	h := newHarness()
	n := &nudges{}
	h.svc.Nudge = n
	if _, err := h.receive(fixture(t, "operation-refund.json"), "application/json"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.receive(fixture(t, "paid.json"), "application/json"); err != nil {
		t.Fatal(err)
	}
	if len(n.refs) != 1 || n.refs[0] != "PARENTREF0001" {
		t.Errorf("nudged %v, want the notification's payment only", n.refs)
	}
}

func (m *memStore) History(_ context.Context, id string, _ int) ([]txn.Entry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := append([]txn.Entry(nil), m.byChild[id]...)
	for _, e := range m.entries {
		if e.SessionID == id {
			out = append(out, e)
		}
	}
	if len(out) == 0 {
		return nil, txn.ErrNotFound
	}
	// Newest first, as the DynamoDB store answers.
	slices.SortFunc(out, func(a, b txn.Entry) int { return b.ReceivedAt.Compare(a.ReceivedAt) })
	return out, nil
}

func (m *memStore) AddWaiter(_ context.Context, w txn.Waiter) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.waiters[w.ID()]; !ok {
		m.waiters[w.ID()] = &memWaiter{w: w, status: txn.WaiterPending}
	}
	return nil
}

func TestOperationNotificationMustBeOfTheWaitingWorkflowsPayment(t *testing.T) {
	cases := []struct {
		name        string
		paymentRef  string // the reference_number the waiting payment's stored disclosure carries; "" none stored
		conflictRef string // a newer conflict entry's (another payment's callback re-filed under the session)
		wantResumes int
	}{
		{"a notification of the waiting workflow's payment resumes it", "PARENTREF0001", "", 1},
		{"a notification whose signed reference_number is another payment's does not", "OTHERREF", "", 0},
		{"while the payment's reference_number is not known, the signed amount decides", "", "", 1},
		{"another payment's callback re-filed under the session (a conflict) does not lend it its reference", "OTHERREF", "PARENTREF0001", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness()
			h.svc.Waits = h.store
			if tc.paymentRef != "" {
				body := []byte(`{"session_id":"pay-1","state":"paid","reference_number":"` + tc.paymentRef + `"}`)
				if _, err := h.store.Put(context.Background(), txn.Entry{SessionID: "pay-1", Source: txn.SourceDisclosure, State: "paid", Body: body, Digest: txn.Digest(body), ReceivedAt: time.Now()}); err != nil {
					t.Fatal(err)
				}
			}
			if tc.conflictRef != "" {
				body := []byte(`{"session_id":"pay-1","state":"paid","reference_number":"` + tc.conflictRef + `"}`)
				if _, err := h.store.Put(context.Background(), txn.Entry{SessionID: "pay-1", Source: txn.SourceDisclosure, State: "paid", Body: body, Digest: txn.Digest(body),
					ReceivedAt: time.Now().Add(time.Minute), Conflict: "its signed identity is another payment's"}); err != nil {
					t.Fatal(err)
				}
			}
			h.store.add(txn.Waiter{SessionID: txn.ChildKey("CHILDREF0001"), Amount: "2.000", Payment: "pay-1", TaskToken: "tok"})
			if _, err := h.receive(fixture(t, "operation-refund.json"), "application/json"); err != nil {
				t.Fatal(err)
			}
			if n := h.res.calls("tok"); n != tc.wantResumes {
				t.Errorf("resumed %d times, want %d", n, tc.wantResumes)
			}
		})
	}
}

func TestAwaitOperationNotification(t *testing.T) {
	req := webhook.AwaitRequest{TaskToken: "tok", ChildReferenceNumber: "CHILDREF0001", Amount: "2.000", TimeoutSeconds: 60}
	t.Run("a wait registered before the notification is resumed by its delivery", func(t *testing.T) {
		h := newHarness()
		h.svc.Waits = h.store
		got, err := h.svc.Await(context.Background(), req)
		if err != nil || !got.Waiting || got.Resumed {
			t.Fatalf("Await = %+v, %v; want waiting", got, err)
		}
		if _, err := h.receive(fixture(t, "operation-refund.json"), "application/json"); err != nil {
			t.Fatal(err)
		}
		if n := h.res.calls("tok"); n != 1 {
			t.Errorf("resumed %d times, want 1", n)
		}
	})
	t.Run("a notification that arrived before the wait resumes it at once", func(t *testing.T) {
		h := newHarness()
		h.svc.Waits = h.store
		if _, err := h.receive(fixture(t, "operation-refund.json"), "application/json"); err != nil {
			t.Fatal(err)
		}
		got, err := h.svc.Await(context.Background(), req)
		if err != nil || !got.Resumed {
			t.Fatalf("Await = %+v, %v; want resumed", got, err)
		}
		if n := h.res.calls("tok"); n != 1 {
			t.Errorf("resumed %d times, want 1", n)
		}
		if _, err := h.receive(fixture(t, "operation-refund.json"), "application/json"); err != nil || h.res.calls("tok") != 1 {
			t.Errorf("a repeated delivery resumed it again (%d, %v)", h.res.calls("tok"), err)
		}
	})
	t.Run("an earlier notification of another amount does not resume it", func(t *testing.T) {
		h := newHarness()
		h.svc.Waits = h.store
		if _, err := h.receive(fixture(t, "operation-refund.json"), "application/json"); err != nil {
			t.Fatal(err)
		}
		other := req
		other.Amount = "1.000"
		got, err := h.svc.Await(context.Background(), other)
		if err != nil || !got.Waiting || h.res.calls("tok") != 0 {
			t.Fatalf("Await = %+v, %v (%d resumes); want waiting", got, err, h.res.calls("tok"))
		}
	})
	t.Run("a request without a child reference or amount is refused", func(t *testing.T) {
		h := newHarness()
		h.svc.Waits = h.store
		for _, bad := range []webhook.AwaitRequest{
			{TaskToken: "tok", Amount: "2.000", TimeoutSeconds: 60},
			{TaskToken: "tok", ChildReferenceNumber: "C", Amount: "-1", TimeoutSeconds: 60},
			{ChildReferenceNumber: "C", Amount: "1", TimeoutSeconds: 60},
		} {
			if _, err := h.svc.Await(context.Background(), bad); problem.CodeOf(err) != problem.CodeInvalidRequest {
				t.Errorf("Await(%+v) = %v, want invalid_request", bad, err)
			}
		}
	})
}
