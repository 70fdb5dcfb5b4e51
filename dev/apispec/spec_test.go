package apispec

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// problemTypePrefix starts the type URI of every problem the functions
// answer; the code follows it.
const problemTypePrefix = "urn:ottu-lambda:problem:"

// problemType is one entry of the problem.Document schema's x-problem-types: the
// status and title every problem with that code has.
type problemType struct {
	Status int    `json:"status"`
	Title  string `json:"title"`
}

// loadSpec reads openapi.yaml with kin-openapi and checks it the way the
// library's validators need it checked (schemas, references, examples).
func loadSpec(t *testing.T) *openapi3.T {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile(filepath.Join(repoRoot(t), "openapi.yaml"))
	if err != nil {
		t.Fatalf("load openapi.yaml: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.yaml does not validate with kin-openapi: %v", err)
	}
	return doc
}

// problemSchema is the problem.Document schema of openapi.yaml.
func problemSchema(t *testing.T, doc *openapi3.T) *openapi3.Schema {
	t.Helper()
	ref := doc.Components.Schemas["Problem"]
	if ref == nil || ref.Value == nil {
		t.Fatal("openapi.yaml has no components.schemas.Problem")
	}
	return ref.Value
}

// problemTypes reads x-problem-types of the problem.Document schema, by code.
func problemTypes(t *testing.T, doc *openapi3.T) map[string]problemType {
	t.Helper()
	raw, ok := problemSchema(t, doc).Extensions["x-problem-types"]
	if !ok {
		t.Fatal("the problem.Document schema of openapi.yaml has no x-problem-types")
	}
	b, err := json.Marshal(raw)
	if err != nil {
		t.Fatal(err)
	}
	var types map[string]problemType
	if err := json.Unmarshal(b, &types); err != nil {
		t.Fatalf("x-problem-types is not a map of code to {status, title}: %v", err)
	}
	return types
}

// problemCodes is the enum of the problem.Document schema's code, in document order.
func problemCodes(t *testing.T, doc *openapi3.T) []string {
	t.Helper()
	code := problemSchema(t, doc).Properties["code"]
	if code == nil || code.Value == nil {
		t.Fatal("the problem.Document schema of openapi.yaml has no code property")
	}
	var codes []string
	for _, v := range code.Value.Enum {
		s, ok := v.(string)
		if !ok {
			t.Fatalf("the code enum holds %v, not a string", v)
		}
		codes = append(codes, s)
	}
	if len(codes) == 0 {
		t.Fatal("the problem.Document schema's code has no enum")
	}
	return codes
}

// checkProblemIdentity reports how a problem's type, title and status differ
// from what x-problem-types gives its code.
func checkProblemIdentity(types map[string]problemType, typ, title string, status int, code string) []string {
	want, ok := types[code]
	if !ok {
		return []string{fmt.Sprintf("code %q is not in x-problem-types", code)}
	}
	var diffs []string
	if typ != problemTypePrefix+code {
		diffs = append(diffs, fmt.Sprintf("type %q, want %q", typ, problemTypePrefix+code))
	}
	if title != want.Title {
		diffs = append(diffs, fmt.Sprintf("title %q, want %q", title, want.Title))
	}
	if status != want.Status {
		diffs = append(diffs, fmt.Sprintf("status %d, want %d", status, want.Status))
	}
	return diffs
}

// sortedCodes returns the keys of types, sorted.
func sortedCodes(types map[string]problemType) []string {
	codes := make([]string, 0, len(types))
	for c := range types {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	return codes
}
