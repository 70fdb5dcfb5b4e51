// Package localstack runs the project on one machine with no AWS account,
// no Docker and no internet (contract §5): moto's server with the
// template's tables and the two secrets, the Ottu sandbox, and on one port
// the merchant API (like `sam local start-api`) and the Lambda Invoke API
// (like `sam local start-lambda`). Functions run as their real, unmodified
// binaries under AWS's Runtime Interface Emulator (aws-lambda-rie, pinned in
// go.mod), so what runs here is what runs in Lambda.
package localstack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/ottuops/ottu-lambda/dev/samtemplate"
	"github.com/ottuops/ottu-lambda/dev/sandbox"
	"github.com/ottuops/ottu-lambda/dev/testkit"
)

// Defaults of contract §5.
const (
	DefaultAPIAddr  = "127.0.0.1:3000"
	DefaultMotoAddr = "127.0.0.1:5000"
	DefaultTemplate = "template.yaml"
	// DefaultMaxProcesses is how many processes of one function may run at
	// once, Lambda's concurrency on a laptop's scale.
	DefaultMaxProcesses = 10
)

// The template parameters the stack fills itself; every other parameter
// takes its default.
const (
	paramAPISecret     = "OttuApiSecretArn"
	paramWebhookSecret = "OttuWebhookSecretArn"
	paramBaseURL       = "OttuBaseUrl"
)

// Names of the secrets created in moto.
const (
	apiSecretName     = "ottu-lambda-local/ottu-api"
	webhookSecretName = "ottu-lambda-local/ottu-webhook"
)

// Options configures Start. Zero values take the defaults above; an address
// with port 0 picks a free port (tests do this).
type Options struct {
	// Template is the SAM template; function packages are built from its
	// directory.
	Template string
	// APIAddr serves the merchant API and the Lambda Invoke API.
	APIAddr     string
	SandboxAddr string
	MotoAddr    string
	// Sandbox configures the Ottu sandbox (sandbox.ConfigFromEnv reads it
	// from SANDBOX_*). An empty APIKey or WebhookKey takes the default, since
	// the secrets must hold one; a nil Logger takes Logger.
	Sandbox sandbox.Config
	// MaxProcesses caps the processes per function.
	MaxProcesses int
	// Logger gets the stack's own JSON logs; default discards them.
	Logger *slog.Logger
	// FunctionOutput gets the functions' stdout and stderr, each line
	// prefixed with the function's logical id; default os.Stderr.
	FunctionOutput io.Writer
	// RequestLog gets one compact line per request the API port serves
	// (method, path or invoked function, status, time); nil writes none.
	RequestLog io.Writer
	// Progress gets one line per start-up step as it begins, so a first
	// start, which builds every function on a cold cache, is not a silent
	// minute; nil is silent.
	Progress io.Writer
	// Parameters override template parameters, over LocalParameters (the
	// refund workflow's short local waits); they reach the functions'
	// environment and the state machines' DefinitionSubstitutions alike.
	Parameters map[string]string
	// FunctionEnv overrides (or adds) environment variables of every
	// function, such as a short LEASE_GRACE for a test.
	FunctionEnv map[string]string
	// ScheduleInterval is how often the functions with a Schedule or
	// ScheduleV2 event (the reconciler) are invoked, whatever their
	// expression says; default DefaultScheduleInterval, negative never.
	ScheduleInterval time.Duration
	// NoOperationNotifications keeps the sandbox from posting operation
	// notifications to the stack's webhook (a benchmark measuring the
	// operations alone); by default it posts them, as Ottu does.
	NoOperationNotifications bool
}

// DefaultScheduleInterval runs scheduled functions every few seconds
// locally, so what they do is seen at once.
const DefaultScheduleInterval = 3 * time.Second

