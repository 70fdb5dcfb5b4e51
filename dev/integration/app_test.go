package integration_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ottuops/ottu-lambda/dev/sandbox"
	"github.com/ottuops/ottu-lambda/shared/operation"
	"github.com/ottuops/ottu-lambda/shared/operation/api"
	"github.com/ottuops/ottu-lambda/shared/operation/app"
	"github.com/ottuops/ottu-lambda/shared/ottu"
	"github.com/ottuops/ottu-lambda/shared/payment"
	"github.com/ottuops/ottu-lambda/shared/platform/boot"
	"github.com/ottuops/ottu-lambda/shared/platform/problem"
)

// TestResponseTable walks every row of the contract's operation response
// table through a real function against moto and the sandbox.
func TestResponseTable(t *testing.T) {
	s := newStack(t)
	ctx := context.Background()

	t.Run("a partial refund Ottu accepts answers 200 with Ottu's body", func(t *testing.T) {
		sid := paid(s, "10.000")
		resp := s.post(ctx, payment.Refund, "row-200", body(sid, "2.500"))
		if resp.StatusCode != http.StatusOK || resp.Headers["Tracking-Key"] != "row-200" || resp.Headers["X-Request-Id"] == "" {
			t.Fatalf("got %d %v %s", resp.StatusCode, resp.Headers, resp.Body)
		}
		var ottuBody ottu.OperationResponse
		if err := json.Unmarshal([]byte(resp.Body), &ottuBody); err != nil || ottuBody.Result != "success" || ottuBody.Amount != "2.500" {
			t.Fatalf("body is not Ottu's success: %s", resp.Body)
		}
		if n := len(s.children(sid)); n != 1 {
			t.Fatalf("%d children, want 1", n)
		}
	})

	t.Run("the same key and request again is replayed without calling Ottu", func(t *testing.T) {
		sid := paid(s, "10.000")
		first := s.post(ctx, payment.Refund, "row-replay", body(sid, "2.500"))
		second := s.post(ctx, payment.Refund, "row-replay", `{"amount": 2.5, "session_id": "`+sid+`"}`)
		if second.StatusCode != 200 || second.Headers["Idempotent-Replayed"] != "true" || second.Body != first.Body {
			t.Fatalf("replay: %d %v\n%s\nfirst: %s", second.StatusCode, second.Headers, second.Body, first.Body)
		}
		if n := len(s.children(sid)); n != 1 {
			t.Fatalf("%d children after a replay, want 1", n)
		}
	})

	t.Run("a malformed amount is a 400 and Ottu is never called", func(t *testing.T) {
		sid := paid(s, "10.000")
		resp := s.post(ctx, payment.Refund, "row-400", `{"session_id":"`+sid+`","amount":"2,5"}`)
		if p := problemOf(t, resp); resp.StatusCode != 400 || p.Code != problem.CodeInvalidAmount {
			t.Fatalf("got %d %+v", resp.StatusCode, p)
		}
		if n := len(s.children(sid)); n != 0 {
			t.Fatalf("%d children, want 0", n)
		}
	})

	t.Run("a transaction Ottu does not know is a 404", func(t *testing.T) {
		resp := s.post(ctx, payment.Refund, "row-404", body("no-such-session", "1.000"))
		if p := problemOf(t, resp); resp.StatusCode != 404 || p.Code != problem.CodeNotFound {
			t.Fatalf("got %d %+v", resp.StatusCode, p)
		}
	})

	t.Run("the same key while the first is in flight is a 409 with Retry-After", func(t *testing.T) {
		sid := paid(s, "10.000")
		s.fault(sandbox.Fault{Kind: sandbox.FaultLatency, LatencyMS: 1500, Operation: "refund"})
		done := make(chan events.APIGatewayV2HTTPResponse)
		go func() { done <- s.post(ctx, payment.Refund, "row-409", body(sid, "1.000")) }()
		waitFor(t, func() bool { return recordStatus(s, "row-409") == operation.StatusInProgress })
		resp := s.post(ctx, payment.Refund, "row-409", body(sid, "1.000"))
		if p := problemOf(t, resp); resp.StatusCode != 409 || p.Code != problem.CodeInProgress || resp.Headers["Retry-After"] == "" {
			t.Fatalf("got %d %v %+v", resp.StatusCode, resp.Headers, p)
		}
		if first := <-done; first.StatusCode != 200 {
			t.Fatalf("the first request ended %d: %s", first.StatusCode, first.Body)
		}
		if n := len(s.children(sid)); n != 1 {
			t.Fatalf("%d children, want 1", n)
		}
	})

	t.Run("a refund past the balance is a 422 carrying Ottu's reason", func(t *testing.T) {
		sid := paid(s, "10.000")
		for i, amount := range []string{"4.000", "4.000"} {
			if resp := s.post(ctx, payment.Refund, fmt.Sprintf("row-422-%d", i), body(sid, amount)); resp.StatusCode != 200 {
				t.Fatalf("refund %d: %d %s", i, resp.StatusCode, resp.Body)
			}
		}
		resp := s.post(ctx, payment.Refund, "row-422-2", body(sid, "4.000"))
		p := problemOf(t, resp)
		if resp.StatusCode != 422 || p.Code != problem.CodeOperationRejected || len(p.Ottu) == 0 || !strings.Contains(p.Detail, "Ottu rejected the refund") {
			t.Fatalf("got %d %+v", resp.StatusCode, p)
		}
		if rec := s.record("row-422-2"); rec.Status != operation.StatusFailed {
			t.Fatalf("record status %s, want failed", rec.Status)
		}
	})

	t.Run("a capture on a paid transaction is a 422", func(t *testing.T) {
		resp := s.post(ctx, payment.Capture, "row-422-capture", body(paid(s, "10.000"), "1.000"))
		if p := problemOf(t, resp); resp.StatusCode != 422 || p.Code != problem.CodeOperationRejected {
			t.Fatalf("got %d %+v", resp.StatusCode, p)
		}
	})

	t.Run("the same key with another amount is a 422 tracking_key_reused", func(t *testing.T) {
		sid := paid(s, "10.000")
		s.post(ctx, payment.Refund, "row-reused", body(sid, "1.000"))
		resp := s.post(ctx, payment.Refund, "row-reused", body(sid, "2.000"))
		if p := problemOf(t, resp); resp.StatusCode != 422 || p.Code != problem.CodeTrackingKeyReused {
			t.Fatalf("got %d %+v", resp.StatusCode, p)
		}
		if n := len(s.children(sid)); n != 1 {
			t.Fatalf("%d children, want 1", n)
		}
	})

	t.Run("a key Ottu holds for a refund of another amount is a 422 tracking_key_reused", func(t *testing.T) {
		sid := paid(s, "10.000")
		s.post(ctx, payment.Refund, "row-ottu-held", body(sid, "1.000"))
		// A different request whose record is gone (another deployment, or
		// past retention) but whose key Ottu still holds.
		other := paid(s, "10.000")
		resp := s.post(ctx, payment.Refund, "row-ottu-held-copy", body(other, "3.000"))
		if resp.StatusCode != 200 {
			t.Fatalf("setup: %d", resp.StatusCode)
		}
		s.deps.Service.Store = forgetful{s.deps.Service.Store, "row-ottu-held"}
		// Only an answer older than our claim is another operation's status:
		// this claim is made two minutes later (s.build below restores the
		// clock).
		s.deps.Service.Now = func() time.Time { return s.clock.Now().Add(2 * time.Minute) }
		resp = s.post(ctx, payment.Refund, "row-ottu-held", body(other, "3.000"))
		s.build("refund")
		if p := problemOf(t, resp); resp.StatusCode != 422 || p.Code != problem.CodeTrackingKeyReused {
			t.Fatalf("got %d %+v", resp.StatusCode, p)
		}
		if n := len(s.children(other)); n != 1 {
			t.Fatalf("%d children on the other transaction, want 1", n)
		}
	})

	t.Run("Ottu answering 5xx is a 502 ottu_unavailable", func(t *testing.T) {
		sid := paid(s, "10.000")
		s.fault(sandbox.Fault{Kind: sandbox.FaultError5xx, Status: 503})
		resp := s.post(ctx, payment.Refund, "row-502", body(sid, "1.000"))
		if p := problemOf(t, resp); resp.StatusCode != 502 || p.Code != problem.CodeOttuUnavailable {
			t.Fatalf("got %d %+v", resp.StatusCode, p)
		}
	})

	t.Run("Ottu refusing our credentials is a 502 ottu_auth that names no secret", func(t *testing.T) {
		s.rotateSecret(map[string]string{"base_url": s.ottuURL, "api_key": "wrong-key-LEAK"})
		s.build("refund")
		defer func() {
			s.rotateSecret(map[string]string{"base_url": s.ottuURL, "api_key": s.apiKey})
			s.build("refund")
		}()
		resp := s.post(ctx, payment.Refund, "row-auth", body(paid(s, "10.000"), "1.000"))
		if p := problemOf(t, resp); resp.StatusCode != 502 || p.Code != problem.CodeOttuAuth {
			t.Fatalf("got %d %+v", resp.StatusCode, p)
		}
		mustNotContain(t, resp.Body+s.logs.String(), "wrong-key-LEAK", s.apiKey)
	})

	t.Run("Ottu not answering in time is a 504 and a retry with the key does it once", func(t *testing.T) {
		sid := paid(s, "10.000")
		s.fault(sandbox.Fault{Kind: sandbox.FaultLatency, LatencyMS: 1500, Operation: "refund"})
		tctx, cancel := context.WithTimeout(ctx, time.Second)
		resp := s.post(tctx, payment.Refund, "row-504", body(sid, "1.000"))
		cancel()
		if p := problemOf(t, resp); resp.StatusCode != 504 || p.Code != problem.CodeOutcomeUnknown || resp.Headers["Retry-After"] != "5" {
			t.Fatalf("got %d %v %+v, want 504 with Retry-After 5 (the lease grace)", resp.StatusCode, resp.Headers, p)
		}
		if rec := s.record("row-504"); rec.Status != operation.StatusUnknown {
			t.Fatalf("record status %s, want unknown", rec.Status)
		}
		// Ottu finishes the first request after we gave up on it.
		waitFor(t, func() bool { return len(s.children(sid)) == 1 })
		if again := s.post(ctx, payment.Refund, "row-504", body(sid, "1.000")); again.StatusCode != 409 {
			t.Fatalf("a retry inside the grace period answered %d, want 409", again.StatusCode)
		}
		s.clock.Advance(time.Minute)
		again := s.post(ctx, payment.Refund, "row-504", body(sid, "1.000"))
		if again.StatusCode != 200 {
			t.Fatalf("retry: %d %s", again.StatusCode, again.Body)
		}
		if n := len(s.children(sid)); n != 1 {
			t.Fatalf("%d children, want 1", n)
		}
		if rec := s.record("row-504"); rec.Status != operation.StatusSucceeded || rec.Attempts != 2 {
			t.Fatalf("record %s after %d attempts", rec.Status, rec.Attempts)
		}
	})
}

