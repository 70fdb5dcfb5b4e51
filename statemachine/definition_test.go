package statemachine

import (
	"context"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ottuops/ottu-lambda/dev/localstack"
	"github.com/ottuops/ottu-lambda/shared/platform/apigw"
	"github.com/ottuops/ottu-lambda/shared/platform/strictjson"
	"github.com/ottuops/ottu-lambda/shared/refundflow"
)

// Errors Step Functions itself raises for a Lambda task or a state.
var (
	lambdaErrors = []string{"Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException",
		"Lambda.TooManyRequestsException", "Lambda.Unknown"}
	statesErrors = []string{"States.ALL", "States.Timeout", "States.TaskFailed", "States.HeartbeatTimeout", "States.Runtime", "States.Permissions"}
)

// state is the part of a state the checks read.
type state struct {
	Type     string `json:"Type"`
	Resource string `json:"Resource"`
	Error    string `json:"Error"`
	Retry    []struct {
		ErrorEquals []string `json:"ErrorEquals"`
	} `json:"Retry"`
	Catch []struct {
		ErrorEquals []string `json:"ErrorEquals"`
		Next        string   `json:"Next"`
	} `json:"Catch"`
	Parameters map[string]json.RawMessage `json:"Parameters"`
}

type definition struct {
	StartAt string           `json:"StartAt"`
	States  map[string]state `json:"States"`
}

