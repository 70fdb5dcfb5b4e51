package ddb

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/ottuops/ottu-lambda/dev/testkit"
	"github.com/ottuops/ottu-lambda/shared/operation"
	"github.com/ottuops/ottu-lambda/shared/platform/dynamo"
)

var t0 = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

func txnTable(t *testing.T, client *dynamodb.Client) string {
	t.Helper()
	table := testkit.UniqueName("reconcile-txn")
	if err := testkit.CreateTable(context.Background(), client, "InquiriesTable", table); err != nil {
		t.Fatal(err)
	}
	return table
}

func TestBudget(t *testing.T) {
	client := dynamodb.NewFromConfig(testkit.SharedMoto(t).AWSConfig())
	ctx := context.Background()
	b := &Budget{Client: client, Table: txnTable(t, client)}
	steps := []struct {
		name string
		run  func() (bool, error)
		want bool
	}{
		{"the first inquiry of a transaction is taken", func() (bool, error) { return b.Take(ctx, "s1", 2, 30*time.Minute, t0) }, true},
		{"a second one within the interval is refused", func() (bool, error) { return b.Take(ctx, "s1", 2, 30*time.Minute, t0.Add(time.Minute)) }, false},
		{"after the interval the second is taken", func() (bool, error) { return b.Take(ctx, "s1", 2, 30*time.Minute, t0.Add(31*time.Minute)) }, true},
		{"the budget of two is then spent for good", func() (bool, error) { return b.Take(ctx, "s1", 2, 30*time.Minute, t0.Add(2*time.Hour)) }, false},
		{"another transaction has its own budget", func() (bool, error) { return b.Take(ctx, "s2", 1, 30*time.Minute, t0) }, true},
		{"an inquiry given back after Ottu's throttle can be taken once the wait is over", func() (bool, error) {
			if err := b.GiveBack(ctx, "s2", t0.Add(time.Minute)); err != nil {
				return false, err
			}
			if ok, err := b.Take(ctx, "s2", 1, 30*time.Minute, t0.Add(30*time.Second)); ok || err != nil {
				return false, fmt.Errorf("taken before Ottu's wait was over (%w)", err)
			}
			return b.Take(ctx, "s2", 1, 30*time.Minute, t0.Add(2*time.Minute))
		}, true},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			got, err := st.run()
			if err != nil || got != st.want {
				t.Fatalf("= %v, %v; want %v", got, err, st.want)
			}
		})
	}
}

func TestRecordsByStatus(t *testing.T) {
	client := dynamodb.NewFromConfig(testkit.SharedMoto(t).AWSConfig())
	ctx := context.Background()
	table := testkit.UniqueName("reconcile-keys")
	if err := testkit.CreateTable(ctx, client, "TrackingKeysTable", table); err != nil {
		t.Fatal(err)
	}
	for i, st := range []operation.Status{operation.StatusUnknown, operation.StatusSucceeded, operation.StatusUnknown, operation.StatusInProgress} {
		_, err := client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: map[string]types.AttributeValue{
			"tracking_key": dynamo.String(fmt.Sprintf("k%d", i)), "status": dynamo.String(string(st)),
			"updated_at": dynamo.Time(t0.Add(-time.Duration(i) * time.Minute)),
		}})
		if err != nil {
			t.Fatal(err)
		}
	}
	r := &Records{Client: client, Table: table}
	keys, err := r.Keys(ctx, operation.StatusUnknown, 10)
	if err != nil || fmt.Sprint(keys) != "[k2 k0]" {
		t.Fatalf("unknown keys %v, %v; want k2 (older) then k0", keys, err)
	}
	keys, err = r.Keys(ctx, operation.StatusUnknown, 1)
	if err != nil || fmt.Sprint(keys) != "[k2]" {
		t.Fatalf("with limit 1: %v, %v; want the oldest only", keys, err)
	}
}

func TestNudges(t *testing.T) {
	client := dynamodb.NewFromConfig(testkit.SharedMoto(t).AWSConfig())
	ctx := context.Background()
	n := &Nudges{Client: client, Table: txnTable(t, client)}
	for _, ref := range []string{"R1", "R2", "R1"} {
		if err := n.Nudge(ctx, ref, t0); err != nil {
			t.Fatal(err)
		}
	}
	refs, err := n.Nudged(ctx)
	if err != nil || fmt.Sprint(refs) != "[R1 R2]" {
		t.Fatalf("nudged %v, %v; want R1 and R2 once each", refs, err)
	}
	if err := n.Forget(ctx, []string{"R1"}); err != nil {
		t.Fatal(err)
	}
	if refs, err := n.Nudged(ctx); err != nil || fmt.Sprint(refs) != "[R2]" {
		t.Fatalf("after forgetting R1: %v, %v", refs, err)
	}
}

func TestApprovalsWaiting(t *testing.T) {
	client := dynamodb.NewFromConfig(testkit.SharedMoto(t).AWSConfig())
	ctx := context.Background()
	table := testkit.UniqueName("reconcile-approvals")
	if err := testkit.CreateTable(ctx, client, "RefundApprovalsTable", table); err != nil {
		t.Fatal(err)
	}
	for i, st := range []string{"pending", "approved", "pending"} {
		_, err := client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: map[string]types.AttributeValue{
			"workflow_id": dynamo.String(fmt.Sprintf("wf%d", i)), "status": dynamo.String(st),
			"requested_at": dynamo.UnixMillis(t0.Add(-time.Duration(i+1) * time.Hour)),
		}})
		if err != nil {
			t.Fatal(err)
		}
	}
	n, oldest, err := (&Approvals{Client: client, Table: table}).Waiting(ctx)
	if err != nil || n != 2 || !oldest.Equal(t0.Add(-3*time.Hour)) {
		t.Fatalf("Waiting = %d, %v, %v; want 2 pending, the oldest asked 3 h ago", n, oldest, err)
	}
}
