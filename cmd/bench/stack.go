package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/ottuops/ottu-lambda/dev/localstack"
	"github.com/ottuops/ottu-lambda/dev/sandbox"
	"github.com/ottuops/ottu-lambda/dev/testkit"
)

const benchAPIKey = "bench-api-key"

// benchStack is the local stack with a timing proxy in front of moto and
// one in front of the sandbox, so each request's DynamoDB and Ottu time
// can be told from the rest.
type benchStack struct {
	st        *localstack.Stack
	ddb, ottu *timingProxy
	api       string
	client    *http.Client
	servers   []*http.Server
	seq       atomic.Int64
}

func freeAddr() (string, error) {
	p, err := testkit.FreePort()
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("127.0.0.1:%d", p), nil
}

func serveOn(h http.Handler) (string, *http.Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), srv, nil
}

func startBenchStack(ctx context.Context, template string, progress io.Writer) (*benchStack, error) {
	motoAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	sandboxAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	b := &benchStack{ddb: newTimingProxy("http://"+motoAddr, false), ottu: newTimingProxy("http://"+sandboxAddr, true)}
	ddbURL, srv1, err := serveOn(b.ddb)
	if err != nil {
		return nil, err
	}
	ottuURL, srv2, err := serveOn(b.ottu)
	if err != nil {
		return nil, err
	}
	b.servers = []*http.Server{srv1, srv2}
	b.st, err = localstack.Start(ctx, localstack.Options{
		Template: template, APIAddr: "127.0.0.1:0", SandboxAddr: sandboxAddr, MotoAddr: motoAddr,
		Sandbox:      sandbox.Config{APIKey: benchAPIKey, QueueSettleDelay: time.Hour, InquiryLimits: sandbox.InquiryLimits{Off: true}, Logger: slog.New(slog.DiscardHandler)},
		MaxProcesses: 40, FunctionOutput: io.Discard, Progress: progress,
		FunctionEnv: map[string]string{"AWS_ENDPOINT_URL": ddbURL},
		// The benchmark's refunds carry no currency_code: the direct route's
		// approval check is off (they are still counted in the totals).
		Parameters: map[string]string{"DirectRefundApproval": "off"},
		// Measure the operations alone: no reconciler runs, no operation
		// notifications to the webhook.
		ScheduleInterval: -1, NoOperationNotifications: true,
	})
	if err != nil {
		b.close()
		return nil, err
	}
	// The functions reach Ottu through the timing proxy from now on: a new
	// secret value, and fresh processes that have not read the old one.
	secret, _ := json.Marshal(map[string]string{"base_url": ottuURL, "api_key": benchAPIKey})
	if _, err := secretsmanager.NewFromConfig(b.st.AWSConfig()).PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{
		SecretId: aws.String(b.st.Secrets().API), SecretString: aws.String(string(secret))}); err != nil {
		b.close()
		return nil, err
	}
	if err := b.st.ReconfigureFunctions(ctx, localstack.FunctionSettings{}); err != nil {
		b.close()
		return nil, err
	}
	b.api = b.st.URLs().API
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	b.client = &http.Client{Transport: tr, Timeout: 60 * time.Second}
	return b, nil
}

func (b *benchStack) close() {
	if b.st != nil {
		b.st.Close()
	}
	for _, s := range b.servers {
		_ = s.Close()
	}
}

// paid makes a fresh paid transaction big enough for many 0.001 refunds.
func (b *benchStack) paid() (string, error) {
	tx, err := b.st.Sandbox().CreateTransaction(sandbox.TransactionSpec{Amount: "999999.000", CurrencyCode: "KWD", State: "paid", PGCode: "mpgs"})
	return tx.SessionID, err
}

// refund sends POST /operations/refund through the local API.
func (b *benchStack) refund(ctx context.Context, key, session string) (int, bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.api+"/operations/refund",
		strings.NewReader(`{"session_id":"`+session+`","amount":"0.001"}`))
	if err != nil {
		return 0, false, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Tracking-Key", key)
	resp, err := b.client.Do(req)
	if err != nil {
		return 0, false, err
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, false, fmt.Errorf("refund %s answered %d: %s", key, resp.StatusCode, body)
	}
	return resp.StatusCode, resp.Header.Get("Idempotent-Replayed") == "true", nil
}