// TestFiftyConcurrentRequestsMakeOneChild sends one refund 50 times at once
// with one key: Ottu does it once, and no caller sees an error other than 409.
func TestFiftyConcurrentRequestsMakeOneChild(t *testing.T) {
	s := newStack(t)
	sid := paid(s, "10.000")
	var wg sync.WaitGroup
	statuses := make(chan int, 50)
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses <- s.post(context.Background(), payment.Refund, "concurrent-1", body(sid, "1.000")).StatusCode
		}()
	}
	wg.Wait()
	close(statuses)
	counts := map[int]int{}
	for st := range statuses {
		counts[st]++
	}
	if counts[200] == 0 || counts[200]+counts[409] != 50 {
		t.Fatalf("statuses %v: want only 200 and 409", counts)
	}
	if n := len(s.children(sid)); n != 1 {
		t.Fatalf("%d children, want exactly 1", n)
	}
}

// TestDropAfterCommitThenRetryMakesOneChild: Ottu applies the refund but the
// answer never arrives; the retry with the same key gets the first result.
func TestDropAfterCommitThenRetryMakesOneChild(t *testing.T) {
	s := newStack(t)
	sid := paid(s, "10.000")
	s.fault(sandbox.Fault{Kind: sandbox.FaultDropAfterCommit, Operation: "refund"})
	first := s.post(context.Background(), payment.Refund, "dropped-1", body(sid, "3.000"))
	if p := problemOf(t, first); first.StatusCode != 504 || p.Code != problem.CodeOutcomeUnknown {
		t.Fatalf("first: %d %+v", first.StatusCode, p)
	}
	if !strings.Contains(problemOf(t, first).Detail, "connection to Ottu broke") {
		t.Fatalf("a cut connection is described as something else: %s", first.Body)
	}
	if rec := s.record("dropped-1"); rec.Status != operation.StatusUnknown || !rec.ExpiresAt.IsZero() {
		t.Fatalf("record %s expiring %s: an unknown outcome must not expire", rec.Status, rec.ExpiresAt)
	}
	early := s.post(context.Background(), payment.Refund, "dropped-1", body(sid, "3.000"))
	// The key is held for the lease grace (5 s here), rounded up to whole seconds.
	if p := problemOf(t, early); early.StatusCode != 409 || p.Code != problem.CodeOutcomePending || (early.Headers["Retry-After"] != "5" && early.Headers["Retry-After"] != "6") || !strings.Contains(p.Detail, "money may already have moved") {
		t.Fatalf("a retry while the key is held: %d %v %+v", early.StatusCode, early.Headers, p)
	}
	s.clock.Advance(time.Minute)
	retry := s.post(context.Background(), payment.Refund, "dropped-1", body(sid, "3.000"))
	if retry.StatusCode != 200 {
		t.Fatalf("retry: %d %s", retry.StatusCode, retry.Body)
	}
	if n := len(s.children(sid)); n != 1 {
		t.Fatalf("%d children, want exactly 1", n)
	}
	if rec := s.record("dropped-1"); rec.ExpiresAt.Sub(s.clock.Now()) < 29*24*time.Hour {
		t.Fatalf("after the outcome the record expires at %s, want retention after the outcome", rec.ExpiresAt)
	}
}

