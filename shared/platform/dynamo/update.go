package dynamo

import (
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Update builds one UpdateItem request: its update expression and its
// condition share one set of placeholders. DynamoDB rejects a request that
// declares a placeholder it does not use, so each is declared on first use
// and every request builds its own Update.
//
// Placeholders are the attribute's name without underscores, which reads
// well in a request log; so the attribute names of one request must stay
// distinct without their underscores.
type Update struct {
	names  map[string]string
	values map[string]types.AttributeValue
	set    []string
	remove []string
}

// NewUpdate starts an empty request.
func NewUpdate() *Update {
	return &Update{names: map[string]string{}, values: map[string]types.AttributeValue{}}
}

// Name returns the placeholder of an attribute; every attribute goes
// through one, which sidesteps DynamoDB's reserved words (status, state, …).
func (u *Update) Name(attr string) string {
	p := "#" + strings.ReplaceAll(attr, "_", "")
	u.names[p] = attr
	return p
}

// Value declares v under the placeholder ":"+placeholder and returns it,
// for conditions and computed updates. SetValue and SetString use the
// attribute's name as the placeholder, so a condition on the old value of
// an attribute that is also set needs a placeholder of its own.
func (u *Update) Value(placeholder string, v types.AttributeValue) string {
	p := ":" + placeholder
	u.values[p] = v
	return p
}

// SetExpr adds "SET attr = expr", for an expression such as
// if_not_exists(…) built from Name and Value.
func (u *Update) SetExpr(attr, expr string) {
	u.set = append(u.set, u.Name(attr)+" = "+expr)
}

// SetValue adds "SET attr = v".
func (u *Update) SetValue(attr string, v types.AttributeValue) {
	u.SetExpr(attr, u.Value(strings.ReplaceAll(attr, "_", ""), v))
}

// SetString sets attr to s, or removes attr when s is empty: optional text
// is stored absent rather than as "".
func (u *Update) SetString(attr, s string) {
	if s == "" {
		u.Remove(attr)
		return
	}
	u.SetValue(attr, String(s))
}

// Remove adds "REMOVE attr".
func (u *Update) Remove(attr string) {
	u.remove = append(u.remove, u.Name(attr))
}

// Expression is the UpdateExpression text.
func (u *Update) Expression() string {
	var b strings.Builder
	if len(u.set) > 0 {
		b.WriteString("SET " + strings.Join(u.set, ", "))
	}
	if len(u.remove) > 0 {
		if b.Len() > 0 {
			b.WriteString(" ")
		}
		b.WriteString("REMOVE " + strings.Join(u.remove, ", "))
	}
	return b.String()
}

// Input is the update of the item at key in table, applied only when
// condition holds. DynamoDB rejects an empty map of values, so a request
// without values sends none.
func (u *Update) Input(table string, key map[string]types.AttributeValue, condition string) *dynamodb.UpdateItemInput {
	in := &dynamodb.UpdateItemInput{
		TableName:                aws.String(table),
		Key:                      key,
		UpdateExpression:         aws.String(u.Expression()),
		ConditionExpression:      aws.String(condition),
		ExpressionAttributeNames: u.names,
	}
	if len(u.values) > 0 {
		in.ExpressionAttributeValues = u.values
	}
	return in
}
