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
// tracking_key (S), TTL on expires_at, and the index by_status (status,
// updated_at; keys only) the reconciler finds open records by. Like dynamo.CreateTable, it waits
// until the table is ACTIVE and accepts an existing table.
func CreateTable(ctx context.Context, client *dynamodb.Client, table string) error {
	err := dynamo.CreateTable(ctx, client, &dynamodb.CreateTableInput{
		TableName:   aws.String(table),
		BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String(attrTrackingKey), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String(attrStatus), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String(attrUpdatedAt), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(attrTrackingKey), KeyType: types.KeyTypeHash},
		},
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{{
			IndexName: aws.String("by_status"),
			KeySchema: []types.KeySchemaElement{
				{AttributeName: aws.String(attrStatus), KeyType: types.KeyTypeHash},
				{AttributeName: aws.String(attrUpdatedAt), KeyType: types.KeyTypeRange},
			},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeKeysOnly},
		}},
	}, attrExpiresAt)
	if err != nil {
		return fmt.Errorf("create the tracking key table: %w", err)
	}
	return nil
}
