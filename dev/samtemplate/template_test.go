package samtemplate

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func load(t *testing.T, name string) *Template {
	t.Helper()
	tpl, err := Load(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("Load(%s): %v", name, err)
	}
	return tpl
}

func mustFunction(t *testing.T, tpl *Template, id string) Function {
	t.Helper()
	f, ok := tpl.Function(id)
	if !ok {
		t.Fatalf("function %s not found; have %v", id, functionIDs(tpl))
	}
	return f
}

func functionIDs(tpl *Template) []string {
	var ids []string
	for _, f := range tpl.Functions {
		ids = append(ids, f.LogicalID)
	}
	return ids
}

func TestLoadMergesGlobals(t *testing.T) {
	tpl := load(t, "globals_merge.yaml")
	tests := []struct {
		name string
		id   string
		want Function
	}{
		{
			name: "a function's own settings win over Globals",
			id:   "RefundFunction",
			want: Function{
				LogicalID: "RefundFunction", Package: "./functions/refund",
				Timeout: 10, MemorySize: 256,
				Environment: map[string]Value{
					"LOG_LEVEL": {Literal: "INFO"},
					"SHARED":    {Literal: "from-function"},
					"ONLY_HERE": {Literal: "yes"},
				},
			},
		},
		{
			name: "a function with no properties takes everything from Globals",
			id:   "OperationStatusFunction",
			want: Function{
				LogicalID: "OperationStatusFunction", Package: "./functions/operation-status",
				Timeout: 29, MemorySize: 256,
				Environment: map[string]Value{
					"LOG_LEVEL": {Literal: "INFO"},
					"SHARED":    {Literal: "from-globals"},
				},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := mustFunction(t, tpl, tc.id)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
	t.Run("functions come in the template's order", func(t *testing.T) {
		want := []string{"RefundFunction", "OperationStatusFunction"}
		if got := functionIDs(tpl); !reflect.DeepEqual(got, want) {
			t.Errorf("got %v, want %v", got, want)
		}
	})
}

func TestLoadNumbers(t *testing.T) {
	tests := []struct {
		name, file, id      string
		timeout, memorySize int
	}{
		{"with no Timeout anywhere SAM's defaults apply", "sam_defaults.yaml", "HTTPProxyFunction", DefaultTimeout, DefaultMemorySize},
		{"a Timeout given as !Ref takes the parameter's default", "timeout_ref.yaml", "ExpireFunction", 15, DefaultMemorySize},
		{"a YAML merge key copies a sibling's properties and the function's own win", "anchors.yaml", "RefundFunction", 25, 512},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := mustFunction(t, load(t, tc.file), tc.id)
			if f.Timeout != tc.timeout || f.MemorySize != tc.memorySize {
				t.Errorf("Timeout, MemorySize = %d, %d; want %d, %d", f.Timeout, f.MemorySize, tc.timeout, tc.memorySize)
			}
		})
	}
}

func TestLoadAliases(t *testing.T) {
	tpl := load(t, "anchors.yaml")
	tests := []struct {
		name, id string
		want     map[string]Value
	}{
		{"a merged mapping brings its environment along", "RefundFunction", map[string]Value{"LOG_LEVEL": {Literal: "DEBUG"}}},
		{"an alias to a scalar reads as the anchored value", "VoidFunction", map[string]Value{"LOG_LEVEL": {Literal: "DEBUG"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := mustFunction(t, tpl, tc.id).Environment; !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestShortAndLongTagsReadTheSame(t *testing.T) {
	want := &Template{
		Parameters: map[string]Parameter{
			"Stage":     {Type: "String", Default: "dev", AllowedValues: []string{"dev", "prod"}, hasDefault: true},
			"SecretArn": {Type: "String"},
		},
		Functions: []Function{{
			LogicalID: "CaptureFunction", Package: "./functions/capture",
			Timeout: DefaultTimeout, MemorySize: DefaultMemorySize,
			Environment: map[string]Value{
				"SECRET_ID": {Ref: "SecretArn"},
				"TABLE":     {Ref: "Table"},
				"TABLE_ARN": {GetAtt: "Table.Arn"},
				"GREETING":  {Sub: "hello ${Stage} in ${AWS::Region}"},
				"PLAIN":     {Literal: "2.500"},
			},
		}},
		Tables: []Table{{LogicalID: "Table", HashKey: "pk", HashKeyType: "S", BillingMode: "PAY_PER_REQUEST"}},
		Outputs: map[string]Output{
			"TableArn": {Description: "the table", Value: Value{GetAtt: "Table.Arn"}},
			"Url":      {Value: Value{Sub: "https://${Table}.example"}},
		},
	}
	for _, file := range []string{"short_tags.yaml", "long_tags.yaml", "long_tags.json"} {
		t.Run(file+" reads as the expected template", func(t *testing.T) {
			if got := load(t, file); !reflect.DeepEqual(got, want) {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestLoadRoutes(t *testing.T) {
	tests := []struct {
		name, file, id string
		want           []Route
	}{
		{
			name: "routes on an IAM-default API need SigV4 and other event types are left out",
			file: "route_auth.yaml", id: "CaptureFunction",
			want: []Route{
				{Method: "POST", Path: "/operations/capture", IAMAuth: true},
				{Method: "GET", Path: "/operations/{tracking_key}", IAMAuth: true},
			},
		},
		{
			name: "Authorizer NONE opens a route and APIs without a default are open",
			file: "route_auth.yaml", id: "WebhookFunction",
			want: []Route{
				{Method: "POST", Path: "/webhooks/ottu", IAMAuth: false},
				{Method: "GET", Path: "/health", IAMAuth: false},
				{Method: "ANY", Path: "$default", IAMAuth: false},
			},
		},
		{
			name: "the implicit API takes its default authorizer from Globals",
			file: "route_auth_globals.yaml", id: "InquiryFunction",
			want: []Route{{Method: "POST", Path: "/inquiry", IAMAuth: true}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := mustFunction(t, load(t, tc.file), tc.id).Routes
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
	t.Run("HTTP APIs are listed by logical id", func(t *testing.T) {
		want := []string{"Api", "OpenApi"}
		if got := load(t, "route_auth.yaml").HTTPAPIs; !reflect.DeepEqual(got, want) {
			t.Errorf("got %v, want %v", got, want)
		}
	})
}

func TestLoadTables(t *testing.T) {
	tpl := load(t, "tables.yaml")
	want := []Table{
		{
			LogicalID: "Records", TableName: "records",
			HashKey: "pk", HashKeyType: "S", RangeKey: "sk", RangeKeyType: "N",
			TTLAttribute: "expires_at", BillingMode: "PAY_PER_REQUEST",
			GSIs:                []Index{{Name: "by-order", HashKey: "order_no", HashKeyType: "S", ProjectionType: "ALL"}},
			PointInTimeRecovery: true, ServerSideEncryption: true,
			DeletionPolicyRetain: true, UpdateReplacePolicyRetain: true,
		},
		{LogicalID: "Provisioned", HashKey: "id", HashKeyType: "S", BillingMode: "PROVISIONED"},
	}
	tests := []struct {
		name string
		i    int
	}{
		{"a table with range key, TTL, index and retention reads in full", 0},
		{"a table without BillingMode is provisioned and disabled TTL is no TTL", 1},
	}
	if len(tpl.Tables) != len(want) {
		t.Fatalf("got %d tables, want %d", len(tpl.Tables), len(want))
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !reflect.DeepEqual(tpl.Tables[tc.i], want[tc.i]) {
				t.Errorf("got  %+v\nwant %+v", tpl.Tables[tc.i], want[tc.i])
			}
		})
	}
}

func TestLoadRejects(t *testing.T) {
	tests := []struct {
		name, file string
		wantErr    []string
	}{
		{"malformed YAML is reported with its line", "malformed.yaml", []string{"malformed.yaml", "not valid YAML", "line "}},
		{"a function without CodeUri is named", "no_codeuri.yaml", []string{"function CaptureFunction", "no CodeUri"}},
		{"a function without Handler is named", "no_handler.yaml", []string{"function CaptureFunction", "no Handler"}},
		{"an unknown short tag is named", "unknown_tag.yaml", []string{"unknown tag !Reference", "line 5"}},
		{"a resource defined twice is refused", "duplicate_key.yaml", []string{`key "CaptureFunction" appears twice`}},
		{"an environment variable built with !If is refused", "env_if.yaml", []string{"environment variable MODE", "Fn::If is not supported"}},
		{"a Timeout that is not a number is refused", "bad_timeout.yaml", []string{"Timeout", `"29s"`}},
		{"an event on an API the template lacks is refused", "api_ref_missing.yaml", []string{"event Capture", "MissingApi"}},
		{"a route without a Method is refused", "route_without_method.yaml", []string{"event Capture", "no Method"}},
		{"a template without Resources is refused", "no_resources.yaml", []string{"no Resources"}},
		{"an empty file is refused", "empty.yaml", []string{"empty"}},
		{"a document that is not a mapping is refused", "not_a_mapping.yaml", []string{"must be a mapping", "a list"}},
		{"a key missing from AttributeDefinitions is named", "table_without_keys.yaml", []string{"table Records", `"other"`, "AttributeDefinitions"}},
		{"an alias bomb is stopped", "alias_bomb.yaml", []string{"too many YAML aliases"}},
		{"a missing file is reported", "does_not_exist.yaml", []string{"read SAM template"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tpl, err := Load(filepath.Join("testdata", tc.file))
			if err == nil {
				t.Fatalf("Load succeeded with %+v; want an error", tpl)
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestImageFunctionNeedsNoCodeUriOrHandler(t *testing.T) {
	t.Run("an image function loads without CodeUri or Handler", func(t *testing.T) {
		f := mustFunction(t, load(t, "image_function.yaml"), "CaptureFunction")
		if f.Package != "./functions/capture" {
			t.Errorf("Package = %q", f.Package)
		}
	})
}

func TestParameterDefaults(t *testing.T) {
	tests := []struct {
		name, file string
		want       map[string]string
	}{
		{"only parameters with a Default are listed", "short_tags.yaml", map[string]string{"Stage": "dev"}},
		{"a numeric default stays as written", "timeout_ref.yaml", map[string]string{"FunctionTimeout": "15"}},
		{"no parameters give an empty map", "tables.yaml", map[string]string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := load(t, tc.file).ParameterDefaults(); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
	t.Run("an empty default is listed as empty", func(t *testing.T) {
		tpl, err := Parse([]byte("Parameters:\n  BaseUrl:\n    Type: String\n    Default: \"\"\nResources:\n  T:\n    Type: AWS::SNS::Topic\n"))
		if err != nil {
			t.Fatal(err)
		}
		got, ok := tpl.ParameterDefaults()["BaseUrl"]
		if !ok || got != "" {
			t.Errorf("BaseUrl default = %q, listed %v; want \"\", true", got, ok)
		}
	})
}

func TestFunctionLookup(t *testing.T) {
	tpl := load(t, "globals_merge.yaml")
	tests := []struct {
		name, id string
		found    bool
	}{
		{"a declared function is found", "RefundFunction", true},
		{"an unknown id is not found", "CaptureFunction", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, ok := tpl.Function(tc.id)
			if ok != tc.found || (ok && f.LogicalID != tc.id) {
				t.Errorf("Function(%q) = %q, %v; want found %v", tc.id, f.LogicalID, ok, tc.found)
			}
		})
	}
}

func TestPackageFor(t *testing.T) {
	tests := []struct{ name, id, want string }{
		{"a one-word id drops the Function suffix", "CaptureFunction", "./functions/capture"},
		{"a two-word id becomes kebab-case", "OperationStatusFunction", "./functions/operation-status"},
		{"an acronym stays one word", "HTTPProxyFunction", "./functions/http-proxy"},
		{"digits stay with their word", "Inquiry2Result", "./functions/inquiry2-result"},
		{"an id without the suffix is used whole", "Webhook", "./functions/webhook"},
		{"an id that is only the suffix keeps it", "Function", "./functions/function"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := PackageFor(tc.id); got != tc.want {
				t.Errorf("PackageFor(%q) = %q, want %q", tc.id, got, tc.want)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.*"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("Resources: !Ref"))
	f.Add([]byte("{Resources: {F: {Type: AWS::Serverless::Function, Properties: {CodeUri: ., Handler: b, Environment: {Variables: {A: !Sub [x, y]}}}}}}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		tpl, err := Parse(data)
		if err != nil {
			return
		}
		for _, fn := range tpl.Functions {
			_, _ = fn.ResolveEnv(map[string]string{"AWS::Region": "eu-west-1"})
		}
		_ = tpl.ParameterDefaults()
	})
}
