package secrets

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/ottuops/ottu-lambda/dev/testkit"
)

// Every secret value in testdata contains leakMarker, so one check finds any
// of them in an error or a printed value.
const leakMarker = "LEAK"

func newClient(t *testing.T) *secretsmanager.Client {
	t.Helper()
	return secretsmanager.NewFromConfig(testkit.SharedMoto(t).AWSConfig())
}

func fixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("read fixture: %v", err)
	}
	return string(b)
}

// createSecret stores text under a fresh name and returns the secret's ARN,
// the form Lambda functions usually receive.
func createSecret(t *testing.T, client *secretsmanager.Client, text string) string {
	t.Helper()
	out, err := client.CreateSecret(context.Background(), &secretsmanager.CreateSecretInput{
		Name:         aws.String(testkit.UniqueName("ottu-api")),
		SecretString: aws.String(text),
	})
	if err != nil {
		t.Fatalf("create secret in moto: %v", err)
	}
	return aws.ToString(out.ARN)
}

func putSecret(t *testing.T, client *secretsmanager.Client, id, text string) {
	t.Helper()
	_, err := client.PutSecretValue(context.Background(), &secretsmanager.PutSecretValueInput{
		SecretId:     aws.String(id),
		SecretString: aws.String(text),
	})
	if err != nil {
		t.Fatalf("put secret value in moto: %v", err)
	}
}

// assertNoLeak fails when any printed form of any value holds a secret.
func assertNoLeak(t *testing.T, extra []string, values ...any) {
	t.Helper()
	needles := append([]string{leakMarker}, extra...)
	for _, v := range values {
		if v == nil {
			continue
		}
		forms := []string{fmt.Sprintf("%v", v), fmt.Sprintf("%+v", v), fmt.Sprintf("%#v", v), fmt.Sprintf("%s", v)}
		if err, ok := v.(error); ok {
			forms = append(forms, err.Error())
		}
		for _, form := range forms {
			for _, n := range needles {
				if strings.Contains(form, n) {
					t.Errorf("a secret value (%q) was printed: %s", n, form)
				}
			}
		}
	}
}

// countingClient counts GetSecretValue calls on the real client. With gate
// set, each call waits for gate to close; overlap closes when two calls run
// at once, which coalescing must prevent.
type countingClient struct {
	next    GetSecretValueAPI
	calls   atomic.Int64
	gate    chan struct{}
	active  atomic.Int64
	overlap chan struct{}
	once    sync.Once
}

func newCounting(next GetSecretValueAPI) *countingClient {
	return &countingClient{next: next, overlap: make(chan struct{})}
}

func (c *countingClient) GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	c.calls.Add(1)
	if c.active.Add(1) > 1 {
		c.once.Do(func() { close(c.overlap) })
	}
	defer c.active.Add(-1)
	if c.gate != nil {
		<-c.gate
	}
	return c.next.GetSecretValue(ctx, in, optFns...)
}

func newFakeClock() *testkit.Clock {
	return testkit.NewClock(time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC))
}

func TestFetchText(t *testing.T) {
	client := newClient(t)
	ctx := context.Background()
	binary, err := client.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name:         aws.String(testkit.UniqueName("ottu-binary")),
		SecretBinary: []byte("sk-LEAK-binary"),
	})
	if err != nil {
		t.Fatalf("create binary secret: %v", err)
	}
	text := createSecret(t, client, "plain text")

	tests := []struct {
		name     string
		id       string
		want     string
		wantErr  string
		invalid  bool
		wantWrap bool
	}{
		{"a text secret is returned as stored", text, "plain text", "", false, false},
		{"a missing secret names the secret and Secrets Manager", "ottu-api-does-not-exist", "", "read secret ottu-api-does-not-exist from Secrets Manager", false, true},
		{"a binary secret is refused with what to store instead", aws.ToString(binary.ARN), "", "has no text value (SecretString)", true, false},
		{"an empty secret id asks for one to be configured", "", "", "no secret id is configured", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := fetchText(ctx, client, tt.id)
			if got != tt.want {
				t.Errorf("text = %q, want %q", got, tt.want)
			}
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
			}
			var ise *InvalidSecretError
			if errors.As(err, &ise) != tt.invalid {
				t.Errorf("errors.As(InvalidSecretError) = %v, want %v", !tt.invalid, tt.invalid)
			}
			if tt.wantWrap && errors.Unwrap(err) == nil {
				t.Errorf("error %v does not wrap the Secrets Manager error", err)
			}
			assertNoLeak(t, nil, err)
		})
	}
}

func TestParseObject(t *testing.T) {
	tests := []struct {
		name    string
		text    string
		wantErr string
	}{
		{"an object is read field by field", `{"a": "b"}`, ""},
		{"surrounding whitespace is allowed", " \n{\"a\": 1}\n", ""},
		{"an empty text asks for an object", "", "is empty"},
		{"whitespace alone counts as empty", " \n\t", "is empty"},
		{"text that is not JSON says so with the position", "a=sk-LEAK-x", "is not JSON (syntax error at byte 1)"},
		{"a JSON string is not an object", `"sk-LEAK-str"`, "is JSON but not an object"},
		{"a JSON number is not an object", `12345`, "is JSON but not an object"},
		{"trailing garbage after the object is not JSON", `{"a":"b"} sk-LEAK`, "is not JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fields, err := parseObject("arn:test:ottu-api", tt.text, apiSecretExample)
			if tt.wantErr == "" {
				if err != nil || len(fields) != 1 {
					t.Fatalf("fields = %v, err = %v; want one field and no error", fields, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
			}
			if !strings.HasPrefix(err.Error(), "secret arn:test:ottu-api ") {
				t.Errorf("error %q does not start by naming the secret", err)
			}
			assertNoLeak(t, nil, err)
		})
	}
}
