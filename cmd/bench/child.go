package main

// The measured side of the CPU section: a child process that runs either
// the refund function's handler, wired by app.OperationHandler
// exactly as functions/refund/main.go wires it, or the floor (a bare
// net/http client making the same round trips to the same servers). The servers live in the
// parent, so the child's getrusage is the client's CPU alone.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"syscall"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/ottuops/ottu-lambda/cmd/bench/floor"
	"github.com/ottuops/ottu-lambda/shared/operation/app"
	"github.com/ottuops/ottu-lambda/shared/payment"
	"github.com/ottuops/ottu-lambda/shared/platform/dynamo"
)

// childResult is what a child reports: CPU (user+system, every thread)
// and wall time per request of each path.
type childResult struct {
	GOMAXPROCS      int     `json:"gomaxprocs"`
	FirstCPUNs      float64 `json:"first_cpu_ns"`
	ReplayCPUNs     float64 `json:"replay_cpu_ns"`
	FirstWallNs     float64 `json:"first_wall_ns"`
	ReplayWallNs    float64 `json:"replay_wall_ns"`
	FirstRequests   int     `json:"first_requests"`
	ReplayRequests  int     `json:"replay_requests"`
	FirstAllocs     float64 `json:"first_allocs"`
	ReplayAllocs    float64 `json:"replay_allocs"`
	InitCPUNs       float64 `json:"init_cpu_ns"`
	FirstRequestCPU float64 `json:"first_request_cpu_ns"`
}

// childArgs are the child's settings, passed as environment variables so
// the function child's environment is exactly a function's.
type childArgs struct {
	mode       string // function | floor
	n, warm    int
	session    string // sandbox transaction to refund 0.001 of
	prefix     string // tracking key prefix, unique per child
	profile    string // CPU profile of the measured loops, if set
	profPath   string // first | replay | both
	ottuURL    string // floor: the sandbox
	ottuKey    string // floor: its API key
	motoURL    string // floor: DynamoDB endpoint
	table      string // floor: the Tracking-Key table
	resultFile string
}

func cpuNow() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func runChild() error {
	a := childArgs{
		mode: os.Getenv("BENCH_MODE"), session: os.Getenv("BENCH_SESSION"), prefix: os.Getenv("BENCH_PREFIX"),
		profile: os.Getenv("BENCH_PROFILE"), profPath: os.Getenv("BENCH_PROFILE_PATH"),
		ottuURL: os.Getenv("BENCH_OTTU_URL"), ottuKey: os.Getenv("BENCH_OTTU_KEY"),
		motoURL: os.Getenv("AWS_ENDPOINT_URL"), table: os.Getenv("TRACKING_KEYS_TABLE"),
		resultFile: os.Getenv("BENCH_RESULT"),
	}
	a.n, _ = strconv.Atoi(os.Getenv("BENCH_N"))
	a.warm, _ = strconv.Atoi(os.Getenv("BENCH_WARM"))
	initStart := cpuNow()
	var r requester
	var err error
	switch a.mode {
	case "function":
		r, err = newFunctionRequester()
	case "floor":
		r = newFloorRequester(a)
	case "sdk":
		r, err = newSDKRequester(a)
	default:
		err = fmt.Errorf("BENCH_MODE %q: want function or floor", a.mode)
	}
	if err != nil {
		return err
	}
	res := childResult{GOMAXPROCS: runtime.GOMAXPROCS(0), FirstRequests: a.n, ReplayRequests: a.n}
	res.InitCPUNs = float64(cpuNow() - initStart)
	ctx := context.Background()
	key := func(kind string, i int) string { return fmt.Sprintf("%s-%s-%d", a.prefix, kind, i) }

	// The first request of the process pays for the secret and the
	// connections; it is reported apart and left out of the warm figures.
	c0 := cpuNow()
	if err := r.first(ctx, key("cold", 0), a.session); err != nil {
		return err
	}
	res.FirstRequestCPU = float64(cpuNow() - c0)
	for i := range a.warm {
		if err := r.first(ctx, key("warm", i), a.session); err != nil {
			return err
		}
		if err := r.replay(ctx, key("warm", i), a.session); err != nil {
			return err
		}
	}
	replayKey := key("warm", 0)
	runtime.GC()

	var stop func()
	if a.profile != "" {
		f, err := os.Create(a.profile)
		if err != nil {
			return err
		}
		stop = func() { pprof.StopCPUProfile(); _ = f.Close() }
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
	}
	measure := func(do func(i int) error) (cpu, wall, allocs float64, err error) {
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		c, w := cpuNow(), time.Now()
		for i := range a.n {
			if err := do(i); err != nil {
				return 0, 0, 0, err
			}
		}
		cpu, wall = float64(cpuNow()-c)/float64(a.n), float64(time.Since(w))/float64(a.n)
		runtime.ReadMemStats(&m1)
		return cpu, wall, float64(m1.Mallocs-m0.Mallocs) / float64(a.n), nil
	}
	if a.profPath != "replay" {
		if res.FirstCPUNs, res.FirstWallNs, res.FirstAllocs, err = measure(func(i int) error { return r.first(ctx, key("first", i), a.session) }); err != nil {
			return err
		}
	}
	if a.profPath != "first" {
		if res.ReplayCPUNs, res.ReplayWallNs, res.ReplayAllocs, err = measure(func(int) error { return r.replay(ctx, replayKey, a.session) }); err != nil {
			return err
		}
	}
	if stop != nil {
		stop()
	}
	out, _ := json.Marshal(res)
	return os.WriteFile(a.resultFile, out, 0o600)
}

