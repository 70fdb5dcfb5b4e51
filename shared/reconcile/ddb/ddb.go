// Package ddb is the reconciler's DynamoDB side: the open Tracking-Key
// records through the Tracking-Key table's by_status index, and its
// per-transaction budget and the nudges of operation notifications as
// items of the transactions table.
//
//	Tracking-Key table, index by_status (status HASH, updated_at RANGE, keys only)
//	transactions table: txn=<session_id or order_no> sk=reconcile#budget   the reconciler's inquiries
//	                    txn=reconcile#nudges        sk=<reference_number>  a notification named it
package ddb

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/ottuops/ottu-lambda/shared/operation"
	"github.com/ottuops/ottu-lambda/shared/platform/dynamo"
)

// IndexByStatus is the Tracking-Key table's index of records by status,
// oldest change first (template.yaml; operation/ddb.CreateTable).
const IndexByStatus = "by_status"

// Attribute names this package reads or writes.
const (
	attrTrackingKey = "tracking_key"
	attrStatus      = "status"
	attrTxn         = "txn"
	attrSK          = "sk"
	attrSpent       = "spent"
	attrNextAfter   = "next_after"
	attrUpdatedAt   = "updated_at"
	attrExpiresAt   = "expires_at"
)

const (
	skBudget     = "reconcile#budget"
	nudgesTxn    = "reconcile#nudges"
	maxPages     = 16
	budgetKeep   = 90 * 24 * time.Hour
	nudgeKeep    = 24 * time.Hour
	maxNudgeRead = 100
	maxKeys      = 1000
)

// Records lists open records by status.
type Records struct {
	Client dynamo.Client
	Table  string
}

// Keys returns up to limit Tracking-Keys in status, oldest change first.
func (r *Records) Keys(ctx context.Context, status operation.Status, limit int) ([]string, error) {
	limit = max(1, min(limit, maxKeys))
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(r.Table),
		IndexName:                 aws.String(IndexByStatus),
		KeyConditionExpression:    aws.String("#st = :st"),
		ExpressionAttributeNames:  map[string]string{"#st": attrStatus},
		ExpressionAttributeValues: map[string]types.AttributeValue{":st": dynamo.String(string(status))},
		ScanIndexForward:          aws.Bool(true),
		Limit:                     aws.Int32(int32(limit)), //nolint:gosec // bounded by maxKeys just above
	}
	var keys []string
	for range maxPages {
		out, err := r.Client.Query(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("list the %s records: %w", status, err)
		}
		for _, item := range out.Items {
			if v, ok := item[attrTrackingKey].(*types.AttributeValueMemberS); ok {
				keys = append(keys, v.Value)
			}
		}
		if len(keys) >= limit || len(out.LastEvaluatedKey) == 0 {
			break
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
	if len(keys) > limit {
		keys = keys[:limit]
	}
	return keys, nil
}

// Budget keeps the reconciler's inquiries per transaction.
type Budget struct {
	Client dynamo.Client
	Table  string
}

// Take claims one inquiry in one conditional write: fewer than max taken,
// none in the last interval.
func (b *Budget) Take(ctx context.Context, txnID string, max int, interval time.Duration, now time.Time) (bool, error) {
	u := dynamo.NewUpdate()
	spent := u.Name(attrSpent)
	u.SetExpr(attrSpent, "if_not_exists("+spent+", "+u.Value("zero", dynamo.Number(0))+") + "+u.Value("one", dynamo.Number(1)))
	u.SetValue(attrNextAfter, dynamo.Number(now.Add(interval).UnixMilli()))
	u.SetValue(attrUpdatedAt, dynamo.Time(now))
	u.SetValue(attrExpiresAt, dynamo.UnixSeconds(now.Add(budgetKeep)))
	next := u.Name(attrNextAfter)
	cond := "(attribute_not_exists(" + spent + ") OR " + spent + " < " + u.Value("max", dynamo.Number(int64(max))) + ") AND (attribute_not_exists(" + next + ") OR " + next + " <= " + u.Value("nowms", dynamo.Number(now.UnixMilli())) + ")"
	_, err := b.Client.UpdateItem(ctx, u.Input(b.Table, budgetKey(txnID), cond))
	switch {
	case err == nil:
		return true, nil
	case dynamo.IsConditionFailed(err):
		return false, nil
	}
	return false, fmt.Errorf("take an inquiry from the reconciler's budget: %w", err)
}

// GiveBack returns an inquiry Ottu's throttle turned away.
func (b *Budget) GiveBack(ctx context.Context, txnID string, notBefore time.Time) error {
	u := dynamo.NewUpdate()
	spent := u.Name(attrSpent)
	u.SetExpr(attrSpent, spent+" - "+u.Value("one", dynamo.Number(1)))
	u.SetValue(attrNextAfter, dynamo.Number(notBefore.UnixMilli()))
	cond := spent + " > " + u.Value("zero", dynamo.Number(0))
	_, err := b.Client.UpdateItem(ctx, u.Input(b.Table, budgetKey(txnID), cond))
	if err != nil && !dynamo.IsConditionFailed(err) {
		return fmt.Errorf("give an inquiry back to the reconciler's budget: %w", err)
	}
	return nil
}

func budgetKey(txnID string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{attrTxn: dynamo.String(txnID), attrSK: dynamo.String(skBudget)}
}

// NudgeClient is the part of the DynamoDB client Nudges uses.
type NudgeClient interface {
	dynamo.Client
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
}

// Nudges are the payments operation notifications named.
type Nudges struct {
	Client NudgeClient
	Table  string
}

// Nudge asks the next run to look first at the payment ref.
func (n *Nudges) Nudge(ctx context.Context, ref string, at time.Time) error {
	_, err := n.Client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(n.Table),
		Item: map[string]types.AttributeValue{
			attrTxn: dynamo.String(nudgesTxn), attrSK: dynamo.String(ref),
			attrUpdatedAt: dynamo.Time(at), attrExpiresAt: dynamo.UnixSeconds(at.Add(nudgeKeep)),
		},
	})
	if err != nil {
		return fmt.Errorf("nudge the reconciler: %w", err)
	}
	return nil
}