func (o Options) withDefaults() Options {
	o.Template = orDefault(o.Template, DefaultTemplate)
	o.APIAddr = orDefault(o.APIAddr, DefaultAPIAddr)
	o.SandboxAddr = orDefault(o.SandboxAddr, sandbox.DefaultAddr)
	o.MotoAddr = orDefault(o.MotoAddr, DefaultMotoAddr)
	o.Sandbox.APIKey = orDefault(o.Sandbox.APIKey, sandbox.DefaultAPIKey)
	o.Sandbox.WebhookKey = orDefault(o.Sandbox.WebhookKey, sandbox.DefaultWebhookKey)
	if o.MaxProcesses <= 0 {
		o.MaxProcesses = DefaultMaxProcesses
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Sandbox.Logger == nil {
		o.Sandbox.Logger = o.Logger
	}
	if o.FunctionOutput == nil {
		o.FunctionOutput = os.Stderr
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	return o
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// URLs are the base URLs of a running stack.
type URLs struct {
	// API serves the merchant API and the Lambda Invoke API.
	API     string
	Sandbox string
	// Moto is the proxy in front of moto_server (see motoproxy), which
	// everything, functions included, uses so DynamoDB writes are atomic.
	Moto string
}

// Secrets are the ARNs of the secrets created in moto.
type Secrets struct {
	API     string
	Webhook string
}

// Stack is a running local stack. Close stops everything it started.
type Stack struct {
	urls      URLs
	secrets   Secrets
	tables    map[string]string
	users     map[string]LocalUser
	demo      []sandbox.Transaction
	functions functionSet
	logger    *slog.Logger
	progress  io.Writer
	// params are the template's parameters as this stack sets them;
	// functionEnv overrides the functions' environment.
	params        map[string]string
	functionEnv   map[string]string
	stateMachines []StateMachine

	moto       *testkit.Moto
	sandbox    *sandbox.Server
	servers    []*http.Server
	buildDir   string
	background context.Context
	stop       context.CancelFunc
	closeOnce  sync.Once
	// scheduled runs the scheduled functions until stop.
	scheduled sync.WaitGroup
}

// Start brings the stack up and returns once it serves: moto answers, the
// servers listen, and each function has a process starting. On error,
// whatever had started is stopped again.
func Start(ctx context.Context, opts Options) (*Stack, error) {
	opts = opts.withDefaults()
	tmpl, err := samtemplate.Load(opts.Template)
	if err != nil {
		return nil, fmt.Errorf("read the template: %w", err)
	}
	s := &Stack{tables: map[string]string{}, functions: functionSet{}, logger: opts.Logger, progress: opts.Progress, functionEnv: opts.FunctionEnv}
	if s.params, err = parameters(tmpl, opts.Parameters); err != nil {
		return nil, err
	}
	s.background, s.stop = context.WithCancel(context.Background())
	if err := s.start(ctx, opts, tmpl); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Stack) start(ctx context.Context, opts Options, tmpl *samtemplate.Template) (err error) {
	// Ports first: a taken port should fail in a second, not after a build.
	apiLn, err := listen("the merchant API (LOCAL_API_ADDR)", opts.APIAddr)
	if err != nil {
		return err
	}
	// The API is served last, once its functions exist; until then a failed
	// start closes its listener here.
	defer func() {
		if err != nil {
			_ = apiLn.Close()
		}
	}()
	sandboxLn, err := listen("the Ottu sandbox (SANDBOX_ADDR)", opts.SandboxAddr)
	if err != nil {
		return err
	}
	s.urls.API = "http://" + apiLn.Addr().String()
	s.urls.Sandbox = "http://" + sandboxLn.Addr().String()

	s.step("starting the Ottu sandbox on %s…", s.urls.Sandbox)
	if opts.Sandbox.OperationWebhookURL == "" && !opts.NoOperationNotifications {
		// Ottu's operations webhook configuration: this stack's own webhook.
		opts.Sandbox.OperationWebhookURL = s.urls.API + WebhookPath
	}
	s.sandbox = sandbox.New(opts.Sandbox)
	s.serve(sandboxLn, s.sandbox.Handler())

	// Building is the slow part; moto starts meanwhile.
	if s.buildDir, err = os.MkdirTemp("", "ottu-local-*"); err != nil {
		return fmt.Errorf("make a directory for the function binaries: %w", err)
	}
	jobs := make([]buildJob, 0, len(tmpl.Functions))
	for _, fn := range tmpl.Functions {
		jobs = append(jobs, buildJob{Name: fn.LogicalID, Package: fn.Package})
	}
	type built struct {
		bins map[string]string
		rie  string // aws-lambda-rie, which runs every function process
		err  error
	}
	buildCtx, cancelBuild := context.WithCancel(ctx)
	defer cancelBuild()
	builds := make(chan built, 1)
	buildStart := time.Now()
	s.step("building the function binaries and aws-lambda-rie… (%d; a first build takes a minute or two)", len(jobs))
	go func() {
		bins, err := buildFunctions(buildCtx, filepath.Dir(opts.Template), s.buildDir, jobs)
		var rie string
		if err == nil {
			rie, err = buildRIE(buildCtx, filepath.Dir(opts.Template), s.buildDir)
		}
		builds <- built{bins, rie, err}
	}()

	if err := s.startMoto(ctx, opts.MotoAddr, tmpl.Tables, opts.Sandbox); err != nil {
		cancelBuild()
		<-builds
		return err
	}
	s.step("waiting for the function builds…")
	b := <-builds
	if b.err != nil {
		return b.err
	}
	s.step("function binaries built in %s", time.Since(buildStart).Round(100*time.Millisecond))

	refs := s.refs(tmpl)
	if err := s.createStateMachines(ctx, filepath.Dir(opts.Template), tmpl, refs); err != nil {
		return err
	}
	sink := newLineSink(opts.FunctionOutput)
	var routes []apiRoute
	s.step("starting the function runtimes under aws-lambda-rie… (%d)", len(tmpl.Functions))
	for _, fn := range tmpl.Functions {
		env, err := s.environment(fn, refs, filepath.Dir(b.bins[fn.LogicalID]))
		if err != nil {
			return err
		}
		p := newPool(functionConfig{
			Name:         fn.LogicalID,
			Binary:       b.bins[fn.LogicalID],
			RIE:          b.rie,
			Env:          env,
			Timeout:      time.Duration(fn.Timeout) * time.Second, // samtemplate applies SAM's default
			MaxProcesses: opts.MaxProcesses,
			Output:       sink,
			Logger:       opts.Logger,
		})
		s.functions[fn.LogicalID] = p
		if err := p.warm(); err != nil {
			return err
		}
		for _, r := range fn.Routes {
			routes = append(routes, apiRoute{Method: r.Method, Path: r.Path, IAMAuth: r.IAMAuth, Function: fn.LogicalID})
		}
	}
	s.step("seeding the demo data…")
	// After the functions: the demo record is made by the refund function.
	if err := s.seedDemo(ctx); err != nil {
		return err
	}

	mux := http.NewServeMux()
	mux.Handle(invokePattern, &lambdaAPI{functions: s.functions, logger: opts.Logger, background: s.background})
	mux.Handle("/", newAPIGateway(routes, s.functions, s.users, opts.Logger))
	s.serve(apiLn, newRequestLog(mux, opts.RequestLog))
	// Once the Invoke API serves: moto's Step Functions engine calls the
	// workflow's functions through it.
	if s.functions.Has(demoWorkflowFunction) && s.functions.Has(demoApprovalFunction) && len(s.stateMachines) > 0 {
		s.step("starting the demo refund workflow (it waits for an approval)…")
		if err := s.seedDemoWorkflow(ctx); err != nil {
			return err
		}
	}
	s.startSchedules(tmpl, opts.ScheduleInterval)
	s.step("ready: merchant API and Lambda Invoke API on %s", s.urls.API)
	opts.Logger.Info("local stack started", "api", s.urls.API, "sandbox", s.urls.Sandbox, "moto", s.urls.Moto,
		"functions", slices.Sorted(maps.Keys(s.functions)))
	return nil
}

// step tells the progress writer which start-up step begins.
func (s *Stack) step(format string, args ...any) {
	_, _ = fmt.Fprintf(s.progress, format+"\n", args...)
}

// listen opens addr, naming what it is for when the port is taken.
func listen(what, addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s cannot listen on %s (is another local stack running?): %w", what, addr, err)
	}
	return ln, nil
}

func (s *Stack) serve(ln net.Listener, h http.Handler) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	s.servers = append(s.servers, srv)
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.logger.Error("server stopped", "addr", ln.Addr().String(), "error", err.Error())
		}
	}()
}

