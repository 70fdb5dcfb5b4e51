package integration_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/ottuops/ottu-lambda/dev/sandbox"
	"github.com/ottuops/ottu-lambda/dev/testkit"
	"github.com/ottuops/ottu-lambda/shared/operation"
	"github.com/ottuops/ottu-lambda/shared/operation/api"
	"github.com/ottuops/ottu-lambda/shared/operation/app"
	"github.com/ottuops/ottu-lambda/shared/operation/ddb"
	"github.com/ottuops/ottu-lambda/shared/payment"
	"github.com/ottuops/ottu-lambda/shared/platform/apigw"
	"github.com/ottuops/ottu-lambda/shared/platform/boot"
)

// stack is every real part a function talks to: moto's server (DynamoDB and
// Secrets Manager, through the real SDK) and an Ottu sandbox, wired by
// app.Build exactly as a deployed function is.
type stack struct {
	t        testing.TB
	aws      aws.Config
	sandbox  *sandbox.Server
	ottuURL  string
	apiKey   string
	secretID string
	table    string
	clock    *testkit.Clock
	logs     *testkit.Buffer
	deps     *app.Deps
	dynamo   *testkit.CountingClient
}

func newStack(t testing.TB) *stack {
	t.Helper()
	ctx := context.Background()
	m := testkit.SharedMoto(t)
	s := &stack{t: t, aws: m.AWSConfig(), clock: testkit.NewClock(time.Now().UTC()), logs: &testkit.Buffer{}}

	s.apiKey = "sandbox-key-" + testkit.UniqueName("k")
	s.sandbox = sandbox.New(sandbox.Config{
		APIKey: s.apiKey, WebhookKey: "webhook-key", QueueSettleDelay: time.Hour,
		Users:  map[string]sandbox.User{"operator": {Password: "operator-pass", Permissions: []string{sandbox.PermissionAll}}},
		Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)),
		// These tests refresh new transactions several times; the inquiry
		// tests run under Ottu's throttle with their own sandbox.
		InquiryLimits: sandbox.InquiryLimits{Off: true},
	})
	ts := httptest.NewServer(s.sandbox.Handler())
	t.Cleanup(func() { ts.Close(); s.sandbox.Close() })
	s.ottuURL = ts.URL
	for _, spec := range sandbox.DemoTransactions() {
		if _, err := s.sandbox.CreateTransaction(spec); err != nil {
			t.Fatalf("create %s: %v", spec.SessionID, err)
		}
	}

	s.table = testkit.UniqueName("tracking-keys")
	if err := testkit.CreateTable(ctx, dynamodb.NewFromConfig(s.aws), "TrackingKeysTable", s.table); err != nil {
		t.Fatal(err)
	}
	s.secretID = s.putSecret(testkit.UniqueName("ottu-api"), map[string]string{"base_url": s.ottuURL, "api_key": s.apiKey})
	s.build("refund")
	return s
}

// build wires the dependencies as a cold-started function would.
func (s *stack) build(function string, extraEnv ...string) {
	s.t.Helper()
	env := map[string]string{
		"OTTU_API_SECRET_ID":   s.secretID,
		"TRACKING_KEYS_TABLE":  s.table,
		"OTTU_DEADLINE_MARGIN": "300ms",
		"LEASE_GRACE":          "5s",
	}
	for i := 0; i+1 < len(extraEnv); i += 2 {
		env[extraEnv[i]] = extraEnv[i+1]
	}
	deps, err := app.Build(context.Background(), function, func(k string) string { return env[k] }, boot.Options{AWS: &s.aws, Output: s.logs, Now: s.clock.Now})
	if err != nil {
		s.t.Fatalf("build %s: %v", function, err)
	}
	// Count DynamoDB requests through the real client.
	s.dynamo = testkit.NewCountingClient(dynamodb.NewFromConfig(s.aws))
	deps.Service.Store = ddb.New(s.dynamo, s.table)
	s.deps = deps
}

