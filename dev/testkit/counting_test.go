package testkit

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// scriptedClient answers every call with err and counts how it was called.
type scriptedClient struct {
	err                        error
	puts, updates, gets, query int
}

func (s *scriptedClient) PutItem(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	s.puts++
	return &dynamodb.PutItemOutput{}, s.err
}

func (s *scriptedClient) UpdateItem(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	s.updates++
	return &dynamodb.UpdateItemOutput{}, s.err
}

func (s *scriptedClient) GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	s.gets++
	return &dynamodb.GetItemOutput{}, s.err
}

func (s *scriptedClient) Query(context.Context, *dynamodb.QueryInput, ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	s.query++
	return &dynamodb.QueryOutput{}, s.err
}

func TestCountingClient(t *testing.T) {
	boom := errors.New("throttled")
	cases := []struct {
		name string
		err  error
		// sent is how many requests of each kind are made.
		sent RequestCounts
	}{
		{name: "each request is counted under its operation", sent: RequestCounts{PutItem: 4, UpdateItem: 3, GetItem: 2, Query: 1}},
		{name: "failed requests count too", err: boom, sent: RequestCounts{UpdateItem: 1, Query: 2}},
		{name: "no requests count as none"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			next := &scriptedClient{err: tc.err}
			c := NewCountingClient(next)
			send := []struct {
				n    int64
				call func() error
			}{
				{tc.sent.PutItem, func() error { _, err := c.PutItem(ctx, &dynamodb.PutItemInput{}); return err }},
				{tc.sent.UpdateItem, func() error { _, err := c.UpdateItem(ctx, &dynamodb.UpdateItemInput{}); return err }},
				{tc.sent.GetItem, func() error { _, err := c.GetItem(ctx, &dynamodb.GetItemInput{}); return err }},
				{tc.sent.Query, func() error { _, err := c.Query(ctx, &dynamodb.QueryInput{}); return err }},
			}
			for _, s := range send {
				for range s.n {
					if err := s.call(); !errors.Is(err, tc.err) {
						t.Fatalf("error = %v, want %v passed through", err, tc.err)
					}
				}
			}
			if got := c.Counts(); got != tc.sent {
				t.Errorf("Counts = %+v, want %+v", got, tc.sent)
			}
			if got, want := c.Counts().Total(), tc.sent.PutItem+tc.sent.UpdateItem+tc.sent.GetItem+tc.sent.Query; got != want {
				t.Errorf("Total = %d, want %d", got, want)
			}
			if forwarded := (RequestCounts{PutItem: int64(next.puts), UpdateItem: int64(next.updates), GetItem: int64(next.gets), Query: int64(next.query)}); forwarded != tc.sent {
				t.Errorf("forwarded %+v, want %+v", forwarded, tc.sent)
			}
			c.Reset()
			if got := c.Counts(); got != (RequestCounts{}) {
				t.Errorf("after Reset, Counts = %+v, want zero", got)
			}
		})
	}
}
