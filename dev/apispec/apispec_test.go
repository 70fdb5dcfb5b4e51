package apispec

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/ottuops/ottu-lambda/dev/localstack"
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

var (
	translateOnce sync.Once
	translated    *localstack.Translation
	translateErr  error
)

// loadTemplate is template.yaml as aws-sam-translator translates it for
// the deploy (the local stack deploys the same), translated once per test
// binary.
func loadTemplate(t *testing.T) *localstack.Translation {
	t.Helper()
	translateOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		translated, translateErr = localstack.Translate(ctx, filepath.Join(repoRoot(t), "template.yaml"))
	})
	if translateErr != nil {
		t.Fatalf("translate template.yaml: %v", translateErr)
	}
	return translated
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

// templateRoutes maps "METHOD /path" to its route in the translated
// template's HTTP API (its IAMAuth, naming the function).
func templateRoutes(t *testing.T, tpl *localstack.Translation) map[string]localstack.Route {
	t.Helper()
	rs, err := tpl.Routes()
	if err != nil {
		t.Fatal(err)
	}
	routes := map[string]localstack.Route{}
	for _, r := range rs {
		key := r.Method + " " + r.Path
		if _, dup := routes[key]; dup {
			t.Errorf("template.yaml routes %s to more than one function", key)
		}
		routes[key] = r
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
	for _, id := range loadTemplate(t).LogicalIDs("AWS::Lambda::Function") {
		pkg := localstack.PackageFor(id)
		t.Run(fmt.Sprintf("%s is built from %s/main.go", id, pkg), func(t *testing.T) {
			main := filepath.Join(root, pkg, "main.go")
			if _, err := os.Stat(main); err != nil {
				t.Errorf("%s has no main.go at %s (the Makefile builds build-%s from it): %v", id, main, id, err)
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
			var f struct {
				Timeout int `json:"Timeout"`
			}
			if err := tpl.Properties(id, &f); err != nil {
				t.Fatal(err)
			}
			if f.Timeout <= 0 || f.Timeout >= 30 {
				t.Errorf("Timeout = %d s; API Gateway would answer 503 before the function's own 504", f.Timeout)
			}
		})
	}
	t.Run("every function names the Tracking-Key table and the API secret from the stack", func(t *testing.T) {
		// TestDeployRehearsal (dev/localstack) checks the values the deployed stack resolves.
		for _, id := range tpl.LogicalIDs("AWS::Lambda::Function") {
			var f struct {
				Environment struct {
					Variables map[string]any `json:"Variables"`
				} `json:"Environment"`
			}
			if err := tpl.Properties(id, &f); err != nil {
				t.Fatal(err)
			}
			env := f.Environment.Variables
			if fmt.Sprint(env["TRACKING_KEYS_TABLE"]) != "map[Ref:TrackingKeysTable]" || fmt.Sprint(env["OTTU_API_SECRET_ID"]) != "map[Ref:OttuApiSecretArn]" {
				t.Errorf("%s: TRACKING_KEYS_TABLE=%v OTTU_API_SECRET_ID=%v", id, env["TRACKING_KEYS_TABLE"], env["OTTU_API_SECRET_ID"])
			}
		}
	})
	t.Run("the Tracking-Key table is keyed by tracking_key, expires by TTL, is retained and indexed by status for the reconciler", func(t *testing.T) {
		var got struct {
			BillingMode          string                       `json:"BillingMode"`
			AttributeDefinitions []map[string]string          `json:"AttributeDefinitions"`
			KeySchema            []map[string]string          `json:"KeySchema"`
			TTL                  map[string]any               `json:"TimeToLiveSpecification"`
			PITR                 map[string]bool              `json:"PointInTimeRecoverySpecification"`
			SSE                  map[string]bool              `json:"SSESpecification"`
			GSIs                 []map[string]json.RawMessage `json:"GlobalSecondaryIndexes"`
		}
		if err := tpl.Properties("TrackingKeysTable", &got); err != nil {
			t.Fatal(err)
		}
		r := tpl.Template.Resources["TrackingKeysTable"]
		if got.BillingMode != "PAY_PER_REQUEST" ||
			fmt.Sprint(got.AttributeDefinitions) != "[map[AttributeName:tracking_key AttributeType:S] map[AttributeName:status AttributeType:S] map[AttributeName:updated_at AttributeType:S]]" ||
			fmt.Sprint(got.KeySchema) != "[map[AttributeName:tracking_key KeyType:HASH]]" ||
			fmt.Sprint(got.TTL) != "map[AttributeName:expires_at Enabled:true]" ||
			!got.PITR["PointInTimeRecoveryEnabled"] || !got.SSE["SSEEnabled"] || !byStatus(got.GSIs) ||
			r.DeletionPolicy != "Retain" || r.UpdateReplacePolicy != "Retain" {
			t.Errorf("TrackingKeysTable %+v, DeletionPolicy %q, UpdateReplacePolicy %q", got, r.DeletionPolicy, r.UpdateReplacePolicy)
		}
	})
}

// byStatus reports whether gsis is exactly the reconciler's index: by_status,
// keyed by status and updated_at, keys only.
func byStatus(gsis []map[string]json.RawMessage) bool {
	if len(gsis) != 1 {
		return false
	}
	var name string
	var keys []map[string]string
	var proj map[string]string
	if json.Unmarshal(gsis[0]["IndexName"], &name) != nil || json.Unmarshal(gsis[0]["KeySchema"], &keys) != nil || json.Unmarshal(gsis[0]["Projection"], &proj) != nil {
		return false
	}
	return name == "by_status" && fmt.Sprint(keys) == "[map[AttributeName:status KeyType:HASH] map[AttributeName:updated_at KeyType:RANGE]]" &&
		proj["ProjectionType"] == "KEYS_ONLY"
}
