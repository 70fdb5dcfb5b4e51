package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/ottuops/ottu-lambda/dev/sandbox"
	"github.com/ottuops/ottu-lambda/shared/txn"
)

// observeNotifications reads, for each transaction, the operation
// notifications the webhook stored: the items of the transactions table
// filed under the payment's reference_number (txn.RefKey).
func (e *runEnv) observeNotifications(ctx context.Context, o *observed) error {
	table := e.stack.Tables()["InquiriesTable"]
	if table == "" {
		return fmt.Errorf("the stack has no InquiriesTable")
	}
	client := dynamodb.NewFromConfig(e.stack.AWSConfig())
	o.Notified = map[string][]string{}
	for session, st := range o.Txns {
		if st.ReferenceNumber == "" {
			continue
		}
		in := &dynamodb.QueryInput{
			TableName:                 aws.String(table),
			KeyConditionExpression:    aws.String("#t = :t AND begins_with(#sk, :entry)"),
			ExpressionAttributeNames:  map[string]string{"#t": "txn", "#sk": "sk"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":t": &types.AttributeValueMemberS{Value: txn.RefKey(st.ReferenceNumber)}, ":entry": &types.AttributeValueMemberS{Value: "entry#"}},
			ConsistentRead:            aws.Bool(true),
		}
		for {
			out, err := client.Query(ctx, in)
			if err != nil {
				return fmt.Errorf("read the stored notifications of %s: %w", session, err)
			}
			for _, item := range out.Items {
				body, _ := item["body"].(*types.AttributeValueMemberS)
				if body == nil {
					continue
				}
				op, _ := txn.OperationOf(json.RawMessage(body.Value))
				o.Notified[session] = append(o.Notified[session], op.ChildReferenceNumber)
			}
			if len(out.LastEvaluatedKey) == 0 {
				break
			}
			in.ExclusiveStartKey = out.LastEvaluatedKey
		}
	}
	return nil
}

// verifyNotifications checks the operation notifications of one
// transaction: the webhook never refused one the sandbox signed (a 4xx),
// and stored each delivered one exactly once, for a child that exists,
// however often a duplicate fault delivered it. A notification a
// drop_notification fault ate, or one lost to a moto pause (a 5xx Ottu
// does not retry), is not stored: the workflow's and the reconciler's
// inquiries cover those.
func verifyNotifications(t txnPlan, st sandbox.Transaction, stored []string, add func(check, key, txn, format string, a ...any)) {
	children := map[string]bool{}
	for _, c := range st.Children {
		children[c.ReferenceNumber] = true
	}
	delivered := map[string]bool{}
	for _, cb := range st.Callbacks {
		var p struct {
			Operation *string `json:"operation"`
			SessionID *string `json:"session_id"`
			Txn       struct {
				ReferenceNumber string `json:"reference_number"`
			} `json:"txn"`
		}
		if json.Unmarshal(cb.Payload, &p) != nil || p.Operation == nil || p.SessionID != nil {
			continue // a disclosure, not a notification
		}
		for _, code := range cb.StatusCodes {
			if code >= 400 && code < 500 {
				add(checkNotifyAccept, "", t.SessionID, "the webhook answered %d to the signed %s notification of child %s", code, *p.Operation, p.Txn.ReferenceNumber)
			}
		}
		if cb.Outcome == sandbox.OutcomeDelivered {
			delivered[p.Txn.ReferenceNumber] = true
		}
	}
	count := map[string]int{}
	for _, ref := range stored {
		count[ref]++
		if !children[ref] {
			add(checkNotifyOnce, "", t.SessionID, "a stored notification names child %q, which the sandbox never made", ref)
		}
	}
	for ref, n := range count {
		if n > 1 {
			add(checkNotifyOnce, "", t.SessionID, "the notification of child %s is stored %d times", ref, n)
		}
	}
	for ref := range delivered {
		if count[ref] == 0 {
			add(checkNotifyOnce, "", t.SessionID, "the notification of child %s was answered %d but is not stored", ref, http.StatusOK)
		}
	}
}
