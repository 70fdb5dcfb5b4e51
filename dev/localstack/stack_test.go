package localstack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/ottuops/ottu-lambda/dev/sandbox"
)

// hostOnlyVar is set in the test process; function processes must not see it.
const hostOnlyVar = "LOCALSTACK_TEST_HOST_ONLY"

// buildRoot holds the binaries this test binary builds; TestMain removes it.
var buildRoot string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "localstack-test-*")
	if err != nil {
		fmt.Fprintln(os.Stderr, "temp dir:", err)
		os.Exit(1)
	}
	buildRoot = dir
	_ = os.Setenv(hostOnlyVar, "leaked")
	code := m.Run()
	if shared != nil {
		shared.Close()
	}
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

var (
	sharedOnce sync.Once
	shared     *Stack
	sharedErr  error
)

func testOptions(t *testing.T) Options {
	return Options{
		Template:       "testdata/template.yaml",
		APIAddr:        "127.0.0.1:0",
		SandboxAddr:    "127.0.0.1:0",
		MotoAddr:       "127.0.0.1:0",
		Sandbox:        sandbox.Config{APIKey: "test-api-key", WebhookKey: "test-webhook-key"},
		MaxProcesses:   4,
		FunctionOutput: testWriter{t},
	}
}

// sharedStack starts one stack from testdata/template.yaml for the tests
// that only read from it; TestMain closes it.
func sharedStack(t *testing.T) *Stack {
	t.Helper()
	sharedOnce.Do(func() {
		opts := testOptions(t)
		// The stack outlives the first test to use it: its function output
		// must not go to that test's log.
		opts.FunctionOutput = io.Discard
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		shared, sharedErr = Start(ctx, opts)
	})
	if sharedErr != nil {
		t.Fatalf("start the local stack: %v", sharedErr)
	}
	return shared
}

func TestStackResources(t *testing.T) {
	s := sharedStack(t)
	ctx := context.Background()

	t.Run("moto's CloudFormation lists the stack CREATE_COMPLETE", func(t *testing.T) {
		out, err := cloudformation.NewFromConfig(s.AWSConfig()).DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String("ottu-lambda-local")})
		if err != nil || len(out.Stacks) != 1 {
			t.Fatalf("describe the stack ottu-lambda-local: %v %+v", err, out)
		}
		if st := out.Stacks[0].StackStatus; st != cftypes.StackStatusCreateComplete {
			t.Fatalf("the stack is %s, want CREATE_COMPLETE", st)
		}
	})

	t.Run("the template's table is created by the stack with its key and TTL", func(t *testing.T) {
		name := s.Tables()["EchoTable"]
		if !strings.HasPrefix(name, "ottu-lambda-local-EchoTable-") || name != s.Deployment().PhysicalID("EchoTable") {
			t.Fatalf("EchoTable is named %q, want the physical name CloudFormation gave it", name)
		}
		ddb := dynamodb.NewFromConfig(s.AWSConfig())
		desc, err := ddb.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
		if err != nil {
			t.Fatalf("describe %s: %v", name, err)
		}
		ks := desc.Table.KeySchema
		if len(ks) != 1 || aws.ToString(ks[0].AttributeName) != "id" || ks[0].KeyType != ddbtypes.KeyTypeHash {
			t.Fatalf("key schema %+v, want hash key id", ks)
		}
		ttl, err := ddb.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(name)})
		if err != nil {
			t.Fatalf("describe TTL: %v", err)
		}
		d := ttl.TimeToLiveDescription
		if d.TimeToLiveStatus != ddbtypes.TimeToLiveStatusEnabled || aws.ToString(d.AttributeName) != "expires_at" {
			t.Fatalf("TTL %s on %q, want ENABLED on expires_at", d.TimeToLiveStatus, aws.ToString(d.AttributeName))
		}
	})

	t.Run("the secrets point the functions at the sandbox with its keys", func(t *testing.T) {
		sm := secretsmanager.NewFromConfig(s.AWSConfig())
		tests := []struct {
			name, arn string
			want      map[string]string
		}{
			{"API", s.Secrets().API, map[string]string{"base_url": s.URLs().Sandbox, "api_key": "test-api-key"}},
			{"webhook", s.Secrets().Webhook, map[string]string{"webhook_key": "test-webhook-key"}},
		}
		for _, tt := range tests {
			out, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(tt.arn)})
			if err != nil {
				t.Fatalf("%s secret %q: %v", tt.name, tt.arn, err)
			}
			var got map[string]string
			if err := json.Unmarshal([]byte(aws.ToString(out.SecretString)), &got); err != nil {
				t.Fatalf("%s secret is not JSON: %v", tt.name, err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("%s secret = %v, want %v", tt.name, got, tt.want)
			}
		}
	})

	t.Run("the demo transactions are in the sandbox", func(t *testing.T) {
		if len(s.Demo()) != len(sandbox.DemoTransactions()) {
			t.Fatalf("%d demo transactions, want %d", len(s.Demo()), len(sandbox.DemoTransactions()))
		}
		resp, err := http.Get(s.URLs().Sandbox + "/sandbox/transactions/demo-paid-kwd")
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }()
		var txn sandbox.Transaction
		if err := json.NewDecoder(resp.Body).Decode(&txn); err != nil {
			t.Fatalf("status %d, body not a transaction: %v", resp.StatusCode, err)
		}
		if txn.State != sandbox.StatePaid || txn.Amount != "10.000" || txn.CurrencyCode != "KWD" || txn.PGCode != "mpgs" {
			t.Fatalf("demo-paid-kwd is %+v, want a paid 10.000 KWD mpgs payment", txn)
		}
	})
}

