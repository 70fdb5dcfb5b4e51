package ddb

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/shopspring/decimal"

	"github.com/ottuops/ottu-lambda/shared/operation"
	"github.com/ottuops/ottu-lambda/shared/platform/dynamo"
)

// The refunded-totals table (template.yaml's RefundTotalsTable): one item
// per transaction (transaction = operation.TransactionOf), holding the
// total (N, exact decimal), its currency once known, and one attribute per
// reservation, "reserved:<tracking key>" = its amount, so that a retry
// reserves nothing more and a release takes back exactly what was
// reserved. Items never expire: a total must outlive every refund of its
// payment.
const (
	attrTransaction   = "transaction"
	attrTotal         = "total"
	attrCurrency      = "currency"
	attrTotalUpdated  = "updated_at"
	reservationPrefix = "reserved:"
	// notifiedPrefix marks a reservation an operation notification made
	// (Reservation.Notified): only such a one can stand for a refund of ours.
	notifiedPrefix = "notified#"
)

// RefundTotalsAPI is the part of the DynamoDB client RefundTotals uses.
type RefundTotalsAPI interface {
	dynamo.UpdateItemAPI
	dynamo.GetItemAPI
}

// RefundTotals keeps the refunded totals; it implements
// operation.RefundTotals with conditional UpdateItems, so that of two
// refunds at once that would together pass the threshold only one is
// reserved.
type RefundTotals struct {
	client RefundTotalsAPI
	table  string
	now    func() time.Time
}

var _ operation.RefundTotals = (*RefundTotals)(nil)

// NewRefundTotals keeps totals in table.
func NewRefundTotals(client RefundTotalsAPI, table string) *RefundTotals {
	return &RefundTotals{client: client, table: table, now: time.Now}
}

func totalKey(transaction string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{attrTransaction: dynamo.String(transaction)}
}

// Reserve adds the reservation in one conditional write: only when the key
// has none yet, the currency agrees, and (with a limit) the total before
// it is at most limit - amount.
func (s *RefundTotals) Reserve(ctx context.Context, r operation.Reservation) (operation.RefundTotal, error) {
	if r.Transaction == "" || r.TrackingKey == "" || !r.Amount.IsPositive() {
		return operation.RefundTotal{}, errors.New("reserve a refund: a transaction, a Tracking-Key and an amount above zero are required")
	}
	names := map[string]string{"#total": attrTotal, "#res": reservationPrefix + r.TrackingKey, "#upd": attrTotalUpdated}
	values := map[string]types.AttributeValue{
		":amt":  &types.AttributeValueMemberN{Value: r.Amount.String()},
		":zero": &types.AttributeValueMemberN{Value: "0"},
		":now":  dynamo.UnixMillis(s.now()),
	}
	set := []string{"#total = if_not_exists(#total, :zero) + :amt", "#res = :amt", "#upd = :now"}
	cond := []string{"attribute_not_exists(#res)"}
	if r.Notified {
		names["#notified"] = notifiedPrefix + r.TrackingKey
		values[":true"] = &types.AttributeValueMemberBOOL{Value: true}
		set = append(set, "#notified = :true")
	}
	if r.Currency != "" {
		names["#cur"] = attrCurrency
		values[":cur"] = dynamo.String(r.Currency)
		set = append(set, "#cur = if_not_exists(#cur, :cur)")
		cond = append(cond, "(attribute_not_exists(#cur) OR #cur = :cur)")
	}
	if r.Limit != nil {
		room := r.Limit.Sub(r.Amount)
		if room.IsNegative() {
			total, err := s.Total(ctx, r.Transaction)
			if err != nil {
				return total, err
			}
			return total, operation.ErrOverLimit
		}
		values[":room"] = &types.AttributeValueMemberN{Value: room.String()}
		cond = append(cond, "(attribute_not_exists(#total) OR #total <= :room)")
	}
	out, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                           aws.String(s.table),
		Key:                                 totalKey(r.Transaction),
		UpdateExpression:                    aws.String("SET " + strings.Join(set, ", ")),
		ConditionExpression:                 aws.String(strings.Join(cond, " AND ")),
		ExpressionAttributeNames:            names,
		ExpressionAttributeValues:           values,
		ReturnValues:                        types.ReturnValueAllNew,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var failed *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &failed):
		item := failed.Item
		if len(item) == 0 {
			// An endpoint that does not return the item: read it.
			if item, err = dynamo.ReadItem(ctx, s.client, s.table, totalKey(r.Transaction)); err != nil {
				return operation.RefundTotal{}, fmt.Errorf("read the refunded total: %w", err)
			}
		}
		total, err := decodeTotal(item)
		if err != nil {
			return total, err
		}
		switch {
		case item[reservationPrefix+r.TrackingKey] != nil:
			return total, nil // reserved before under this key: a retry
		case r.Currency != "" && total.Currency != "" && total.Currency != r.Currency:
			return total, operation.ErrCurrencyMismatch
		}
		return total, operation.ErrOverLimit
	case err != nil:
		return operation.RefundTotal{}, fmt.Errorf("reserve the refund in the refunded total: %w", err)
	}
	return decodeTotal(out.Attributes)
}

