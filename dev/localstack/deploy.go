package localstack

// The stack is the template, deployed: what `sam package` and `sam deploy`
// do, against moto. translate.py translates the template with
// aws-sam-translator (CodeUri pointing at the zips in moto's S3), moto's
// CloudFormation creates the stack, and the functions then run with what
// the created stack reports: their physical names, roles and environment
// (lambda GetFunctionConfiguration, cloudformation DescribeStackResources).
// Only what moto cannot create is read from the translated template: the
// HTTP API's routes and authorizers (moto has no AWS::ApiGatewayV2::* in
// CloudFormation).

import (
	"archive/zip"
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// translateScript is translate.py, run with python3 -c.
//
//go:embed translate.py
var translateScript string

// Where the stack's function zips go in moto's S3, and which samconfig.toml
// environment gives the stack's name and parameters (`sam deploy
// --config-env local`).
const (
	artifactBucket   = "ottu-lambda-local-artifacts"
	samConfigEnv     = "local"
	defaultStackName = "ottu-lambda-local"
)

// Resource types moto's CloudFormation (5.2.1) does not create (it skips
// them and leaves their Ref unresolved). The stack serves the HTTP API
// itself from the translated template, and invokes each scheduled function
// on its own timer (schedule.go); the alarms have no local stand-in, and
// dev/apispec's alarm test checks what they read against what the code
// emits.
var notInMoto = []string{"AWS::ApiGatewayV2::Api", "AWS::ApiGatewayV2::Stage", "AWS::ApiGatewayV2::Route", "AWS::ApiGatewayV2::Authorizer", "AWS::ApiGatewayV2::Integration",
	"AWS::Scheduler::Schedule", "AWS::CloudWatch::Alarm"}

// Translation is a SAM template as aws-sam-translator makes it, with the
// samconfig.toml environment the local stack deploys with.
type Translation struct {
	Template   CFNTemplate       `json:"template"`
	Parameters map[string]string `json:"parameters"`
	StackName  string            `json:"stack_name"`
	// Raw is the translated template as CloudFormation receives it.
	Raw json.RawMessage `json:"-"`
}

// CFNTemplate is the part of a CloudFormation template the stack reads.
type CFNTemplate struct {
	Parameters map[string]CFNParameter `json:"Parameters"`
	Resources  map[string]CFNResource  `json:"Resources"`
	Outputs    map[string]struct {
		Value any `json:"Value"`
	} `json:"Outputs"`
}

// CFNParameter is a template parameter; Default is nil when it has none.
type CFNParameter struct {
	Type    string `json:"Type"`
	Default any    `json:"Default"`
}

// CFNResource is a template resource.
type CFNResource struct {
	Type                string          `json:"Type"`
	Properties          json.RawMessage `json:"Properties"`
	DeletionPolicy      string          `json:"DeletionPolicy"`
	UpdateReplacePolicy string          `json:"UpdateReplacePolicy"`
}

// Properties decodes the properties of the resource logicalID into v.
func (t *Translation) Properties(logicalID string, v any) error {
	r, ok := t.Template.Resources[logicalID]
	if !ok {
		return fmt.Errorf("the translated template has no resource %s", logicalID)
	}
	if err := json.Unmarshal(r.Properties, v); err != nil {
		return fmt.Errorf("resource %s: read its properties: %w", logicalID, err)
	}
	return nil
}

// Route is one route of the translated template's HTTP APIs.
type Route struct {
	Method, Path string
	// Function is the logical id of the function it integrates.
	Function string
	// IAMAuth is true when the route needs a SigV4 signature (AWS_IAM).
	IAMAuth bool
}

// Routes are the routes of the translated template's HTTP APIs, as the
// local stack serves them.
func (t *Translation) Routes() ([]Route, error) {
	rs, err := httpAPIRoutes(t)
	if err != nil {
		return nil, err
	}
	out := make([]Route, 0, len(rs))
	for _, r := range rs {
		out = append(out, Route{Method: r.Method, Path: r.Path, Function: r.Function, IAMAuth: r.IAMAuth})
	}
	return out, nil
}

// Translate runs translate.py on the SAM template at path: CodeUri pointing
// at artifactBucket, DefinitionUri inlined, translated by
// aws-sam-translator, with samconfig.toml's local environment.
func Translate(ctx context.Context, path string) (*Translation, error) {
	py, err := exec.LookPath("python3")
	if err != nil {
		return nil, errors.New("python3 is not on PATH; the local stack translates the template with aws-sam-translator (pip install cfn-lint installs it)")
	}
	cmd := exec.CommandContext(ctx, py, "-c", translateScript, path, artifactBucket, samConfigEnv)
	// The translator asks boto for a region; the developer's AWS profile
	// must play no part.
	cmd.Env = append(os.Environ(), "AWS_DEFAULT_REGION="+localRegion, "AWS_REGION="+localRegion,
		"AWS_CONFIG_FILE="+os.DevNull, "AWS_SHARED_CREDENTIALS_FILE="+os.DevNull)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if strings.Contains(msg, "No module named 'samtranslator'") {
			msg = "aws-sam-translator is missing: pip install cfn-lint (it installs aws-sam-translator)\n" + msg
		}
		return nil, fmt.Errorf("translate %s with aws-sam-translator: %w\n%s", path, err, msg)
	}
	var out struct {
		Template   json.RawMessage   `json:"template"`
		Parameters map[string]string `json:"parameters"`
		StackName  string            `json:"stack_name"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		return nil, fmt.Errorf("translate %s: read translate.py's answer: %w", path, err)
	}
	t := &Translation{Parameters: out.Parameters, StackName: out.StackName, Raw: out.Template}
	if t.StackName == "" {
		t.StackName = defaultStackName
	}
	if err := json.Unmarshal(out.Template, &t.Template); err != nil {
		return nil, fmt.Errorf("translate %s: read the translated template: %w", path, err)
	}
	return t, nil
}

// LogicalIDs returns the logical ids of the resources of type typ, sorted.
func (t *Translation) LogicalIDs(typ string) []string {
	var ids []string
	for id, r := range t.Template.Resources {
		if r.Type == typ {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

// MissingParameters names the template's parameters without a Default that
// given does not set: `sam deploy` would stop on them.
func (t *Translation) MissingParameters(given map[string]string) []string {
	var missing []string
	for name, p := range t.Template.Parameters {
		if _, ok := given[name]; !ok && p.Default == nil {
			missing = append(missing, name)
		}
	}
	sort.Strings(missing)
	return missing
}

// deployedFunction is a function as the created stack reports it.
type deployedFunction struct {
	LogicalID  string
	Name       string
	ARN        string
	RoleARN    string
	Env        map[string]string
	Timeout    time.Duration
	MemorySize int
}

// Deployment is the stack moto's CloudFormation created.
type Deployment struct {
	StackName string
	StackID   string
	Status    string
	// Resources are DescribeStackResources' answer, by logical id.
	Resources map[string]cftypes.StackResource
	Outputs   map[string]string
	functions []deployedFunction
}

// PhysicalID returns the physical id of a resource by logical id.
func (d *Deployment) PhysicalID(logicalID string) string {
	return aws.ToString(d.Resources[logicalID].PhysicalResourceId)
}

// zipBootstrap packs a function's binary as `sam package` uploads it: a zip
// holding an executable named bootstrap.
func zipBootstrap(bin string) ([]byte, error) {
	raw, err := os.ReadFile(bin)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	h := &zip.FileHeader{Name: "bootstrap", Method: zip.Store}
	h.SetMode(0o755)
	w, err := zw.CreateHeader(h)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(raw); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Deploy uploads the function binaries (by logical id) to moto's S3,
// creates the translated stack with params, waits for it, and reads back
// what it created. cfg must reach moto with rights to do all that.
func Deploy(ctx context.Context, cfg aws.Config, t *Translation, bins map[string]string, params map[string]string) (*Deployment, error) {
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(artifactBucket)}); err != nil {
		return nil, fmt.Errorf("create the artifact bucket %s in moto: %w", artifactBucket, err)
	}
	for _, id := range t.LogicalIDs("AWS::Lambda::Function") {
		bin, ok := bins[id]
		if !ok {
			return nil, fmt.Errorf("function %s: no binary was built for it", id)
		}
		body, err := zipBootstrap(bin)
		if err != nil {
			return nil, fmt.Errorf("function %s: zip its bootstrap: %w", id, err)
		}
		if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(artifactBucket), Key: aws.String(id + ".zip"), Body: bytes.NewReader(body)}); err != nil {
			return nil, fmt.Errorf("function %s: upload its zip to moto's S3: %w", id, err)
		}
	}
	if missing := t.MissingParameters(params); len(missing) > 0 {
		return nil, fmt.Errorf("the template needs the parameters %v, which samconfig.toml [%s.deploy.parameters] parameter_overrides does not give", missing, samConfigEnv)
	}
	var cfParams []cftypes.Parameter
	for _, k := range slices.Sorted(maps.Keys(params)) {
		if _, ok := t.Template.Parameters[k]; !ok {
			return nil, fmt.Errorf("the parameter %s is given (samconfig.toml or Options.Parameters) but the template does not declare it", k)
		}
		cfParams = append(cfParams, cftypes.Parameter{ParameterKey: aws.String(k), ParameterValue: aws.String(params[k])})
	}
	cf := cloudformation.NewFromConfig(cfg)
	created, err := cf.CreateStack(ctx, &cloudformation.CreateStackInput{
		StackName:    aws.String(t.StackName),
		TemplateBody: aws.String(string(t.Raw)),
		Parameters:   cfParams,
		Capabilities: []cftypes.Capability{cftypes.CapabilityCapabilityIam},
	})
	if err != nil {
		return nil, fmt.Errorf("create the CloudFormation stack %s in moto: %w", t.StackName, err)
	}
	d := &Deployment{StackName: t.StackName, StackID: aws.ToString(created.StackId), Resources: map[string]cftypes.StackResource{}, Outputs: map[string]string{}}
	for {
		out, err := cf.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(d.StackID)})
		if err != nil {
			return nil, fmt.Errorf("describe the stack %s: %w", t.StackName, err)
		}
		if len(out.Stacks) != 1 {
			return nil, fmt.Errorf("describe the stack %s: moto answered %d stacks", t.StackName, len(out.Stacks))
		}
		st := out.Stacks[0]
		d.Status = string(st.StackStatus)
		if !strings.HasSuffix(d.Status, "_IN_PROGRESS") {
			for _, o := range st.Outputs {
				d.Outputs[aws.ToString(o.OutputKey)] = aws.ToString(o.OutputValue)
			}
			break
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	res, err := cf.DescribeStackResources(ctx, &cloudformation.DescribeStackResourcesInput{StackName: aws.String(d.StackID)})
	if err != nil {
		return nil, fmt.Errorf("describe the resources of the stack %s: %w", t.StackName, err)
	}
	for _, r := range res.StackResources {
		if id := aws.ToString(r.LogicalResourceId); id != "" {
			d.Resources[id] = r
		}
	}
	if d.Status != string(cftypes.StackStatusCreateComplete) {
		return nil, fmt.Errorf("the stack %s is %s, want CREATE_COMPLETE", t.StackName, d.Status)
	}
	if incomplete := d.Incomplete(t); len(incomplete) > 0 {
		return nil, fmt.Errorf("the stack %s is CREATE_COMPLETE, but these resources are not: %s", t.StackName, strings.Join(incomplete, "; "))
	}
	if err := applyTTL(ctx, cfg, t, d); err != nil {
		return nil, err
	}
	lc := lambda.NewFromConfig(cfg)
	for _, id := range t.LogicalIDs("AWS::Lambda::Function") {
		name := d.PhysicalID(id)
		fc, err := lc.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(name)})
		if err != nil {
			return nil, fmt.Errorf("function %s: read its configuration (%s) from moto's Lambda: %w", id, name, err)
		}
		f := deployedFunction{LogicalID: id, Name: aws.ToString(fc.FunctionName), ARN: aws.ToString(fc.FunctionArn), RoleARN: aws.ToString(fc.Role),
			Env: map[string]string{}, Timeout: time.Duration(aws.ToInt32(fc.Timeout)) * time.Second, MemorySize: int(aws.ToInt32(fc.MemorySize))}
		if fc.Environment != nil {
			maps.Copy(f.Env, fc.Environment.Variables)
		}
		d.functions = append(d.functions, f)
	}
	return d, nil
}

// Incomplete lists the translated template's resources that the stack does
// not report CREATE_COMPLETE, but for the types moto cannot create
// (notInMoto), which the stack serves itself.
func (d *Deployment) Incomplete(t *Translation) []string {
	var bad []string
	for _, id := range slices.Sorted(maps.Keys(t.Template.Resources)) {
		typ := t.Template.Resources[id].Type
		if slices.Contains(notInMoto, typ) {
			continue
		}
		r, ok := d.Resources[id]
		switch {
		case !ok:
			bad = append(bad, fmt.Sprintf("%s (%s) was not created", id, typ))
		case r.ResourceStatus != cftypes.ResourceStatusCreateComplete:
			bad = append(bad, fmt.Sprintf("%s (%s) is %s: %s", id, typ, r.ResourceStatus, aws.ToString(r.ResourceStatusReason)))
		}
	}
	return bad
}

// httpAPIRoutes reads the routes of the translated template's HTTP APIs
// (the OpenAPI body SAM writes into AWS::ApiGatewayV2::Api) with their
// authorizer and the function each integrates, by logical id.
func httpAPIRoutes(t *Translation) ([]apiRoute, error) {
	var routes []apiRoute
	for _, id := range t.LogicalIDs("AWS::ApiGatewayV2::Api") {
		var props struct {
			Body struct {
				Paths map[string]map[string]struct {
					Integration struct {
						URI any `json:"uri"`
					} `json:"x-amazon-apigateway-integration"`
					Security []map[string][]string `json:"security"`
				} `json:"paths"`
			} `json:"Body"`
		}
		if err := json.Unmarshal(t.Template.Resources[id].Properties, &props); err != nil {
			return nil, fmt.Errorf("HTTP API %s: read its OpenAPI body: %w", id, err)
		}
		for _, path := range slices.Sorted(maps.Keys(props.Body.Paths)) {
			ops := props.Body.Paths[path]
			for _, method := range slices.Sorted(maps.Keys(ops)) {
				op := ops[method]
				fn := integratedFunction(op.Integration.URI)
				if fn == "" {
					return nil, fmt.Errorf("HTTP API %s: %s %s integrates no function of the template", id, method, path)
				}
				m := strings.ToUpper(method)
				if method == "x-amazon-apigateway-any-method" {
					m = "ANY"
				}
				iam := false
				for _, sec := range op.Security {
					if _, ok := sec["AWS_IAM"]; ok {
						iam = true
					}
				}
				routes = append(routes, apiRoute{Method: m, Path: path, IAMAuth: iam, Function: fn})
			}
		}
	}
	return routes, nil
}

var arnRef = regexp.MustCompile(`\$\{([A-Za-z0-9]+)\.Arn\}`)

// integratedFunction is the logical id in an integration URI such as
// {"Fn::Sub": "arn:...:functions/${CaptureFunction.Arn}/invocations"}.
func integratedFunction(uri any) string {
	sub, ok := uri.(map[string]any)
	if !ok {
		return ""
	}
	var s string
	switch v := sub["Fn::Sub"].(type) {
	case string:
		s = v
	case []any:
		if len(v) > 0 {
			s, _ = v[0].(string)
		}
	}
	if m := arnRef.FindStringSubmatch(s); m != nil {
		return m[1]
	}
	return ""
}

// applyTTL turns on the TimeToLiveSpecification of each table, which
// moto's CloudFormation (5.2.1) ignores; CloudFormation applies it in AWS.
func applyTTL(ctx context.Context, cfg aws.Config, t *Translation, d *Deployment) error {
	ddb := dynamodb.NewFromConfig(cfg)
	for _, id := range t.LogicalIDs("AWS::DynamoDB::Table") {
		var props struct {
			TTL *struct {
				AttributeName string `json:"AttributeName"`
				Enabled       bool   `json:"Enabled"`
			} `json:"TimeToLiveSpecification"`
		}
		if err := json.Unmarshal(t.Template.Resources[id].Properties, &props); err != nil {
			return fmt.Errorf("table %s: read its properties: %w", id, err)
		}
		if props.TTL == nil || !props.TTL.Enabled {
			continue
		}
		name := d.PhysicalID(id)
		if _, err := ddb.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{TableName: aws.String(name),
			TimeToLiveSpecification: &ddbtypes.TimeToLiveSpecification{AttributeName: aws.String(props.TTL.AttributeName), Enabled: aws.Bool(true)}}); err != nil {
			return fmt.Errorf("table %s: turn on its TTL in moto: %w", id, err)
		}
	}
	return nil
}