// startMoto starts moto and creates the template's tables and the secrets.
// addr is where the stack, the functions and the developer reach moto: the
// proxy that serialises DynamoDB requests, since moto's server alone lets two
// overlapping conditional writes both win, which DynamoDB never does.
func (s *Stack) startMoto(ctx context.Context, addr string, tables []samtemplate.Table, keys sandbox.Config) error {
	s.step("starting moto on %s (DynamoDB through a proxy that applies requests one at a time; Step Functions executions run, their Lambda tasks calling %s)…", addr, s.urls.API)
	// The API listens already, so its port is known: moto's Step Functions
	// engine sends Lambda tasks to the Invoke API there.
	apiPort, err := portOf(s.urls.API)
	if err != nil {
		return err
	}
	m, err := testkit.StartMotoWith(ctx, addr, testkit.MotoOptions{LambdaPort: apiPort})
	if err != nil {
		return fmt.Errorf("start moto: %w", err)
	}
	s.moto = m
	s.urls.Moto = m.Endpoint
	cfg := s.AWSConfig()
	ddb := dynamodb.NewFromConfig(cfg)
	s.step("creating the tables (%d) and secrets (2) in moto…", len(tables))
	for _, t := range tables {
		name, err := createTable(ctx, ddb, t)
		if err != nil {
			return err
		}
		s.tables[t.LogicalID] = name
	}
	sm := secretsmanager.NewFromConfig(cfg)
	secrets := []struct {
		name  string
		value map[string]string
		arn   *string
	}{
		{apiSecretName, map[string]string{"base_url": s.urls.Sandbox, "api_key": keys.APIKey}, &s.secrets.API},
		{webhookSecretName, map[string]string{"webhook_key": keys.WebhookKey}, &s.secrets.Webhook},
	}
	for _, sec := range secrets {
		value, err := json.Marshal(sec.value)
		if err != nil {
			return fmt.Errorf("encode secret %s: %w", sec.name, err)
		}
		out, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(sec.name), SecretString: aws.String(string(value))})
		if err != nil {
			return fmt.Errorf("create secret %s in moto: %w", sec.name, err)
		}
		*sec.arn = aws.ToString(out.ARN)
	}
	s.step("creating the local IAM users (requester, approver) in moto…")
	if s.users, err = createLocalUsers(ctx, cfg); err != nil {
		return err
	}
	return nil
}

