package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ottuops/ottu-lambda/dev/testkit"
)

// testEnv runs the command on free ports against the local stack's own test
// template, whose echo function builds in a second.
func testEnv(overrides map[string]string) func(string) string {
	env := map[string]string{
		"TEMPLATE":        "../../dev/localstack/testdata/template.yaml",
		"LOCAL_API_ADDR":  "127.0.0.1:0",
		"SANDBOX_ADDR":    "127.0.0.1:0",
		"MOTO_ADDR":       "127.0.0.1:0",
		"SANDBOX_API_KEY": "cmd-test-key",
	}
	for k, v := range overrides {
		env[k] = v
	}
	return func(k string) string { return env[k] }
}

func TestRun(t *testing.T) {
	logger := slog.New(slog.DiscardHandler)

	t.Run("it prints addresses, credentials, demo transactions and curls, and stops on cancel", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var out testkit.Buffer
		done := make(chan error, 1)
		go func() { done <- run(ctx, testEnv(nil), &out, io.Discard, "build/test.log", logger) }()

		deadline := time.After(2 * time.Minute)
		for !strings.Contains(out.String(), "Try:") {
			select {
			case err := <-done:
				t.Fatalf("run ended before the banner: %v\n%s", err, out.String())
			case <-deadline:
				t.Fatalf("no banner:\n%s", out.String())
			case <-time.After(20 * time.Millisecond):
			}
		}
		banner := out.String()
		for _, want := range []string{
			"(LOCAL_API_ADDR)", "(SANDBOX_ADDR)", "(MOTO_ADDR)",
			"Api-Key      cmd-test-key", "sandbox-webhook-key", "operator:operator-pass",
			"table   ottu-lambda-local-EchoTable-", "stack   ottu-lambda-local CREATE_COMPLETE", "IAM     open", "secret  arn:aws:secretsmanager:",
			"demo-paid-kwd", "demo-authorized", "demo-pending",
			"Tracking-Key: demo-refund-1", "/operations/demo-refund-1", `"currency_code":"KWD"`,
			"requester  AKIALOCALREQUESTER01 / local-requester-secret   arn:aws:iam::123456789012:user/requester",
			"approver   AKIALOCALAPPROVER001 / local-approver-secret   arn:aws:iam::123456789012:user/approver",
			"Logs of the functions", "build/test.log",
		} {
			if !strings.Contains(banner, want) {
				t.Errorf("the banner lacks %q:\n%s", want, banner)
			}
		}
		if n := strings.Count(banner, "curl -i"); n != 3 {
			t.Errorf("the banner has %d curl commands, want 3", n)
		}
		if strings.Contains(banner, "--cli-binary-format") || !strings.Contains(banner, "--payload fileb://events/refund-direct.json") {
			t.Errorf("the banner's aws lambda invoke must work with AWS CLI v1 and v2 (fileb://, no --cli-binary-format):\n%s", banner)
		}

		// After the banner, one compact line per request.
		api := regexp.MustCompile(`Lambda Invoke API  (http://\S+)`).FindStringSubmatch(banner)
		if api == nil {
			t.Fatalf("no API URL in the banner:\n%s", banner)
		}
		resp, err := http.Get(api[1] + "/no-such-route")
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		waitFor(t, func() bool { return strings.Contains(out.String(), " GET /no-such-route 404 ") })

		cancel()
		if err := <-done; err != nil {
			t.Fatalf("run after cancel: %v", err)
		}
		if !strings.Contains(out.String(), "Stopping") {
			t.Fatalf("no word of stopping:\n%s", out.String())
		}
	})

	t.Run("a taken port fails with the variable to change", func(t *testing.T) {
		taken, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = taken.Close() }()
		err = run(context.Background(), testEnv(map[string]string{"LOCAL_API_ADDR": taken.Addr().String()}), io.Discard, io.Discard, "", logger)
		if err == nil || !strings.Contains(err.Error(), "LOCAL_API_ADDR") {
			t.Fatalf("got %v, want an error naming LOCAL_API_ADDR", err)
		}
	})
	t.Run("a LOCAL_IAM other than enforce or open is refused, naming both", func(t *testing.T) {
		err := run(context.Background(), testEnv(map[string]string{"LOCAL_IAM": "strict"}), io.Discard, io.Discard, "", logger)
		if err == nil || !strings.Contains(err.Error(), `LOCAL_IAM="strict"`) || !strings.Contains(err.Error(), "enforce") || !strings.Contains(err.Error(), "open") {
			t.Fatalf("got %v, want an error naming LOCAL_IAM, enforce and open", err)
		}
	})
}

// waitFor polls cond for up to 10 seconds.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for range 500 {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("condition never held")
}
