package testkit

import (
	"context"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/ottuops/ottu-lambda/shared/platform/dynamo"
)

// CountingClient is a Client that counts the requests it passes on, so
// tests and benchmarks can hold an adapter to its request budget. Failed
// requests count too: DynamoDB bills them. Retries the SDK makes inside
// one call are not seen here.
type CountingClient struct {
	next                                dynamo.Client
	putItem, updateItem, getItem, query atomic.Int64
}

// RequestCounts is a snapshot of a CountingClient.
type RequestCounts struct {
	PutItem, UpdateItem, GetItem, Query int64
}

// Total is every request counted.
func (r RequestCounts) Total() int64 { return r.PutItem + r.UpdateItem + r.GetItem + r.Query }

// NewCountingClient wraps next.
func NewCountingClient(next dynamo.Client) *CountingClient { return &CountingClient{next: next} }

// PutItem counts and forwards.
func (c *CountingClient) PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	c.putItem.Add(1)
	return c.next.PutItem(ctx, in, optFns...)
}

// UpdateItem counts and forwards.
func (c *CountingClient) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	c.updateItem.Add(1)
	return c.next.UpdateItem(ctx, in, optFns...)
}

// GetItem counts and forwards.
func (c *CountingClient) GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	c.getItem.Add(1)
	return c.next.GetItem(ctx, in, optFns...)
}

// Query counts and forwards.
func (c *CountingClient) Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	c.query.Add(1)
	return c.next.Query(ctx, in, optFns...)
}

// Counts returns the requests counted since creation or the last Reset.
func (c *CountingClient) Counts() RequestCounts {
	return RequestCounts{PutItem: c.putItem.Load(), UpdateItem: c.updateItem.Load(), GetItem: c.getItem.Load(), Query: c.query.Load()}
}

// Reset sets the counters to zero.
func (c *CountingClient) Reset() {
	c.putItem.Store(0)
	c.updateItem.Store(0)
	c.getItem.Store(0)
	c.query.Store(0)
}
