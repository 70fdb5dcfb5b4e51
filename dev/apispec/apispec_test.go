package apispec

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/ottuops/ottu-lambda/dev/samtemplate"
)

// repoRoot is the directory holding go.mod, two levels up from here.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("repository root not found at %s: %v", root, err)
	}
	return root
}

func loadTemplate(t *testing.T) *samtemplate.Template {
	t.Helper()
	tpl, err := samtemplate.Load(filepath.Join(repoRoot(t), "template.yaml"))
	if err != nil {
		t.Fatalf("load template.yaml: %v", err)
	}
	return tpl
}

// openAPIDoc is the part of openapi.yaml the route checks read.
type openAPIDoc struct {
	Security []map[string][]string                  `yaml:"security"`
	Paths    map[string]map[string]openAPIOperation `yaml:"paths"`
}

type openAPIOperation struct {
	// Security is nil when the operation inherits the document's.
	Security *[]map[string][]string `yaml:"security"`
}

var httpMethods = map[string]bool{
	"get": true, "put": true, "post": true, "delete": true,
	"options": true, "head": true, "patch": true, "trace": true,
}

// openAPIRoutes maps "METHOD /path" to whether the route needs a signature.
func openAPIRoutes(t *testing.T) map[string]bool {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(t), "openapi.yaml"))
	if err != nil {
		t.Fatalf("read openapi.yaml: %v", err)
	}
	var doc openAPIDoc
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("parse openapi.yaml: %v", err)
	}
	routes := map[string]bool{}
	for path, item := range doc.Paths {
		for method, op := range item {
			if !httpMethods[method] {
				continue
			}
			security := doc.Security
			if op.Security != nil {
				security = *op.Security
			}
			routes[strings.ToUpper(method)+" "+path] = requiresSigV4(security)
		}
	}
	return routes
}

// requiresSigV4 is true when every alternative of an OpenAPI security
// requirement includes the sigv4 scheme (an empty alternative means open).
func requiresSigV4(security []map[string][]string) bool {
	if len(security) == 0 {
		return false
	}
	for _, alt := range security {
		if _, ok := alt["sigv4"]; !ok {
			return false
		}
	}
	return true
}

// templateRoutes maps "METHOD /path" to its IAMAuth, naming the function.
func templateRoutes(t *testing.T, tpl *samtemplate.Template) map[string]samtemplate.Route {
	t.Helper()
	routes := map[string]samtemplate.Route{}
	for _, f := range tpl.Functions {
		for _, r := range f.Routes {
			key := r.Method + " " + r.Path
			if _, dup := routes[key]; dup {
				t.Errorf("template.yaml routes %s to more than one function", key)
			}
			routes[key] = r
		}
	}
	return routes
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// runTool runs a validator from the repository root and fails loudly when
// it is missing, since a skipped check would pass without checking.
func runTool(t *testing.T, install string, name string, args ...string) {
	t.Helper()
	bin, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is not on PATH; install it with %s", name, install)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = repoRoot(t)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		t.Fatalf("%s %s exited %d:\n%s", name, strings.Join(args, " "), exit.ExitCode(), out.String())
	case err != nil:
		t.Fatalf("run %s: %v", name, err)
	}
}

func TestValidators(t *testing.T) {
	tests := []struct {
		name, install, tool string
		args                []string
	}{
		{"template.yaml passes cfn-lint with no errors or warnings", "pip install cfn-lint", "cfn-lint", []string{"template.yaml"}},
		{"openapi.yaml is a valid OpenAPI document", "pip install openapi-spec-validator", "openapi-spec-validator", []string{"openapi.yaml"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			runTool(t, tc.install, tc.tool, tc.args...)
		})
	}
}

func TestTemplateRoutesAreDocumented(t *testing.T) {
	tpl := loadTemplate(t)
	documented := openAPIRoutes(t)
	deployed := templateRoutes(t, tpl)
	if len(deployed) == 0 {
		t.Fatal("template.yaml declares no HTTP routes")
	}
	for _, key := range sortedKeys(deployed) {
		t.Run(key+" of template.yaml is described in openapi.yaml with the same authorization", func(t *testing.T) {
			sigv4, ok := documented[key]
			if !ok {
				t.Fatalf("openapi.yaml has no %s; documented: %v", key, sortedKeys(documented))
			}
			if iam := deployed[key].IAMAuth; sigv4 != iam {
				t.Errorf("template.yaml IAM auth is %v but openapi.yaml sigv4 is %v", iam, sigv4)
			}
		})
	}
	for _, key := range sortedKeys(documented) {
		t.Run(key+" of openapi.yaml is routed in template.yaml", func(t *testing.T) {
			if _, ok := deployed[key]; !ok {
				t.Errorf("template.yaml has no event for %s; routed: %v", key, sortedKeys(deployed))
			}
		})
	}
}

