// Package apigwtest holds what the tests of several adapter packages
// share: reading an API Gateway event from the package's testdata, and
// checking that a response is a complete problem document.
package apigwtest

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ottuops/ottu-lambda/shared/platform/apigw"
)

// LoadEvent reads testdata/<name>, relative to the test's package, as an
// API Gateway HTTP API event.
func LoadEvent(t testing.TB, name string) events.APIGatewayV2HTTPRequest {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

// DecodeProblem reads resp as an application/problem+json document and
// fails the test unless it is one with every member the contract names.
func DecodeProblem(t *testing.T, resp events.APIGatewayV2HTTPResponse) apigw.Document {
	t.Helper()
	if ct := resp.Headers["Content-Type"]; ct != "application/problem+json" {
		t.Fatalf("Content-Type = %q, want application/problem+json", ct)
	}
	var p apigw.Document
	if err := json.Unmarshal([]byte(resp.Body), &p); err != nil {
		t.Fatalf("problem body %q: %v", resp.Body, err)
	}
	if p.Status != resp.StatusCode || p.Detail == "" || p.Title == "" || p.Type == "" {
		t.Fatalf("incomplete problem %+v for status %d", p, resp.StatusCode)
	}
	return p
}
