// Package app builds a function's dependencies from its environment: the
// one place where configuration, AWS clients, the Ottu client, the store and
// the domain service are wired together, so each functions/<name>/main.go
// stays three lines.
package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/ottuops/ottu-lambda/shared/config"
	"github.com/ottuops/ottu-lambda/shared/handler"
	"github.com/ottuops/ottu-lambda/shared/obs"
	"github.com/ottuops/ottu-lambda/shared/operation"
	"github.com/ottuops/ottu-lambda/shared/ottu"
	"github.com/ottuops/ottu-lambda/shared/secrets"
	"github.com/ottuops/ottu-lambda/shared/trackingkey"
)

// Deps are what an operation or status function needs; tests build them
// with Build against moto and the sandbox.
type Deps struct {
	Config  config.Config
	Logger  *slog.Logger
	Service *operation.Service
}

// Options override what Build takes from the process (tests).
type Options struct {
	// AWS is the SDK configuration; zero loads the default chain (which
	// honours AWS_ENDPOINT_URL for the local stack).
	AWS *aws.Config
	// Output receives logs and metrics; default os.Stdout.
	Output io.Writer
	Now    func() time.Time
}

// Base is what every function is built on: its configuration (with the
// settings it cannot run without checked), its logger and output, and the
// AWS configuration. Each function's builder adds only the clients it uses.
type Base struct {
	Function string
	Config   config.Config
	Logger   *slog.Logger
	Out      io.Writer
	AWS      aws.Config
	Now      func() time.Time
}

// NewBase reads the configuration, requires the named settings, and loads
// the AWS configuration (from Lambda's environment unless opts gives one).
func NewBase(function string, getenv func(string) string, opts Options, required ...string) (*Base, error) {
	useOneProcessor(getenv)
	cfg, err := config.Load(getenv)
	if err != nil {
		return nil, err
	}
	if err := cfg.Require(required...); err != nil {
		return nil, err
	}
	out := opts.Output
	if out == nil {
		out = os.Stdout
	}
	b := &Base{Function: function, Config: cfg, Logger: obs.NewLogger(out, cfg.LogLevel, function), Out: out, Now: opts.Now}
	if opts.AWS != nil {
		b.AWS = *opts.AWS
	} else if b.AWS, err = awsConfigFromEnv(getenv); err != nil {
		return nil, err
	}
	return b, nil
}

// Metrics returns an EMF metrics writer with the function as dimension.
func (b *Base) Metrics() *obs.Metrics {
	return obs.NewMetrics(b.Out, b.Config.MetricsNamespace, map[string]string{"Function": b.Function})
}

// OttuClient builds the Ottu client on the API secret (OTTU_API_SECRET_ID,
// which the caller required).
func (b *Base) OttuClient() (*ottu.Client, error) {
	secretOpts := []secrets.Option{secrets.WithTTL(b.Config.SecretsCacheTTL)}
	if b.Now != nil {
		secretOpts = append(secretOpts, secrets.WithClock(b.Now))
	}
	creds := secrets.NewProvider(secretsmanager.NewFromConfig(b.AWS), b.Config.APISecretID, secretOpts...)
	client, err := ottu.New(ottu.Config{
		BaseURL:        b.Config.BaseURL,
		Credentials:    creds,
		APIVersion:     b.Config.APIVersion,
		DeadlineMargin: b.Config.DeadlineMargin,
		UserAgent:      "ottu-lambda/" + b.Function,
	})
	if err != nil {
		return nil, fmt.Errorf("configure the Ottu client: %w", err)
	}
	return client, nil
}

// Build wires the operation service: what the operation and
// operation-status functions need (the API secret and the Tracking-Key
// table).
func Build(_ context.Context, function string, getenv func(string) string, opts Options) (*Deps, error) {
	b, err := NewBase(function, getenv, opts, config.EnvAPISecretID, config.EnvTrackingKeysTable)
	if err != nil {
		return nil, err
	}
	client, err := b.OttuClient()
	if err != nil {
		return nil, err
	}
	cfg := b.Config
	store := trackingkey.New(dynamodb.NewFromConfig(b.AWS), cfg.TrackingKeysTable)
	metrics := b.Metrics()
	svc := &operation.Service{
		Store:         store,
		Ottu:          client,
		Inquiry:       client,
		Retention:     cfg.RecordRetention(),
		LeaseGrace:    cfg.LeaseGrace,
		RecordTimeout: recordTimeout(cfg.DeadlineMargin),
		NoOttuReplay:  cfg.APIVersion == 1,
		Now:           opts.Now,
		Logger:        func(ctx context.Context) *slog.Logger { return obs.Logger(ctx) },
		Observe: func(_ context.Context, op ottu.Operation, outcome string, d time.Duration) {
			metrics.Count("Operation_"+outcome, 1)
			metrics.Duration("OperationDuration", d)
			metrics.Flush()
		},
	}
	return &Deps{Config: cfg, Logger: b.Logger, Service: svc}, nil
}

// recordTimeout leaves the outcome write most of the margin kept back from
// the Ottu call.
func recordTimeout(margin time.Duration) time.Duration {
	if margin <= 0 {
		return operation.DefaultRecordTimeout
	}
	return margin * 2 / 3
}

// OperationHandler builds the handler of one operation function.
func OperationHandler(ctx context.Context, op ottu.Operation, getenv func(string) string) (*handler.Operation, error) {
	deps, err := Build(ctx, string(op), getenv, Options{})
	if err != nil {
		return nil, err
	}
	// Every operation needs the Ottu secret: read it while init finishes
	// and the first request claims its key, not after the claim.
	if c, ok := deps.Service.Ottu.(*ottu.Client); ok {
		c.Prefetch(ctx)
	}
	return NewOperationHandler(op, deps), nil
}

// NewOperationHandler wires an operation handler from built dependencies.
func NewOperationHandler(op ottu.Operation, deps *Deps) *handler.Operation {
	return &handler.Operation{Op: op, Service: deps.Service, MaxBodyBytes: int(deps.Config.MaxBodyBytes), Logger: deps.Logger}
}

// StatusHandler builds the operation-status function's handler.
func StatusHandler(ctx context.Context, getenv func(string) string) (*handler.OperationStatus, error) {
	deps, err := Build(ctx, "operation-status", getenv, Options{})
	if err != nil {
		return nil, err
	}
	return &handler.OperationStatus{Service: deps.Service, Logger: deps.Logger}, nil
}

// Exit reports a start-up failure as one JSON log line and exits, so Lambda
// records an init error with a readable reason.
func Exit(function string, err error) {
	obs.NewLogger(os.Stderr, slog.LevelError, function).Error("function cannot start", slog.String("error", err.Error()))
	os.Exit(1)
}