// crashingStore loses every outcome, as a function that dies between Ottu's
// answer and the outcome write would.
type crashingStore struct{ operation.Store }

func (crashingStore) Complete(context.Context, operation.Outcome) error {
	return errors.New("simulated crash: the process died before recording the outcome")
}

// forgetful hides one key's record, as if it had expired or lived in
// another deployment's table, while Ottu still holds the key.
type forgetful struct {
	operation.Store
	key string
}

func (f forgetful) Claim(ctx context.Context, c operation.Claim) (*operation.Record, error) {
	if c.TrackingKey == f.key {
		c.TrackingKey += "-forgotten"
		rec, err := f.Store.Claim(ctx, c)
		return rec, err
	}
	return f.Store.Claim(ctx, c)
}

func (f forgetful) Complete(ctx context.Context, o operation.Outcome) error {
	if o.TrackingKey == f.key {
		o.TrackingKey += "-forgotten"
	}
	return f.Store.Complete(ctx, o)
}

// TestCrashBeforeOutcomeWriteThenRetryMakesOneChild: the refund is done at
// Ottu but its record still says in progress; the retry waits out the lease,
// then asks Ottu with the same key and gets the first result.
func TestCrashBeforeOutcomeWriteThenRetryMakesOneChild(t *testing.T) {
	s := newStack(t)
	sid := paid(s, "10.000")
	s.deps.Service.Store = crashingStore{s.deps.Service.Store}
	s.post(context.Background(), payment.Refund, "crash-1", body(sid, "3.000"))
	if rec := s.record("crash-1"); rec.Status != operation.StatusInProgress {
		t.Fatalf("after the crash the record is %s, want in_progress", rec.Status)
	}

	s.build("refund") // a new execution environment
	early := s.post(context.Background(), payment.Refund, "crash-1", body(sid, "3.000"))
	if early.StatusCode != 409 {
		t.Fatalf("a retry while the lease holds answered %d, want 409", early.StatusCode)
	}
	s.clock.Advance(2 * time.Minute)
	retry := s.post(context.Background(), payment.Refund, "crash-1", body(sid, "3.000"))
	if retry.StatusCode != 200 {
		t.Fatalf("retry: %d %s", retry.StatusCode, retry.Body)
	}
	if n := len(s.children(sid)); n != 1 {
		t.Fatalf("%d children, want exactly 1", n)
	}
	if rec := s.record("crash-1"); rec.Status != operation.StatusSucceeded {
		t.Fatalf("record %s, want succeeded", rec.Status)
	}
}