// requester makes one first refund or one replay.
type requester interface {
	first(ctx context.Context, key, session string) error
	replay(ctx context.Context, key, session string) error
}

// functionRequester calls the refund function's handler as the Lambda
// runtime does: an API Gateway event as raw JSON into Invoke.
type functionRequester struct {
	invoke func(context.Context, json.RawMessage) (any, error)
}

func newFunctionRequester() (*functionRequester, error) {
	h, err := app.OperationHandler(context.Background(), payment.Refund, os.Getenv)
	if err != nil {
		return nil, err
	}
	return &functionRequester{invoke: h.Invoke}, nil
}

func refundEvent(key, session string) json.RawMessage {
	ev := events.APIGatewayV2HTTPRequest{Version: "2.0", RouteKey: "POST /operations/refund", RawPath: "/operations/refund",
		Headers: map[string]string{"content-type": "application/json", "tracking-key": key},
		Body:    `{"session_id":"` + session + `","amount":"0.001"}`}
	ev.RequestContext.HTTP.Method = "POST"
	ev.RequestContext.RequestID = "bench-" + key
	b, _ := json.Marshal(ev)
	return b
}

func (f *functionRequester) call(ctx context.Context, key, session string, replayed bool) error {
	out, err := f.invoke(ctx, refundEvent(key, session))
	if err != nil {
		return err
	}
	resp := out.(events.APIGatewayV2HTTPResponse)
	if resp.StatusCode != 200 || (resp.Headers["Idempotent-Replayed"] == "true") != replayed {
		return fmt.Errorf("refund %s: %d %v %s", key, resp.StatusCode, resp.Headers, resp.Body)
	}
	return nil
}

func (f *functionRequester) first(ctx context.Context, key, session string) error {
	return f.call(ctx, key, session, false)
}

func (f *functionRequester) replay(ctx context.Context, key, session string) error {
	return f.call(ctx, key, session, true)
}

// sdkRequester makes the floor's round trips with DynamoDB through the
// SDK client as app builds it (and Ottu through bare net/http): what the
// SDK alone costs, with none of our code.
type sdkRequester struct {
	*floor.Requester
	ddb *dynamodb.Client
}

