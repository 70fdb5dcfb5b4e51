package ddb

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/ottuops/ottu-lambda/shared/platform/dynamo"
)

// CreateTableInput is the table as template.yaml's InquiriesTable declares
// it (a test holds the two together): on-demand billing, hash key txn (S),
// range key sk (S), and the keys-only index by_order on order_ref (S).
func CreateTableInput(table string) *dynamodb.CreateTableInput {
	return &dynamodb.CreateTableInput{
		TableName:   aws.String(table),
		BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String(attrTxn), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String(attrSK), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String(attrOrderRef), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(attrTxn), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(attrSK), KeyType: types.KeyTypeRange},
		},
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{{
			IndexName:  aws.String(indexOrder),
			KeySchema:  []types.KeySchemaElement{{AttributeName: aws.String(attrOrderRef), KeyType: types.KeyTypeHash}},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeKeysOnly},
		}},
	}
}

// TTLAttribute is the attribute DynamoDB's TTL reads on this table.
const TTLAttribute = attrExpiresAt

// CreateTable makes the table for tests (template.yaml owns it in AWS, and
// the local stack builds it from there), with TTL on TTLAttribute. Like
// dynamo.CreateTable, it waits until the table is ACTIVE and accepts an
// existing table.
func CreateTable(ctx context.Context, client *dynamodb.Client, table string) error {
	if err := dynamo.CreateTable(ctx, client, CreateTableInput(table), TTLAttribute); err != nil {
		return fmt.Errorf("create the transaction table: %w", err)
	}
	return nil
}