// TestRotatedSecretIsPickedUpAfter401: the function cached one API key; the
// secret is rotated in Secrets Manager and Ottu starts refusing the old key.
func TestRotatedSecretIsPickedUpAfter401(t *testing.T) {
	s := newStack(t)
	oldKey := s.apiKey
	if resp := s.post(context.Background(), payment.Refund, "rotate-0", body(paid(s, "10.000"), "1.000")); resp.StatusCode != 200 {
		t.Fatalf("warm-up: %d %s", resp.StatusCode, resp.Body)
	}
	// Rotate: Ottu accepts only the new key, and the secret holds it.
	newKey := "rotated-" + oldKey
	s.sandbox.SetAPIKey(newKey)
	s.rotateSecret(map[string]string{"base_url": s.ottuURL, "api_key": newKey})
	s.clock.Advance(2 * time.Second) // past the secret cache's refresh floor, well inside its TTL

	sid := s.createTransaction(sandbox.TransactionSpec{Amount: "10.000", CurrencyCode: "KWD", State: "paid", PGCode: "mpgs"})
	resp := s.post(context.Background(), payment.Refund, "rotate-1", body(sid, "1.000"))
	if resp.StatusCode != 200 {
		t.Fatalf("after rotation: %d %s", resp.StatusCode, resp.Body)
	}
	mustNotContain(t, s.logs.String(), oldKey, newKey)
}

// TestEventsFixtures invokes each function's real handler with its sample
// events from events/, as `sam local invoke -e` would.
func TestEventsFixtures(t *testing.T) {
	files, err := filepath.Glob("../../events/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no events: %v", err)
	}
	// Operation events first, so the status event finds its record.
	var statusFiles []string
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		if strings.HasPrefix(name, "operation-status") {
			statusFiles = append(statusFiles, f)
			continue
		}
		if strings.HasPrefix(name, "inquiry") {
			t.Run(name+" is accepted by the real handler", func(t *testing.T) { checkInquiryEvent(t, name, f) })
			continue
		}
		if strings.HasPrefix(name, "webhook") {
			t.Run(name+" is accepted by the real handler", func(t *testing.T) { checkWebhookEvent(t, f) })
			continue
		}
		if strings.HasPrefix(name, "refund-workflow") || strings.HasPrefix(name, "refund-approval") {
			// The refund workflow's samples need Step Functions running the
			// workflow: cmd/local's TestEventSamplesRunInAnyOrder runs them
			// against the local stack.
			continue
		}
		t.Run(name+" is accepted by the real handler", func(t *testing.T) {
			s := newStack(t) // each event acts on the demo transactions afresh
			op, err := payment.ParseOperation(strings.SplitN(name, "-", 2)[0])
			if err != nil {
				t.Fatal(err)
			}
			payload, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			out, err := s.handler(op).Invoke(context.Background(), payload)
			if err != nil {
				t.Fatalf("%s: %v", reflect.TypeOf(err), err)
			}
			switch v := out.(type) {
			case events.APIGatewayV2HTTPResponse:
				if v.StatusCode != 200 {
					t.Fatalf("%d %s", v.StatusCode, v.Body)
				}
			case *api.DirectResult:
				if v.Result != "success" {
					t.Fatalf("result %+v", v)
				}
			default:
				t.Fatalf("unexpected %T", out)
			}
		})
	}
	for _, f := range statusFiles {
		t.Run(filepath.Base(f)+" reads the record of its key", func(t *testing.T) {
			s := newStack(t)
			var ev events.APIGatewayV2HTTPRequest
			b, _ := os.ReadFile(f)
			if err := json.Unmarshal(b, &ev); err != nil {
				t.Fatal(err)
			}
			// The local stack seeds this record at start; here a refund makes it.
			key := ev.PathParameters["tracking_key"]
			if resp := s.post(context.Background(), payment.Refund, key, body(paid(s, "10.000"), "1.000")); resp.StatusCode != 200 {
				t.Fatalf("refund: %d %s", resp.StatusCode, resp.Body)
			}
			h := &api.OperationStatus{Service: s.deps.Service}
			resp := h.HTTP(context.Background(), ev)
			if resp.StatusCode != 200 || !strings.Contains(resp.Body, `"status":"succeeded"`) {
				t.Fatalf("%d %s", resp.StatusCode, resp.Body)
			}
		})
	}
}

