package txnstore

import (
	"context"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// CountingAPI is a DynamoAPI that counts the requests it passes on, so
// tests and benchmarks can hold the store to its request budget (a first
// delivery is one PutItem and one UpdateItem). Failed requests count too:
// DynamoDB bills them. Retries the SDK makes inside one call are not seen.
type CountingAPI struct {
	next                                DynamoAPI
	putItem, updateItem, getItem, query atomic.Int64
}

// RequestCounts is a snapshot of a CountingAPI.
type RequestCounts struct {
	PutItem, UpdateItem, GetItem, Query int64
}

// Total is every request counted.
func (r RequestCounts) Total() int64 { return r.PutItem + r.UpdateItem + r.GetItem + r.Query }

// NewCountingAPI wraps next.
func NewCountingAPI(next DynamoAPI) *CountingAPI { return &CountingAPI{next: next} }

// PutItem counts and forwards.
func (c *CountingAPI) PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	c.putItem.Add(1)
	return c.next.PutItem(ctx, in, optFns...)
}

// UpdateItem counts and forwards.
func (c *CountingAPI) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	c.updateItem.Add(1)
	return c.next.UpdateItem(ctx, in, optFns...)
}

// GetItem counts and forwards.
func (c *CountingAPI) GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	c.getItem.Add(1)
	return c.next.GetItem(ctx, in, optFns...)
}

// Query counts and forwards.
func (c *CountingAPI) Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	c.query.Add(1)
	return c.next.Query(ctx, in, optFns...)
}

// Counts returns the requests counted since creation or the last Reset.
func (c *CountingAPI) Counts() RequestCounts {
	return RequestCounts{PutItem: c.putItem.Load(), UpdateItem: c.updateItem.Load(), GetItem: c.getItem.Load(), Query: c.query.Load()}
}

// Reset sets the counters to zero.
func (c *CountingAPI) Reset() {
	c.putItem.Store(0)
	c.updateItem.Store(0)
	c.getItem.Store(0)
	c.query.Store(0)
}