// sample is one request's time, split.
type sample struct{ total, ddb, ottu, own float64 }

// latencyRow is one path at one concurrency.
type latencyRow struct {
	Path        string
	Concurrency int
	Requests    int
	Total       [2]float64 // p50, p99 in ms
	Own         [2]float64
	Ottu        [2]float64
	DynamoDB    [2]float64
	// Requests per request of each kind seen at the proxies.
	DynamoWrites, DynamoReads, OttuCalls float64
	SecretsCalls                         int
}

// runLoad sends n requests of path ("first" or "replay") with c clients.
func (b *benchStack) runLoad(ctx context.Context, path string, c, n int) (latencyRow, error) {
	row := latencyRow{Path: path, Concurrency: c, Requests: n}
	run := b.seq.Add(1)
	sessions := make([]string, (n+199)/200)
	for i := range sessions {
		var err error
		if sessions[i], err = b.paid(); err != nil {
			return row, err
		}
	}
	key := func(i int) string { return fmt.Sprintf("lat-%d-%s-c%d-%d", run, path, c, i) }
	if path == "replay" {
		// One succeeded key per client, replayed over and over.
		for i := range c {
			if st, _, err := b.refund(ctx, key(i), sessions[0]); err != nil || st != 200 {
				return row, fmt.Errorf("seed replay key: status %d: %w", st, err)
			}
			b.ddb.take(key(i))
			b.ottu.take(key(i))
		}
	}
	before, ottuBefore := b.ddb.snapshot(), b.ottu.snapshot()["ottu"]
	samples := make([]sample, n)
	var wg sync.WaitGroup
	var next atomic.Int64
	var firstErr error
	var errOnce sync.Once
	for g := range c {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				k, want, session := key(i), false, sessions[i/200]
				if path == "replay" {
					k, want, session = key(g), true, sessions[0]
				}
				start := time.Now()
				st, replayed, err := b.refund(ctx, k, session)
				total := time.Since(start)
				if err == nil && (st != 200 || replayed != want) {
					err = fmt.Errorf("refund %s answered %d (replayed %v)", k, st, replayed)
				}
				if err != nil {
					errOnce.Do(func() { firstErr = err })
					return
				}
				// A replay key is used by one client only, so what the
				// proxies recorded for it belongs to this request.
				d, o := b.ddb.take(k), b.ottu.take(k)
				s := sample{total: float64(total), ddb: float64(d.d), ottu: float64(o.d)}
				s.own = s.total - s.ddb - s.ottu
				samples[i] = s
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return row, firstErr
	}
	after := b.ddb.snapshot()
	pick := func(f func(sample) float64) [2]float64 {
		xs := make([]float64, len(samples))
		for i, s := range samples {
			xs[i] = f(s)
		}
		return [2]float64{ms(quantile(xs, 0.5)), ms(quantile(xs, 0.99))}
	}
	row.Total = pick(func(s sample) float64 { return s.total })
	row.Own = pick(func(s sample) float64 { return s.own })
	row.Ottu = pick(func(s sample) float64 { return s.ottu })
	row.DynamoDB = pick(func(s sample) float64 { return s.ddb })
	delta := func(k string) float64 { return float64(after[k]-before[k]) / float64(n) }
	row.DynamoWrites = delta("DynamoDB_20120810.UpdateItem") + delta("DynamoDB_20120810.PutItem")
	row.DynamoReads = delta("DynamoDB_20120810.GetItem") + delta("DynamoDB_20120810.Query")
	row.SecretsCalls = after["secretsmanager.GetSecretValue"] - before["secretsmanager.GetSecretValue"]
	row.OttuCalls = float64(b.ottu.snapshot()["ottu"]-ottuBefore) / float64(n)
	return row, nil
}

