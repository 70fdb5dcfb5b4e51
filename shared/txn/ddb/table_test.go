package ddb

import (
	"context"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/ottuops/ottu-lambda/dev/localstack"
	"github.com/ottuops/ottu-lambda/dev/testkit"
)

// TestTableMatchesTemplate holds CreateTableInput (what the tests run on)
// and template.yaml's InquiriesTable, as aws-sam-translator translates it
// for the deploy (and the local stack deploys it), to the same keys, index
// and TTL.
func TestTableMatchesTemplate(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tpl, err := localstack.Translate(ctx, filepath.Join("..", "..", "..", "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	type keyElem struct {
		AttributeName, KeyType string
	}
	type index struct {
		IndexName  string
		KeySchema  []keyElem
		Projection struct{ ProjectionType string }
	}
	var got struct {
		BillingMode             string
		AttributeDefinitions    []struct{ AttributeName, AttributeType string }
		KeySchema               []keyElem
		GlobalSecondaryIndexes  []index
		TimeToLiveSpecification struct {
			AttributeName string
			Enabled       bool
		}
		PointInTimeRecoverySpecification struct{ PointInTimeRecoveryEnabled bool }
		SSESpecification                 struct{ SSEEnabled bool }
	}
	if err := tpl.Properties("InquiriesTable", &got); err != nil {
		t.Fatal(err)
	}
	in := CreateTableInput("x")
	t.Run("the template's InquiriesTable has the keys, index and TTL the store is tested on, and is kept safe", func(t *testing.T) {
		attrs := map[string]string{}
		for _, d := range got.AttributeDefinitions {
			attrs[d.AttributeName] = d.AttributeType
		}
		wantAttrs := map[string]string{}
		for _, d := range in.AttributeDefinitions {
			wantAttrs[aws.ToString(d.AttributeName)] = string(d.AttributeType)
		}
		keys := func(ks []types.KeySchemaElement) []keyElem {
			var out []keyElem
			for _, k := range ks {
				out = append(out, keyElem{aws.ToString(k.AttributeName), string(k.KeyType)})
			}
			return out
		}
		var wantGSIs []index
		for _, g := range in.GlobalSecondaryIndexes {
			i := index{IndexName: aws.ToString(g.IndexName), KeySchema: keys(g.KeySchema)}
			i.Projection.ProjectionType = string(g.Projection.ProjectionType)
			wantGSIs = append(wantGSIs, i)
		}
		r := tpl.Template.Resources["InquiriesTable"]
		if !reflect.DeepEqual(attrs, wantAttrs) || !reflect.DeepEqual(got.KeySchema, keys(in.KeySchema)) ||
			!reflect.DeepEqual(got.GlobalSecondaryIndexes, wantGSIs) || got.BillingMode != string(in.BillingMode) {
			t.Errorf("template.yaml attributes %v, keys %v, indexes %+v, billing %s\nCreateTable   attributes %v, keys %v, indexes %+v, billing %s",
				attrs, got.KeySchema, got.GlobalSecondaryIndexes, got.BillingMode, wantAttrs, keys(in.KeySchema), wantGSIs, in.BillingMode)
		}
		if ttl := got.TimeToLiveSpecification; !ttl.Enabled || ttl.AttributeName != TTLAttribute {
			t.Errorf("template.yaml TTL %+v, want enabled on %s", ttl, TTLAttribute)
		}
		if !got.PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled || !got.SSESpecification.SSEEnabled ||
			r.DeletionPolicy != "Retain" || r.UpdateReplacePolicy != "Retain" {
			t.Errorf("template.yaml InquiriesTable is not kept safe: %+v, DeletionPolicy %q, UpdateReplacePolicy %q", got, r.DeletionPolicy, r.UpdateReplacePolicy)
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