// TestDirectInvocationErrorsAreTyped checks the error types Step Functions
// matches, end to end.
func TestDirectInvocationErrorsAreTyped(t *testing.T) {
	s := newStack(t)
	sid := paid(s, "10.000")
	tests := []struct {
		name    string
		payload string
		want    string
	}{
		{"a refund past the balance is OperationRejected", `{"session_id":"` + sid + `","amount":"11.000","tracking_key":"d-1"}`, "OperationRejected"},
		{"an event without a key is InvalidRequest", `{"session_id":"` + sid + `"}`, "InvalidRequest"},
		{"a reused key is TrackingKeyReused", `{"session_id":"` + sid + `","amount":"1.000","tracking_key":"d-1"}`, "TrackingKeyReused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.handler(payment.Refund).Invoke(context.Background(), json.RawMessage(tt.payload))
			if err == nil {
				t.Fatal("no error")
			}
			if got := reflect.TypeOf(err).Elem().Name(); got != tt.want {
				t.Fatalf("error type %s, want %s (%v)", got, tt.want, err)
			}
		})
	}
}

// TestDynamoDBRequestsPerPath pins the cost of each path in requests.
func TestDynamoDBRequestsPerPath(t *testing.T) {
	s := newStack(t)
	sid := paid(s, "10.000")
	s.dynamo.Reset()
	s.post(context.Background(), payment.Refund, "cost-1", body(sid, "1.000"))
	if c := s.dynamo.Counts(); c.UpdateItem != 2 || c.GetItem != 0 {
		t.Fatalf("first success cost %+v, want 2 writes and no read", c)
	}
	s.dynamo.Reset()
	s.post(context.Background(), payment.Refund, "cost-1", body(sid, "1.000"))
	if c := s.dynamo.Counts(); c.Total() != 1 {
		t.Fatalf("replay cost %+v, want 1 request", c)
	}
}

func TestBuildRefusesMissingConfiguration(t *testing.T) {
	_, err := app.Build(context.Background(), "refund", func(string) string { return "" }, boot.Options{})
	if err == nil || !strings.Contains(err.Error(), "OTTU_API_SECRET_ID") || !strings.Contains(err.Error(), "TRACKING_KEYS_TABLE") {
		t.Fatalf("err = %v, want both missing variables named", err)
	}
}

func recordStatus(s *stack, key string) operation.Status {
	rec, err := s.deps.Service.Store.Get(context.Background(), key)
	if err != nil {
		return ""
	}
	return rec.Status
}

// waitFor polls cond for up to 10 s; it is a wait, not a timed assertion.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for range 200 {
		if cond() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("condition not reached in 10s")
}

