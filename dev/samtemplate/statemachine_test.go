package samtemplate

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestLoadReadsStateMachines(t *testing.T) {
	tpl := load(t, "state_machine.yaml")
	sm, ok := tpl.StateMachine("Flow")
	if !ok {
		t.Fatalf("no state machine Flow: %+v", tpl.StateMachines)
	}
	t.Run("its file, name and substitutions are read as written", func(t *testing.T) {
		want := StateMachine{
			LogicalID:     "Flow",
			Name:          Value{Sub: "${AWS::StackName}-flow"},
			DefinitionURI: "statemachine/flow.asl.json",
			Substitutions: map[string]Value{
				"RefundFunctionArn": {GetAtt: "RefundFunction.Arn"},
				"Threshold":         {Ref: "Threshold"},
				"PollSeconds":       {Literal: "30"},
			},
		}
		if !reflect.DeepEqual(sm, want) {
			t.Errorf("got  %+v\nwant %+v", sm, want)
		}
	})
	refs := tpl.ParameterDefaults()
	refs["AWS::StackName"] = "local"
	refs["RefundFunction.Arn"] = "arn:aws:lambda:us-east-1:123456789012:function:RefundFunction"
	t.Run("the name and the substitutions resolve from the refs", func(t *testing.T) {
		name, err := sm.ResolveName(refs)
		if err != nil || name != "local-flow" {
			t.Fatalf("name %q, %v", name, err)
		}
		got, err := sm.ResolveSubstitutions(refs)
		want := map[string]string{"RefundFunctionArn": refs["RefundFunction.Arn"], "Threshold": "100.000", "PollSeconds": "30"}
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("got %v, %v; want %v", got, err, want)
		}
	})
	t.Run("a missing ref is named", func(t *testing.T) {
		delete(refs, "RefundFunction.Arn")
		if _, err := sm.ResolveSubstitutions(refs); err == nil || !strings.Contains(err.Error(), "RefundFunction.Arn") {
			t.Fatalf("err = %v, want one naming RefundFunction.Arn", err)
		}
	})
}

func TestLoadRefusesStateMachinesItCannotRun(t *testing.T) {
	tests := []struct{ name, file, want string }{
		{"an inline definition is refused, since the local stack reads the file SAM deploys", "state_machine_inline.yaml", "inline Definition"},
		{"a definition in S3 is refused", "state_machine_s3.yaml", "file path"},
		{"a definition outside the repository is refused", "state_machine_outside.yaml", "inside the repository"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(filepath.Join("testdata", tc.file))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one saying %q", err, tc.want)
			}
		})
	}
}

func TestSubstitute(t *testing.T) {
	def := []byte(`{"FunctionName": "${Fn}", "Threshold": "${Threshold}"}`)
	tests := []struct {
		name   string
		values map[string]string
		want   string
		err    string
	}{
		{"every placeholder is replaced as text", map[string]string{"Fn": "arn:fn", "Threshold": "100.000"},
			`{"FunctionName": "arn:fn", "Threshold": "100.000"}`, ""},
		{"a placeholder without a value is named", map[string]string{"Fn": "arn:fn"}, "", `"Threshold"`},
		{"a value the definition never uses is named", map[string]string{"Fn": "a", "Threshold": "1", "Extra": "x"}, "", `"Extra"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Substitute(def, tc.values)
			switch {
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Fatalf("err = %v, want one naming %s", err, tc.err)
			case tc.err == "" && (err != nil || string(got) != tc.want):
				t.Fatalf("got %s, %v; want %s", got, err, tc.want)
			}
		})
	}
}
