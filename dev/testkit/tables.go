package testkit

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/ottuops/ottu-lambda/dev/samtemplate"
)

// tableActiveTimeout bounds the wait for a new table to become ACTIVE: AWS
// needs seconds, moto none.
const tableActiveTimeout = 5 * time.Minute

// TableInput is the CreateTableInput of t, named name: the keys, indexes
// and billing template.yaml declares. The one translation of the
// template's tables, for the local stack and for every test.
func TableInput(t samtemplate.Table, name string) (*dynamodb.CreateTableInput, error) {
	if t.HashKey == "" {
		return nil, fmt.Errorf("table %s has no hash key in the template", t.LogicalID)
	}
	// Every key attribute of the table and its indexes, declared once.
	attrs := map[string]types.ScalarAttributeType{}
	keys := func(hash, hashType, rng, rngType string) []types.KeySchemaElement {
		attrs[hash] = types.ScalarAttributeType(orDefault(hashType, "S"))
		ks := []types.KeySchemaElement{{AttributeName: aws.String(hash), KeyType: types.KeyTypeHash}}
		if rng != "" {
			attrs[rng] = types.ScalarAttributeType(orDefault(rngType, "S"))
			ks = append(ks, types.KeySchemaElement{AttributeName: aws.String(rng), KeyType: types.KeyTypeRange})
		}
		return ks
	}
	in := &dynamodb.CreateTableInput{
		TableName: aws.String(name),
		KeySchema: keys(t.HashKey, t.HashKeyType, t.RangeKey, t.RangeKeyType),
	}
	provisioned := t.BillingMode != string(types.BillingModePayPerRequest)
	throughput := &types.ProvisionedThroughput{ReadCapacityUnits: aws.Int64(5), WriteCapacityUnits: aws.Int64(5)}
	if provisioned {
		in.BillingMode = types.BillingModeProvisioned
		in.ProvisionedThroughput = throughput
	} else {
		in.BillingMode = types.BillingModePayPerRequest
	}
	for _, gsi := range t.GSIs {
		idx := types.GlobalSecondaryIndex{
			IndexName:  aws.String(gsi.Name),
			KeySchema:  keys(gsi.HashKey, gsi.HashKeyType, gsi.RangeKey, gsi.RangeKeyType),
			Projection: &types.Projection{ProjectionType: types.ProjectionType(orDefault(gsi.ProjectionType, "ALL"))},
		}
		if provisioned {
			idx.ProvisionedThroughput = throughput
		}
		in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, idx)
	}
	for _, n := range slices.Sorted(maps.Keys(attrs)) {
		in.AttributeDefinitions = append(in.AttributeDefinitions, types.AttributeDefinition{AttributeName: aws.String(n), AttributeType: attrs[n]})
	}
	return in, nil
}

// CreateTable makes template.yaml's table logicalID (TrackingKeysTable,
// InquiriesTable, RefundApprovalsTable) under name, as the template
// declares it: keys, indexes and TTL. template.yaml owns the tables; a test
// never restates a schema. It waits until the table is ACTIVE and is
// idempotent, so tests may share a table: an existing table is accepted,
// and its TTL enabled if it was not. A table whose TTL is on another
// attribute is refused, since the adapter's items would never expire.
func CreateTable(ctx context.Context, client *dynamodb.Client, logicalID, name string) error {
	t, err := templateTable(logicalID)
	if err != nil {
		return err
	}
	in, err := TableInput(t, name)
	if err != nil {
		return err
	}
	_, err = client.CreateTable(ctx, in)
	var inUse *types.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) {
		return fmt.Errorf("create table %q: %w", name, err)
	}
	waiter := dynamodb.NewTableExistsWaiter(client, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay = time.Second
		o.MaxDelay = 10 * time.Second
	})
	if err := waiter.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, tableActiveTimeout); err != nil {
		return fmt.Errorf("wait for table %q to become active: %w", name, err)
	}
	if t.TTLAttribute == "" {
		return nil
	}
	return EnableTTL(ctx, client, name, t.TTLAttribute)
}

// EnableTTL turns TTL on for attr unless it already is; DynamoDB refuses
// to enable it twice.
func EnableTTL(ctx context.Context, client *dynamodb.Client, table, attr string) error {
	out, err := client.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(table)})
	if err != nil {
		return fmt.Errorf("read TTL of table %q: %w", table, err)
	}
	if d := out.TimeToLiveDescription; d != nil {
		switch d.TimeToLiveStatus {
		case types.TimeToLiveStatusEnabled, types.TimeToLiveStatusEnabling:
			if got := aws.ToString(d.AttributeName); got != attr {
				return fmt.Errorf("table %q has TTL on %q, not %q: use another table", table, got, attr)
			}
			return nil
		}
	}
	_, err = client.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName:               aws.String(table),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String(attr), Enabled: aws.Bool(true)},
	})
	if err != nil {
		return fmt.Errorf("enable TTL on table %q: %w", table, err)
	}
	return nil
}

var (
	templateOnce sync.Once
	templateRead *samtemplate.Template
	templateErr  error
)

// templateTable is the table logicalID of the repository's template.yaml,
// read once per test binary.
func templateTable(logicalID string) (samtemplate.Table, error) {
	templateOnce.Do(func() {
		root, err := RepoRoot()
		if err != nil {
			templateErr = err
			return
		}
		templateRead, templateErr = samtemplate.Load(filepath.Join(root, "template.yaml"))
	})
	if templateErr != nil {
		return samtemplate.Table{}, templateErr
	}
	for _, t := range templateRead.Tables {
		if t.LogicalID == logicalID {
			return t, nil
		}
	}
	return samtemplate.Table{}, fmt.Errorf("template.yaml has no table %s", logicalID)
}

// RepoRoot is the repository's root: the nearest folder above the working
// directory that holds go.mod.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory: run from inside the repository")
		}
		dir = parent
	}
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
