// Package ddb keeps the refund workflow's approvals in DynamoDB:
// one item per workflow (workflow_id), holding the waiting task token, the
// decision and its deadline. A decision is one conditional UpdateItem, so
// of two approvers at once exactly one decides. Items expire by TTL on
// expires_at. It implements refundflow.ApprovalStore.
package ddb

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/ottuops/ottu-lambda/shared/platform/dynamo"
	"github.com/ottuops/ottu-lambda/shared/refundflow"
)

// Attribute names.
const (
	attrWorkflowID  = "workflow_id"
	attrStatus      = "status"
	attrTaskToken   = "task_token"
	attrTrackingKey = "tracking_key"
	attrAmount      = "amount"
	attrThreshold   = "threshold"
	attrWhy         = "why"
	attrReason      = "reason"
	attrRequestedAt = "requested_at"
	attrDeadline    = "deadline"
	attrDecidedAt   = "decided_at"
	attrNote        = "note"
	attrDelivered   = "delivered"
	attrRequestedBy = "requested_by"
	attrDecidedBy   = "decided_by"
	attrExpiresAt   = "expires_at"
)

// TTLAttribute is the attribute DynamoDB's TTL reads on this table.
const TTLAttribute = attrExpiresAt

// errMalformed marks an item this package cannot read back.
var errMalformed = errors.New("malformed approval item")

// API is the part of the DynamoDB client the store uses.
type API interface {
	dynamo.PutItemAPI
	dynamo.UpdateItemAPI
	dynamo.GetItemAPI
}

// Store is the approvals table.
type Store struct {
	client API
	table  string
}

var _ refundflow.ApprovalStore = (*Store)(nil)

// New keeps approvals in table.
func New(client API, table string) *Store { return &Store{client: client, table: table} }

func key(id string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{attrWorkflowID: dynamo.String(id)}
}

// Put stores a pending approval unless the workflow's approval was decided.
func (s *Store) Put(ctx context.Context, a refundflow.Approval) error {
	item := map[string]types.AttributeValue{
		attrWorkflowID:  dynamo.String(a.WorkflowID),
		attrStatus:      dynamo.String(string(refundflow.ApprovalPending)),
		attrTaskToken:   dynamo.String(a.TaskToken),
		attrTrackingKey: dynamo.String(a.TrackingKey),
		attrThreshold:   dynamo.String(a.Threshold),
		attrRequestedAt: dynamo.UnixMillis(a.RequestedAt),
		attrDeadline:    dynamo.UnixMillis(a.Deadline),
		attrDelivered:   dynamo.Number(0),
		attrExpiresAt:   dynamo.UnixSeconds(a.ExpiresAt),
	}
	for attr, v := range map[string]string{attrAmount: a.Amount, attrWhy: a.Why, attrReason: a.Reason, attrRequestedBy: a.RequestedBy} {
		if v != "" {
			item[attr] = dynamo.String(v)
		}
	}
	_, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 aws.String(s.table),
		Item:                      item,
		ConditionExpression:       aws.String("attribute_not_exists(#id) OR #status = :pending"),
		ExpressionAttributeNames:  map[string]string{"#id": attrWorkflowID, "#status": attrStatus},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pending": dynamo.String(string(refundflow.ApprovalPending))},
	})
	if dynamo.IsConditionFailed(err) {
		return refundflow.ErrApprovalNotPending
	}
	if err != nil {
		return fmt.Errorf("store the approval: %w", err)
	}
	return nil
}

// Get reads a workflow's approval.
func (s *Store) Get(ctx context.Context, id string) (*refundflow.Approval, error) {
	item, err := dynamo.ReadItem(ctx, s.client, s.table, key(id))
	if err != nil {
		return nil, fmt.Errorf("read the approval: %w", err)
	}
	if item == nil {
		return nil, refundflow.ErrApprovalNotFound
	}
	return decode(item)
}