// coldRow is one function's cold starts.
type coldRow struct {
	Function       string
	Starts         int
	Init           [2]float64 // median, p90 ms
	FirstAnswer    [2]float64
	RSS            float64 // median bytes after the first answer
	EmulatorRSS    float64 // aws-lambda-rie's own, median bytes then
	Answer         string  // what the last start answered, shortened
	SecretsPerInit float64
}

// coldPayload is the function's sample event with a fresh Tracking-Key, so
// every start does a first request, not a replay.
func coldPayload(eventsDir, function string, i int) ([]byte, error) {
	name := strings.TrimSuffix(function, "Function")
	var kebab strings.Builder
	for j, r := range name {
		if r >= 'A' && r <= 'Z' {
			if j > 0 {
				kebab.WriteByte('-')
			}
			r += 'a' - 'A'
		}
		kebab.WriteRune(r)
	}
	raw, err := os.ReadFile(filepath.Join(eventsDir, kebab.String()+"-apigw.json"))
	if err != nil {
		return nil, err
	}
	var ev map[string]any
	if err := json.Unmarshal(raw, &ev); err != nil {
		return nil, err
	}
	if h, ok := ev["headers"].(map[string]any); ok {
		for k := range h {
			if strings.EqualFold(k, "tracking-key") || strings.EqualFold(k, "idempotency-key") {
				h[k] = fmt.Sprintf("cold-%s-%d-%d", kebab.String(), os.Getpid(), i)
			}
		}
	}
	return json.Marshal(ev)
}

// coldFloorRow is the floor's cold start in the refund function's place.
const coldFloorRow = "floor: bare HTTP in RefundFunction's place"

func (b *benchStack) coldStarts(ctx context.Context, eventsDir string, starts int, only string) ([]coldRow, error) {
	dir, err := os.MkdirTemp("", "ottu-bench-floorboot-*")
	if err != nil {
		return nil, err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	floorBin := filepath.Join(dir, "bootstrap")
	build := exec.CommandContext(ctx, "go", "build", "-tags", lambdaTags, "-o", floorBin, "./cmd/bench/floorboot")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("build the floor bootstrap: %w\n%s", err, out)
	}
	var rows []coldRow
	for _, fn := range append(b.st.Functions(), coldFloorRow) {
		if only != "" && !slices.Contains(strings.Split(only, ","), fn) && (fn != coldFloorRow || !strings.Contains(only, "RefundFunction")) {
			continue
		}
		row := coldRow{Function: fn, Starts: starts}
		binary, env := "", []string(nil)
		if fn == coldFloorRow {
			fn, binary = "RefundFunction", floorBin
		}
		var inits, answers, rss, rieRSS []float64
		before := b.ddb.snapshot()["secretsmanager.GetSecretValue"]
		for i := range starts {
			payload, err := coldPayload(eventsDir, fn, i)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", fn, err)
			}
			cs, err := b.st.ColdStartBinary(ctx, fn, binary, env, payload)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", fn, err)
			}
			inits = append(inits, float64(cs.Init))
			answers = append(answers, float64(cs.FirstAnswer))
			rss = append(rss, float64(cs.RSS))
			rieRSS = append(rieRSS, float64(cs.EmulatorRSS))
			row.Answer = shortAnswer(cs)
		}
		row.SecretsPerInit = float64(b.ddb.snapshot()["secretsmanager.GetSecretValue"]-before) / float64(starts)
		row.Init = [2]float64{ms(median(inits)), ms(quantile(inits, 0.9))}
		row.FirstAnswer = [2]float64{ms(median(answers)), ms(quantile(answers, 0.9))}
		row.RSS = median(rss)
		row.EmulatorRSS = median(rieRSS)
		rows = append(rows, row)
	}
	return rows, nil
}

func shortAnswer(cs localstack.ColdStart) string {
	if cs.Err != nil {
		return "error " + strings.SplitN(cs.Err.Error(), ":", 2)[0]
	}
	var resp struct {
		StatusCode int `json:"statusCode"`
	}
	if json.Unmarshal(cs.Answer, &resp) == nil && resp.StatusCode != 0 {
		return fmt.Sprint(resp.StatusCode)
	}
	return string(bytes.TrimSpace(cs.Answer[:min(len(cs.Answer), 20)]))
}