func TestStackFunctionEnvironment(t *testing.T) {
	s := sharedStack(t)
	resp, err := http.Post(s.URLs().API+"/2015-03-31/functions/EchoFunction/invocations", "application/json", strings.NewReader(`{"action":"env"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var env map[string]string
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		t.Fatalf("status %d, env not JSON: %v", resp.StatusCode, err)
	}
	urls := s.URLs()
	table := s.Tables()["EchoTable"]
	want := map[string]string{
		"ECHO_TABLE":                      table,
		"ECHO_TABLE_ARN":                  "arn:aws:dynamodb:us-east-1:123456789012:table/" + table,
		"GREETING":                        "hello",
		"REGION_AND_TABLE":                "us-east-1/" + table,
		"OTTU_API_SECRET_ID":              s.Secrets().API,
		"OTTU_WEBHOOK_SECRET_ID":          s.Secrets().Webhook,
		"OTTU_BASE_URL":                   "", // the template's default: the secret's base_url (the sandbox) is used
		"AWS_ENDPOINT_URL":                urls.Moto,
		"PUBLIC_BASE_URL":                 urls.API,
		"AWS_REGION":                      "us-east-1",
		"AWS_DEFAULT_REGION":              "us-east-1",
		"AWS_LAMBDA_FUNCTION_NAME":        s.Deployment().PhysicalID("EchoFunction"),
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"_HANDLER":                        "bootstrap",
	}
	for k, v := range want {
		t.Run(k+" is set as the template and Lambda say", func(t *testing.T) {
			if env[k] != v {
				t.Fatalf("%s = %q, want %q", k, env[k], v)
			}
		})
	}
	t.Run("the credentials are the function's role's, from sts:AssumeRole", func(t *testing.T) {
		if !strings.HasPrefix(env["AWS_ACCESS_KEY_ID"], "ASIA") || env["AWS_SECRET_ACCESS_KEY"] == "" || env["AWS_SESSION_TOKEN"] == "" {
			t.Fatalf("AWS_ACCESS_KEY_ID %q, AWS_SESSION_TOKEN set %v: want temporary credentials of the role", env["AWS_ACCESS_KEY_ID"], env["AWS_SESSION_TOKEN"] != "")
		}
		id, err := sts.NewFromConfig(s.AWSConfig(), func(o *sts.Options) {
			o.Credentials = credentials.NewStaticCredentialsProvider(env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"], env["AWS_SESSION_TOKEN"])
		}).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
		if err != nil {
			t.Fatal(err)
		}
		role := s.Deployment().PhysicalID("EchoFunctionRole")
		if !strings.Contains(aws.ToString(id.Arn), ":assumed-role/"+role+"/") {
			t.Fatalf("the credentials are %s's, want the role %s the stack created", aws.ToString(id.Arn), role)
		}
	})
	t.Run("the stack's own environment does not leak into functions", func(t *testing.T) {
		if v, ok := env[hostOnlyVar]; ok {
			t.Fatalf("%s = %q reached the function", hostOnlyVar, v)
		}
	})
	t.Run("AWS_LAMBDA_RUNTIME_API names the process's loopback Runtime API", func(t *testing.T) {
		// A loopback address of the process's own (freeLoopbackAddrs).
		host, _, err := net.SplitHostPort(env["AWS_LAMBDA_RUNTIME_API"])
		if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
			t.Fatalf("AWS_LAMBDA_RUNTIME_API = %q", env["AWS_LAMBDA_RUNTIME_API"])
		}
	})
}

func TestStackRoutes(t *testing.T) {
	s := sharedStack(t)
	tests := []struct {
		name, method, path string
		wantRouteKey       string
		wantIAM            bool
	}{
		{"a GET with a path parameter reaches the function", http.MethodGet, "/items/42?x=1", "GET /items/{id}", true},
		{"a POST route reaches the function", http.MethodPost, "/items", "POST /items", true},
		{"a route with Authorizer NONE carries no IAM identity", http.MethodPost, "/open", "POST /open", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, s.URLs().API+tt.path, strings.NewReader(`{}`))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = resp.Body.Close() }()
			var ans struct {
				Event struct {
					RouteKey       string `json:"routeKey"`
					RequestContext struct {
						Authorizer *struct {
							IAM *struct {
								AccountID string `json:"accountId"`
							} `json:"iam"`
						} `json:"authorizer"`
					} `json:"requestContext"`
				} `json:"event"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&ans); err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d, decode: %v", resp.StatusCode, err)
			}
			if ans.Event.RouteKey != tt.wantRouteKey {
				t.Fatalf("routeKey %q, want %q", ans.Event.RouteKey, tt.wantRouteKey)
			}
			authz := ans.Event.RequestContext.Authorizer
			if hasIAM := authz != nil && authz.IAM != nil; hasIAM != tt.wantIAM {
				t.Fatalf("IAM identity present = %v, want %v", hasIAM, tt.wantIAM)
			}
		})
	}
}

