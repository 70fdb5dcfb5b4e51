package samtemplate

import (
	"reflect"
	"strings"
	"testing"
)

func TestResolveEnv(t *testing.T) {
	refs := map[string]string{
		"Prefix":      "ottu",
		"Table":       "records-123",
		"Table.Arn":   "arn:aws:dynamodb:eu-west-1:123456789012:table/records-123",
		"AWS::Region": "eu-west-1",
	}
	f := mustFunction(t, load(t, "sub_vars.yaml"), "VoidFunction")
	want := map[string]string{
		"PLAIN_SUB":     "ottu-eu-west-1-records-123",
		"WITH_VARS":     "records-123/" + refs["Table.Arn"] + "/a${b}/ottu",
		"ESCAPED":       "${NotARef}-ottu",
		"GETATT_IN_SUB": refs["Table.Arn"],
	}
	tests := []struct {
		name string
		key  string
	}{
		{"Sub reads parameters, pseudo parameters and resources", "PLAIN_SUB"},
		{"Sub with a variables map writes Ref, GetAtt and literal variables in", "WITH_VARS"},
		{"the ${!Name} escape renders as a literal ${Name}", "ESCAPED"},
		{"Sub may name a GetAtt target as Resource.Attribute", "GETATT_IN_SUB"},
	}
	got, err := f.ResolveEnv(refs)
	if err != nil {
		t.Fatalf("ResolveEnv: %v", err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got[tc.key] != want[tc.key] {
				t.Errorf("%s = %q, want %q", tc.key, got[tc.key], want[tc.key])
			}
		})
	}
}

func TestResolveEnvShortTags(t *testing.T) {
	tpl := load(t, "short_tags.yaml")
	f := mustFunction(t, tpl, "CaptureFunction")
	refs := tpl.ParameterDefaults()
	refs["SecretArn"] = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:ottu"
	refs["Table"] = "tbl"
	refs["Table.Arn"] = "arn:tbl"
	refs["AWS::Region"] = "me-south-1"
	want := map[string]string{
		"SECRET_ID": refs["SecretArn"],
		"TABLE":     "tbl",
		"TABLE_ARN": "arn:tbl",
		"GREETING":  "hello dev in me-south-1",
		"PLAIN":     "2.500",
	}
	t.Run("every kind of value resolves from refs and parameter defaults", func(t *testing.T) {
		got, err := f.ResolveEnv(refs)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("got %v, want %v", got, want)
		}
	})
}

func TestResolveEnvNamesWhatIsMissing(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]Value
		refs    map[string]string
		wantErr []string
	}{
		{"a Ref without a value is named", map[string]Value{"A": {Ref: "SecretArn"}}, nil, []string{"environment variable A", `"SecretArn"`}},
		{"a pseudo parameter without a value is named", map[string]Value{"A": {Sub: "${AWS::Region}-${Stage}"}}, map[string]string{"Stage": "x"}, []string{`"AWS::Region"`}},
		{"a GetAtt without a value is named", map[string]Value{"A": {GetAtt: "Table.Arn"}}, nil, []string{`"Table.Arn"`}},
		{"every variable that fails is reported", map[string]Value{"A": {Ref: "X"}, "B": {Ref: "Y"}}, nil, []string{`"X"`, `"Y"`}},
		{"an unterminated ${ is reported", map[string]Value{"A": {Sub: "${Stage"}}, map[string]string{"Stage": "x"}, []string{"no closing }"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := Function{LogicalID: "CaptureFunction", Environment: tc.env}
			got, err := f.ResolveEnv(tc.refs)
			if err == nil {
				t.Fatalf("ResolveEnv = %v; want an error", got)
			}
			for _, w := range append(tc.wantErr, "CaptureFunction") {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestValueString(t *testing.T) {
	tests := []struct {
		name string
		v    Value
		want string
	}{
		{"a literal prints as itself", Value{Literal: "INFO"}, "INFO"},
		{"a Ref prints as the short tag", Value{Ref: "Table"}, "!Ref Table"},
		{"a Sub prints as the short tag", Value{Sub: "${X}"}, "!Sub ${X}"},
		{"a GetAtt prints as the short tag", Value{GetAtt: "T.Arn"}, "!GetAtt T.Arn"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.v.String(); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestToValueRejects(t *testing.T) {
	tests := []struct {
		name, yaml, wantErr string
	}{
		{"a list is not a single value", "[a, b]", "a list"},
		{"a Ref to nothing is refused", "!Ref", "!Ref needs"},
		{"a GetAtt without an attribute is refused", "!GetAtt Table", "Resource.Attribute"},
		{"a Sub with a variables map that is not a map is refused", "!Sub [x, y]", "Fn::Sub needs"},
		{"a Sub variable built with !Join is refused", "!Sub [\"${A}\", {A: !Join [\"\", [a]]}]", "Fn::Sub variable A: Fn::Join is not supported"},
		{"a mapping that is not an intrinsic is refused", "{a: 1, b: 2}", "mapping"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := decodeYAML([]byte(tc.yaml))
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			got, err := toValue(v)
			if err == nil {
				t.Fatalf("toValue = %+v; want an error", got)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %q does not mention %q", err, tc.wantErr)
			}
		})
	}
}
