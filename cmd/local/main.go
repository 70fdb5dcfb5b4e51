// Command local runs the whole project on this machine (make local): moto,
// the Ottu sandbox, and the merchant API with the Lambda Invoke API on one
// port, the functions running as their real binaries. Contract §5; the work
// is in dev/localstack, this only reads the environment and prints.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"

	"github.com/ottuops/ottu-lambda/dev/localstack"
	"github.com/ottuops/ottu-lambda/dev/sandbox"
)

// defaultLogFile is where the stack's and the functions' logs go unless
// LOCAL_LOG names another file; the terminal keeps the banner and one line
// per request.
const defaultLogFile = "build/local.log"

func main() {
	logPath := os.Getenv("LOCAL_LOG")
	if logPath == "" {
		logPath = defaultLogFile
	}
	logFile, err := openLog(logPath)
	if err != nil {
		_, _ = fmt.Fprintf(os.Stderr, "local: the log file (LOCAL_LOG): %v\n", err)
		os.Exit(1)
	}
	defer func() { _ = logFile.Close() }()
	logger := slog.New(slog.NewJSONHandler(logFile, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err = run(ctx, os.Getenv, os.Stdout, logFile, logPath, logger)
	stop()
	if err != nil {
		logger.Error("the local stack did not start", "error", err.Error())
		_, _ = fmt.Fprintf(os.Stderr, "the local stack did not start: %v\n(logs: %s)\n", err, logPath)
		_ = logFile.Close()
		os.Exit(1)
	}
}

// openLog creates (or empties) the log file, and its directory.
func openLog(path string) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil { //nolint:gosec // G703: the developer names the file (LOCAL_LOG)
		return nil, err
	}
	return os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600) //nolint:gosec // G304: the developer names the file
}

// run starts the stack, prints the banner to out, then one line per request
// to out, and stops everything when ctx ends (Ctrl-C). Function output goes
// to fnOut, which logPath names in the banner.
func run(ctx context.Context, getenv func(string) string, out, fnOut io.Writer, logPath string, logger *slog.Logger) error {
	// The sandbox reads SANDBOX_ADDR, SANDBOX_API_KEY, SANDBOX_WEBHOOK_KEY
	// (and its other SANDBOX_* settings) the same way when run alone.
	sbConfig, sbAddr, err := sandbox.ConfigFromEnv(getenv)
	if err != nil {
		return err
	}
	sbConfig.Logger = logger
	// Request lines wait for the banner: the start-up's own invocations
	// (the demo workflow's) would only push it up.
	requests := &gate{w: out}
	opts := localstack.Options{
		Template:       getenv("TEMPLATE"),
		APIAddr:        getenv("LOCAL_API_ADDR"),
		SandboxAddr:    sbAddr,
		MotoAddr:       getenv("MOTO_ADDR"),
		Sandbox:        sbConfig,
		Logger:         logger,
		FunctionOutput: fnOut,
		RequestLog:     requests,
		Progress:       out,
	}
	switch iamMode := getenv("LOCAL_IAM"); iamMode {
	case "", "open":
	case "enforce":
		opts.EnforceIAM = true
	default:
		return fmt.Errorf("LOCAL_IAM=%q: want enforce (moto refuses what a function's role does not allow) or open (the default: moto accepts any credentials)", iamMode)
	}
	stack, err := localstack.Start(ctx, opts)
	if err != nil {
		return err
	}
	defer stack.Close()

	printBanner(out, stack, sbConfig, logPath)
	requests.open()
	<-ctx.Done()
	requests.close()
	_, _ = fmt.Fprintln(out, "\nStopping: function processes, moto and the sandbox.")
	return nil
}

// gate passes writes through only while open.
type gate struct {
	mu     sync.Mutex
	w      io.Writer
	isOpen bool
}

func (g *gate) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.isOpen {
		return g.w.Write(p)
	}
	return len(p), nil
}

func (g *gate) open()  { g.mu.Lock(); g.isOpen = true; g.mu.Unlock() }
func (g *gate) close() { g.mu.Lock(); g.isOpen = false; g.mu.Unlock() }

