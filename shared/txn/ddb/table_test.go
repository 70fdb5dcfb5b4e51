package ddb

import (
	"context"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/ottuops/ottu-lambda/dev/samtemplate"
	"github.com/ottuops/ottu-lambda/dev/testkit"
)

// TestTableMatchesTemplate holds CreateTableInput (what the tests run on)
// and template.yaml's InquiriesTable (what is deployed, and what the local
// stack builds) to the same keys, index and TTL.
func TestTableMatchesTemplate(t *testing.T) {
	tpl, err := samtemplate.Load(filepath.Join("..", "..", "..", "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var got *samtemplate.Table
	for i := range tpl.Tables {
		if tpl.Tables[i].LogicalID == "InquiriesTable" {
			got = &tpl.Tables[i]
		}
	}
	if got == nil {
		t.Fatal("template.yaml has no InquiriesTable")
	}
	in := CreateTableInput("x")
	types := map[string]string{}
	for _, d := range in.AttributeDefinitions {
		types[aws.ToString(d.AttributeName)] = string(d.AttributeType)
	}
	want := samtemplate.Table{
		LogicalID: "InquiriesTable",
		HashKey:   aws.ToString(in.KeySchema[0].AttributeName), HashKeyType: types[aws.ToString(in.KeySchema[0].AttributeName)],
		RangeKey: aws.ToString(in.KeySchema[1].AttributeName), RangeKeyType: types[aws.ToString(in.KeySchema[1].AttributeName)],
		TTLAttribute: TTLAttribute, BillingMode: string(in.BillingMode),
		PointInTimeRecovery: true, ServerSideEncryption: true,
		DeletionPolicyRetain: true, UpdateReplacePolicyRetain: true,
	}
	for _, g := range in.GlobalSecondaryIndexes {
		h := aws.ToString(g.KeySchema[0].AttributeName)
		want.GSIs = append(want.GSIs, samtemplate.Index{Name: aws.ToString(g.IndexName), HashKey: h, HashKeyType: types[h], ProjectionType: string(g.Projection.ProjectionType)})
	}
	t.Run("the template's InquiriesTable has the keys, index and TTL the store is tested on, and is kept safe", func(t *testing.T) {
		if !reflect.DeepEqual(*got, want) {
			t.Errorf("template.yaml %+v\nCreateTable   %+v", *got, want)
		}
	})
}

func TestCreateTable(t *testing.T) {
	client := dynamodb.NewFromConfig(testkit.SharedMoto(t).AWSConfig())
	table := testkit.UniqueName("txnstore-table")
	for i := range 2 {
		if err := CreateTable(context.Background(), client, table); err != nil {
			t.Fatalf("CreateTable call %d: %v", i+1, err)
		}
	}
	out, err := client.DescribeTimeToLive(context.Background(), &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(table)})
	if err != nil || aws.ToString(out.TimeToLiveDescription.AttributeName) != TTLAttribute {
		t.Fatalf("TTL %+v, %v", out, err)
	}
}
