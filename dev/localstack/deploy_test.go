package localstack

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/ottuops/ottu-lambda/dev/testkit"
)

// TestDeployRehearsal deploys the repository's template.yaml as `sam
// package` + `sam deploy --config-env local` would, to moto's
// CloudFormation: the functions built with the Makefile's flags and zipped
// into moto's S3, the template translated by aws-sam-translator, the stack
// created with samconfig.toml's parameters. It fails on a resource that
// does not reach CREATE_COMPLETE, an output that does not name what the
// stack created, and a parameter the template needs that samconfig.toml
// does not give.
func TestDeployRehearsal(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	template := filepath.Join("..", "..", "template.yaml")
	started := time.Now()
	tr, err := Translate(ctx, template)
	if err != nil {
		t.Fatal(err)
	}
	translated := time.Since(started)

	// The secrets exist before the stack, as the README's deploy steps have them.
	lambdaPort, err := testkit.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	moto, err := testkit.StartMotoWith(ctx, "127.0.0.1:0", testkit.MotoOptions{LambdaPort: lambdaPort})
	if err != nil {
		t.Fatalf("moto is needed for the deploy rehearsal: %v", err)
	}
	defer moto.Stop()
	cfg := moto.AWSConfig()
	params := maps.Clone(tr.Parameters)
	params[paramAPISecret] = "arn:aws:secretsmanager:us-east-1:123456789012:secret:ottu-api-AbCdEf"
	params[paramWebhookSecret] = "arn:aws:secretsmanager:us-east-1:123456789012:secret:ottu-webhook-AbCdEf"

	t.Run("every parameter the template needs is given by samconfig.toml or is a secret the stack creates", func(t *testing.T) {
		if missing := tr.MissingParameters(params); len(missing) > 0 {
			t.Fatalf("the template needs %v, which samconfig.toml [local.deploy.parameters] does not give", missing)
		}
		if missing := tr.MissingParameters(tr.Parameters); !slices.Equal(missing, []string{paramAPISecret, paramWebhookSecret}) {
			t.Fatalf("without the secrets' ARNs the missing parameters are %v, want only the two secrets", missing)
		}
	})

	dir := t.TempDir()
	var jobs []buildJob
	for _, id := range tr.LogicalIDs("AWS::Lambda::Function") {
		jobs = append(jobs, buildJob{Name: id, Package: PackageFor(id)})
	}
	folders, err := os.ReadDir(filepath.Join("..", "..", "functions"))
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != len(folders) {
		t.Fatalf("the translated template has %d functions, and functions/ %d folders: each function folder is one template function", len(jobs), len(folders))
	}
	buildStarted := time.Now()
	bins, err := buildFunctions(ctx, filepath.Join("..", ".."), dir, jobs)
	if err != nil {
		t.Fatal(err)
	}
	built := time.Since(buildStarted)
	deployStarted := time.Now()
	d, err := Deploy(ctx, cfg, tr, bins, params)
	if err != nil {
		t.Fatalf("deploy template.yaml to moto: %v", err)
	}
	t.Logf("translate %s, build %s, deploy (%d uploads + CreateStack) %s: %d resources %s",
		translated.Round(time.Millisecond), built.Round(time.Millisecond), len(jobs), time.Since(deployStarted).Round(time.Millisecond), len(d.Resources), d.Status)

	t.Run("every resource moto can create is CREATE_COMPLETE", func(t *testing.T) {
		if bad := d.Incomplete(tr); len(bad) > 0 {
			t.Fatalf("not created: %s", strings.Join(bad, "; "))
		}
		// Every function, role, table, state machine and log group the
		// translated template declares.
		want := map[string]int{}
		for _, typ := range []string{"AWS::Lambda::Function", "AWS::IAM::Role", "AWS::DynamoDB::Table", "AWS::StepFunctions::StateMachine", "AWS::Logs::LogGroup"} {
			if want[typ] = len(tr.LogicalIDs(typ)); want[typ] == 0 {
				t.Errorf("the translated template has no %s", typ)
			}
		}
		got := map[string]int{}
		for _, r := range d.Resources {
			got[aws.ToString(r.ResourceType)]++
		}
		for typ, n := range want {
			if got[typ] != n {
				t.Errorf("%d resources of type %s, want %d", got[typ], typ, n)
			}
		}
	})

	t.Run("only the HTTP API, the schedules and the alarms are left out, and the API has every route", func(t *testing.T) {
		for id, r := range tr.Template.Resources {
			known := strings.HasPrefix(id, "OperationsApi") || r.Type == "AWS::Scheduler::Schedule" || r.Type == "AWS::CloudWatch::Alarm"
			if slices.Contains(notInMoto, r.Type) && !known {
				t.Errorf("%s (%s) is not created by moto and is none of the HTTP API, a schedule or an alarm", id, r.Type)
			}
		}
		routes, err := httpAPIRoutes(tr)
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		for _, r := range routes {
			keys = append(keys, fmt.Sprintf("%s %s %s iam=%v", r.Method, r.Path, r.Function, r.IAMAuth))
		}
		if len(routes) != 13 || !slices.Contains(keys, "POST /webhooks/ottu WebhookFunction iam=false") || !slices.Contains(keys, "POST /operations/refund RefundFunction iam=true") {
			t.Fatalf("routes %v: want 13, every one but the webhook under AWS_IAM", keys)
		}
	})

	t.Run("each output names what the stack created", func(t *testing.T) {
		lc := lambda.NewFromConfig(cfg)
		ddb := dynamodb.NewFromConfig(cfg)
		for _, name := range slices.Sorted(maps.Keys(tr.Template.Outputs)) {
			got := d.Outputs[name]
			v := tr.Template.Outputs[name].Value
			switch {
			case isGetAttArn(v) != "":
				id := isGetAttArn(v)
				out, err := lc.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(d.PhysicalID(id))})
				if err != nil || aws.ToString(out.Configuration.FunctionArn) != got {
					t.Errorf("output %s = %q, want the ARN of %s (%v)", name, got, id, err)
				}
			case isRef(v) != "":
				id := isRef(v)
				switch tr.Template.Resources[id].Type {
				case "AWS::DynamoDB::Table":
					if _, err := ddb.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(got)}); err != nil || got != d.PhysicalID(id) {
						t.Errorf("output %s = %q, want the table %s (%v)", name, got, d.PhysicalID(id), err)
					}
				case "AWS::IAM::ManagedPolicy":
					// The caller policies: moto creates a managed policy under
					// its ARN, which Ref returns.
					if got != d.PhysicalID(id) || !strings.HasPrefix(got, "arn:aws:iam::") {
						t.Errorf("output %s = %q, want the managed policy %s", name, got, d.PhysicalID(id))
					}
				case "AWS::StepFunctions::StateMachine":
					if _, err := sfn.NewFromConfig(cfg).DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: aws.String(got)}); err != nil || !strings.HasSuffix(got, ":stateMachine:ottu-lambda-local-refund-workflow") {
						t.Errorf("output %s = %q, want the state machine ottu-lambda-local-refund-workflow (%v)", name, got, err)
					}
				default:
					t.Errorf("output %s refers to %s, which this test does not check yet", name, id)
				}
			default:
				// The two URLs name the HTTP API, which moto does not
				// create: moto leaves its Ref unresolved.
				if !strings.Contains(got, "${OperationsApi}") || !strings.HasPrefix(got, "https://") || !strings.Contains(got, ".execute-api.us-east-1.amazonaws.com") {
					t.Errorf("output %s = %q, want the HTTP API's URL (moto leaves ${OperationsApi} unresolved)", name, got)
				}
			}
		}
	})

	t.Run("each function's environment names the stack's tables and the given secrets", func(t *testing.T) {
		for _, f := range d.functions {
			if f.Env["OTTU_API_SECRET_ID"] != params[paramAPISecret] || f.Env["TRACKING_KEYS_TABLE"] != d.PhysicalID("TrackingKeysTable") {
				t.Errorf("%s: OTTU_API_SECRET_ID %q, TRACKING_KEYS_TABLE %q", f.LogicalID, f.Env["OTTU_API_SECRET_ID"], f.Env["TRACKING_KEYS_TABLE"])
			}
			if f.Env["RECORD_RETENTION_DAYS"] != "30" || f.Timeout <= 0 || f.MemorySize != 256 || !strings.Contains(f.RoleARN, ":role/ottu-lambda-local-"+f.LogicalID+"Role-") {
				t.Errorf("%s: RECORD_RETENTION_DAYS %q, timeout %s, memory %d, role %s", f.LogicalID, f.Env["RECORD_RETENTION_DAYS"], f.Timeout, f.MemorySize, f.RoleARN)
			}
		}
	})

	t.Run("the state machine's definition has its substitutions filled in", func(t *testing.T) {
		out, err := sfn.NewFromConfig(cfg).DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: aws.String(d.PhysicalID("RefundWorkflowStateMachine"))})
		if err != nil {
			t.Fatal(err)
		}
		def := aws.ToString(out.Definition)
		if strings.Contains(def, "${") || !strings.Contains(def, d.PhysicalID("RefundFunction")) {
			t.Fatalf("the definition has a placeholder left or does not name the refund function:\n%s", def)
		}
	})
}

func isGetAttArn(v any) string {
	m, ok := v.(map[string]any)
	if !ok {
		return ""
	}
	a, ok := m["Fn::GetAtt"].([]any)
	if !ok || len(a) != 2 || a[1] != "Arn" {
		return ""
	}
	s, _ := a[0].(string)
	return s
}

func isRef(v any) string {
	m, ok := v.(map[string]any)
	if !ok {
		return ""
	}
	s, _ := m["Ref"].(string)
	return s
}

// TestTranslateFailsLoudly: a template the translator refuses is named with
// the translator's reason.
func TestTranslateFailsLoudly(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "template.yaml")
	if err := os.WriteFile(bad, []byte("Transform: AWS::Serverless-2016-10-31\nResources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      Events:\n        E:\n          Type: HttpApi\n          Properties:\n            Path: 42\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Translate(context.Background(), bad)
	if err == nil || !strings.Contains(err.Error(), "aws-sam-translator") {
		t.Fatalf("Translate = %v, want an error naming aws-sam-translator", err)
	}
}
