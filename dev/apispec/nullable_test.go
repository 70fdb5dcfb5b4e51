package apispec

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestWorkflowNullableMembers checks that GET /refund-workflows/{id}'s
// approval, result and failure, null while a workflow runs, are read as
// "the object or null" by a strict OpenAPI 3.0 validator (which honours
// `nullable` only beside `type`) as well as by kin-openapi, and that
// neither takes a member that is neither.
func TestWorkflowNullableMembers(t *testing.T) {
	doc := loadSpec(t)
	schema := doc.Components.Schemas["RefundWorkflow"]
	if schema == nil || schema.Value == nil {
		t.Fatal("openapi.yaml has no components.schemas.RefundWorkflow")
	}
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Fatal("python3 is not on PATH; the strict validator (openapi-schema-validator, installed with openapi-spec-validator) runs in it")
	}
	tests := []struct {
		name, file string
		valid      bool
	}{
		{"a workflow waiting for its approval (result and failure null) is valid", "running.json", true},
		{"a workflow still preparing (approval, result and failure null) is valid", "preparing.json", true},
		{"a succeeded workflow (result an object) is valid", "succeeded.json", true},
		{"a failure that is a string, neither object nor null, is refused", "failure-not-object.json", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("testdata", "workflows", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			var v any
			if err := json.Unmarshal(raw, &v); err != nil {
				t.Fatal(err)
			}
			if err := schema.Value.VisitJSON(v); (err == nil) != tt.valid {
				t.Errorf("kin-openapi: valid = %v (%v), want %v", err == nil, err, tt.valid)
			}

			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, python, "testdata/oas30_validate.py", filepath.Join(repoRoot(t), "openapi.yaml"), "RefundWorkflow")
			cmd.Stdin = bytes.NewReader(raw)
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			switch {
			case err == nil:
				if !tt.valid {
					t.Errorf("the strict OAS 3.0 validator took it, want it refused")
				}
			case errors.As(err, &exit) && exit.ExitCode() == 1:
				if tt.valid {
					t.Errorf("the strict OAS 3.0 validator refused it:\n%s", out)
				}
			default:
				t.Fatalf("the strict OAS 3.0 validator did not run: %v\n%s", err, out)
			}
		})
	}
}