// printBanner tells the user where everything is, the local credentials,
// and what to try first.
func printBanner(w io.Writer, s *localstack.Stack, sb sandbox.Config, logPath string) {
	u := s.URLs()
	p := func(format string, a ...any) { _, _ = fmt.Fprintf(w, format+"\n", a...) }

	p("")
	p("Local stack is up. Ctrl-C stops everything.")
	p("")
	p("  Merchant API + Lambda Invoke API  %s   (LOCAL_API_ADDR)", u.API)
	p("  Ottu sandbox                      %s   (SANDBOX_ADDR)", u.Sandbox)
	p("  moto (DynamoDB, Secrets Manager,  %s   (MOTO_ADDR)", u.Moto)
	p("        Step Functions: executions run)")
	p("  Ottu's callbacks (no auth; signed) %s/webhooks/ottu   (the sandbox posts its operation notifications here)", u.API)
	p("  ReconcileFunction                 invoked every %s (its schedule)", localstack.DefaultScheduleInterval)
	p("")
	p("Sandbox credentials (local only):")
	p("  Api-Key      %s   (SANDBOX_API_KEY)", sb.APIKey)
	p("  webhook key  %s   (SANDBOX_WEBHOOK_KEY)", sb.WebhookKey)
	for _, name := range slices.Sorted(maps.Keys(sb.Users)) {
		p("  Basic user   %s:%s   permissions %s", name, sb.Users[name].Password, strings.Join(sb.Users[name].Permissions, ","))
	}
	p("")
	p("IAM users in moto (local-only keys; sign with SigV4, service execute-api, region us-east-1):")
	for _, u := range s.Users() {
		p("  %-10s %s / %s   %s", u.Name, u.AccessKeyID, u.SecretAccessKey, u.ARN)
	}
	p("  (an unsigned request to an IAM route is arn:aws:iam::123456789012:user/local; a bad signature is a 403)")
	p("")
	p("In moto:")
	if d := s.Deployment(); d != nil {
		p("  stack   %s %s (CloudFormation: aws cloudformation describe-stack-resources --endpoint-url %s --stack-name %s)", d.StackName, d.Status, u.Moto, d.StackName)
	}
	if s.IAMEnforced() {
		p("  IAM     enforced: each function has its own role's rights and no more; sign your own calls as the user %s (LOCAL_IAM=enforce)", "ottu-lambda-local-admin")
	} else {
		p("  IAM     open: any credentials work (LOCAL_IAM=enforce makes moto refuse what a role does not allow)")
	}
	tables := s.Tables()
	for _, id := range slices.Sorted(maps.Keys(tables)) {
		p("  table   %s", tables[id])
	}
	p("  secret  %s", s.Secrets().API)
	p("  secret  %s", s.Secrets().Webhook)
	p("")
	p("Demo transactions in the sandbox:")
	for _, t := range s.Demo() {
		p("  %-26s %-10s %s %s via %s", t.SessionID, t.State, t.Amount, t.CurrencyCode, t.PGCode)
	}
	p("")
	p("Try:")
	p("  # a partial refund of demo-paid-kwd")
	p(`  curl -i -X POST %s/operations/refund -H 'Content-Type: application/json' -H 'Tracking-Key: demo-refund-1' -d '{"session_id":"demo-paid-kwd","amount":"2.500","currency_code":"KWD"}'`, u.API)
	p("  # the same again: replayed (Idempotent-Replayed: true), Ottu not called twice")
	p(`  curl -i -X POST %s/operations/refund -H 'Content-Type: application/json' -H 'Tracking-Key: demo-refund-1' -d '{"session_id":"demo-paid-kwd","amount":"2.500","currency_code":"KWD"}'`, u.API)
	p("  # the stored Tracking-Key record")
	p("  curl -i %s/operations/demo-refund-1", u.API)
	p("  # a direct invocation, as Step Functions would (AWS CLI v1 and v2 alike: fileb:// sends the file as is)")
	p(`  AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test aws lambda invoke --endpoint-url %s --region us-east-1 --function-name RefundFunction --payload fileb://events/refund-direct.json out.json && cat out.json`, u.API)
	p("  # a refund made \"outside\" (the gateway's dashboard): Ottu notifies the webhook")
	p(`  curl -s -X POST %s/sandbox/transactions/demo-paid-kwd/external-operations -H 'Content-Type: application/json' -d '{"operation":"refund","amount":"1.000","source":"pg"}'`, u.Sandbox)
	printWorkflows(p, s, u.API)
	p("")
	p("Logs of the functions (aws-lambda-rie's START/END/REPORT included) and of the stack: %s", logPath)
	p("  (tail -f %s); below, one line per request.", logPath)
	p("")
}

// sigv4Curl is curl's option to sign as the named local IAM user.
func sigv4Curl(s *localstack.Stack, name string) string {
	for _, u := range s.Users() {
		if u.Name == name {
			return fmt.Sprintf(`--aws-sigv4 "aws:amz:us-east-1:execute-api" --user "%s:%s"`, u.AccessKeyID, u.SecretAccessKey)
		}
	}
	return ""
}

// printWorkflows tells how to run the refund workflow, when the template
// has one.
func printWorkflows(p func(string, ...any), s *localstack.Stack, api string) {
	machines := s.StateMachines()
	if len(machines) == 0 {
		return
	}
	p("")
	p("Refund workflow (Step Functions, executed by moto; approval above %s):", s.Parameters()["RefundApprovalThresholds"])
	for _, m := range machines {
		p("  state machine  %s", m.ARN)
	}
	requester, approver := sigv4Curl(s, "requester"), sigv4Curl(s, "approver")
	p("  # start one as the requester: 202 with its id and status URL")
	p(`  curl -s %s -X POST %s/refund-workflows -H 'Content-Type: application/json' -d '{"session_id":"demo-workflow-paid","amount":"75.000","currency_code":"KWD","reason":"damaged","refund_id":"demo-wf-1"}'`, requester, api)
	p("  # where it stands, a second later (moto runs it in the background): waiting for its approval, requested_by the requester")
	p("  curl -s %s/refund-workflows/demo-wf-1", api)
	p("  # the requester approving its own refund: 403 self_approval")
	p(`  curl -s %s -X POST %s/refund-workflows/demo-wf-1/approval -H 'Content-Type: application/json' -d '{"approved":true}'`, requester, api)
	p("  # approve it as the approver; a second later GET again shows the result and decided_by")
	p(`  curl -s %s -X POST %s/refund-workflows/demo-wf-1/approval -H 'Content-Type: application/json' -d '{"approved":true,"note":"checked"}'`, approver, api)
	p("  # the execution history, every attempt (AWS CLI)")
	p("  AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test aws stepfunctions get-execution-history --endpoint-url %s --region us-east-1 --execution-arn %s:demo-wf-1",
		s.URLs().Moto, strings.Replace(machines[0].ARN, ":stateMachine:", ":execution:", 1))
}