// TestOperationStatus reads records, and refreshes a queued refund that has
// since settled at Ottu.
func TestOperationStatus(t *testing.T) {
	s := newStack(t)
	ctx := context.Background()
	status := func(key, query string) events.APIGatewayV2HTTPResponse {
		t.Helper()
		ev := events.APIGatewayV2HTTPRequest{PathParameters: map[string]string{"tracking_key": key}, QueryStringParameters: map[string]string{}}
		if query != "" {
			ev.QueryStringParameters["refresh"] = query
		}
		ev.RequestContext.HTTP.Method = "GET"
		return (&api.OperationStatus{Service: s.deps.Service}).HTTP(ctx, ev)
	}
	type view struct {
		Status    string  `json:"status"`
		Amount    *string `json:"amount"`
		SessionID *string `json:"session_id"`
		OrderNo   *string `json:"order_no"`
		Attempts  int     `json:"attempts"`
		Ottu      struct {
			Result string `json:"result"`
		} `json:"ottu"`
		Inquiry *struct {
			State       string `json:"state"`
			TrackingKey string `json:"tracking_key"`
		} `json:"ottu_inquiry"`
	}
	read := func(resp events.APIGatewayV2HTTPResponse) view {
		t.Helper()
		var v view
		if resp.StatusCode != 200 || json.Unmarshal([]byte(resp.Body), &v) != nil {
			t.Fatalf("%d %s", resp.StatusCode, resp.Body)
		}
		return v
	}

	sid := paid(s, "10.000")
	s.fault(sandbox.Fault{Kind: sandbox.FaultQueueRefund, Settle: sandbox.SettleSuccess, SettleAfterMS: 3_600_000})
	if resp := s.post(ctx, payment.Refund, "status-queued", body(sid, "2.500")); resp.StatusCode != 200 || !strings.Contains(resp.Body, `"result":"queued"`) {
		t.Fatalf("queued refund: %d %s", resp.StatusCode, resp.Body)
	}

	t.Run("a record shows the request, its status and Ottu's last body", func(t *testing.T) {
		v := read(status("status-queued", ""))
		if v.Status != "succeeded" || v.Amount == nil || *v.Amount != "2.500" || v.SessionID == nil || *v.SessionID != sid || v.OrderNo != nil || v.Attempts != 1 || v.Ottu.Result != "queued" {
			t.Fatalf("record %+v", v)
		}
	})
	t.Run("refresh asks Ottu read-only and shows the settled refund beside the record", func(t *testing.T) {
		if _, err := s.sandbox.Settle(sid, sandbox.SettleRequest{TrackingKey: "status-queued", Result: sandbox.SettleSuccess}); err != nil {
			t.Fatal(err)
		}
		v := read(status("status-queued", "true"))
		if v.Status != "succeeded" || v.Inquiry == nil || v.Inquiry.State != "refunded" || v.Inquiry.TrackingKey != "status-queued" {
			t.Fatalf("refreshed record %+v inquiry %+v", v, v.Inquiry)
		}
		if n := len(s.children(sid)); n != 1 {
			t.Fatalf("%d children after a refresh, want 1", n)
		}
	})
	t.Run("refresh of a failed record shows it and sends nothing", func(t *testing.T) {
		s.post(ctx, payment.Refund, "status-failed", body(sid, "99.000"))
		v := read(status("status-failed", "true"))
		if v.Status != "failed" || v.Inquiry != nil {
			t.Fatalf("refreshed failed record %+v inquiry %+v", v, v.Inquiry)
		}
		if n := len(s.children(sid)); n != 1 {
			t.Fatalf("%d children, want 1", n)
		}
	})
	t.Run("refresh of a key Ottu does not hold never performs the refund", func(t *testing.T) {
		// A succeeded record whose key Ottu does not know (another account,
		// another base_url): re-sending it would be a new refund.
		other := paid(s, "10.000")
		resp := s.post(ctx, payment.Refund, "status-elsewhere-src", body(other, "1.000"))
		if resp.StatusCode != 200 {
			t.Fatalf("setup refund: %d %s", resp.StatusCode, resp.Body)
		}
		c := operation.Claim{TrackingKey: "status-elsewhere", Operation: "refund", SessionID: other, Fingerprint: "fp-elsewhere",
			LeaseID: "lease-elsewhere", Now: s.clock.Now(), LeaseUntil: s.clock.Now().Add(time.Minute), ExpiresAt: s.clock.Now().Add(time.Hour)}
		if _, err := s.deps.Service.Store.Claim(ctx, c); err != nil {
			t.Fatal(err)
		}
		if err := s.deps.Service.Store.Complete(ctx, operation.Outcome{TrackingKey: c.TrackingKey, LeaseID: c.LeaseID, Status: operation.StatusSucceeded,
			OttuStatus: 200, OttuBody: json.RawMessage(`{"result":"success","operation":"refund"}`), Now: s.clock.Now(), ExpiresAt: c.ExpiresAt}); err != nil {
			t.Fatal(err)
		}
		v := read(status("status-elsewhere", "true"))
		if v.Status != "succeeded" || v.Inquiry != nil {
			t.Fatalf("record %+v inquiry %+v", v, v.Inquiry)
		}
		if n := len(s.children(other)); n != 1 {
			t.Fatalf("%d children after the refresh, want 1: a read moved money", n)
		}
	})
	t.Run("refresh settles an unknown outcome from Ottu's inquiry", func(t *testing.T) {
		other := paid(s, "10.000")
		s.fault(sandbox.Fault{Kind: sandbox.FaultDropAfterCommit, Operation: "refund"})
		if resp := s.post(ctx, payment.Refund, "status-dropped", body(other, "1.000")); resp.StatusCode != 504 {
			t.Fatalf("dropped refund: %d %s", resp.StatusCode, resp.Body)
		}
		v := read(status("status-dropped", "true"))
		if v.Status != "succeeded" || v.Inquiry == nil || v.Inquiry.State != "refunded" {
			t.Fatalf("record %+v inquiry %+v", v, v.Inquiry)
		}
		if rec := s.record("status-dropped"); rec.Status != operation.StatusSucceeded || rec.ExpiresAt.IsZero() {
			t.Fatalf("stored %s expiring %s: want succeeded with a TTL again", rec.Status, rec.ExpiresAt)
		}
		if n := len(s.children(other)); n != 1 {
			t.Fatalf("%d children, want 1", n)
		}
	})
	t.Run("refresh leaves an unknown outcome unknown when Ottu shows nothing", func(t *testing.T) {
		other := paid(s, "10.000")
		s.fault(sandbox.Fault{Kind: sandbox.FaultError5xx, Operation: "refund"})
		if resp := s.post(ctx, payment.Refund, "status-5xx", body(other, "1.000")); resp.StatusCode != 502 {
			t.Fatalf("refund against a 5xx: %d %s", resp.StatusCode, resp.Body)
		}
		if v := read(status("status-5xx", "true")); v.Status != "unknown" {
			t.Fatalf("record %+v", v)
		}
		if n := len(s.children(other)); n != 0 {
			t.Fatalf("%d children, want 0", n)
		}
	})
	t.Run("an unknown key is a 404", func(t *testing.T) {
		if resp := status("status-none", ""); resp.StatusCode != 404 || problemOf(t, resp).Code != problem.CodeNotFound {
			t.Fatalf("got %d %s", resp.StatusCode, resp.Body)
		}
	})
	t.Run("refresh with a value other than true or false is a 400", func(t *testing.T) {
		if resp := status("status-queued", "yes"); resp.StatusCode != 400 {
			t.Fatalf("got %d %s", resp.StatusCode, resp.Body)
		}
	})
}