func TestFunctionPackagesExist(t *testing.T) {
	root := repoRoot(t)
	for _, f := range loadTemplate(t).Functions {
		t.Run(fmt.Sprintf("%s is built from %s/main.go", f.LogicalID, f.Package), func(t *testing.T) {
			main := filepath.Join(root, f.Package, "main.go")
			if _, err := os.Stat(main); err != nil {
				t.Errorf("%s has no main.go at %s (the Makefile builds build-%s from it): %v", f.LogicalID, main, f.LogicalID, err)
			}
		})
	}
}

func TestTemplateSettings(t *testing.T) {
	tpl := loadTemplate(t)
	wantFunctions := []string{
		"CaptureFunction", "RefundFunction", "VoidFunction", "CancelFunction",
		"ExpireFunction", "DeleteFunction", "OperationStatusFunction",
	}
	for _, id := range wantFunctions {
		t.Run(id+" times out before the HTTP API's 30 seconds", func(t *testing.T) {
			f, ok := tpl.Function(id)
			if !ok {
				t.Fatalf("template.yaml has no %s", id)
			}
			if f.Timeout >= 30 {
				t.Errorf("Timeout = %d s; API Gateway would answer 503 before the function's own 504", f.Timeout)
			}
		})
	}
	t.Run("every function's environment resolves from parameters, the table and the region", func(t *testing.T) {
		refs := tpl.ParameterDefaults()
		refs["OttuApiSecretArn"] = "arn:aws:secretsmanager:me-south-1:123456789012:secret:ottu-AbCdEf"
		refs["OttuWebhookSecretArn"] = "arn:aws:secretsmanager:me-south-1:123456789012:secret:ottu-webhook-AbCdEf"
		refs["AWS::Region"] = "me-south-1"
		refs["AWS::Partition"] = "aws"
		refs["AWS::AccountId"] = "123456789012"
		refs["AWS::StackName"] = "ottu"
		for _, tb := range tpl.Tables {
			refs[tb.LogicalID] = tb.LogicalID
		}
		for _, f := range tpl.Functions {
			env, err := f.ResolveEnv(refs)
			if err != nil {
				t.Errorf("%s: %v", f.LogicalID, err)
				continue
			}
			if env["TRACKING_KEYS_TABLE"] != "TrackingKeysTable" || env["OTTU_API_SECRET_ID"] != refs["OttuApiSecretArn"] {
				t.Errorf("%s: TRACKING_KEYS_TABLE=%q OTTU_API_SECRET_ID=%q", f.LogicalID, env["TRACKING_KEYS_TABLE"], env["OTTU_API_SECRET_ID"])
			}
		}
	})
	t.Run("the Tracking-Key table is keyed by tracking_key, expires by TTL, is retained and indexed by status for the reconciler", func(t *testing.T) {
		var tb *samtemplate.Table
		for i := range tpl.Tables {
			if tpl.Tables[i].LogicalID == "TrackingKeysTable" {
				tb = &tpl.Tables[i]
			}
		}
		if tb == nil {
			t.Fatal("template.yaml has no TrackingKeysTable")
		}
		want := samtemplate.Table{
			LogicalID: "TrackingKeysTable", HashKey: "tracking_key", HashKeyType: "S",
			TTLAttribute: "expires_at", BillingMode: "PAY_PER_REQUEST",
			PointInTimeRecovery: true, ServerSideEncryption: true,
			DeletionPolicyRetain: true, UpdateReplacePolicyRetain: true,
			GSIs: []samtemplate.Index{{Name: "by_status", HashKey: "status", HashKeyType: "S", RangeKey: "updated_at", RangeKeyType: "S", ProjectionType: "KEYS_ONLY"}},
		}
		if !reflect.DeepEqual(*tb, want) {
			t.Errorf("got  %+v\nwant %+v", *tb, want)
		}
	})
}
