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
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

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

// The template parameters the stack fills itself with the secrets it
// creates in moto, as `--parameter-overrides` would; the others come from
// samconfig.toml's local environment, Options.Parameters, or their defaults.
const (
	paramAPISecret     = "OttuApiSecretArn"
	paramWebhookSecret = "OttuWebhookSecretArn"
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
	// Parameters override template parameters, over samconfig.toml's
	// [local.deploy.parameters] (the refund workflow's short local waits);
	// they go to CloudFormation, so they reach the functions' environment
	// and the state machine's DefinitionSubstitutions alike.
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
	// EnforceIAM has moto refuse every request its signer's IAM policies do
	// not allow, once the stack is deployed: each function runs with its
	// own role's credentials, so an action its policy lacks fails.
	// LOCAL_IAM=enforce sets it for make local; the end-to-end tests set it.
	// Off, moto accepts any credentials (the README's AWS CLI walks use
	// dummy keys).
	EnforceIAM bool
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
	// params are the parameters the stack created the CloudFormation stack
	// with; functionEnv overrides the functions' environment.
	params        map[string]string
	functionEnv   map[string]string
	stateMachines []StateMachine
	// deployed is the CloudFormation stack moto created; names maps each
	// function's physical name to its logical id.
	deployed *Deployment
	names    map[string]string
	// admin signs the stack's own requests to moto (and Stack.AWSConfig's)
	// once it enforces IAM; recorder records the functions' AWS calls.
	admin    *aws.Config
	recorder *callRecorder
	enforced bool

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
// template is deployed to moto's CloudFormation, the servers listen, and
// each function has a process starting. On error, whatever had started is
// stopped again.
func Start(ctx context.Context, opts Options) (*Stack, error) {
	opts = opts.withDefaults()
	if _, err := os.Stat(opts.Template); err != nil {
		return nil, fmt.Errorf("read the template: %w", err)
	}
	s := &Stack{tables: map[string]string{}, functions: functionSet{}, names: map[string]string{}, logger: opts.Logger, progress: opts.Progress,
		functionEnv: opts.FunctionEnv, recorder: newCallRecorder()}
	s.background, s.stop = context.WithCancel(context.Background())
	if err := s.start(ctx, opts); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Stack) start(ctx context.Context, opts Options) (err error) {
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

	s.step("translating %s with aws-sam-translator (as sam package and sam deploy do)…", opts.Template)
	tr, err := Translate(ctx, opts.Template)
	if err != nil {
		return err
	}
	functionIDs := tr.LogicalIDs("AWS::Lambda::Function")

	// Building is the slow part; moto starts meanwhile.
	if s.buildDir, err = os.MkdirTemp("", "ottu-local-*"); err != nil {
		return fmt.Errorf("make a directory for the function binaries: %w", err)
	}
	jobs := make([]buildJob, 0, len(functionIDs))
	for _, id := range functionIDs {
		jobs = append(jobs, buildJob{Name: id, Package: PackageFor(id)})
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

	if err := s.startMoto(ctx, opts.MotoAddr, opts.Sandbox); err != nil {
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

	s.params = maps.Clone(tr.Parameters)
	if s.params == nil {
		s.params = map[string]string{}
	}
	for k, v := range map[string]string{paramAPISecret: s.secrets.API, paramWebhookSecret: s.secrets.Webhook} {
		if _, ok := tr.Template.Parameters[k]; ok {
			s.params[k] = v
		}
	}
	maps.Copy(s.params, opts.Parameters)
	deployStart := time.Now()
	s.step("deploying the stack %s to moto's CloudFormation (zips in s3://%s)…", tr.StackName, artifactBucket)
	if s.deployed, err = Deploy(ctx, s.AWSConfig(), tr, b.bins, s.params); err != nil {
		return err
	}
	s.step("stack %s %s in %s (%d resources)", tr.StackName, s.deployed.Status, time.Since(deployStart).Round(10*time.Millisecond), len(s.deployed.Resources))
	for _, id := range tr.LogicalIDs("AWS::DynamoDB::Table") {
		s.tables[id] = s.deployed.PhysicalID(id)
	}
	for _, id := range tr.LogicalIDs("AWS::StepFunctions::StateMachine") {
		arn := s.deployed.PhysicalID(id)
		s.stateMachines = append(s.stateMachines, StateMachine{LogicalID: id, Name: arn[strings.LastIndex(arn, ":")+1:], ARN: arn})
	}
	routes, err := httpAPIRoutes(tr)
	if err != nil {
		return err
	}

	// Each function's credentials are its role's, assumed before moto
	// enforces IAM (moto would check the role's trust policy, which trusts
	// lambda.amazonaws.com, against the caller).
	admin, err := createAdmin(ctx, s.AWSConfig())
	if err != nil {
		return err
	}
	creds := map[string]roleCredentials{}
	for _, f := range s.deployed.functions {
		c, err := assumeRole(ctx, s.AWSConfig(), f.RoleARN, f.Name)
		if err != nil {
			return fmt.Errorf("function %s: %w", f.LogicalID, err)
		}
		creds[f.LogicalID] = c
		s.recorder.addKey(c.AccessKeyID, f.LogicalID)
	}
	s.admin = &admin
	if opts.EnforceIAM {
		s.step("moto enforces IAM from now on: each function has its own role's rights, and no more")
		if err := enforceIAM(ctx, s.urls.Moto); err != nil {
			return err
		}
		s.enforced = true
	}

	sink := newLineSink(opts.FunctionOutput)
	s.step("starting the function runtimes under aws-lambda-rie… (%d)", len(s.deployed.functions))
	for _, f := range s.deployed.functions {
		p := newPool(functionConfig{
			Name:         f.LogicalID,
			Binary:       b.bins[f.LogicalID],
			RIE:          b.rie,
			Env:          s.environment(f, creds[f.LogicalID], filepath.Dir(b.bins[f.LogicalID])),
			Timeout:      f.Timeout,
			MaxProcesses: opts.MaxProcesses,
			Output:       sink,
			Logger:       opts.Logger,
		})
		s.functions[f.LogicalID] = p
		s.names[f.Name] = f.LogicalID
		if err := p.warm(); err != nil {
			return err
		}
	}
	s.step("seeding the demo data…")
	// After the functions: the demo record is made by the refund function.
	if err := s.seedDemo(ctx); err != nil {
		return err
	}

	mux := http.NewServeMux()
	mux.Handle(invokePattern, &lambdaAPI{functions: namedFunctions{s.functions, s.names}, logger: opts.Logger, background: s.background})
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
	if err := s.startSchedules(tr, opts.ScheduleInterval); err != nil {
		return err
	}
	s.step("ready: merchant API and Lambda Invoke API on %s", s.urls.API)
	opts.Logger.Info("local stack started", "api", s.urls.API, "sandbox", s.urls.Sandbox, "moto", s.urls.Moto,
		"stack", s.deployed.StackName, "iam_enforced", opts.EnforceIAM, "functions", slices.Sorted(maps.Keys(s.functions)))
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

// startMoto starts moto and creates the two secrets. addr is where the
// stack, the functions and the developer reach moto: the proxy that
// serialises DynamoDB requests, since moto's server alone lets two
// overlapping conditional writes both win, which DynamoDB never does.
func (s *Stack) startMoto(ctx context.Context, addr string, keys sandbox.Config) error {
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
	m.Proxy.Observe(s.recorder.observe)
	cfg := s.AWSConfig()
	s.step("creating the secrets (2) in moto…")
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

// environment is a function process's environment: the variables the
// created stack reports for it (lambda GetFunctionConfiguration), then what
// Lambda itself sets (its physical name, its role's credentials), pointed
// at the local parts. Nothing comes from the environment the stack runs in,
// so a developer's own AWS credentials and profile never reach a function.
func (s *Stack) environment(f deployedFunction, creds roleCredentials, taskRoot string) []string {
	vars := maps.Clone(f.Env)
	maps.Copy(vars, map[string]string{
		"PATH":                            "/usr/local/bin:/usr/bin:/bin",
		"LANG":                            "en_US.UTF-8",
		"TZ":                              ":UTC",
		"LAMBDA_TASK_ROOT":                taskRoot,
		"LAMBDA_RUNTIME_DIR":              taskRoot,
		"_HANDLER":                        "bootstrap",
		"AWS_REGION":                      localRegion,
		"AWS_DEFAULT_REGION":              localRegion,
		"AWS_ACCESS_KEY_ID":               creds.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY":           creds.SecretAccessKey,
		"AWS_SESSION_TOKEN":               creds.SessionToken,
		"AWS_CONFIG_FILE":                 os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE":     os.DevNull,
		"AWS_ENDPOINT_URL":                s.urls.Moto,
		"AWS_LAMBDA_FUNCTION_NAME":        f.Name,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": strconv.Itoa(f.MemorySize),
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/" + f.Name,
		"AWS_LAMBDA_INITIALIZATION_TYPE":  "on-demand",
	})
	// The template leaves PublicBaseUrl empty (a function cannot name its
	// own HTTP API); locally the API's URL is known.
	if vars["PUBLIC_BASE_URL"] == "" {
		vars["PUBLIC_BASE_URL"] = s.urls.API
	}
	maps.Copy(vars, s.functionEnv)
	env := make([]string, 0, len(vars))
	for _, k := range slices.Sorted(maps.Keys(vars)) {
		env = append(env, k+"="+vars[k])
	}
	return env
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
// look at what the functions stored: once the stack is deployed it signs
// as an IAM user allowed everything, so it works when moto enforces IAM.
func (s *Stack) AWSConfig() aws.Config {
	if s.admin != nil {
		return *s.admin
	}
	return s.moto.AWSConfig()
}

// IAMEnforced tells whether moto refuses what a caller's policies do not
// allow (Options.EnforceIAM).
func (s *Stack) IAMEnforced() bool { return s.enforced }

// Deployment is the CloudFormation stack the local stack created in moto.
func (s *Stack) Deployment() *Deployment { return s.deployed }

// Parameters are the template parameters the stack was created with
// (samconfig.toml's local environment, the secrets, Options.Parameters);
// the others took their defaults.
func (s *Stack) Parameters() map[string]string { return maps.Clone(s.params) }

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

// namedFunctions finds a function by logical id (as sam local does) or by
// the physical name the stack gave it (as Step Functions and AWS do).
type namedFunctions struct {
	set   functionSet
	names map[string]string
}

func (n namedFunctions) resolve(name string) string {
	if id, ok := n.names[name]; ok {
		return id
	}
	return name
}

func (n namedFunctions) Invoke(ctx context.Context, name string, payload []byte) ([]byte, error) {
	return n.set.Invoke(ctx, n.resolve(name), payload)
}

func (n namedFunctions) Has(name string) bool { return n.set.Has(n.resolve(name)) }