// TestUnknownOutcomeOfAnInternalOperation: Ottu keeps no key for cancel, so
// the 504 tells the merchant to check the state rather than promising a
// replay.
func TestUnknownOutcomeOfAnInternalOperation(t *testing.T) {
	s := newStack(t)
	s.fault(sandbox.Fault{Kind: sandbox.FaultDropAfterCommit, Operation: "cancel"})
	resp := s.post(context.Background(), payment.Cancel, "cancel-dropped", body("demo-pending", ""))
	p := problemOf(t, resp)
	if resp.StatusCode != 504 || p.Code != problem.CodeOutcomeUnknown || !strings.Contains(p.Detail, "check the transaction's state") {
		t.Fatalf("got %d %+v", resp.StatusCode, p)
	}
}

// TestAPIv1NeverResendsAnUnknownOutcome: Ottu's Tracking-Key is documented
// for API v2 only, so on v1 an unknown outcome is not sent again by itself.
func TestAPIv1NeverResendsAnUnknownOutcome(t *testing.T) {
	s := newStack(t)
	s.rotateSecret(map[string]string{"base_url": s.ottuURL, "username": "operator", "password": "operator-pass"})
	s.build("refund", "OTTU_API_VERSION", "1")
	sid := s.createTransaction(sandbox.TransactionSpec{OrderNo: "v1-order-1", Amount: "10.000", CurrencyCode: "KWD", State: "paid", PGCode: "mpgs"})

	t.Run("a v1 refund by order number succeeds and its record never expires", func(t *testing.T) {
		if resp := s.post(context.Background(), payment.Refund, "v1-ok", `{"order_no":"v1-order-1","amount":"1.000"}`); resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, resp.Body)
		}
		// Without Ottu's key replay, the record is what stops a second
		// refund under this key, so it is kept for good.
		if rec := s.record("v1-ok"); rec.Status != operation.StatusSucceeded || !rec.ExpiresAt.IsZero() {
			t.Fatalf("record %s expiring %s, want succeeded with no expiry", rec.Status, rec.ExpiresAt)
		}
	})
	t.Run("after a dropped answer the retry is not sent, even after the grace", func(t *testing.T) {
		s.fault(sandbox.Fault{Kind: sandbox.FaultDropAfterCommit, Operation: "refund"})
		first := s.post(context.Background(), payment.Refund, "v1-dropped", `{"order_no":"v1-order-1","amount":"2.000"}`)
		p := problemOf(t, first)
		if first.StatusCode != 504 || !strings.Contains(p.Detail, "new Tracking-Key") || first.Headers["Retry-After"] != "" {
			t.Fatalf("first: %d %v %+v", first.StatusCode, first.Headers, p)
		}
		// One instruction: check, then a new key; never "retry with the same key".
		if strings.Contains(p.Detail, "same Tracking-Key") || strings.Contains(p.Detail, "same key") {
			t.Fatalf("the v1 answer tells the caller two things: %s", p.Detail)
		}
		s.clock.Advance(time.Hour)
		retry := s.post(context.Background(), payment.Refund, "v1-dropped", `{"order_no":"v1-order-1","amount":"2.000"}`)
		if p := problemOf(t, retry); retry.StatusCode != 504 || p.Code != problem.CodeOutcomeUnknown {
			t.Fatalf("retry: %d %+v", retry.StatusCode, p)
		}
		if n := len(s.children(sid)); n != 2 {
			t.Fatalf("%d children, want 2 (the first refund and the dropped one, never a third)", n)
		}
		if rec := s.record("v1-dropped"); !rec.ExpiresAt.IsZero() {
			t.Fatalf("the unknown outcome expires at %s; it must never free its key silently", rec.ExpiresAt)
		}
	})
	t.Run("an answer naming another amount holds the key as unknown, since on v1 it answered our own request", func(t *testing.T) {
		other := s.createTransaction(sandbox.TransactionSpec{OrderNo: "v1-order-2", Amount: "10.000", CurrencyCode: "KWD", State: "paid", PGCode: "mpgs"})
		if resp := s.post(context.Background(), payment.Refund, "v1-mismatch", `{"order_no":"v1-order-2","amount":"1.000"}`); resp.StatusCode != 200 {
			t.Fatalf("first: %d %s", resp.StatusCode, resp.Body)
		}
		// Our record is gone (another table); Ottu answers the key's first
		// refund of 1.000 to a request for 2.000.
		store := s.deps.Service.Store
		s.deps.Service.Store = forgetful{store, "v1-mismatch"}
		defer func() { s.deps.Service.Store = store }()
		resp := s.post(context.Background(), payment.Refund, "v1-mismatch", `{"order_no":"v1-order-2","amount":"2.000"}`)
		if p := problemOf(t, resp); resp.StatusCode != 504 || p.Code != problem.CodeOutcomeUnknown || !strings.Contains(p.Detail, "money may already have moved") {
			t.Fatalf("got %d %+v", resp.StatusCode, p)
		}
		if rec := s.record("v1-mismatch-forgotten"); rec.Status != operation.StatusUnknown {
			t.Fatalf("record %s: a mismatched v1 answer must not free the key", rec.Status)
		}
		if n := len(s.children(other)); n > 2 {
			t.Fatalf("%d children", n)
		}
	})
	t.Run("after a crash before the outcome write the retry is not sent, even long after the lease", func(t *testing.T) {
		store := s.deps.Service.Store
		s.deps.Service.Store = crashingStore{store}
		s.post(context.Background(), payment.Refund, "v1-crash", `{"order_no":"v1-order-1","amount":"3.000"}`)
		s.deps.Service.Store = store
		if rec := s.record("v1-crash"); rec.Status != operation.StatusInProgress || !rec.ExpiresAt.IsZero() {
			t.Fatalf("after the crash the record is %s expiring %s, want in_progress with no expiry", rec.Status, rec.ExpiresAt)
		}
		s.clock.Advance(48 * time.Hour)
		retry := s.post(context.Background(), payment.Refund, "v1-crash", `{"order_no":"v1-order-1","amount":"3.000"}`)
		if p := problemOf(t, retry); retry.StatusCode != 504 || p.Code != problem.CodeOutcomeUnknown {
			t.Fatalf("retry: %d %+v", retry.StatusCode, p)
		}
		if n := len(s.children(sid)); n != 3 {
			t.Fatalf("%d children, want 3 (never a second refund of 3.000)", n)
		}
	})
}