// createTable creates t as the template declares it (keys, indexes, TTL)
// and returns its name: the template's TableName, else the logical id.
func createTable(ctx context.Context, ddb *dynamodb.Client, t samtemplate.Table) (string, error) {
	name := orDefault(t.TableName, t.LogicalID)
	in, err := testkit.TableInput(t, name)
	if err != nil {
		return "", err
	}
	if _, err := ddb.CreateTable(ctx, in); err != nil {
		return "", fmt.Errorf("create table %s in moto: %w", name, err)
	}
	if t.TTLAttribute != "" {
		_, err := ddb.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
			TableName:               aws.String(name),
			TimeToLiveSpecification: &ddbtypes.TimeToLiveSpecification{AttributeName: aws.String(t.TTLAttribute), Enabled: aws.Bool(true)},
		})
		if err != nil {
			return "", fmt.Errorf("turn on TTL for table %s in moto: %w", name, err)
		}
	}
	return name, nil
}

// refs are the values the template's !Ref, !Sub and !GetAtt resolve to
// locally: parameter defaults, the local table names and secret ARNs, the
// sandbox as Ottu's host, and pseudo parameters.
func (s *Stack) refs(tmpl *samtemplate.Template) map[string]string {
	refs := maps.Clone(s.params)
	refs["AWS::Region"] = localRegion
	refs["AWS::AccountId"] = localAccountID
	refs["AWS::Partition"] = "aws"
	refs["AWS::URLSuffix"] = "amazonaws.com"
	refs["AWS::StackName"] = "ottu-lambda-local"
	for id, name := range s.tables {
		refs[id] = name
		refs[id+".Arn"] = "arn:aws:dynamodb:" + localRegion + ":" + localAccountID + ":table/" + name
	}
	for _, fn := range tmpl.Functions {
		refs[fn.LogicalID] = fn.LogicalID
		refs[fn.LogicalID+".Arn"] = functionARN(fn.LogicalID)
	}
	for _, api := range tmpl.HTTPAPIs {
		refs[api] = "local"
	}
	refs[paramAPISecret] = s.secrets.API
	refs[paramWebhookSecret] = s.secrets.Webhook
	refs[paramBaseURL] = s.urls.Sandbox
	return refs
}

