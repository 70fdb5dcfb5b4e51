// Package dynamo is the DynamoDB mechanics the table adapters
// (shared/operation/ddb, shared/txn/ddb) share, so that each adapter holds
// only its schema: attribute names, keys, conditions and table definition.
// It writes and reads attribute values, builds update requests, counts
// requests for tests and benchmarks, and creates tables for tests. It
// knows no table and no domain.
package dynamo

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// One interface per DynamoDB call the table adapters make, so that each
// adapter declares exactly the part of the client it uses.
type (
	PutItemAPI interface {
		PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	}
	UpdateItemAPI interface {
		UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	}
	GetItemAPI interface {
		GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	}
	QueryAPI interface {
		Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	}
)

// Client is every DynamoDB call the table adapters make; *dynamodb.Client
// satisfies it, and CountingClient wraps it.
type Client interface {
	PutItemAPI
	UpdateItemAPI
	GetItemAPI
	QueryAPI
}

// ReadItem reads the item at key in table with a strongly consistent read,
// so that a write acknowledged a moment ago is seen; nil, and no error,
// when there is none.
func ReadItem(ctx context.Context, client GetItemAPI, table string, key map[string]types.AttributeValue) (map[string]types.AttributeValue, error) {
	out, err := client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(table),
		Key:            key,
		ConsistentRead: aws.Bool(true),
	})
	if err != nil || len(out.Item) == 0 {
		return nil, err
	}
	return out.Item, nil
}

// IsConditionFailed reports whether a conditional write was refused by its
// condition: for the adapters an answer (a duplicate, a lost lease, a
// claimed waiter), not a failure.
func IsConditionFailed(err error) bool {
	var failed *types.ConditionalCheckFailedException
	return errors.As(err, &failed)
}
