package ddb

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/ottuops/ottu-lambda/shared/platform/dynamo"
)

// CreateTable makes the Tracking-Key table for tests (template.yaml owns
// it in AWS, and the local stack builds it from there; dev/apispec
// checks the two agree on key and TTL): on-demand billing, hash key
// tracking_key (S), TTL on expires_at. Like dynamo.CreateTable, it waits
// until the table is ACTIVE and accepts an existing table.
func CreateTable(ctx context.Context, client *dynamodb.Client, table string) error {
	err := dynamo.CreateTable(ctx, client, &dynamodb.CreateTableInput{
		TableName:   aws.String(table),
		BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String(attrTrackingKey), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(attrTrackingKey), KeyType: types.KeyTypeHash},
		},
	}, attrExpiresAt)
	if err != nil {
		return fmt.Errorf("create the tracking key table: %w", err)
	}
	return nil
}