// environment is a function process's environment: the template's
// variables, then what Lambda itself sets, pointed at the local parts.
// Nothing comes from the environment the stack runs in, so a developer's own
// AWS credentials and profile never reach a function.
func (s *Stack) environment(fn samtemplate.Function, refs map[string]string, taskRoot string) ([]string, error) {
	vars, err := fn.ResolveEnv(refs)
	if err != nil {
		return nil, fmt.Errorf("function %s: environment: %w", fn.LogicalID, err)
	}
	maps.Copy(vars, map[string]string{
		"PATH":                            "/usr/local/bin:/usr/bin:/bin",
		"LANG":                            "en_US.UTF-8",
		"TZ":                              ":UTC",
		"LAMBDA_TASK_ROOT":                taskRoot,
		"LAMBDA_RUNTIME_DIR":              taskRoot,
		"_HANDLER":                        "bootstrap",
		"AWS_REGION":                      localRegion,
		"AWS_DEFAULT_REGION":              localRegion,
		"AWS_ACCESS_KEY_ID":               "test",
		"AWS_SECRET_ACCESS_KEY":           "test",
		"AWS_CONFIG_FILE":                 os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE":     os.DevNull,
		"AWS_ENDPOINT_URL":                s.urls.Moto,
		"AWS_LAMBDA_FUNCTION_NAME":        fn.LogicalID,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": strconv.Itoa(fn.MemorySize),
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/" + fn.LogicalID,
		"AWS_LAMBDA_INITIALIZATION_TYPE":  "on-demand",
		"PUBLIC_BASE_URL":                 s.urls.API,
	})
	maps.Copy(vars, s.functionEnv)
	env := make([]string, 0, len(vars))
	for _, k := range slices.Sorted(maps.Keys(vars)) {
		env = append(env, k+"="+vars[k])
	}
	return env, nil
}

// seedDemo creates the demo transactions in the sandbox, then runs the demo
// refund once through the refund function, so that the sample
// events/operation-status-apigw.json finds its Tracking-Key record on a
// fresh stack. It runs once the function processes exist; a template
// without the refund function (the stack's own test template) gets the
// transactions only.
func (s *Stack) seedDemo(ctx context.Context) error {
	for _, spec := range sandbox.DemoTransactions() {
		txn, err := s.sandbox.CreateTransaction(spec)
		if err != nil {
			return fmt.Errorf("seed demo transaction %s in the sandbox: %w", spec.SessionID, err)
		}
		s.demo = append(s.demo, txn)
	}
	if s.functions.Has(demoInquiryFunction) {
		if err := s.seedDemoInquiry(ctx); err != nil {
			return err
		}
	}
	if s.functions.Has(demoRecordFunction) {
		if err := s.seedDemoRecord(ctx); err != nil {
			return err
		}
	}
	return nil
}

// demoInquiryFunction is the function seedDemoInquiry asks through.
const demoInquiryFunction = "InquiryFunction"

// seedDemoInquiry inquires sandbox.DemoInquirySessionID once through the
// inquiry function, as a direct invocation would, so that
// events/inquiry-result-apigw.json finds a stored result on a fresh stack.
func (s *Stack) seedDemoInquiry(ctx context.Context) error {
	what := fmt.Sprintf("seed the demo inquiry result of %s through %s", sandbox.DemoInquirySessionID, demoInquiryFunction)
	payload, err := json.Marshal(map[string]string{"session_id": sandbox.DemoInquirySessionID})
	if err != nil {
		return fmt.Errorf("%s: encode the event: %w", what, err)
	}
	out, err := s.functions.Invoke(ctx, demoInquiryFunction, payload)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	var res struct {
		Source string `json:"source"`
	}
	if err := json.Unmarshal(out, &res); err != nil || res.Source != "inquiry" {
		return fmt.Errorf("%s: the inquiry answered %s, want a stored answer from Ottu", what, out)
	}
	return nil
}