// Release takes a reservation back: the total goes down by exactly what
// the key reserved.
func (s *RefundTotals) Release(ctx context.Context, transaction, trackingKey string) error {
	item, err := dynamo.ReadItem(ctx, s.client, s.table, totalKey(transaction))
	if err != nil {
		return fmt.Errorf("read the refunded total: %w", err)
	}
	res, ok := item[reservationPrefix+trackingKey].(*types.AttributeValueMemberN)
	if !ok {
		return nil // nothing reserved under this key
	}
	_, err = s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       totalKey(transaction),
		UpdateExpression:          aws.String("SET #total = #total - :amt, #upd = :now REMOVE #res"),
		ConditionExpression:       aws.String("#res = :amt"),
		ExpressionAttributeNames:  map[string]string{"#total": attrTotal, "#res": reservationPrefix + trackingKey, "#upd": attrTotalUpdated},
		ExpressionAttributeValues: map[string]types.AttributeValue{":amt": &types.AttributeValueMemberN{Value: res.Value}, ":now": dynamo.UnixMillis(s.now())},
	})
	if dynamo.IsConditionFailed(err) {
		return nil // released meanwhile
	}
	if err != nil {
		return fmt.Errorf("release the refund's reservation: %w", err)
	}
	return nil
}

// Total reads a transaction's total.
func (s *RefundTotals) Total(ctx context.Context, transaction string) (operation.RefundTotal, error) {
	item, err := dynamo.ReadItem(ctx, s.client, s.table, totalKey(transaction))
	if err != nil {
		return operation.RefundTotal{}, fmt.Errorf("read the refunded total: %w", err)
	}
	return decodeTotal(item)
}

func decodeTotal(item map[string]types.AttributeValue) (operation.RefundTotal, error) {
	var t operation.RefundTotal
	if n, ok := item[attrTotal].(*types.AttributeValueMemberN); ok {
		d, err := decimal.NewFromString(n.Value)
		if err != nil {
			return t, fmt.Errorf("the refunded total %q is not a number: %w", n.Value, err)
		}
		t.Amount = d
	}
	if c, ok := item[attrCurrency].(*types.AttributeValueMemberS); ok {
		t.Currency = c.Value
	}
	return t, nil
}

// Move re-files from's reservation as to in one conditional write: to
// takes from's amount and the total stays when to is not reserved yet;
// when it is (its notification counted it first), the larger of the two
// stays under to and the total goes down by the smaller. A write that loses a race is read and
// tried again, a few times.
func (s *RefundTotals) Move(ctx context.Context, transaction, from, to string, amount decimal.Decimal) error {
	if from == to {
		return nil
	}
	if amount.IsPositive() {
		// Most often the notification has not come yet: one conditional
		// write re-files the reservation, with no read. Anything else (to
		// reserved, from moved or of another amount) takes the read below.
		_, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName:                aws.String(s.table),
			Key:                      totalKey(transaction),
			UpdateExpression:         aws.String("SET #to = :amt, #upd = :now REMOVE #from"),
			ConditionExpression:      aws.String("#from = :amt AND attribute_not_exists(#to)"),
			ExpressionAttributeNames: map[string]string{"#from": reservationPrefix + from, "#to": reservationPrefix + to, "#upd": attrTotalUpdated},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":amt": &types.AttributeValueMemberN{Value: amount.String()}, ":now": dynamo.UnixMillis(s.now())},
		})
		switch {
		case err == nil:
			return nil
		case !dynamo.IsConditionFailed(err):
			return fmt.Errorf("move the refund's reservation: %w", err)
		}
	}
	for range 3 {
		item, err := dynamo.ReadItem(ctx, s.client, s.table, totalKey(transaction))
		if err != nil {
			return fmt.Errorf("read the refunded total: %w", err)
		}
		res, ok := item[reservationPrefix+from].(*types.AttributeValueMemberN)
		if !ok {
			return nil // nothing reserved under from (moved or released meanwhile)
		}
		names := map[string]string{"#from": reservationPrefix + from, "#to": reservationPrefix + to, "#upd": attrTotalUpdated}
		values := map[string]types.AttributeValue{":amt": &types.AttributeValueMemberN{Value: res.Value}, ":now": dynamo.UnixMillis(s.now())}
		update, cond := "SET #to = :amt, #upd = :now REMOVE #from", "#from = :amt AND attribute_not_exists(#to)"
		if had, ok := item[reservationPrefix+to].(*types.AttributeValueMemberN); ok {
			// The child is counted already. Only its operation notification,
			// which stands for this very refund, lets ours go, and only for
			// the same amount: a key another move made (two refunds Ottu
			// answered with one reference_number) or another amount keeps
			// both counted, too much and never too little.
			mine, err1 := decimal.NewFromString(res.Value)
			theirs, err2 := decimal.NewFromString(had.Value)
			if _, notified := item[notifiedPrefix+to]; !notified || err1 != nil || err2 != nil || !mine.Equal(theirs) {
				return nil
			}
			names["#total"], names["#notified"] = attrTotal, notifiedPrefix+to
			values[":to"] = had
			update, cond = "SET #total = #total - :amt, #upd = :now REMOVE #from", "#from = :amt AND #to = :to AND attribute_exists(#notified)"
		}
		_, err = s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName:                 aws.String(s.table),
			Key:                       totalKey(transaction),
			UpdateExpression:          aws.String(update),
			ConditionExpression:       aws.String(cond),
			ExpressionAttributeNames:  names,
			ExpressionAttributeValues: values,
		})
		if dynamo.IsConditionFailed(err) {
			continue // changed meanwhile: read again
		}
		if err != nil {
			return fmt.Errorf("move the refund's reservation: %w", err)
		}
		return nil
	}
	return errors.New("move the refund's reservation: the total kept changing; both reservations stay counted")
}