// Nudged lists the nudged reference_numbers.
func (n *Nudges) Nudged(ctx context.Context) ([]string, error) {
	out, err := n.Client.Query(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(n.Table),
		KeyConditionExpression:    aws.String("#t = :t"),
		ExpressionAttributeNames:  map[string]string{"#t": attrTxn},
		ExpressionAttributeValues: map[string]types.AttributeValue{":t": dynamo.String(nudgesTxn)},
		Limit:                     aws.Int32(maxNudgeRead),
		ConsistentRead:            aws.Bool(true),
	})
	if err != nil {
		return nil, fmt.Errorf("read the reconciler's nudges: %w", err)
	}
	refs := make([]string, 0, len(out.Items))
	for _, item := range out.Items {
		if v, ok := item[attrSK].(*types.AttributeValueMemberS); ok {
			refs = append(refs, v.Value)
		}
	}
	return refs, nil
}

// Forget clears nudges the reconciler has looked at.
func (n *Nudges) Forget(ctx context.Context, refs []string) error {
	for _, r := range refs {
		_, err := n.Client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
			TableName: aws.String(n.Table),
			Key:       map[string]types.AttributeValue{attrTxn: dynamo.String(nudgesTxn), attrSK: dynamo.String(r)},
		})
		if err != nil {
			return fmt.Errorf("clear a nudge: %w", err)
		}
	}
	return nil
}

// Approvals reads the refund workflow's approvals table (one item per
// workflow, status pending until a person decides or it times out).
type Approvals struct {
	Client interface {
		Scan(ctx context.Context, in *dynamodb.ScanInput, opts ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
	}
	Table string
}

// Waiting counts the pending approvals and finds the oldest request. The
// table holds one small item per workflow that needed an approval, so a
// bounded, filtered scan is enough.
func (a *Approvals) Waiting(ctx context.Context) (int, time.Time, error) {
	in := &dynamodb.ScanInput{
		TableName:                 aws.String(a.Table),
		FilterExpression:          aws.String("#st = :pending"),
		ProjectionExpression:      aws.String("#ra"),
		ExpressionAttributeNames:  map[string]string{"#st": attrStatus, "#ra": "requested_at"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pending": dynamo.String("pending")},
	}
	n := 0
	var oldest time.Time
	for range maxPages {
		out, err := a.Client.Scan(ctx, in)
		if err != nil {
			return 0, time.Time{}, fmt.Errorf("count the waiting approvals: %w", err)
		}
		for _, item := range out.Items {
			n++
			d := dynamo.NewDecoder(item, errMalformedApproval)
			if t := d.UnixMillis("requested_at"); d.Err() == nil && !t.IsZero() && (oldest.IsZero() || t.Before(oldest)) {
				oldest = t
			}
		}
		if len(out.LastEvaluatedKey) == 0 {
			break
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
	return n, oldest, nil
}

var errMalformedApproval = errors.New("stored approval is malformed")
