package testenv

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

func TestSharedMotoAnswersDynamoDB(t *testing.T) {
	m := SharedMoto(t)
	out, err := dynamodb.NewFromConfig(m.AWSConfig()).ListTables(context.Background(), &dynamodb.ListTablesInput{})
	if err != nil {
		t.Fatalf("ListTables against moto: %v", err)
	}
	if out == nil {
		t.Fatal("ListTables returned nothing")
	}
}
