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
	"slices"
	"strings"
	"syscall"

	"github.com/ottuops/ottu-lambda/dev/localstack"
	"github.com/ottuops/ottu-lambda/dev/sandbox"
)

func main() {
	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Getenv, os.Stdout, os.Stderr, logger)
	stop()
	if err != nil {
		logger.Error("the local stack did not start", "error", err.Error())
		os.Exit(1)
	}
}

// run starts the stack, prints the banner to out, and stops everything when
// ctx ends (Ctrl-C). Function output goes to fnOut.
func run(ctx context.Context, getenv func(string) string, out, fnOut io.Writer, logger *slog.Logger) error {
	// The sandbox reads SANDBOX_ADDR, SANDBOX_API_KEY, SANDBOX_WEBHOOK_KEY
	// (and its other SANDBOX_* settings) the same way when run alone.
	sbConfig, sbAddr, err := sandbox.ConfigFromEnv(getenv)
	if err != nil {
		return err
	}
	sbConfig.Logger = logger
	opts := localstack.Options{
		Template:       getenv("TEMPLATE"),
		APIAddr:        getenv("LOCAL_API_ADDR"),
		SandboxAddr:    sbAddr,
		MotoAddr:       getenv("MOTO_ADDR"),
		Sandbox:        sbConfig,
		Logger:         logger,
		FunctionOutput: fnOut,
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

	printBanner(out, stack, sbConfig)
	<-ctx.Done()
	_, _ = fmt.Fprintln(out, "\nStopping: function processes, moto and the sandbox.")
	return nil
}

// printBanner tells the user where everything is, the local credentials,
// and what to try first.
func printBanner(w io.Writer, s *localstack.Stack, sb sandbox.Config) {
	u := s.URLs()
	p := func(format string, a ...any) { _, _ = fmt.Fprintf(w, format+"\n", a...) }

	p("")
	p("Local stack is up. Ctrl-C stops everything.")
	p("")
	p("  Merchant API + Lambda Invoke API  %s   (LOCAL_API_ADDR)", u.API)
	p("  Ottu sandbox                      %s   (SANDBOX_ADDR)", u.Sandbox)
	p("  moto (DynamoDB, Secrets Manager,  %s   (MOTO_ADDR)", u.Moto)
	p("        Step Functions: executions run)")
	p("  Ottu's callbacks (no auth; signed) %s/webhooks/ottu", u.API)
	p("")
	p("Sandbox credentials (local only):")
	p("  Api-Key      %s   (SANDBOX_API_KEY)", sb.APIKey)
	p("  webhook key  %s   (SANDBOX_WEBHOOK_KEY)", sb.WebhookKey)
	for _, name := range slices.Sorted(maps.Keys(sb.Users)) {
		p("  Basic user   %s:%s   permissions %s", name, sb.Users[name].Password, strings.Join(sb.Users[name].Permissions, ","))
	}
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
	p(`  curl -i -X POST %s/operations/refund -H 'Content-Type: application/json' -H 'Tracking-Key: demo-refund-1' -d '{"session_id":"demo-paid-kwd","amount":"2.500"}'`, u.API)
	p("  # the same again: replayed (Idempotent-Replayed: true), Ottu not called twice")
	p(`  curl -i -X POST %s/operations/refund -H 'Content-Type: application/json' -H 'Tracking-Key: demo-refund-1' -d '{"session_id":"demo-paid-kwd","amount":"2.500"}'`, u.API)
	p("  # the stored Tracking-Key record")
	p("  curl -i %s/operations/demo-refund-1", u.API)
	p("  # a direct invocation, as Step Functions would (AWS CLI v1: leave out --cli-binary-format)")
	p(`  AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test aws lambda invoke --endpoint-url %s --region us-east-1 --function-name RefundFunction --cli-binary-format raw-in-base64-out --payload '{"session_id":"demo-paid-kwd","amount":"1.000","tracking_key":"demo-refund-2"}' out.json`, u.API)
	printWorkflows(p, s, u.API)
	p("")
}

// printWorkflows tells how to run the refund workflow, when the template
// has one.
func printWorkflows(p func(string, ...any), s *localstack.Stack, api string) {
	machines := s.StateMachines()
	if len(machines) == 0 {
		return
	}
	p("")
	p("Refund workflow (Step Functions, executed by moto; approval above %s):", s.Parameters()["RefundApprovalThreshold"])
	for _, m := range machines {
		p("  state machine  %s", m.ARN)
	}
	p("  # start one: 202 with its id and status URL")
	p(`  curl -s -X POST %s/refund-workflows -H 'Content-Type: application/json' -d '{"session_id":"demo-workflow-paid","amount":"75.000","reason":"damaged","refund_id":"demo-wf-1"}'`, api)
	p("  # where it stands: waiting for its approval")
	p("  curl -s %s/refund-workflows/demo-wf-1", api)
	p("  # approve it; then GET again shows the result")
	p(`  curl -s -X POST %s/refund-workflows/demo-wf-1/approval -H 'Content-Type: application/json' -d '{"approved":true,"note":"checked"}'`, api)
	p("  # the execution history, every attempt (AWS CLI)")
	p("  AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test aws stepfunctions get-execution-history --endpoint-url %s --region us-east-1 --execution-arn %s:demo-wf-1",
		s.URLs().Moto, strings.Replace(machines[0].ARN, ":stateMachine:", ":execution:", 1))
}
