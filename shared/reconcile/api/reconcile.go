// Package api adapts the reconciler to its scheduled invocation
// (EventBridge Scheduler, or the local stack's timer): one run per
// invocation, one log line per record it could not settle, and its
// metrics as EMF lines.
package api

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"time"

	"github.com/ottuops/ottu-lambda/shared/platform/obs"
	"github.com/ottuops/ottu-lambda/shared/reconcile"
)

// Runner is one reconciler run (reconcile.Service).
type Runner interface {
	Run(ctx context.Context) (*reconcile.Report, error)
}

// The metrics of a run (namespace METRICS_NAMESPACE, dimension Function;
// OpenRecords also by AgeBucket). template.yaml's alarms and dashboard
// read these names: a test checks they agree.
const (
	MetricOpenRecords   = "OpenRecords"
	MetricOldestOpenAge = "OldestOpenRecordAge"
	MetricSettled       = "ReconcileSettled"
	MetricLeftForPerson = "ReconcileLeftForPerson"
	MetricPending       = "ReconcilePending"
	MetricDeferred      = "ReconcileDeferred"
	MetricFailed        = "ReconcileFailed"
	MetricInquiries     = "ReconcileInquiries"
	MetricRunFailed     = "ReconcileRunFailed"
	MetricApprovals     = "ApprovalsWaiting"
	MetricOldestApprove = "OldestApprovalWait"
	DimensionAgeBucket  = "AgeBucket"
)

// Reconcile is the reconcile function's handler.
type Reconcile struct {
	Runner Runner
	Logger *slog.Logger
	// Out, Namespace and Function make the EMF lines.
	Out       io.Writer
	Namespace string
	Function  string
}

// Summary is the invocation's answer (for a person invoking it by hand).
type Summary struct {
	Open          map[string]int `json:"open"`
	OldestSeconds int64          `json:"oldest_seconds"`
	Outcomes      map[string]int `json:"outcomes"`
	Inquiries     int            `json:"inquiries"`
}

// Invoke runs the reconciler once; whatever the event says.
func (h *Reconcile) Invoke(ctx context.Context, _ json.RawMessage) (*Summary, error) {
	log := h.Logger
	if log == nil {
		log = slog.Default()
	}
	ctx = obs.With(ctx, log)
	start := time.Now()
	rep, err := h.Runner.Run(ctx)
	m := obs.NewMetrics(h.Out, h.Namespace, map[string]string{"Function": h.Function})
	if err != nil {
		m.Count(MetricRunFailed, 1)
		m.Flush()
		log.LogAttrs(ctx, slog.LevelError, "reconcile run failed", slog.String("error", err.Error()))
		return nil, err
	}
	for _, b := range reconcile.AgeBuckets {
		bm := obs.NewMetrics(h.Out, h.Namespace, map[string]string{"Function": h.Function, DimensionAgeBucket: b.Name})
		bm.Count(MetricOpenRecords, float64(rep.Open[b.Name]))
		bm.Flush()
	}
	m.Duration(MetricOldestOpenAge, rep.Oldest)
	for name, o := range map[string]reconcile.Outcome{
		MetricSettled: reconcile.Settled, MetricLeftForPerson: reconcile.LeftForPerson, MetricPending: reconcile.Pending,
		MetricDeferred: reconcile.Deferred, MetricFailed: reconcile.Failed,
	} {
		m.Count(name, float64(rep.Outcomes[o]))
	}
	m.Count(MetricInquiries, float64(rep.Inquiries))
	m.Count(MetricApprovals, float64(rep.ApprovalsWaiting))
	m.Duration(MetricOldestApprove, rep.OldestApproval)
	m.Flush()
	for _, r := range rep.Records {
		level := slog.LevelInfo
		if r.Outcome == reconcile.LeftForPerson || r.Outcome == reconcile.Failed {
			level = slog.LevelWarn
		}
		log.LogAttrs(ctx, level, "record "+string(r.Outcome), slog.String("tracking_key", r.TrackingKey),
			slog.String("status", string(r.Status)), slog.Int64("age_seconds", int64(r.Age.Seconds())), slog.String("why", r.Why))
	}
	s := &Summary{Open: rep.Open, OldestSeconds: int64(rep.Oldest.Seconds()), Outcomes: map[string]int{}, Inquiries: rep.Inquiries}
	for o, n := range rep.Outcomes {
		s.Outcomes[string(o)] = n
	}
	log.LogAttrs(ctx, slog.LevelInfo, "reconcile run done", slog.Int("inquiries", rep.Inquiries),
		slog.Int("records", len(rep.Records)), slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000))
	return s, nil
}