// demoRecordFunction is the function seedDemoRecord refunds through.
const demoRecordFunction = "RefundFunction"

// seedDemoRecord refunds sandbox.DemoStatusSessionID as a direct invocation
// would, leaving the succeeded record of sandbox.DemoStatusTrackingKey in
// the Tracking-Key table.
func (s *Stack) seedDemoRecord(ctx context.Context) error {
	what := fmt.Sprintf("seed the demo Tracking-Key record %s through %s", sandbox.DemoStatusTrackingKey, demoRecordFunction)
	payload, err := json.Marshal(map[string]string{
		"session_id":   sandbox.DemoStatusSessionID,
		"amount":       sandbox.DemoStatusRefund,
		"tracking_key": sandbox.DemoStatusTrackingKey,
	})
	if err != nil {
		return fmt.Errorf("%s: encode the event: %w", what, err)
	}
	out, err := s.functions.Invoke(ctx, demoRecordFunction, payload)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	var res struct {
		Result string `json:"result"`
	}
	if err := json.Unmarshal(out, &res); err != nil || res.Result != "success" {
		return fmt.Errorf("%s: the refund answered %s, want result success", what, out)
	}
	return nil
}

// URLs returns where the stack's parts listen.
func (s *Stack) URLs() URLs { return s.urls }

// Secrets returns the ARNs of the Ottu API and webhook secrets in moto.
func (s *Stack) Secrets() Secrets { return s.secrets }

// Tables maps each table's logical id to its name in moto.
func (s *Stack) Tables() map[string]string { return maps.Clone(s.tables) }

// Users returns the local IAM users (LocalUsers) with the ARN and user id
// moto gave them.
func (s *Stack) Users() []LocalUser {
	var out []LocalUser
	for _, u := range LocalUsers {
		if got, ok := s.users[u.AccessKeyID]; ok {
			out = append(out, got)
		}
	}
	return out
}

// Demo returns the demo transactions as the sandbox created them.
func (s *Stack) Demo() []sandbox.Transaction { return slices.Clone(s.demo) }

// Sandbox is the running Ottu sandbox, for tests that add transactions or
// faults directly.
func (s *Stack) Sandbox() *sandbox.Server { return s.sandbox }

// AWSConfig is an SDK configuration for the stack's moto, for tests that
// look at what the functions stored.
func (s *Stack) AWSConfig() aws.Config { return s.moto.AWSConfig() }

// Invoke runs a function by logical id as the Invoke API would; a function
// error comes back as a *FunctionError.
func (s *Stack) Invoke(ctx context.Context, function string, payload []byte) ([]byte, error) {
	return s.functions.Invoke(ctx, function, payload)
}

// Close stops the servers, every function process, the sandbox and moto,
// and removes the built binaries. It is safe to call more than once.
func (s *Stack) Close() {
	s.closeOnce.Do(func() {
		s.stop()
		s.scheduled.Wait()
		for _, srv := range s.servers {
			_ = srv.Close()
		}
		var wg sync.WaitGroup
		for _, p := range s.functions {
			wg.Go(p.Close)
		}
		wg.Wait()
		if s.sandbox != nil {
			s.sandbox.Close()
		}
		if s.moto != nil {
			s.moto.Stop()
		}
		if s.buildDir != "" {
			_ = os.RemoveAll(s.buildDir)
		}
	})
}

// functionSet runs the stack's functions by logical id.
type functionSet map[string]*pool

func (f functionSet) Invoke(ctx context.Context, name string, payload []byte) ([]byte, error) {
	p, ok := f[name]
	if !ok {
		return nil, fmt.Errorf("%w: %s", errFunctionNotFound, name)
	}
	return p.Invoke(ctx, payload)
}

func (f functionSet) Has(name string) bool {
	_, ok := f[name]
	return ok
}

// WebhookPath is the route of Ottu's callbacks and operation
// notifications (template.yaml's WebhookFunction).
const WebhookPath = "/webhooks/ottu"
