package api

import (
	"context"
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/ottuops/ottu-lambda/dev/testkit"
	"github.com/ottuops/ottu-lambda/shared/webhook"
)

type recordingAwaiter struct{ got []webhook.AwaitRequest }

func (r *recordingAwaiter) Await(_ context.Context, req webhook.AwaitRequest) (*webhook.AwaitResult, error) {
	r.got = append(r.got, req)
	return &webhook.AwaitResult{Waiting: true}, nil
}

func TestFunctionInvoke(t *testing.T) {
	t.Run("the workflow's direct invocation registers its wait", func(t *testing.T) {
		var out testkit.Buffer
		aw := &recordingAwaiter{}
		f := &Function{Webhook: newWebhook(staticKey{key: webhookKey}, &out), Awaiter: aw}
		res, err := f.Invoke(context.Background(), json.RawMessage(`{"await_operation_notification":{"task_token":"tok","child_reference_number":"C1","amount":"4.000","timeout_seconds":10}}`))
		if err != nil || !res.(*webhook.AwaitResult).Waiting {
			t.Fatalf("Invoke = %v, %v", res, err)
		}
		want := []webhook.AwaitRequest{{TaskToken: "tok", ChildReferenceNumber: "C1", Amount: "4.000", TimeoutSeconds: 10}}
		if !reflect.DeepEqual(aw.got, want) {
			t.Errorf("awaited %+v, want %+v", aw.got, want)
		}
		if strings.Contains(out.String(), "tok") {
			t.Error("the task token was logged")
		}
	})
	t.Run("an API Gateway event is a delivery", func(t *testing.T) {
		var out testkit.Buffer
		aw := &recordingAwaiter{}
		f := &Function{Webhook: newWebhook(staticKey{key: webhookKey}, &out), Awaiter: aw}
		ev, err := os.ReadFile("testdata/apigw-webhook.json")
		if err != nil {
			t.Fatal(err)
		}
		res, err := f.Invoke(context.Background(), ev)
		if err != nil || len(aw.got) != 0 || !strings.Contains(string(mustJSON(t, res)), `"statusCode":200`) {
			t.Fatalf("Invoke = %s, %v", mustJSON(t, res), err)
		}
	})
	t.Run("anything else is an InvalidRequest the workflow can catch", func(t *testing.T) {
		var out testkit.Buffer
		f := &Function{Webhook: newWebhook(staticKey{key: webhookKey}, &out), Awaiter: &recordingAwaiter{}}
		_, err := f.Invoke(context.Background(), json.RawMessage(`{"hello":"world"}`))
		if got := reflect.TypeOf(err); got == nil || got.Elem().Name() != "InvalidRequest" {
			t.Fatalf("error %T %v, want InvalidRequest", err, err)
		}
	})
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
