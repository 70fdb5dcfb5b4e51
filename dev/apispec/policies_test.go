package apispec

import (
	"os"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestCallerPolicies: template.yaml outputs two managed policies, one for
// refund requesters and one for refund approvers, each with
// execute-api:Invoke on only its own routes, so that a merchant attaches
// them to different roles.
func TestCallerPolicies(t *testing.T) {
	raw, err := os.ReadFile("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Resources map[string]struct {
			Type       string `yaml:"Type"`
			Properties struct {
				PolicyDocument struct {
					Statement []struct {
						Effect   string   `yaml:"Effect"`
						Action   any      `yaml:"Action"`
						Resource []string `yaml:"Resource"`
					} `yaml:"Statement"`
				} `yaml:"PolicyDocument"`
			} `yaml:"Properties"`
		} `yaml:"Resources"`
		Outputs map[string]struct {
			Value string `yaml:"Value"`
		} `yaml:"Outputs"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	const api = "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${OperationsApi}/*/"
	tests := []struct {
		name, policy, output string
		want                 []string
	}{
		{"the requester may start and read refund workflows, and nothing else", "RefundRequesterPolicy", "RefundRequesterPolicyArn",
			[]string{api + "POST/refund-workflows", api + "GET/refund-workflows/*"}},
		{"the approver may decide and read refund workflows, and nothing else", "RefundApproverPolicy", "RefundApproverPolicyArn",
			[]string{api + "POST/refund-workflows/*/approval", api + "GET/refund-workflows/*"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, ok := doc.Resources[tt.policy]
			if !ok || r.Type != "AWS::IAM::ManagedPolicy" {
				t.Fatalf("template.yaml has no AWS::IAM::ManagedPolicy %s", tt.policy)
			}
			var got []string
			for _, st := range r.Properties.PolicyDocument.Statement {
				if st.Effect != "Allow" || st.Action != "execute-api:Invoke" {
					t.Fatalf("statement %+v: want only Allow execute-api:Invoke", st)
				}
				got = append(got, st.Resource...)
			}
			slices.Sort(got)
			want := slices.Clone(tt.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("resources %v, want %v", got, want)
			}
			for _, res := range got {
				if strings.Contains(res, "/operations/") || strings.Contains(res, "/inquiry") {
					t.Fatalf("%s reaches beyond the refund workflow routes: %s", tt.policy, res)
				}
			}
			if _, ok := doc.Outputs[tt.output]; !ok {
				t.Fatalf("template.yaml does not output %s", tt.output)
			}
		})
	}
	t.Run("neither policy lets its holder do the other's part", func(t *testing.T) {
		for _, st := range doc.Resources["RefundRequesterPolicy"].Properties.PolicyDocument.Statement {
			for _, res := range st.Resource {
				if strings.Contains(res, "approval") || strings.HasSuffix(res, "POST/refund-workflows/*") {
					t.Fatalf("the requester may reach %s", res)
				}
			}
		}
		for _, st := range doc.Resources["RefundApproverPolicy"].Properties.PolicyDocument.Statement {
			for _, res := range st.Resource {
				if strings.HasSuffix(res, "POST/refund-workflows") {
					t.Fatalf("the approver may start a workflow: %s", res)
				}
			}
		}
	})
}
