package localstack

// IAM, proven locally: each function runs with credentials of its own role
// (moto sts:AssumeRole on the role the stack created), moto enforces IAM on
// request (Options.EnforceIAM: every action a role's policies lack is
// refused), and every AWS call the functions make is recorded with the
// resource it names, for CheckCalls, since moto matches actions only.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// adminUser is the IAM user the stack itself (and tests, through
// Stack.AWSConfig) uses once moto enforces IAM.
const adminUser = "ottu-lambda-local-admin"

// createAdmin makes adminUser with every right and returns a configuration
// signing with its key.
func createAdmin(ctx context.Context, cfg aws.Config) (aws.Config, error) {
	c := iam.NewFromConfig(cfg)
	if _, err := c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(adminUser)}); err != nil {
		return aws.Config{}, fmt.Errorf("create the IAM user %s in moto: %w", adminUser, err)
	}
	if _, err := c.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String(adminUser), PolicyName: aws.String("everything"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`)}); err != nil {
		return aws.Config{}, fmt.Errorf("give the IAM user %s its policy in moto: %w", adminUser, err)
	}
	key, err := c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(adminUser)})
	if err != nil {
		return aws.Config{}, fmt.Errorf("create an access key for %s in moto: %w", adminUser, err)
	}
	admin := cfg.Copy()
	admin.Credentials = credentials.NewStaticCredentialsProvider(aws.ToString(key.AccessKey.AccessKeyId), aws.ToString(key.AccessKey.SecretAccessKey), "")
	return admin, nil
}

// roleCredentials are a function's credentials from sts:AssumeRole.
type roleCredentials struct {
	AccessKeyID, SecretAccessKey, SessionToken string
}

// assumeRole returns credentials of roleARN, as Lambda gives a function
// its execution role's. It runs before moto enforces IAM: moto checks the
// role's trust policy (lambda.amazonaws.com) against the caller.
func assumeRole(ctx context.Context, cfg aws.Config, roleARN, session string) (roleCredentials, error) {
	if len(session) > 64 {
		session = session[:64]
	}
	out, err := sts.NewFromConfig(cfg).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String(session), DurationSeconds: aws.Int32(43200)})
	if err != nil {
		return roleCredentials{}, fmt.Errorf("assume the role %s in moto: %w", roleARN, err)
	}
	c := out.Credentials
	return roleCredentials{aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken)}, nil
}

// enforceIAM makes moto check every request from now on against the
// caller's IAM policies (moto's INITIAL_NO_AUTH_ACTION_COUNT, set to 0).
func enforceIAM(ctx context.Context, motoURL string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, motoURL+"/moto-api/reset-auth", strings.NewReader("0"))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "text/plain")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("switch on moto's IAM enforcement: %w", err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("switch on moto's IAM enforcement: moto answered %d", resp.StatusCode)
	}
	return nil
}

// AWSCall is one AWS request a function made: the IAM action and the
// resource it names ("*" when the action names none, as
// states:SendTaskSuccess).
type AWSCall struct {
	Function string
	Action   string
	Resource string
}

// callRecorder records the AWS requests that reach moto signed with a
// function's credentials.
type callRecorder struct {
	mu    sync.Mutex
	keys  map[string]string // access key id -> function logical id
	calls map[AWSCall]int
}

func newCallRecorder() *callRecorder {
	return &callRecorder{keys: map[string]string{}, calls: map[AWSCall]int{}}
}

func (c *callRecorder) addKey(accessKeyID, function string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.keys[accessKeyID] = function
}

var credentialKey = regexp.MustCompile(`Credential=([A-Z0-9]+)/`)

// observe is the motoproxy observer: it reads the body (and puts it back).
func (c *callRecorder) observe(r *http.Request) {
	m := credentialKey.FindStringSubmatch(r.Header.Get("Authorization"))
	if m == nil {
		return
	}
	c.mu.Lock()
	fn, ok := c.keys[m[1]]
	c.mu.Unlock()
	if !ok {
		return
	}
	var body []byte
	if r.Body != nil {
		body, _ = io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	for _, call := range callsOf(r, body) {
		call.Function = fn
		c.mu.Lock()
		c.calls[call]++
		c.mu.Unlock()
	}
}

func (c *callRecorder) snapshot() []AWSCall {
	c.mu.Lock()
	defer c.mu.Unlock()
	calls := slices.Collect(maps.Keys(c.calls))
	slices.SortFunc(calls, func(a, b AWSCall) int {
		return strings.Compare(a.Function+" "+a.Action+" "+a.Resource, b.Function+" "+b.Action+" "+b.Resource)
	})
	return calls
}

// callsOf is the IAM action and resource of one request of the JSON
// protocols the functions use (DynamoDB, Secrets Manager, Step Functions).
// Anything else is recorded as an action no policy grants, so a new kind of
// call fails CheckCalls until this learns it.
func callsOf(r *http.Request, body []byte) []AWSCall {
	target := r.Header.Get("X-Amz-Target")
	prefix, op, ok := strings.Cut(target, ".")
	if !ok {
		return []AWSCall{{Action: "unknown:" + r.Method + " " + r.URL.Path, Resource: "*"}}
	}
	var in map[string]any
	_ = json.Unmarshal(body, &in)
	str := func(k string) string { s, _ := in[k].(string); return s }
	switch prefix {
	case "DynamoDB_20120810":
		table := str("TableName")
		res := "arn:aws:dynamodb:" + localRegion + ":" + localAccountID + ":table/" + table
		if idx := str("IndexName"); idx != "" {
			res += "/index/" + idx
		}
		return []AWSCall{{Action: "dynamodb:" + op, Resource: res}}
	case "secretsmanager":
		return []AWSCall{{Action: "secretsmanager:" + op, Resource: str("SecretId")}}
	case "AWSStepFunctions":
		res := "*"
		for _, k := range []string{"stateMachineArn", "executionArn"} {
			if v := str(k); v != "" {
				res = v
			}
		}
		return []AWSCall{{Action: "states:" + op, Resource: res}}
	}
	return []AWSCall{{Action: "unknown:" + target, Resource: "*"}}
}

// policyStatement is one Allow statement of a role's policies.
type policyStatement struct {
	Role      string
	Sid       string
	Actions   []string
	Resources []string
}

// rolePolicies reads the inline policies of a role from moto's IAM: the
// translated policies, with every intrinsic resolved by the stack.
func rolePolicies(ctx context.Context, cfg aws.Config, roleARN string) ([]policyStatement, error) {
	role := path.Base(roleARN)
	c := iam.NewFromConfig(cfg)
	names, err := c.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: aws.String(role)})
	if err != nil {
		return nil, fmt.Errorf("list the policies of the role %s: %w", role, err)
	}
	var out []policyStatement
	for _, name := range names.PolicyNames {
		p, err := c.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(role), PolicyName: aws.String(name)})
		if err != nil {
			return nil, fmt.Errorf("read the policy %s of the role %s: %w", name, role, err)
		}
		doc := aws.ToString(p.PolicyDocument)
		if u, err := url.QueryUnescape(doc); err == nil {
			doc = u
		}
		var d struct {
			Statement []struct {
				Sid      string `json:"Sid"`
				Effect   string `json:"Effect"`
				Action   any    `json:"Action"`
				Resource any    `json:"Resource"`
			} `json:"Statement"`
		}
		if err := json.Unmarshal([]byte(doc), &d); err != nil {
			return nil, fmt.Errorf("read the policy %s of the role %s: %w", name, role, err)
		}
		for _, st := range d.Statement {
			if st.Effect != "Allow" {
				continue
			}
			out = append(out, policyStatement{Role: role, Sid: st.Sid, Actions: stringList(st.Action), Resources: stringList(st.Resource)})
		}
	}
	return out, nil
}

func stringList(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, e := range v {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// iamMatch matches IAM's patterns: * any run, ? one character.
func iamMatch(pattern, value string, caseInsensitive bool) bool {
	if caseInsensitive {
		pattern, value = strings.ToLower(pattern), strings.ToLower(value)
	}
	var re strings.Builder
	re.WriteString("^")
	for _, r := range pattern {
		switch r {
		case '*':
			re.WriteString(".*")
		case '?':
			re.WriteString(".")
		default:
			re.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	re.WriteString("$")
	ok, _ := regexp.MatchString(re.String(), value)
	return ok
}

// Grant is one action on one resource pattern a function's policy allows.
type Grant struct {
	Function string
	Sid      string
	Action   string
	Resource string
}

// CallReport is CheckCalls' answer.
type CallReport struct {
	// Denied are calls no Allow statement of the function's role grants
	// (action and resource).
	Denied []AWSCall
	// Unused are grants no recorded call used.
	Unused []Grant
}

// CheckCalls compares every AWS call the functions made so far (action
// and resource) with the policies of their roles as the stack created
// them.
func (s *Stack) CheckCalls(ctx context.Context) (CallReport, error) {
	var rep CallReport
	calls := s.recorder.snapshot()
	for _, f := range s.deployed.functions {
		statements, err := rolePolicies(ctx, s.AWSConfig(), f.RoleARN)
		if err != nil {
			return rep, err
		}
		used := map[Grant]bool{}
		for _, c := range calls {
			if c.Function != f.LogicalID {
				continue
			}
			allowed := false
			for _, st := range statements {
				for _, a := range st.Actions {
					for _, r := range st.Resources {
						if iamMatch(a, c.Action, true) && iamMatch(r, c.Resource, false) {
							allowed = true
							used[Grant{f.LogicalID, st.Sid, a, r}] = true
						}
					}
				}
			}
			if !allowed {
				rep.Denied = append(rep.Denied, c)
			}
		}
		for _, st := range statements {
			for _, a := range st.Actions {
				for _, r := range st.Resources {
					if g := (Grant{f.LogicalID, st.Sid, a, r}); !used[g] {
						rep.Unused = append(rep.Unused, g)
					}
				}
			}
		}
	}
	return rep, nil
}

// AWSCalls returns the AWS calls the functions made so far, each once.
func (s *Stack) AWSCalls() []AWSCall { return s.recorder.snapshot() }
