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

// Build reads the configuration and wires the domain service.
func Build(ctx context.Context, function string, getenv func(string) string, opts Options) (*Deps, error) {
	cfg, err := config.Load(getenv)
	if err != nil {
		return nil, err
	}
	if err := cfg.Require(config.EnvAPISecretID, config.EnvTrackingKeysTable); err != nil {
		return nil, err
	}
	out := opts.Output
	if out == nil {
		out = os.Stdout
	}
	logger := obs.NewLogger(out, cfg.LogLevel, function)

	awsCfg := opts.AWS
	if awsCfg == nil {
		loaded, err := awsConfigFromEnv(getenv)
		if err != nil {
			return nil, err
		}
		awsCfg = &loaded
	}
	secretOpts := []secrets.Option{secrets.WithTTL(cfg.SecretsCacheTTL)}
	if opts.Now != nil {
		secretOpts = append(secretOpts, secrets.WithClock(opts.Now))
	}
	creds := secrets.NewProvider(secretsmanager.NewFromConfig(*awsCfg), cfg.APISecretID, secretOpts...)
	client, err := ottu.New(ottu.Config{
		BaseURL:        cfg.BaseURL,
		Credentials:    creds,
		APIVersion:     cfg.APIVersion,
		DeadlineMargin: cfg.DeadlineMargin,
		UserAgent:      "ottu-lambda/" + function,
	})
	if err != nil {
		return nil, fmt.Errorf("configure the Ottu client: %w", err)
	}
	store := trackingkey.New(dynamodb.NewFromConfig(*awsCfg), cfg.TrackingKeysTable)
	metrics := obs.NewMetrics(out, cfg.MetricsNamespace, map[string]string{"Function": function})
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
	return &Deps{Config: cfg, Logger: logger, Service: svc}, nil
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