func (s *stack) putSecret(name string, v map[string]string) string {
	s.t.Helper()
	b, _ := json.Marshal(v)
	out, err := secretsmanager.NewFromConfig(s.aws).CreateSecret(context.Background(), &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(string(b))})
	if err != nil {
		s.t.Fatal(err)
	}
	return aws.ToString(out.ARN)
}

func (s *stack) rotateSecret(v map[string]string) {
	s.t.Helper()
	b, _ := json.Marshal(v)
	if _, err := secretsmanager.NewFromConfig(s.aws).PutSecretValue(context.Background(), &secretsmanager.PutSecretValueInput{SecretId: aws.String(s.secretID), SecretString: aws.String(string(b))}); err != nil {
		s.t.Fatal(err)
	}
}

func (s *stack) handler(op payment.Operation) *api.Operation {
	return app.NewOperationHandler(op, s.deps)
}

// post sends an API Gateway event through the function's real entry point.
func (s *stack) post(ctx context.Context, op payment.Operation, key, body string) events.APIGatewayV2HTTPResponse {
	s.t.Helper()
	ev := events.APIGatewayV2HTTPRequest{
		Version:  "2.0",
		RouteKey: "POST /operations/" + string(op),
		RawPath:  "/operations/" + string(op),
		Headers:  map[string]string{"content-type": "application/json"},
		Body:     body,
	}
	if key != "" {
		ev.Headers["tracking-key"] = key
	}
	ev.RequestContext.HTTP.Method = "POST"
	ev.RequestContext.RequestID = testkit.UniqueName("req")
	payload, _ := json.Marshal(ev)
	out, err := s.handler(op).Invoke(ctx, payload)
	if err != nil {
		s.t.Fatalf("invoke: %v", err)
	}
	return out.(events.APIGatewayV2HTTPResponse)
}

func (s *stack) createTransaction(spec sandbox.TransactionSpec) string {
	s.t.Helper()
	tx, err := s.sandbox.CreateTransaction(spec)
	if err != nil {
		s.t.Fatal(err)
	}
	return tx.SessionID
}

func (s *stack) children(sessionID string) []sandbox.Child {
	s.t.Helper()
	tx, ok := s.sandbox.Transaction(sessionID)
	if !ok {
		s.t.Fatalf("sandbox has no transaction %s", sessionID)
	}
	return tx.Children
}

func (s *stack) fault(f sandbox.Fault) {
	s.t.Helper()
	if err := s.sandbox.AddFault(f); err != nil {
		s.t.Fatal(err)
	}
}

func (s *stack) record(key string) *operation.Record {
	s.t.Helper()
	rec, err := ddb.New(dynamodb.NewFromConfig(s.aws), s.table).Get(context.Background(), key)
	if err != nil {
		s.t.Fatalf("record %s: %v", key, err)
	}
	return rec
}

func problemOf(t *testing.T, resp events.APIGatewayV2HTTPResponse) apigw.Document {
	t.Helper()
	var p apigw.Document
	if err := json.Unmarshal([]byte(resp.Body), &p); err != nil || p.Code == "" {
		t.Fatalf("not a problem (%d): %s", resp.StatusCode, resp.Body)
	}
	if resp.Headers["Content-Type"] != "application/problem+json" {
		t.Fatalf("problem with Content-Type %q", resp.Headers["Content-Type"])
	}
	return p
}

func paid(s *stack, amount string) string {
	return s.createTransaction(sandbox.TransactionSpec{Amount: amount, CurrencyCode: "KWD", State: "paid", PGCode: "mpgs"})
}

func body(sessionID, amount string) string {
	if amount == "" {
		return `{"session_id":"` + sessionID + `"}`
	}
	return `{"session_id":"` + sessionID + `","amount":"` + amount + `"}`
}

func mustNotContain(t *testing.T, haystack string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s != "" && strings.Contains(haystack, s) {
			t.Fatalf("a secret leaked into output: …%s…", s[:min(4, len(s))])
		}
	}
}