// loadDefinition reads refund.asl.json as template.yaml deploys it: every
// placeholder filled in with a value of the right form, from the
// DefinitionSubstitutions of the template as aws-sam-translator translates
// it (the local stack deploys the same).
func loadDefinition(t *testing.T) definition {
	t.Helper()
	raw, err := os.ReadFile("refund.asl.json")
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := os.ReadFile(filepath.Join("..", "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(tmpl), "DefinitionUri: statemachine/refund.asl.json") {
		t.Fatal("template.yaml does not define a state machine by statemachine/refund.asl.json")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tpl, err := localstack.Translate(ctx, filepath.Join("..", "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var sm struct {
		DefinitionSubstitutions map[string]any `json:"DefinitionSubstitutions"`
	}
	if err := tpl.Properties("RefundWorkflowStateMachine", &sm); err != nil {
		t.Fatal(err)
	}
	values := map[string]string{}
	for k := range sm.DefinitionSubstitutions {
		values[k] = "7"
		if strings.HasSuffix(k, "Arn") {
			values[k] = "arn:aws:lambda:me-south-1:123456789012:function:" + strings.TrimSuffix(k, "Arn")
		}
	}
	// CloudFormation applies DefinitionSubstitutions as text: a placeholder
	// without a value, or a value never used, means the two drifted apart.
	used := map[string]bool{}
	var missing []string
	filled := placeholder.ReplaceAllFunc(raw, func(m []byte) []byte {
		name := string(placeholder.FindSubmatch(m)[1])
		v, ok := values[name]
		if !ok {
			missing = append(missing, name)
			return m
		}
		used[name] = true
		return []byte(v)
	})
	if len(missing) > 0 {
		t.Fatalf("refund.asl.json uses %v, which template.yaml's DefinitionSubstitutions does not give", missing)
	}
	for _, k := range slices.Sorted(maps.Keys(values)) {
		if !used[k] {
			t.Fatalf("template.yaml's DefinitionSubstitutions gives %s, which refund.asl.json never uses", k)
		}
	}
	var def definition
	if err := json.Unmarshal(filled, &def); err != nil {
		t.Fatalf("refund.asl.json is not JSON once filled in: %v", err)
	}
	return def
}

// placeholder is a DefinitionSubstitutions reference in a definition.
var placeholder = regexp.MustCompile(`\$\{([^}]*)\}`)

// TestDefinitionNamesOnlyErrorsSomethingRaises: every name a Retry or Catch
// matches is a typed error of the functions (apigw.ErrorTypes), one the
// approval function sends (refundflow.TaskFailureErrors), or one of Lambda
// and Step Functions; a renamed error type fails here, not in production.
func TestDefinitionNamesOnlyErrorsSomethingRaises(t *testing.T) {
	def := loadDefinition(t)
	known := slices.Concat(apigw.ErrorTypes, refundflow.TaskFailureErrors, lambdaErrors, statesErrors)
	for _, name := range slices.Sorted(maps.Keys(def.States)) {
		st := def.States[name]
		var matched []string
		for _, r := range st.Retry {
			matched = append(matched, r.ErrorEquals...)
		}
		for _, c := range st.Catch {
			matched = append(matched, c.ErrorEquals...)
			if _, ok := def.States[c.Next]; !ok {
				t.Errorf("state %s catches into %q, which is not a state", name, c.Next)
			}
		}
		for _, e := range matched {
			if !slices.Contains(known, e) {
				t.Errorf("state %s matches %q, which no function, Lambda or Step Functions raises; known: %v", name, e, known)
			}
		}
	}
}

// TestTheRefundStateHandlesEveryTypedError: the refund function can raise
// each of apigw.ErrorTypes; each must be retried or caught by name, so
// none ends the workflow as an unexplained States.ALL.
func TestTheRefundStateHandlesEveryTypedError(t *testing.T) {
	st := loadDefinition(t).States["Refund"]
	handled := map[string]bool{}
	for _, r := range st.Retry {
		for _, e := range r.ErrorEquals {
			handled[e] = true
		}
	}
	for _, c := range st.Catch {
		for _, e := range c.ErrorEquals {
			handled[e] = true
		}
	}
	for _, e := range apigw.ErrorTypes {
		t.Run(e+" is matched by name in the Refund state", func(t *testing.T) {
			if !handled[e] {
				t.Errorf("the Refund state neither retries nor catches %s", e)
			}
		})
	}
	for _, e := range []string{"OttuUnavailable", "Lambda.ServiceException", "Lambda.TooManyRequestsException"} {
		t.Run(e+" is retried with backoff and jitter", func(t *testing.T) {
			raw, _ := os.ReadFile("refund.asl.json")
			var doc struct {
				States map[string]struct {
					Retry []struct {
						ErrorEquals    []string `json:"ErrorEquals"`
						BackoffRate    float64  `json:"BackoffRate"`
						JitterStrategy string   `json:"JitterStrategy"`
						MaxAttempts    int      `json:"MaxAttempts"`
					} `json:"Retry"`
				} `json:"States"`
			}
			if err := json.Unmarshal(raw, &doc); err != nil {
				t.Fatal(err)
			}
			for _, r := range doc.States["Refund"].Retry {
				if slices.Contains(r.ErrorEquals, e) {
					if r.BackoffRate <= 1 || r.JitterStrategy != "FULL" || r.MaxAttempts < 1 {
						t.Errorf("retrier %+v", r)
					}
					return
				}
			}
			t.Errorf("no retrier matches %s", e)
		})
	}
}

// TestFailStatesAreDocumented: every error a failed workflow can end with
// is named in the README, so a merchant's engineer can look it up.
func TestFailStatesAreDocumented(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	def := loadDefinition(t)
	for _, name := range slices.Sorted(maps.Keys(def.States)) {
		st := def.States[name]
		if st.Type != "Fail" {
			continue
		}
		t.Run(st.Error+" is explained in the README", func(t *testing.T) {
			if !regexp.MustCompile("`" + regexp.QuoteMeta(st.Error) + "`").Match(readme) {
				t.Errorf("README.md does not name %s (state %s)", st.Error, name)
			}
		})
	}
}

// TestDefinitionNamesEachMemberOnce: a member named twice in one object is
// valid JSON that Step Functions and our readers may read differently (a
// merge once left queued_notification_seconds twice in Prepare's settings).
func TestDefinitionNamesEachMemberOnce(t *testing.T) {
	raw, err := os.ReadFile("refund.asl.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := strictjson.CheckMembers(raw); err != nil {
		t.Fatalf("refund.asl.json: %v", err)
	}
}