func TestStartFailures(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = taken.Close() })
	takenAddr := taken.Addr().String()
	onlyPython := pathWith(t, "python3")

	tests := []struct {
		name   string
		change func(*Options)
		want   []string
	}{
		{"a taken API port names LOCAL_API_ADDR", func(o *Options) { o.APIAddr = takenAddr }, []string{"LOCAL_API_ADDR", takenAddr}},
		{"a taken sandbox port names SANDBOX_ADDR", func(o *Options) { o.SandboxAddr = takenAddr }, []string{"SANDBOX_ADDR", takenAddr}},
		{"a taken moto port names MOTO_ADDR", func(o *Options) { o.MotoAddr = takenAddr }, []string{"MOTO_ADDR", takenAddr}},
		{"a missing template is named", func(o *Options) { o.Template = "testdata/no-such-template.yaml" }, []string{"no-such-template.yaml"}},
		{"a missing python3 says what translates the template", func(o *Options) { t.Setenv("PATH", t.TempDir()) }, []string{"python3", "aws-sam-translator"}},
		{"a missing moto_server says how to install it", func(o *Options) { t.Setenv("PATH", onlyPython) }, []string{"moto_server", "pip install"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := testOptions(t)
			tt.change(&opts)
			s, err := Start(context.Background(), opts)
			if err == nil {
				s.Close()
				t.Fatal("Start succeeded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Fatalf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

// pathWith is a PATH holding only the named commands of this one.
func pathWith(t *testing.T, commands ...string) string {
	dir := t.TempDir()
	for _, c := range commands {
		p, err := exec.LookPath(c)
		if err != nil {
			t.Fatalf("%s is needed for this test: %v", c, err)
		}
		// A pyenv shim is a bash script: link the interpreter it runs.
		if c == "python3" {
			out, err := exec.Command(p, "-c", "import sys; print(sys.executable)").Output()
			if err != nil {
				t.Fatalf("ask python3 where it is: %v", err)
			}
			p = strings.TrimSpace(string(out))
		}
		if err := os.Symlink(p, filepath.Join(dir, c)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestStackClose(t *testing.T) {
	t.Run("Close stops the API, every function process and moto", func(t *testing.T) {
		s, err := Start(context.Background(), testOptions(t))
		if err != nil {
			t.Fatalf("start: %v", err)
		}
		out, err := s.Invoke(context.Background(), "EchoFunction", []byte(`{}`))
		if err != nil {
			t.Fatalf("invoke: %v", err)
		}
		var ans echoAnswer
		if err := json.Unmarshal(out, &ans); err != nil {
			t.Fatal(err)
		}
		urls := s.URLs()
		s.Close()
		s.Close() // a second Close is harmless

		if processAlive(ans.PID) {
			t.Errorf("function process %d outlived Close", ans.PID)
		}
		for name, u := range map[string]string{"API": urls.API, "moto": urls.Moto + "/moto-api/", "sandbox": urls.Sandbox + "/sandbox/transactions/demo-pending"} {
			waitUntil(t, func() bool {
				resp, err := http.Get(u)
				if err == nil {
					_ = resp.Body.Close()
				}
				return errors.Is(err, syscall.ECONNREFUSED)
			})
			t.Logf("%s refuses connections after Close", name)
		}
	})
}
