package testkit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"gopkg.in/yaml.v3"
)

// tableActiveTimeout bounds the wait for a new table to become ACTIVE: AWS
// needs seconds, moto none.
const tableActiveTimeout = 5 * time.Minute

// cfnTable is the part of an AWS::DynamoDB::Table's properties a table is
// created from: CloudFormation's names are CreateTable's.
type cfnTable struct {
	BillingMode          string                         `json:"BillingMode"`
	AttributeDefinitions []types.AttributeDefinition    `json:"AttributeDefinitions"`
	KeySchema            []types.KeySchemaElement       `json:"KeySchema"`
	GSIs                 []types.GlobalSecondaryIndex   `json:"GlobalSecondaryIndexes"`
	TTL                  *types.TimeToLiveSpecification `json:"TimeToLiveSpecification"`
	Throughput           *types.ProvisionedThroughput   `json:"ProvisionedThroughput"`
}

// tableInput is the CreateTableInput of t, named name.
func tableInput(t cfnTable, name string) *dynamodb.CreateTableInput {
	in := &dynamodb.CreateTableInput{
		TableName:              aws.String(name),
		AttributeDefinitions:   t.AttributeDefinitions,
		KeySchema:              t.KeySchema,
		GlobalSecondaryIndexes: t.GSIs,
		BillingMode:            types.BillingModePayPerRequest,
	}
	if t.BillingMode == string(types.BillingModeProvisioned) {
		in.BillingMode, in.ProvisionedThroughput = types.BillingModeProvisioned, t.Throughput
	}
	return in
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
	_, err = client.CreateTable(ctx, tableInput(t, name))
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
	if t.TTL == nil || !aws.ToBool(t.TTL.Enabled) {
		return nil
	}
	return EnableTTL(ctx, client, name, aws.ToString(t.TTL.AttributeName))
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
	templateOnce   sync.Once
	templateTables map[string]json.RawMessage
	templateErr    error
)

// templateTable is the table logicalID of the repository's template.yaml,
// read once per test binary. Its properties are plain values in the
// template (no intrinsic functions), so they are read as written.
func templateTable(logicalID string) (cfnTable, error) {
	templateOnce.Do(func() {
		root, err := RepoRoot()
		if err != nil {
			templateErr = err
			return
		}
		raw, err := os.ReadFile(filepath.Join(root, "template.yaml"))
		if err != nil {
			templateErr = err
			return
		}
		var doc struct {
			Resources map[string]struct {
				Type       string         `yaml:"Type"`
				Properties map[string]any `yaml:"Properties"`
			} `yaml:"Resources"`
		}
		if templateErr = yaml.Unmarshal(raw, &doc); templateErr != nil {
			return
		}
		templateTables = map[string]json.RawMessage{}
		for id, r := range doc.Resources {
			if r.Type == "AWS::DynamoDB::Table" {
				if templateTables[id], templateErr = json.Marshal(r.Properties); templateErr != nil {
					return
				}
			}
		}
	})
	var t cfnTable
	if templateErr != nil {
		return t, fmt.Errorf("read template.yaml: %w", templateErr)
	}
	raw, ok := templateTables[logicalID]
	if !ok {
		return t, fmt.Errorf("template.yaml has no table %s", logicalID)
	}
	if err := json.Unmarshal(raw, &t); err != nil {
		return t, fmt.Errorf("template.yaml's %s: %w", logicalID, err)
	}
	return t, nil
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
