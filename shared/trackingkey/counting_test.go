package trackingkey

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// scriptedAPI answers every call with err and records how it was called.
type scriptedAPI struct {
	err     error
	updates []*dynamodb.UpdateItemInput
	gets    []*dynamodb.GetItemInput
}

func (s *scriptedAPI) UpdateItem(_ context.Context, in *dynamodb.UpdateItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	s.updates = append(s.updates, in)
	return &dynamodb.UpdateItemOutput{}, s.err
}

func (s *scriptedAPI) GetItem(_ context.Context, in *dynamodb.GetItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	s.gets = append(s.gets, in)
	return &dynamodb.GetItemOutput{}, s.err
}

func TestCountingAPI(t *testing.T) {
	boom := errors.New("throttled")
	cases := []struct {
		name    string
		err     error
		updates int
		gets    int
		want    RequestCounts
	}{
		{name: "each request is counted under its operation", updates: 3, gets: 2, want: RequestCounts{UpdateItem: 3, GetItem: 2}},
		{name: "failed requests count too", err: boom, updates: 1, want: RequestCounts{UpdateItem: 1}},
		{name: "no requests count as none"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			next := &scriptedAPI{err: tc.err}
			c := NewCountingAPI(next)
			for range tc.updates {
				in := &dynamodb.UpdateItemInput{}
				if _, err := c.UpdateItem(context.Background(), in); !errors.Is(err, tc.err) {
					t.Fatalf("UpdateItem error = %v, want %v passed through", err, tc.err)
				}
			}
			for range tc.gets {
				if _, err := c.GetItem(context.Background(), &dynamodb.GetItemInput{}); !errors.Is(err, tc.err) {
					t.Fatalf("GetItem error = %v, want %v passed through", err, tc.err)
				}
			}
			if got := c.Counts(); got != tc.want {
				t.Errorf("Counts = %+v, want %+v", got, tc.want)
			}
			if got := c.Counts().Total(); got != int64(tc.updates+tc.gets) {
				t.Errorf("Total = %d, want %d", got, tc.updates+tc.gets)
			}
			if len(next.updates) != tc.updates || len(next.gets) != tc.gets {
				t.Errorf("forwarded %d updates and %d gets, want %d and %d", len(next.updates), len(next.gets), tc.updates, tc.gets)
			}
			c.Reset()
			if got := c.Counts(); got != (RequestCounts{}) {
				t.Errorf("after Reset, Counts = %+v, want zero", got)
			}
		})
	}
}