// Decide records a decision by decidedBy while the approval is pending,
// before its deadline and when decidedBy did not start the workflow, in
// one conditional write; otherwise it returns the approval as it is with
// ErrApprovalNotPending (or ErrApprovalNotFound).
func (s *Store) Decide(ctx context.Context, id string, status refundflow.ApprovalStatus, note, decidedBy string, now time.Time) (*refundflow.Approval, error) {
	if decidedBy == "" {
		return nil, errors.New("record the decision: no deciding principal")
	}
	u := dynamo.NewUpdate()
	u.SetValue(attrStatus, dynamo.String(string(status)))
	u.SetValue(attrDecidedAt, dynamo.UnixMillis(now))
	u.SetValue(attrDecidedBy, dynamo.String(decidedBy))
	u.SetString(attrNote, note)
	by := u.Value("by", dynamo.String(decidedBy))
	cond := fmt.Sprintf("attribute_exists(%s) AND %s = %s AND %s > %s AND (attribute_not_exists(%s) OR %s <> %s)",
		u.Name(attrWorkflowID), u.Name(attrStatus), u.Value("pending", dynamo.String(string(refundflow.ApprovalPending))),
		u.Name(attrDeadline), u.Value("now", dynamo.UnixMillis(now)),
		u.Name(attrRequestedBy), u.Name(attrRequestedBy), by)
	in := u.Input(s.table, key(id), cond)
	in.ReturnValues = types.ReturnValueAllNew
	in.ReturnValuesOnConditionCheckFailure = types.ReturnValuesOnConditionCheckFailureAllOld
	out, err := s.client.UpdateItem(ctx, in)
	var failed *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &failed):
		// DynamoDB returns the item as it is with the refusal; when it does
		// not (an older endpoint), one read tells.
		var a *refundflow.Approval
		var derr error
		if len(failed.Item) > 0 {
			a, derr = decode(failed.Item)
		} else {
			a, derr = s.Get(ctx, id)
		}
		if derr != nil {
			return nil, derr
		}
		return a, refundflow.ErrApprovalNotPending
	case err != nil:
		return nil, fmt.Errorf("record the decision: %w", err)
	}
	return decode(out.Attributes)
}

// SetDelivered notes that the workflow has the decision, and forgets the
// task token, which nothing needs any more.
func (s *Store) SetDelivered(ctx context.Context, id string) error {
	u := dynamo.NewUpdate()
	u.SetValue(attrDelivered, dynamo.Number(1))
	u.Remove(attrTaskToken)
	_, err := s.client.UpdateItem(ctx, u.Input(s.table, key(id), "attribute_exists("+u.Name(attrWorkflowID)+")"))
	if err != nil && !dynamo.IsConditionFailed(err) {
		return fmt.Errorf("note the decision delivered: %w", err)
	}
	return nil
}

// SetExpired notes that the workflow timed out before a decision reached
// it, and forgets the task token.
func (s *Store) SetExpired(ctx context.Context, id string, now time.Time) error {
	u := dynamo.NewUpdate()
	u.SetValue(attrStatus, dynamo.String(string(refundflow.ApprovalExpired)))
	u.Remove(attrTaskToken)
	_, err := s.client.UpdateItem(ctx, u.Input(s.table, key(id), "attribute_exists("+u.Name(attrWorkflowID)+")"))
	if err != nil && !dynamo.IsConditionFailed(err) {
		return fmt.Errorf("note the approval expired: %w", err)
	}
	return nil
}

func decode(item map[string]types.AttributeValue) (*refundflow.Approval, error) {
	d := dynamo.NewDecoder(item, errMalformed)
	a := &refundflow.Approval{
		WorkflowID:  d.RequiredString(attrWorkflowID),
		Status:      refundflow.ApprovalStatus(d.RequiredString(attrStatus)),
		TaskToken:   d.String(attrTaskToken), // forgotten once delivered
		TrackingKey: d.String(attrTrackingKey),
		Amount:      d.String(attrAmount),
		Threshold:   d.String(attrThreshold),
		Why:         d.String(attrWhy),
		Reason:      d.String(attrReason),
		RequestedAt: d.UnixMillis(attrRequestedAt),
		Deadline:    d.UnixMillis(attrDeadline),
		DecidedAt:   d.UnixMillis(attrDecidedAt),
		Note:        d.String(attrNote),
		Delivered:   d.Number(attrDelivered) == 1,
		RequestedBy: d.String(attrRequestedBy),
		DecidedBy:   d.String(attrDecidedBy),
		ExpiresAt:   d.UnixSeconds(attrExpiresAt),
	}
	if err := d.Err(); err != nil {
		return nil, err
	}
	return a, nil
}
