package trackingkey

import (
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// expression collects the placeholders of one request. DynamoDB rejects
// placeholders a request does not use, so each is registered on first use
// and every request builds its own.
type expression struct {
	names  map[string]string
	values map[string]types.AttributeValue
	set    []string
	remove []string
}

func newExpression() *expression {
	return &expression{names: map[string]string{}, values: map[string]types.AttributeValue{}}
}

// name returns the placeholder of an attribute; every attribute goes
// through one, which sidesteps DynamoDB's reserved words (status, …).
func (e *expression) name(attr string) string {
	p := "#" + strings.ReplaceAll(attr, "_", "")
	e.names[p] = attr
	return p
}

// value registers a value under a readable placeholder.
func (e *expression) value(placeholder string, v types.AttributeValue) string {
	p := ":" + placeholder
	e.values[p] = v
	return p
}

// setTo adds "SET attr = rhs".
func (e *expression) setTo(attr, rhs string) {
	e.set = append(e.set, e.name(attr)+" = "+rhs)
}

// setString sets attr to s, or removes attr when s is empty: optional text
// is stored absent rather than as "".
func (e *expression) setString(attr, s string) {
	if s == "" {
		e.removeAttr(attr)
		return
	}
	e.setTo(attr, e.value(strings.ReplaceAll(attr, "_", ""), stringValue(s)))
}

func (e *expression) removeAttr(attr string) {
	e.remove = append(e.remove, e.name(attr))
}

// update is the UpdateExpression text.
func (e *expression) update() string {
	var b strings.Builder
	if len(e.set) > 0 {
		b.WriteString("SET " + strings.Join(e.set, ", "))
	}
	if len(e.remove) > 0 {
		if b.Len() > 0 {
			b.WriteString(" ")
		}
		b.WriteString("REMOVE " + strings.Join(e.remove, ", "))
	}
	return b.String()
}

// updateInput is the conditional update of one record by its key.
func (e *expression) updateInput(table, trackingKey, cond string) *dynamodb.UpdateItemInput {
	return &dynamodb.UpdateItemInput{
		TableName:                 aws.String(table),
		Key:                       itemKey(trackingKey),
		UpdateExpression:          aws.String(e.update()),
		ConditionExpression:       aws.String(cond),
		ExpressionAttributeNames:  e.names,
		ExpressionAttributeValues: e.values,
	}
}
