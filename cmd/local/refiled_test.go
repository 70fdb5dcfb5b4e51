package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/ottuops/ottu-lambda/dev/localstack"
	"github.com/ottuops/ottu-lambda/dev/sandbox"
)

// refiledCallbackWalk is the attack of issue 12 on the running stack: a
// genuine signed callback of one transaction (the attacker's own) re-posted
// with the session_id of a transaction whose workflow waits in moto's Step
// Functions. session_id is not signed, so the body verifies; it is kept as
// a conflict, changes nothing, and resumes nothing: the workflow waits on,
// and is resumed by the victim's own disclosure when it comes.
func refiledCallbackWalk(ctx context.Context, t *testing.T, stack *localstack.Stack) {
	api := stack.URLs().API
	for _, spec := range []sandbox.TransactionSpec{
		{SessionID: "refile-attacker", OrderNo: "refile-attacker-order", Amount: "9.000", CurrencyCode: "KWD", State: sandbox.StatePaid, PGCode: "kpay",
			AgeMinutes: 15, CustomerEmail: "attacker@example.com"},
		{SessionID: "refile-victim", OrderNo: "refile-victim-order", Amount: "5.000", CurrencyCode: "KWD", State: sandbox.StateAttempted, PGCode: "kpay",
			AgeMinutes: 15, CustomerEmail: "victim@example.com"},
		{SessionID: "refile-other", Amount: "1.000", CurrencyCode: "KWD", State: sandbox.StateAttempted, PGCode: "kpay", AgeMinutes: 15},
	} {
		if _, err := stack.Sandbox().CreateTransaction(spec); err != nil {
			t.Fatal(err)
		}
	}

	// The attacker holds a genuine signed callback of its own transaction.
	if a := walkDo(ctx, t, http.MethodPost, api+"/inquiry", `{"session_id":"refile-attacker","disclose_to_merchant":true}`); a.status != http.StatusOK {
		t.Fatalf("the attacker's inquiry: %d %s", a.status, a.raw)
	}
	genuine := deliveredCallback(t, stack, "refile-attacker")

	// The victim's own disclosure is held back (with the next one) so that
	// the workflow is still waiting when the re-filed callback arrives.
	if err := stack.Sandbox().AddFault(sandbox.Fault{Kind: sandbox.FaultReorderCallbacks, Count: 2}); err != nil {
		t.Fatal(err)
	}
	client, execution := startWaitForDisclosure(ctx, t, stack, "walk-refiled-callback", "refile-victim")
	// The victim's inquiry answer (Ottu's own, which binds its session_id)
	// is stored once the workflow's task has asked.
	waitUntil(t, 30*time.Second, "the victim's inquiry answer is stored", func() bool {
		a := walkDo(ctx, t, http.MethodGet, api+"/transactions/refile-victim/inquiry", "")
		return a.status == http.StatusOK && a.body["source"] == "inquiry"
	})

	var forged map[string]any
	if err := json.Unmarshal(genuine, &forged); err != nil {
		t.Fatal(err)
	}
	forged["session_id"] = "refile-victim"
	body, _ := json.Marshal(forged)

	t.Run("the re-filed callback verifies, and is answered 200 conflict", func(t *testing.T) {
		a := walkDo(ctx, t, http.MethodPost, api+"/webhooks/ottu", string(body))
		if a.status != http.StatusOK || a.body["status"] != "conflict" {
			t.Fatalf("%d %s", a.status, a.raw)
		}
	})
	t.Run("it changes nothing: the victim's current view is its own", func(t *testing.T) {
		a := walkDo(ctx, t, http.MethodGet, api+"/transactions/refile-victim/inquiry", "")
		if a.status != http.StatusOK || a.body["order_no"] != "refile-victim-order" || a.body["state"] != sandbox.StateAttempted {
			t.Fatalf("%d %s", a.status, a.raw)
		}
	})
	t.Run("it is kept in the victim's history, flagged, without its signature", func(t *testing.T) {
		a := walkDo(ctx, t, http.MethodGet, api+"/transactions/refile-victim/inquiry?history=true", "")
		if !strings.Contains(a.raw, `"conflict":"session_id refile-victim is bound to order_no \"refile-victim-order\"`) || strings.Contains(a.raw, "signature") {
			t.Fatalf("%d %s", a.status, a.raw)
		}
	})
	t.Run("it resumes nothing: the workflow still waits", func(t *testing.T) {
		time.Sleep(time.Second)
		out, err := client.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: execution})
		if err != nil || out.Status != sfntypes.ExecutionStatusRunning {
			t.Fatalf("execution %v, %v; want it still running", out.Status, err)
		}
	})
	t.Run("the victim's own disclosure resumes the workflow with the victim's summary", func(t *testing.T) {
		// A second disclosure releases the two held back.
		if a := walkDo(ctx, t, http.MethodPost, api+"/inquiry", `{"session_id":"refile-other","disclose_to_merchant":true}`); a.status != http.StatusOK {
			t.Fatalf("%d %s", a.status, a.raw)
		}
		var out *sfn.DescribeExecutionOutput
		waitUntil(t, 30*time.Second, "the execution ends", func() bool {
			var err error
			out, err = client.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: execution})
			return err == nil && out.Status != sfntypes.ExecutionStatusRunning
		})
		var summary map[string]any
		if out.Status != sfntypes.ExecutionStatusSucceeded || json.Unmarshal([]byte(aws.ToString(out.Output)), &summary) != nil ||
			summary["order_no"] != "refile-victim-order" || summary["session_id"] != "refile-victim" {
			t.Fatalf("execution %s, output %s", out.Status, aws.ToString(out.Output))
		}
		if strings.Contains(aws.ToString(out.Output), "@example.com") || strings.Contains(aws.ToString(out.Output), "signature") {
			t.Errorf("the output holds customer data or the signature: %s", aws.ToString(out.Output))
		}
	})
}

// deliveredCallback is the body of the first callback the sandbox
// delivered for session, as Ottu signed it.
func deliveredCallback(t *testing.T, stack *localstack.Stack, session string) []byte {
	t.Helper()
	var payload []byte
	waitUntil(t, 10*time.Second, "the sandbox delivers "+session+"'s callback", func() bool {
		tx, _ := stack.Sandbox().Transaction(session)
		for _, cb := range tx.Callbacks {
			if cb.Outcome == sandbox.OutcomeDelivered {
				payload = cb.Payload
				return true
			}
		}
		return false
	})
	return payload
}

func waitUntil(t *testing.T, limit time.Duration, what string, done func() bool) {
	t.Helper()
	for deadline := time.Now().Add(limit); !done(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
	}
}
