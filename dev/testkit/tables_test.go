package testkit

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

func TestCreateTable(t *testing.T) {
	client := dynamodb.NewFromConfig(SharedMoto(t).AWSConfig())
	ctx := context.Background()
	cases := []struct {
		name string
		// before prepares the table; calls is how often CreateTable runs.
		before  func(t *testing.T, table string)
		calls   int
		wantErr string
	}{
		{name: "a new table is created on demand with TTL on expires_at", calls: 1},
		{name: "creating the table again is accepted", calls: 2},
		{
			name: "an existing table without TTL gets it",
			before: func(t *testing.T, table string) {
				if _, err := client.CreateTable(ctx, &dynamodb.CreateTableInput{
					TableName:            aws.String(table),
					BillingMode:          types.BillingModePayPerRequest,
					AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("tracking_key"), AttributeType: types.ScalarAttributeTypeS}},
					KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("tracking_key"), KeyType: types.KeyTypeHash}},
				}); err != nil {
					t.Fatalf("setup table: %v", err)
				}
			},
			calls: 1,
		},
		{
			name: "a table whose TTL is on another attribute is refused",
			before: func(t *testing.T, table string) {
				if err := CreateTable(ctx, client, "TrackingKeysTable", table); err != nil {
					t.Fatalf("setup table: %v", err)
				}
				if _, err := client.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
					TableName:               aws.String(table),
					TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String("ttl"), Enabled: aws.Bool(true)},
				}); err != nil {
					t.Fatalf("setup TTL: %v", err)
				}
			},
			calls:   1,
			wantErr: `has TTL on "ttl"`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			table := UniqueName("trackingkey-table")
			if tc.before != nil {
				tc.before(t, table)
			}
			var err error
			for range tc.calls {
				if err = CreateTable(ctx, client, "TrackingKeysTable", table); err != nil {
					break
				}
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("CreateTable error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("CreateTable: %v", err)
			}
			desc, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)})
			if err != nil {
				t.Fatalf("DescribeTable: %v", err)
			}
			d := desc.Table
			if d.TableStatus != types.TableStatusActive {
				t.Errorf("status %s, want ACTIVE", d.TableStatus)
			}
			if d.BillingModeSummary == nil || d.BillingModeSummary.BillingMode != types.BillingModePayPerRequest {
				t.Errorf("billing %+v, want PAY_PER_REQUEST", d.BillingModeSummary)
			}
			if len(d.KeySchema) != 1 || aws.ToString(d.KeySchema[0].AttributeName) != "tracking_key" || d.KeySchema[0].KeyType != types.KeyTypeHash {
				t.Errorf("key schema %+v, want hash key tracking_key", d.KeySchema)
			}
			ttl, err := client.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(table)})
			if err != nil {
				t.Fatalf("DescribeTimeToLive: %v", err)
			}
			if got := ttl.TimeToLiveDescription; got == nil || got.TimeToLiveStatus != types.TimeToLiveStatusEnabled || aws.ToString(got.AttributeName) != "expires_at" {
				t.Errorf("TTL %+v, want ENABLED on expires_at", got)
			}
		})
	}
}
