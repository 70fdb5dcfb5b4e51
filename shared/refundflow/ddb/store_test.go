package ddb

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/ottuops/ottu-lambda/dev/testkit"
	"github.com/ottuops/ottu-lambda/shared/refundflow"
)

func newStore(t *testing.T) *Store {
	t.Helper()
	m := testkit.SharedMoto(t)
	client := dynamodb.NewFromConfig(m.AWSConfig())
	table := testkit.UniqueName("approvals")
	if err := testkit.CreateTable(context.Background(), client, "RefundApprovalsTable", table); err != nil {
		t.Fatal(err)
	}
	return New(client, table)
}

const (
	requester = "arn:aws:iam::123456789012:user/requester"
	approver  = "arn:aws:iam::123456789012:user/approver"
)

func pending(id string, now time.Time) refundflow.Approval {
	return refundflow.Approval{WorkflowID: id, Status: refundflow.ApprovalPending, TaskToken: "token-" + id, TrackingKey: "refund-workflow-" + id,
		Amount: "75.000", Threshold: "50.000", Why: "above", RequestedAt: now, Deadline: now.Add(time.Minute), ExpiresAt: now.Add(time.Hour),
		RequestedBy: requester}
}

func TestApprovalStore(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)

	t.Run("a stored approval reads back as written", func(t *testing.T) {
		a := pending("wf-read", now)
		if err := s.Put(ctx, a); err != nil {
			t.Fatal(err)
		}
		got, err := s.Get(ctx, "wf-read")
		if err != nil || got.TaskToken != a.TaskToken || got.Status != refundflow.ApprovalPending || !got.Deadline.Equal(a.Deadline) || got.Amount != "75.000" {
			t.Fatalf("got %+v, %v", got, err)
		}
	})
	t.Run("of 20 decisions at once exactly one is recorded", func(t *testing.T) {
		if err := s.Put(ctx, pending("wf-race", now)); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		won, refused := 0, 0
		for i := range 20 {
			wg.Go(func() {
				status := refundflow.ApprovalApproved
				if i%2 == 1 {
					status = refundflow.ApprovalRejected
				}
				_, err := s.Decide(ctx, "wf-race", status, "", approver, now)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					won++
				case errors.Is(err, refundflow.ErrApprovalNotPending):
					refused++
				default:
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if won != 1 || refused != 19 {
			t.Fatalf("%d decisions recorded, %d refused; want 1 and 19", won, refused)
		}
	})
	t.Run("a decision after the deadline is refused, with the approval as it is", func(t *testing.T) {
		if err := s.Put(ctx, pending("wf-late", now)); err != nil {
			t.Fatal(err)
		}
		a, err := s.Decide(ctx, "wf-late", refundflow.ApprovalApproved, "", approver, now.Add(2*time.Minute))
		if !errors.Is(err, refundflow.ErrApprovalNotPending) || a == nil || a.Status != refundflow.ApprovalPending {
			t.Fatalf("got %+v, %v", a, err)
		}
	})
	t.Run("a decision for a workflow with no approval is not found", func(t *testing.T) {
		if _, err := s.Decide(ctx, "wf-none", refundflow.ApprovalApproved, "", approver, now); !errors.Is(err, refundflow.ErrApprovalNotFound) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("a new request replaces a pending approval but never a decided one", func(t *testing.T) {
		a := pending("wf-again", now)
		if err := s.Put(ctx, a); err != nil {
			t.Fatal(err)
		}
		a.TaskToken = "token-retried"
		if err := s.Put(ctx, a); err != nil {
			t.Fatalf("replace a pending approval: %v", err)
		}
		if _, err := s.Decide(ctx, "wf-again", refundflow.ApprovalRejected, "no", approver, now); err != nil {
			t.Fatal(err)
		}
		if err := s.Put(ctx, a); !errors.Is(err, refundflow.ErrApprovalNotPending) {
			t.Fatalf("err = %v, want ErrApprovalNotPending", err)
		}
		got, _ := s.Get(ctx, "wf-again")
		if got.Status != refundflow.ApprovalRejected || got.Note != "no" || got.TaskToken != "token-retried" {
			t.Fatalf("got %+v", got)
		}
	})
	t.Run("a decision by the principal that started the workflow is refused in the same write, and the approval stays pending", func(t *testing.T) {
		if err := s.Put(ctx, pending("wf-self", now)); err != nil {
			t.Fatal(err)
		}
		a, err := s.Decide(ctx, "wf-self", refundflow.ApprovalApproved, "", requester, now)
		if !errors.Is(err, refundflow.ErrApprovalNotPending) || a == nil || a.Status != refundflow.ApprovalPending || a.RequestedBy != requester {
			t.Fatalf("got %+v, %v", a, err)
		}
		got, _ := s.Get(ctx, "wf-self")
		if got.Status != refundflow.ApprovalPending || got.DecidedBy != "" {
			t.Fatalf("stored %+v", got)
		}
	})
	t.Run("a decision records who decided beside who asked, and the token is forgotten once delivered", func(t *testing.T) {
		if err := s.Put(ctx, pending("wf-who", now)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Decide(ctx, "wf-who", refundflow.ApprovalApproved, "ok", approver, now); err != nil {
			t.Fatal(err)
		}
		if err := s.SetDelivered(ctx, "wf-who"); err != nil {
			t.Fatal(err)
		}
		got, err := s.Get(ctx, "wf-who")
		if err != nil || got.RequestedBy != requester || got.DecidedBy != approver || got.Status != refundflow.ApprovalApproved || !got.Delivered || got.TaskToken != "" {
			t.Fatalf("got %+v, %v", got, err)
		}
	})
}
