package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// cpuTarget is what the CPU children talk to: the stack's moto (through
// its proxy) and sandbox directly, without the timing proxies.
type cpuTarget struct {
	b        *benchStack
	motoURL  string
	ottuURL  string
	secretID string
	table    string
}

func newCPUTarget(ctx context.Context, b *benchStack) (*cpuTarget, error) {
	t := &cpuTarget{b: b, motoURL: b.st.URLs().Moto, ottuURL: b.st.URLs().Sandbox, table: b.st.Tables()["TrackingKeysTable"]}
	if t.table == "" {
		return nil, fmt.Errorf("the template has no TrackingKeysTable")
	}
	secret, _ := json.Marshal(map[string]string{"base_url": t.ottuURL, "api_key": benchAPIKey})
	out, err := secretsmanager.NewFromConfig(b.st.AWSConfig()).CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name: aws.String(fmt.Sprintf("bench-cpu-%d", os.Getpid())), SecretString: aws.String(string(secret))})
	if err != nil {
		return nil, err
	}
	t.secretID = aws.ToString(out.ARN)
	return t, nil
}

// cpuRun is one child's run.
type cpuRun struct {
	Mode       string // function | floor
	GOMAXPROCS string // "" = the Go default
	N, Warm    int
	Profile    string
	ProfPath   string
	Env        []string
}

var childSeq int

func (t *cpuTarget) runChild(ctx context.Context, r cpuRun) (childResult, error) {
	var res childResult
	sid, err := t.b.paid()
	if err != nil {
		return res, err
	}
	self, err := os.Executable()
	if err != nil {
		return res, err
	}
	dir, err := os.MkdirTemp("", "ottu-bench-*")
	if err != nil {
		return res, err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	childSeq++
	resultFile := filepath.Join(dir, "result.json")
	env := []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
		"BENCH_CHILD=1", "BENCH_MODE=" + r.Mode, "BENCH_N=" + strconv.Itoa(r.N), "BENCH_WARM=" + strconv.Itoa(r.Warm),
		"BENCH_SESSION=" + sid, "BENCH_PREFIX=" + fmt.Sprintf("cpu%d-%d-%s", os.Getpid(), childSeq, r.Mode),
		"BENCH_PROFILE=" + r.Profile, "BENCH_PROFILE_PATH=" + r.ProfPath, "BENCH_RESULT=" + resultFile,
		"BENCH_OTTU_URL=" + t.ottuURL, "BENCH_OTTU_KEY=" + benchAPIKey,
		// What Lambda and template.yaml give the refund function.
		"AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_SESSION_TOKEN=token",
		"AWS_ENDPOINT_URL=" + t.motoURL, "OTTU_API_SECRET_ID=" + t.secretID, "TRACKING_KEYS_TABLE=" + t.table,
		// No refunded-totals table: the approval check is off and nothing
		// is counted, so the handler's own cost is what is measured.
		"DIRECT_REFUND_APPROVAL=off",
		"AWS_LAMBDA_FUNCTION_NAME=RefundFunction", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256",
		"AWS_LAMBDA_RUNTIME_API=127.0.0.1:9",
	}
	env = append(env, r.Env...)
	env = append(env, strings.Fields(os.Getenv("BENCH_CHILD_ENV"))...)
	if r.GOMAXPROCS != "" {
		env = append(env, "GOMAXPROCS="+r.GOMAXPROCS)
	}
	cmd := exec.CommandContext(ctx, self)
	cmd.Env = env
	// Logs go down a pipe, as in Lambda, and are dropped.
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	if err := cmd.Run(); err != nil {
		return res, fmt.Errorf("%s child: %w", r.Mode, err)
	}
	b, err := os.ReadFile(resultFile)
	if err != nil {
		return res, err
	}
	return res, json.Unmarshal(b, &res)
}
