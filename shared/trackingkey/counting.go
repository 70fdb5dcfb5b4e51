package trackingkey

import (
	"context"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// CountingAPI is a DynamoAPI that counts the requests it passes on, so
// tests and benchmarks can hold the store to its request budget (a claim
// is one write; a replay is one failed conditional write, no read).
// Failed requests count too: DynamoDB bills them. Retries the SDK makes
// inside one call are not seen here.
type CountingAPI struct {
	next       DynamoAPI
	updateItem atomic.Int64
	getItem    atomic.Int64
}

// RequestCounts is a snapshot of a CountingAPI.
type RequestCounts struct {
	UpdateItem int64
	GetItem    int64
}

// Total is every request counted.
func (r RequestCounts) Total() int64 { return r.UpdateItem + r.GetItem }

// NewCountingAPI wraps next.
func NewCountingAPI(next DynamoAPI) *CountingAPI { return &CountingAPI{next: next} }

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

// Counts returns the requests counted since creation or the last Reset.
func (c *CountingAPI) Counts() RequestCounts {
	return RequestCounts{UpdateItem: c.updateItem.Load(), GetItem: c.getItem.Load()}
}

// Reset sets the counters to zero.
func (c *CountingAPI) Reset() {
	c.updateItem.Store(0)
	c.getItem.Store(0)
}