func newSDKRequester(a childArgs) (*sdkRequester, error) {
	// As app builds it from Lambda's environment.
	cfg := aws.Config{Region: os.Getenv("AWS_REGION"), BaseEndpoint: aws.String(os.Getenv("AWS_ENDPOINT_URL")),
		Credentials: aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"), os.Getenv("AWS_SESSION_TOKEN")))}
	return &sdkRequester{Requester: newFloorRequester(a).Requester, ddb: dynamodb.NewFromConfig(cfg)}, nil
}

// claimInput and completeInput are the floor's bodies as SDK inputs.
func (s *sdkRequester) claimInput(key, session string) *dynamodb.UpdateItemInput {
	now := time.Now()
	u := dynamo.NewUpdate()
	nowS := u.Value("nows", dynamo.Number(now.Unix()))
	u.SetString("operation", "refund")
	u.SetString("session_id", session)
	u.Remove("order_no")
	u.SetString("amount", "0.001")
	u.SetString("fingerprint", "6f1c2a0b9d8e7f60a1b2c3d4e5f60718293a4b5c6d7e8f9012345678abcdef01")
	u.SetExpr("status", u.Value("inprogress", dynamo.String("in_progress")))
	u.SetString("lease_id", "0b7c4e1a-3f2d-4c5b-9a8e-7d6f5e4c3b2a")
	u.SetExpr("lease_expires_at", u.Value("leaseuntil", dynamo.UnixMillis(now)))
	u.SetExpr("updated_at", u.Value("now", dynamo.Time(now)))
	u.SetValue("expires_at", dynamo.UnixSeconds(now))
	one := u.Value("one", dynamo.Number(1))
	u.SetExpr("attempts", "if_not_exists("+u.Name("attempts")+", "+u.Value("zero", dynamo.Number(0))+") + "+one)
	u.SetExpr("created_at", "if_not_exists("+u.Name("created_at")+", "+u.Value("now", dynamo.Time(now))+")")
	cond := "attribute_not_exists(" + u.Name("tracking_key") + ") OR ((attribute_not_exists(" + u.Name("expires_at") + ") OR " + u.Name("expires_at") + " >= " + nowS + ") AND " +
		u.Name("fingerprint") + " = " + u.Value("fingerprint", dynamo.String("6f1c2a0b9d8e7f60a1b2c3d4e5f60718293a4b5c6d7e8f9012345678abcdef01")) + " AND " +
		u.Name("status") + " <> " + u.Value("succeeded", dynamo.String("succeeded")) + " AND " +
		u.Name("lease_expires_at") + " <= " + u.Value("nowms", dynamo.Number(now.UnixMilli())) + ")"
	in := u.Input(s.Table, map[string]types.AttributeValue{"tracking_key": dynamo.String(key)}, cond)
	in.ReturnValuesOnConditionCheckFailure = types.ReturnValuesOnConditionCheckFailureAllOld
	return in
}

func (s *sdkRequester) completeInput(key string, ottuBody []byte) *dynamodb.UpdateItemInput {
	now := time.Now()
	u := dynamo.NewUpdate()
	u.SetValue("status", dynamo.String("succeeded"))
	u.SetValue("ottu_status", dynamo.Number(200))
	u.SetString("ottu_body", string(ottuBody))
	u.Remove("error_code")
	u.SetExpr("updated_at", u.Value("now", dynamo.Time(now)))
	u.SetExpr("lease_expires_at", u.Value("leaseuntil", dynamo.UnixMillis(now)))
	u.SetValue("expires_at", dynamo.UnixSeconds(now.Add(30*24*time.Hour)))
	cond := u.Name("lease_id") + " = " + u.Value("lease", dynamo.String("0b7c4e1a-3f2d-4c5b-9a8e-7d6f5e4c3b2a"))
	return u.Input(s.Table, map[string]types.AttributeValue{"tracking_key": dynamo.String(key)}, cond)
}

func (s *sdkRequester) update(ctx context.Context, in *dynamodb.UpdateItemInput, conflict bool) error {
	_, err := s.ddb.UpdateItem(ctx, in)
	if conflict != dynamo.IsConditionFailed(err) {
		return fmt.Errorf("sdk floor: UpdateItem (condition failed: %t, want %t): %w", dynamo.IsConditionFailed(err), conflict, err)
	}
	return nil
}

func (s *sdkRequester) first(ctx context.Context, key, session string) error {
	if err := s.update(ctx, s.claimInput(key, session), false); err != nil {
		return err
	}
	body, err := s.Ottu(ctx, key, session)
	if err != nil {
		return err
	}
	return s.update(ctx, s.completeInput(key, body), false)
}

func (s *sdkRequester) replay(ctx context.Context, key, session string) error {
	return s.update(ctx, s.claimInput(key, session), true)
}

// floorRequester is the floor as a requester of this package.
type floorRequester struct{ *floor.Requester }

func newFloorRequester(a childArgs) floorRequester {
	return floorRequester{&floor.Requester{Client: &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()},
		OttuURL: a.ottuURL + "/b/pbl/v2/operation/", OttuAuth: "Api-Key " + a.ottuKey, MotoURL: a.motoURL, Table: a.table}}
}

func (f floorRequester) first(ctx context.Context, key, session string) error {
	return f.First(ctx, key, session)
}

func (f floorRequester) replay(ctx context.Context, key, session string) error {
	return f.Replay(ctx, key, session)
}
