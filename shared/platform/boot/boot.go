// Package boot is what every function's start-up shares: the configuration
// with its required settings checked, the logger, the metrics writer and the
// AWS configuration (Base), and the report of a start-up failure (Exit).
// Each family of functions has its builder in a subpackage (operationsapp,
// inquiryapp, inquiryresultapp, webhookapp, refundflowapp) that wires its
// clients, store and domain service on a Base, so each
// functions/<name>/main.go stays three lines and its binary links only the
// domain it serves. This package imports no domain for the same reason.
package boot

import (
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/ottuops/ottu-lambda/shared/platform/config"
	"github.com/ottuops/ottu-lambda/shared/platform/obs"
)

// Options override what a builder takes from the process (tests).
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

// Exit reports a start-up failure as one JSON log line and exits, so Lambda
// records an init error with a readable reason.
func Exit(function string, err error) {
	obs.NewLogger(os.Stderr, slog.LevelError, function).Error("function cannot start", slog.String("error", err.Error()))
	os.Exit(1)
}