// hungStore never answers, like a DynamoDB endpoint that accepts the
// connection and then hangs; without a deadline it would block forever.
type hungStore struct{ operation.Store }

var errNoDeadline = errors.New("the store was called without a deadline")

func (hungStore) Claim(ctx context.Context, _ operation.Claim) (*operation.Record, error) {
	if _, ok := ctx.Deadline(); !ok {
		return nil, errNoDeadline
	}
	<-ctx.Done()
	return nil, ctx.Err()
}

func (hungStore) Get(ctx context.Context, _ string) (*operation.Record, error) {
	if _, ok := ctx.Deadline(); !ok {
		return nil, errNoDeadline
	}
	<-ctx.Done()
	return nil, ctx.Err()
}

// TestHungStoreAnswers503BeforeOttuIsCalled: each store call has its own
// short deadline, so a hung table answers store_unavailable, not API
// Gateway's bare 502 after 29 s, and nothing reaches Ottu.
func TestHungStoreAnswers503BeforeOttuIsCalled(t *testing.T) {
	s := newStack(t)
	sid := paid(s, "10.000")
	s.deps.Service.Store = hungStore{s.deps.Service.Store}
	s.deps.Service.StoreTimeout = 200 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 29*time.Second) // API Gateway's limit
	defer cancel()
	resp := s.post(ctx, payment.Refund, "hung-1", body(sid, "1.000"))
	p := problemOf(t, resp)
	if resp.StatusCode != 503 || p.Code != problem.CodeStoreUnavailable || resp.Headers["Retry-After"] == "" || !strings.Contains(p.Detail, "no money moved") {
		t.Fatalf("got %d %v %+v", resp.StatusCode, resp.Headers, p)
	}
	if ctx.Err() != nil {
		t.Fatal("the answer came only at API Gateway's limit")
	}
	if n := len(s.children(sid)); n != 0 {
		t.Fatalf("%d children, want 0", n)
	}
	status := (&api.OperationStatus{Service: s.deps.Service}).HTTP(ctx, events.APIGatewayV2HTTPRequest{
		PathParameters: map[string]string{"tracking_key": "hung-1"},
		RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GET"}}})
	if status.StatusCode != 503 {
		t.Fatalf("status read against a hung store: %d %s", status.StatusCode, status.Body)
	}
}
